"""A local stand-in for the public test endpoints the seed flows call (reqres.in).

POST /api/products answers 201 with the JSON body echoed back plus an ``id`` and ``createdAt``,
as reqres.in does; POST /api/slack answers 200 ``ok`` like a Slack incoming webhook. Every
request is appended to ``requests`` (for tests) and printed.

    python examples/standin.py [--port 8899]
"""

from __future__ import annotations

import argparse
import json
import random
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class StandIn(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int = 0, *, quiet: bool = True) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.requests: list[dict[str, Any]] = []
        self.quiet = quiet

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> StandIn:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self


class _Handler(BaseHTTPRequestHandler):
    server: StandIn

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        self.server.requests.append(
            {"path": self.path, "body": body, "headers": dict(self.headers)}
        )
        if self.path.startswith("/api/slack"):
            self._answer(200, "ok", "text/plain")
            return
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            self._answer(400, json.dumps({"error": "invalid JSON"}))
            return
        if not isinstance(data, dict):
            data = {"data": data}
        created = {
            **data,
            "id": str(random.randint(100, 999)),
            "createdAt": datetime.now(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
        }
        self._answer(201, json.dumps(created))

    def _answer(self, status: int, text: str, content_type: str = "application/json") -> None:
        payload = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.quiet:
            super().log_message(format, *args)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8899)
    args = parser.parse_args()
    server = StandIn(args.port, quiet=False)
    print(f"stand-in listening on {server.url}", flush=True)
    server.serve_forever()
