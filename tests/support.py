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


def serve_once(tmp_path: Path, **extra: str) -> tuple[str, str, int]:
    """Starts `pausebot serve --port 0`, returns (stderr up to start-up, an execution url, port)."""
    import os
    import re
    import signal
    import subprocess
    import sys

    import httpx

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAUSEBOT_", "SLACK_"))}
    flows = tmp_path / "flows"
    flows.mkdir(exist_ok=True)
    (flows / "p.yml").write_text((EXAMPLES / "pause_resume.yml").read_text())
    env.update(
        PAUSEBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}",
        PAUSEBOT_FLOWS_DIR=str(flows),
        PAUSEBOT_API_TOKEN="t" * 20,
        **extra,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--port", "0"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            found = re.search(r"Uvicorn running on http://127\.0\.0\.1:(\d+)", line)
            if found:
                port = int(found.group(1))
                break
        else:
            raise AssertionError("".join(lines))
        started = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/executions/company.team/pause_resume",
            headers={"Authorization": "Bearer " + "t" * 20},
            timeout=10,
        )
        assert started.status_code == 200, started.text
        return "".join(lines), started.json()["url"], port
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
