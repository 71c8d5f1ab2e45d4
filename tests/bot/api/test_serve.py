"""`pausebot serve` as an operator runs it: a subprocess on a free port, real HTTP, SIGTERM."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_support import HERE, TOKEN
from support import EXAMPLES

PAUSEBOT = [sys.executable, "-m", "bot.cli"]


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAUSEBOT_", "SLACK_"))}
    flows = tmp_path / "flows"
    flows.mkdir(exist_ok=True)
    env.update(
        PAUSEBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}",
        PAUSEBOT_FLOWS_DIR=str(flows),
        PAUSEBOT_API_TOKEN=TOKEN,
        **extra,
    )
    return env


class Served:
    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stream = self.process.stderr or self.process.stdout  # stdout: with stderr merged into it
        assert stream is not None
        for line in stream:
            self.lines.put(line)

    def wait_for(self, pattern: str, timeout: float = 20.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            self.output.append(line)
            found = re.search(pattern, line)
            if found:
                return found
        raise AssertionError(f"no {pattern!r} in:\n{''.join(self.output)}")

    def rest(self) -> str:
        while True:
            try:
                self.output.append(self.lines.get(timeout=0.5))
            except queue.Empty:
                return "".join(self.output)


@pytest.fixture
def served(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Served]:
    """``pausebot serve``'s stderr; with ``@pytest.mark.parametrize("served", ["all"],
    indirect=True)``, its stdout too (uvicorn's access log)."""
    env = environment(tmp_path, PAUSEBOT_MAX_BODY_BYTES="1000")
    shutil.copy(EXAMPLES / "pause_resume.yml", tmp_path / "flows")
    shutil.copy(HERE / "flows" / "webhook.yaml", tmp_path / "flows")
    everything = getattr(request, "param", None) == "all"
    process = subprocess.Popen(
        [*PAUSEBOT, "serve", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE if everything else subprocess.DEVNULL,
        stderr=subprocess.STDOUT if everything else subprocess.PIPE,
        text=True,
    )
    try:
        yield Served(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_serve_answers_and_stops_cleanly_on_sigterm(served: Served) -> None:
    port = served.wait_for(r"Uvicorn running on http://127\.0\.0\.1:(\d+)").group(1)
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=base, timeout=10) as client:
        assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}
        started = client.post("/api/v1/executions/company.team/pause_resume", headers=auth)
        assert started.status_code == 200, started.text
        execution_id = started.json()["id"]
        for _ in range(200):
            state = client.get(f"/api/v1/executions/{execution_id}", headers=auth).json()
            if state["state"]["current"] == "PAUSED":
                break
            time.sleep(0.02)
        assert state["state"]["current"] == "PAUSED"
        resumed = client.post(
            f"/api/v1/executions/{execution_id}/resume", headers=auth, files={"x": (None, "")}
        )
        assert resumed.status_code == 204

        # A chunked body (no Content-Length) over the limit, over a real socket.
        def chunks() -> Iterator[bytes]:
            for _ in range(4):
                yield b"y" * 400

        too_big = client.post(
            "/api/v1/executions/webhook/tests.api/webhook/s3cr3t-key", content=chunks()
        )
        assert too_big.status_code == 413

    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(timeout=10) == 0
    output = served.rest()
    assert "Traceback" not in output, output
    assert "Application shutdown complete" in output


def test_bad_configuration_exits_2_with_every_problem(tmp_path: Path) -> None:
    env = environment(tmp_path, PAUSEBOT_PUBLIC_URL="ftp://example", PAUSEBOT_LINK_SECRET="short")
    result = subprocess.run(
        [*PAUSEBOT, "serve", "--port", "0"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "PAUSEBOT_PUBLIC_URL must start with http:// or https://" in result.stderr
    assert "PAUSEBOT_LINK_SECRET must be at least 16 characters long" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_flow_files_exit_2_naming_them(tmp_path: Path) -> None:
    env = environment(tmp_path)
    bad = tmp_path / "flows" / "broken.yml"
    bad.write_text("id: broken\nnamespace: x\ntasks: []\n")
    result = subprocess.run(
        [*PAUSEBOT, "serve", "--port", "0"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert f"{bad} is not a valid flow" in result.stderr and "line 3" in result.stderr
    assert "Traceback" not in result.stderr


def test_socket_mode_needs_slack(tmp_path: Path) -> None:
    result = subprocess.run(
        [*PAUSEBOT, "serve", "--socket-mode", "--port", "0"],
        env=environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--socket-mode needs Slack" in result.stderr and "SLACK_APP_TOKEN" in result.stderr


@pytest.mark.parametrize("served", ["all"], indirect=True)
def test_the_access_log_never_shows_links_or_webhook_keys(served: Served) -> None:
    port = served.wait_for(r"Uvicorn running on http://127\.0\.0\.1:(\d+)").group(1)
    secret_token = "eyJsecret-link-token.c2lnbmF0dXJl"
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        assert client.get(f"/resume/{secret_token}").status_code == 403
        assert client.head(f"/resume/{secret_token}").status_code == 403
        assert client.post(f"/resume/{secret_token}?x=1", json={}).status_code == 403
        for prefix in ("/api/v1", "/api/v1/main"):
            hooked = client.post(f"{prefix}/executions/webhook/tests.api/webhook/s3cr3t-key")
            assert hooked.status_code == 200, hooked.text
        client.get("/healthz?token=hunter2&x=1")
        bulk = client.post(
            "/api/v1/executions/resume/by-ids", json=[], headers={"Authorization": "Bearer x"}
        )
        assert bulk.status_code == 401
    served.wait_for(r"POST /api/v1/executions/resume/by-ids HTTP/1.1\" 401")
    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(timeout=10) == 0
    output = served.rest()
    assert '"GET /resume/*** HTTP/1.1" 403' in output
    assert '"HEAD /resume/*** HTTP/1.1" 403' in output
    assert '"POST /resume/***?x=1 HTTP/1.1" 403' in output
    assert '"POST /api/v1/executions/webhook/tests.api/webhook/*** HTTP/1.1" 200' in output
    assert '"POST /api/v1/main/executions/webhook/tests.api/webhook/*** HTTP/1.1" 200' in output
    assert '"GET /healthz?token=***&x=1 HTTP/1.1" 200' in output
    for secret in ("secret-link-token", "c2lnbmF0dXJl", "s3cr3t-key", "hunter2"):
        assert secret not in output, output


def test_an_unparsable_database_url_is_one_line_without_the_password(tmp_path: Path) -> None:
    for url in ("postgresql://u:hunter2@[::1", "postgresql://u:hunter2@db:port/x", "nope://x"):
        env = {**environment(tmp_path), "PAUSEBOT_DATABASE_URL": url}
        result = subprocess.run(
            [*PAUSEBOT, "serve", "--port", "0"], env=env, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("error: invalid PAUSEBOT_DATABASE_URL: "), result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "hunter2" not in result.stderr and "Traceback" not in result.stderr


def test_every_configuration_problem_is_listed_together(tmp_path: Path) -> None:
    env = environment(
        tmp_path, PAUSEBOT_PUBLIC_URL="ftp://example", SLACK_BOT_TOKEN="xoxb-only-half"
    )
    result = subprocess.run(
        [*PAUSEBOT, "serve", "--port", "0"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "PAUSEBOT_PUBLIC_URL must start with http:// or https://" in result.stderr
    assert "Slack is half configured: SLACK_BOT_TOKEN set but SLACK_SIGNING_SECRET missing" in (
        result.stderr
    )
    assert "xoxb-only-half" not in result.stderr and "Traceback" not in result.stderr
