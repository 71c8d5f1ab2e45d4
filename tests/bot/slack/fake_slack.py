"""A fake Slack Web API on 127.0.0.1 (port 0) that records every call and answers like Slack.

Every request is recorded as a ``Call`` (method, parsed params, headers). Methods the bot uses
answer plausibly: ``chat.postMessage`` returns a channel id and a fresh ``ts`` and remembers the
message, ``chat.update`` replaces it (``message_not_found`` for an unknown ts), ``views.*``
return a view, ``users.info``, ``users.lookupByEmail`` and ``usergroups.*`` read ``users``
and ``groups``. Paths under
``/response/`` are a ``response_url`` sink. ``fail(method, ...)`` scripts failures: an HTTP
status (429 with ``Retry-After``, 500), or ``{"ok": false, "error": ...}``.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Call:
    method: str  # "chat.postMessage", or "response" for a response_url post
    params: dict[str, Any]
    headers: dict[str, str]
    path: str


@dataclass
class Failure:
    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    times: int | None = 1  # None: every call


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    updates: int = 0
    thread_ts: str | None = None


@dataclass
class FakeSlack:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {"handle", "users"}
    channels: dict[str, str] = field(default_factory=lambda: {"#deploys": "C0DEPLOYS"})
    calls: list[Call] = field(default_factory=list)
    messages: dict[tuple[str, str], Message] = field(default_factory=dict)
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    socket_url: str | None = None  # what apps.connections.open hands out (Socket Mode)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._holds: dict[str, threading.Event] = {}
        self._ts = itertools.count(1)
        fake = self

        class Handler(_Handler):
            slack = fake

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def response_url(self, name: str = "r") -> str:
        return f"{self.url}response/{name}"

    def start(self) -> FakeSlack:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- scripting ---------------------------------------------------------------------------------
    def fail(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        times: int | None = 1,
    ) -> None:
        with self._lock:
            self.failures.setdefault(method, []).append(Failure(status, error, retry_after, times))

    def hold(self, method: str) -> threading.Event:
        """Calls to ``method`` are recorded, then wait (at most 60 s) until the returned event
        is set: a caller stays mid-request, e.g. to be SIGKILLed while it holds a claim."""
        release = threading.Event()
        with self._lock:
            self._holds[method] = release
        return release

    def held(self, method: str) -> threading.Event | None:
        with self._lock:
            return self._holds.get(method)

    # -- reading what happened -----------------------------------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 10.0,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Polls until ``count`` calls to ``method`` (matching ``where``) arrived."""
        deadline = time.monotonic() + timeout
        while True:
            found = [c for c in self.calls_to(method) if where is None or where(c)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                seen = [c.method for c in self.calls]
                raise AssertionError(
                    f"expected {count} {method} call(s), got {len(found)}; calls: {seen}"
                )
            time.sleep(0.02)

    def message(self, channel: str, ts: str) -> Message:
        with self._lock:
            return self.messages[(channel, ts)]

    def only_message(self) -> Message:
        with self._lock:
            assert len(self.messages) == 1, f"{len(self.messages)} messages posted"
            return next(iter(self.messages.values()))

    # -- answering ---------------------------------------------------------------------------------
    def answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            scripted = self.failures.get(method) or []
            if scripted:
                failure = scripted[0]
                if failure.times is not None:
                    failure.times -= 1
                    if failure.times <= 0:
                        scripted.pop(0)
                headers = (
                    {"Retry-After": str(failure.retry_after)}
                    if failure.retry_after is not None
                    else {}
                )
                error = failure.error or (
                    "ratelimited" if failure.status == 429 else "internal_error"
                )
                return failure.status, headers, {"ok": False, "error": error}
            handler = getattr(self, "_" + method.replace(".", "_"), None)
            body = handler(params) if handler else {"ok": True}
            return 200, {}, body

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://acme.slack.com/",
            "team": "Acme",
            "user": "pausebot",
            "team_id": "T0TEAM",
            "user_id": "U0BOT",
            "bot_id": "B0BOT",
        }

    def _apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.socket_url is None:
            return {"ok": False, "error": "not_allowed_token_type"}
        return {"ok": True, "url": self.socket_url}

    def _chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel"))
        if channel.startswith("#"):
            if channel not in self.channels:
                return {"ok": False, "error": "channel_not_found"}
            channel = self.channels[channel]
        elif channel[:1] in ("U", "W"):
            if channel not in self.users:
                return {"ok": False, "error": "user_not_found"}
            channel = "D" + channel[1:]  # the app's direct message with that user
        ts = f"1767225600.{next(self._ts):06d}"
        thread = params.get("thread_ts")
        self.messages[(channel, ts)] = Message(
            channel,
            ts,
            str(params.get("text")),
            list(params.get("blocks") or []),
            thread_ts=str(thread) if thread else None,
        )
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "message": {"ts": ts, "text": params.get("text")},
        }

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (str(params.get("channel")), str(params.get("ts")))
        message = self.messages.get(key)
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        message.text = str(params.get("text"))
        message.blocks = list(params.get("blocks") or [])
        message.updates += 1
        return {"ok": True, "channel": key[0], "ts": key[1], "text": message.text}

    def _chat_postEphemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": f"1767225600.{next(self._ts):06d}"}

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "view": {**(params.get("view") or {}), "id": f"V{next(self._ts):05d}", "hash": "h"},
        }

    _views_update = _views_push = _views_publish = _views_open

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(params.get("user")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user}

    def _users_lookupByEmail(self, params: dict[str, Any]) -> dict[str, Any]:
        wanted = str(params.get("email") or "").lower()
        for user in self.users.values():
            if str((user.get("profile") or {}).get("email") or "").lower() == wanted:
                return {"ok": True, "user": user}
        return {"ok": False, "error": "users_not_found"}

    def _usergroups_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        group = self.groups.get(str(params.get("usergroup")))
        if group is None:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(group["users"])}

    def _usergroups_list(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "usergroups": [{"id": gid, "handle": g["handle"]} for gid, g in self.groups.items()],
        }

    def record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)


def slack_user(
    user_id: str, name: str, *, email: str | None = None, display: str = ""
) -> dict[str, Any]:
    """A users.info ``user`` object."""
    return {
        "id": user_id,
        "name": name.lower(),
        "real_name": name,
        "profile": {
            "display_name": display,
            "real_name": name,
            **({"email": email} if email else {}),
        },
    }


class _Handler(BaseHTTPRequestHandler):
    slack: FakeSlack

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8") if length else ""
        params: dict[str, Any] = dict(parse_qsl(parts.query))
        if raw:
            if (self.headers.get("Content-Type") or "").startswith("application/json"):
                params.update(json.loads(raw))
            else:
                for key, value in parse_qsl(raw, keep_blank_values=True):
                    params[key] = _maybe_json(value)
        method = "response" if parts.path.startswith("/response/") else parts.path.strip("/")
        self.slack.record(Call(method, params, dict(self.headers), parts.path))
        if method == "response":
            self._send(200, {}, "ok", "text/plain")
            return
        held = self.slack.held(method)
        if held is not None:
            held.wait(60)
        status, headers, body = self.slack.answer(method, params)
        self._send(status, headers, json.dumps(body), "application/json; charset=utf-8")

    do_GET = do_POST  # users.info and a few others are sent as GET with a query string

    def _send(self, status: int, headers: dict[str, str], text: str, content_type: str) -> None:
        payload = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _maybe_json(value: str) -> Any:
    if value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
