"""A small typed client of pausebot's approval requests (``/api/v1/approvals``), sync and async,
on httpx. Importable as ``pausebot.client``::

    from pausebot.client import PausebotClient

    with PausebotClient("https://pausebot.example.com", token="...") as pausebot:
        approval = pausebot.request_approval(
            "Deploy billing 2.4?",
            inputs=[{"id": "window", "type": "SELECT", "values": ["now", "tonight"]}],
            idempotency_key=f"deploy-{build_id}",
        )
        decided = pausebot.wait(approval, timeout=3600)
        if decided.approved:
            deploy(window=decided.inputs["window"])

``PAUSEBOT_URL`` and ``PAUSEBOT_API_TOKEN`` are the defaults of ``base_url`` and ``token``.
``request_approval`` always sends an idempotency key (a random one unless given) and retries a
request that failed in transit with it, so a retry never asks twice. ``verify_callback`` checks
the signature of a callback pausebot POSTed to a ``callbackUrl``.

Imports nothing of the server: it is what a CI job or an agent runs.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Self

import httpx

__all__ = [
    "Approval",
    "ApprovalError",
    "AsyncPausebotClient",
    "InvalidSignature",
    "PausebotClient",
    "parse_input_option",
    "verify_callback",
]

DEFAULT_URL = "http://127.0.0.1:8080"
FINAL_STATES = ("APPROVED", "DENIED", "EXPIRED", "CANCELLED")
LONG_POLL = 30.0  # seconds per GET ?wait=... (the server allows up to 300)
SIGNATURE_HEADER = "X-Pausebot-Signature"
TIMESTAMP_HEADER = "X-Pausebot-Request-Timestamp"
TRANSIENT = (httpx.TransportError,)


class ApprovalError(Exception):
    """The server refused (``status``: 401, 403, 404, 409, 422, ...), with its message and
    per-field ``errors``; ``status`` 0 when it could not be reached."""

    def __init__(self, status: int, message: str, errors: list[dict[str, Any]] | None = None):
        self.status = status
        self.errors = errors or []
        super().__init__(message)


class InvalidSignature(Exception):
    """A callback whose signature or timestamp does not check out."""


@dataclass(frozen=True)
class Approval:
    """An approval request as ``GET /api/v1/approvals/{id}`` shows it."""

    id: str
    state: str  # PENDING APPROVED DENIED EXPIRED CANCELLED
    title: str
    decision: str | None = None  # APPROVED DENIED EXPIRED, None while pending or cancelled
    by: str | None = None
    on: str | None = None
    comment: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    url: str | None = None
    links: dict[str, str] | None = None  # single-use approve/deny links (the create answer)
    expires_at: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Approval:
        return cls(
            id=str(data["id"]),
            state=str(data["state"]),
            title=str(data.get("title") or ""),
            decision=data.get("decision"),
            by=data.get("by"),
            on=data.get("on"),
            comment=data.get("comment"),
            inputs=dict(data.get("inputs") or {}),
            url=data.get("url"),
            links=data.get("links"),
            expires_at=data.get("expiresAt"),
            labels=dict(data.get("labels") or {}),
            raw=dict(data),
        )

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def approved(self) -> bool:
        return self.state == "APPROVED"


def parse_input_option(text: str) -> dict[str, Any]:
    """``name:TYPE[=default]`` (the CLI's ``--input``) as an input definition; SELECT, ENUM and
    MULTISELECT take their values in parentheses: ``window:SELECT(now|tonight)=now``. Without a
    default the reviewer must fill it in."""
    name, colon, rest = text.partition(":")
    if not colon or not name.strip() or not rest.strip():
        raise ValueError(f"--input expects name:TYPE[=default], got {text!r}")
    kind, equals, default = rest.partition("=")
    values: list[str] | None = None
    if "(" in kind:
        kind, _, listed = kind.partition("(")
        if not listed.endswith(")"):
            raise ValueError(f"--input {text!r}: close the values with ')'")
        values = [v for v in listed[:-1].split("|") if v]
    definition: dict[str, Any] = {"id": name.strip(), "type": kind.strip().upper()}
    if values is not None:
        definition["values"] = values
    if equals:
        typed: Any = default
        if definition["type"] in ("BOOLEAN", "BOOL"):
            typed = default.strip().lower() in ("true", "yes", "1", "on")
        elif definition["type"] == "MULTISELECT":
            typed = [v for v in default.split("|") if v]
        definition["defaults"] = typed
    return definition


def _request_body(
    title: str,
    *,
    description: str | None,
    inputs: Sequence[Mapping[str, Any]] | None,
    decisions: Mapping[str, str] | None,
    comment_required: str | None,
    assignment: Mapping[str, Sequence[str]] | None,
    timeout: str | timedelta | None,
    expire_behavior: str | None,
    labels: Mapping[str, str] | None,
    slack_channel: str | None,
    idempotency_key: str | None,
    callback_url: str | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"title": title, "idempotencyKey": idempotency_key or str(uuid.uuid4())}
    optional = {
        "description": description,
        "inputs": [dict(d) for d in inputs] if inputs else None,
        "decisions": dict(decisions) if decisions else None,
        "commentRequired": comment_required,
        "assignment": {k: list(v) for k, v in assignment.items()} if assignment else None,
        "timeout": _duration(timeout) if timeout is not None else None,
        "expireBehavior": expire_behavior,
        "labels": dict(labels) if labels else None,
        "slack-channel": slack_channel,
        "callbackUrl": callback_url,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    return body


def _duration(value: str | timedelta | float) -> str:
    if isinstance(value, str):
        return value
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    return f"PT{seconds:g}S"


def _answer(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        try:
            data = response.json()
            message = str(data.get("message") or response.text)
            errors = (data.get("_embedded") or {}).get("errors") or []
        except (ValueError, AttributeError):
            message, errors = response.text or response.reason_phrase, []
        raise ApprovalError(response.status_code, message, errors)
    return response.json()


def _list_params(
    state: str | Sequence[str] | None, labels: Mapping[str, str] | None, page: int, size: int
) -> list[tuple[str, str | int]]:
    params: list[tuple[str, str | int]] = [("page", page), ("size", size)]
    states = [state] if isinstance(state, str) else list(state or [])
    params.extend(("state", s) for s in states)
    params.extend(("label", f"{k}:{v}") for k, v in (labels or {}).items())
    return params


def _settings(base_url: str | None, token: str | None) -> tuple[str, dict[str, str]]:
    url = (base_url or os.environ.get("PAUSEBOT_URL") or DEFAULT_URL).rstrip("/")
    secret = token if token is not None else os.environ.get("PAUSEBOT_API_TOKEN")
    headers = {"Accept": "application/json", "User-Agent": "pausebot-client/1"}
    if secret:
        headers["Authorization"] = f"Bearer {secret}"
    return url, headers


class PausebotClient:
    """Blocking client. ``transport`` is httpx's (tests pass ``httpx.MockTransport``)."""

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        url, headers = _settings(base_url, token)
        self.retries = retries
        self._timeout = timeout
        self._http = httpx.Client(
            base_url=f"{url}/api/v1", headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        for attempt in range(self.retries + 1):
            try:
                return _answer(self._http.request(method, path, **kwargs))
            except TRANSIENT as error:
                if attempt == self.retries:
                    raise ApprovalError(0, f"cannot reach pausebot: {error}") from error
                time.sleep(min(4.0, 0.25 * 2**attempt))
        raise AssertionError("unreachable")

    def request_approval(
        self,
        title: str,
        *,
        description: str | None = None,
        inputs: Sequence[Mapping[str, Any]] | None = None,
        decisions: Mapping[str, str] | None = None,
        comment_required: str | None = None,
        assignment: Mapping[str, Sequence[str]] | None = None,
        timeout: str | timedelta | None = None,
        expire_behavior: str | None = None,
        labels: Mapping[str, str] | None = None,
        slack_channel: str | None = None,
        idempotency_key: str | None = None,
        callback_url: str | None = None,
    ) -> Approval:
        body = _request_body(
            title,
            description=description,
            inputs=inputs,
            decisions=decisions,
            comment_required=comment_required,
            assignment=assignment,
            timeout=timeout,
            expire_behavior=expire_behavior,
            labels=labels,
            slack_channel=slack_channel,
            idempotency_key=idempotency_key,
            callback_url=callback_url,
        )
        return Approval.from_api(self._send("POST", "/approvals", json=body))

    def get_approval(self, approval_id: str, *, wait: float | timedelta | None = None) -> Approval:
        params = {"wait": _duration(wait)} if wait else None
        extra = (wait.total_seconds() if isinstance(wait, timedelta) else wait) or 0
        return Approval.from_api(
            self._send(
                "GET",
                f"/approvals/{approval_id}",
                params=params,
                timeout=self._timeout + float(extra),
            )
        )

    def wait(self, approval: Approval | str, *, timeout: float | None = None) -> Approval:
        """Long-polls until the request is decided, expired or cancelled, or ``timeout``
        seconds passed (then it returns the request, still PENDING)."""
        approval_id = approval.id if isinstance(approval, Approval) else approval
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = LONG_POLL if deadline is None else min(LONG_POLL, deadline - time.monotonic())
            current = self.get_approval(approval_id, wait=max(0.0, left))
            if current.is_final or (deadline is not None and time.monotonic() >= deadline):
                return current

    def list_approvals(
        self,
        *,
        state: str | Sequence[str] | None = None,
        labels: Mapping[str, str] | None = None,
        page: int = 1,
        size: int = 25,
    ) -> list[Approval]:
        data = self._send("GET", "/approvals", params=_list_params(state, labels, page, size))
        return [Approval.from_api(item) for item in data["results"]]

    def cancel(self, approval_id: str, *, reason: str | None = None) -> Approval:
        body = {"reason": reason} if reason else None
        return Approval.from_api(self._send("POST", f"/approvals/{approval_id}/cancel", json=body))


class AsyncPausebotClient:
    """The same, for asyncio (an agent's event loop, the MCP server)."""

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        url, headers = _settings(base_url, token)
        self.retries = retries
        self._timeout = timeout
        self._http = httpx.AsyncClient(
            base_url=f"{url}/api/v1", headers=headers, timeout=timeout, transport=transport
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        for attempt in range(self.retries + 1):
            try:
                return _answer(await self._http.request(method, path, **kwargs))
            except TRANSIENT as error:
                if attempt == self.retries:
                    raise ApprovalError(0, f"cannot reach pausebot: {error}") from error
                await asyncio.sleep(min(4.0, 0.25 * 2**attempt))
        raise AssertionError("unreachable")

    async def request_approval(
        self,
        title: str,
        *,
        description: str | None = None,
        inputs: Sequence[Mapping[str, Any]] | None = None,
        decisions: Mapping[str, str] | None = None,
        comment_required: str | None = None,
        assignment: Mapping[str, Sequence[str]] | None = None,
        timeout: str | timedelta | None = None,
        expire_behavior: str | None = None,
        labels: Mapping[str, str] | None = None,
        slack_channel: str | None = None,
        idempotency_key: str | None = None,
        callback_url: str | None = None,
    ) -> Approval:
        body = _request_body(
            title,
            description=description,
            inputs=inputs,
            decisions=decisions,
            comment_required=comment_required,
            assignment=assignment,
            timeout=timeout,
            expire_behavior=expire_behavior,
            labels=labels,
            slack_channel=slack_channel,
            idempotency_key=idempotency_key,
            callback_url=callback_url,
        )
        return Approval.from_api(await self._send("POST", "/approvals", json=body))

    async def get_approval(
        self, approval_id: str, *, wait: float | timedelta | None = None
    ) -> Approval:
        params = {"wait": _duration(wait)} if wait else None
        extra = (wait.total_seconds() if isinstance(wait, timedelta) else wait) or 0
        return Approval.from_api(
            await self._send(
                "GET",
                f"/approvals/{approval_id}",
                params=params,
                timeout=self._timeout + float(extra),
            )
        )

    async def wait(self, approval: Approval | str, *, timeout: float | None = None) -> Approval:
        approval_id = approval.id if isinstance(approval, Approval) else approval
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = LONG_POLL if deadline is None else min(LONG_POLL, deadline - time.monotonic())
            current = await self.get_approval(approval_id, wait=max(0.0, left))
            if current.is_final or (deadline is not None and time.monotonic() >= deadline):
                return current

    async def list_approvals(
        self,
        *,
        state: str | Sequence[str] | None = None,
        labels: Mapping[str, str] | None = None,
        page: int = 1,
        size: int = 25,
    ) -> list[Approval]:
        data = await self._send("GET", "/approvals", params=_list_params(state, labels, page, size))
        return [Approval.from_api(item) for item in data["results"]]

    async def cancel(self, approval_id: str, *, reason: str | None = None) -> Approval:
        body = {"reason": reason} if reason else None
        return Approval.from_api(
            await self._send("POST", f"/approvals/{approval_id}/cancel", json=body)
        )


def verify_callback(
    secret: str | bytes,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: float = 300.0,
    now: float | None = None,
) -> dict[str, Any]:
    """Checks a callback's ``X-Pausebot-Signature`` (HMAC-SHA256 of ``v1:<timestamp>:<body>``
    with ``PAUSEBOT_CALLBACK_SECRET``) and that its timestamp is within ``tolerance`` seconds
    (a replayed old callback is refused); returns the parsed body. Pass the raw body bytes, as
    received. Raises ``InvalidSignature``."""
    lowered = {k.lower(): v for k, v in headers.items()}
    stamp = lowered.get(TIMESTAMP_HEADER.lower())
    given = lowered.get(SIGNATURE_HEADER.lower())
    if not stamp or not given:
        raise InvalidSignature("the callback has no signature or timestamp header")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise InvalidSignature("the callback's timestamp is not a number") from None
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        raise InvalidSignature("the callback's timestamp is too old (or in the future)")
    key = secret.encode() if isinstance(secret, str) else secret
    expected = "v1=" + hmac.new(key, f"v1:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    candidates = [part.strip() for part in given.split(",")]  # room for a second, rotated key
    if not any(hmac.compare_digest(candidate, expected) for candidate in candidates):
        raise InvalidSignature("the callback's signature does not match")
    try:
        parsed: dict[str, Any] = json.loads(body)
    except ValueError:
        raise InvalidSignature("the callback's body is not JSON") from None
    return parsed
