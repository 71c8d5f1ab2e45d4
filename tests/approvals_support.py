"""Helpers of the approval request tests: a local callback receiver (a real HTTP server that can
fail on purpose) and the real app served by uvicorn on a free port (for the client, the CLI and
the MCP server, which talk HTTP)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import uvicorn
from fastapi import FastAPI

CALLBACK_SECRET = "callback-test-secret-0123456789"
APPROVALS_TOKEN = "approvals-only-token-0123456789"
OTHER_TOKEN = "another-agents-token-0123456789"
SCOPED_TOKENS = f"agent=approvals:{APPROVALS_TOKEN},other=approvals:{OTHER_TOKEN}"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class CallbackReceiver:
    """Answers ``fail_first`` requests with ``fail_status``, then 200; records every request."""

    url: str = ""
    fail_first: int = 0
    fail_status: int = 503
    received: list[Received] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        """The first ``count`` requests answered 2xx... or all requests, once there are
        ``count`` of them (whatever their answer)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"the callback receiver got {len(self.received)} request(s), not {count}"
                    )
                self._arrived.wait(left)
            return list(self.received)


@contextmanager
def callback_receiver(fail_first: int = 0, fail_status: int = 503) -> Iterator[CallbackReceiver]:
    receiver = CallbackReceiver(fail_first=fail_first, fail_status=fail_status)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with receiver._arrived:
                failing = len(receiver.received) < receiver.fail_first
                status = receiver.fail_status if failing else 200
                receiver.received.append(Received(dict(self.headers.items()), body))
                receiver.answered.append(status)
                receiver._arrived.notify_all()
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """The app on a free port (lifespan included); yields its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    app.state.engine.settings.public_url = base
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=15)
