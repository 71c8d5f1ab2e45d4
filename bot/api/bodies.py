"""Request bodies: the size limit, and reading input values and flow YAML.

Input values (flow inputs, onResume values) come as multipart form data (Kestra's format, what
``curl -F approved=true`` sends), a URL-encoded form, or a JSON object. Anything else is a 415
that says what to send; malformed JSON (or JSON pausebot cannot hold, see ``load_json``) is
a 400 that says where it broke.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from fastapi import HTTPException, Request
from starlette.datastructures import UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.errors import FieldError, InputValidationError

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
YAML_TYPES = ("application/x-yaml", "application/yaml", "text/yaml", "text/x-yaml", "text/plain")


class BodyTooLarge(HTTPException):
    """An HTTPException so that FastAPI's own body parsing lets it through as a 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Request body too large: the limit is {limit} bytes.")


class BodySizeLimit:
    """ASGI middleware refusing bodies over ``max_bytes``: at once when Content-Length says so,
    else (chunked uploads) as soon as the bytes received pass the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _send_413(scope, send, self.max_bytes)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            # Reached only when a handler read the body outside FastAPI's exception handling.
            if not started:
                await _send_413(scope, send, self.max_bytes)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_413(scope: Scope, send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "message": f"Request body too large: the limit is {limit} bytes.",
            "_links": {"self": {"href": scope.get("path", ""), "templated": False}},
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


MAX_JSON_DEPTH = 64  # arrays and objects inside each other; real payloads stay far below
_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonBodyError(ValueError):
    """Why a JSON body is refused, as a sentence for the client. ``syntax``: it is not JSON at
    all (rather than JSON that pausebot cannot hold)."""

    def __init__(self, message: str, *, syntax: bool = False) -> None:
        super().__init__(message)
        self.syntax = syntax


def load_json(raw: bytes | str) -> Any:
    """Parses a JSON body that the rest of pausebot can hold: strict JSON in UTF-8 (no NaN or
    Infinity, which PostgreSQL refuses to store), at most ``MAX_JSON_DEPTH`` levels deep (deeper
    documents cannot be stored or rendered, and very deep ones exhaust the parser's recursion),
    without unpaired surrogates (``"\\ud800"``, which no database or encoder accepts).

    Raises ``JsonBodyError``: every request JSON goes through here, so none can reach the
    database or a template and fail there as a 500."""
    try:
        data = json.loads(raw, parse_constant=_no_constant, parse_float=_finite_float)
    except UnicodeDecodeError:
        raise JsonBodyError("Malformed JSON: the body is not UTF-8.", syntax=True) from None
    except json.JSONDecodeError as error:
        raise JsonBodyError(
            f"Malformed JSON: {error.msg} at line {error.lineno}, column {error.colno}.",
            syntax=True,
        ) from None
    except RecursionError:
        raise JsonBodyError(_too_deep()) from None
    except JsonBodyError as error:  # NaN, Infinity, 1e400
        raise JsonBodyError(f"Malformed JSON: {error}") from None
    except ValueError:  # Python refuses integers of more than 4300 digits
        raise JsonBodyError("Malformed JSON: a number has too many digits.") from None
    check_json(data)
    return data


def _no_constant(name: str) -> Any:
    raise JsonBodyError(f"{name} is not a valid JSON number.")


def _finite_float(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise JsonBodyError(f"the number {text[:40]} is too large.")
    return number


def _too_deep() -> str:
    return f"The JSON body is nested too deeply: at most {MAX_JSON_DEPTH} levels are accepted."


def check_json(data: Any) -> None:
    """The depth and text checks of ``load_json`` on a parsed document (without recursion)."""
    pending: list[tuple[Any, int]] = [(data, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise JsonBodyError(_too_deep())
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and _SURROGATE.search(key):
                    raise JsonBodyError(_surrogate())
                pending.append((item, depth + 1))
        elif isinstance(value, str) and _SURROGATE.search(value):
            raise JsonBodyError(_surrogate())


def _surrogate() -> str:
    return "Malformed JSON: a string holds an unpaired surrogate escape (such as \\ud800)."


def parse_json(raw: bytes) -> Any:
    """``load_json`` for a route: a refused body is a 400 that says why."""
    try:
        return load_json(raw)
    except JsonBodyError as error:
        raise HTTPException(400, str(error)) from None


async def read_values(request: Request, *, what: str = "input values") -> dict[str, Any]:
    """The values of a form or JSON object body; ``{}`` for an empty body.

    A repeated form field becomes a list (MULTISELECT, ARRAY). File parts are refused per field:
    pausebot has no file storage yet.
    """
    kind = media_type(request)
    if kind in FORM_TYPES:
        values: dict[str, Any] = {}
        files: list[FieldError] = []
        async with request.form() as form:
            for key in dict.fromkeys(form.keys()):
                items = form.getlist(key)
                if any(isinstance(item, UploadFile) for item in items):
                    files.append(FieldError(key, "file uploads are not supported"))
                    continue
                values[key] = items[0] if len(items) == 1 else list(items)
        if files:
            raise InputValidationError(files)
        return values
    raw = await request.body()
    if kind == "application/json" or kind.endswith("+json"):
        if not raw.strip():
            return {}
        data = parse_json(raw)
        if not isinstance(data, dict):
            raise HTTPException(
                422, f"The JSON body must be an object of {what}, got {type(data).__name__}."
            )
        return data
    if not raw.strip():
        return {}
    raise HTTPException(
        415,
        f"Unsupported content type {kind or '(none)'!r}: send {what} as multipart/form-data "
        "(curl -F name=value), application/x-www-form-urlencoded or an application/json object.",
    )


async def read_yaml(request: Request) -> str:
    kind = media_type(request)
    if kind and kind not in YAML_TYPES:
        raise HTTPException(
            415,
            f"Unsupported content type {kind!r}: send the flow's YAML with "
            "'Content-Type: application/x-yaml' (curl --data-binary @flow.yml).",
        )
    raw = await request.body()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise HTTPException(400, "The flow is not UTF-8 text.") from None
