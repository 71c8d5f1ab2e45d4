"""Helpers shared by tests (importable thanks to pytest's ``pythonpath``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOWS = ROOT / "tests" / "engine" / "flows"
EXAMPLES = ROOT / "examples"


def flow_source(name: str) -> str:
    return (FLOWS / name).read_text()


@contextmanager
def slow_server() -> Iterator[tuple[str, threading.Event]]:
    """A loopback HTTP server whose GET answers only once the event is set (at most 5 s)."""
    release = threading.Event()

    class Slow(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            release.wait(5)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", release
    finally:
        release.set()
        server.shutdown()
        server.server_close()
