"""SIGKILL a real `pausebot serve` while it holds claimed work (a Slack post it is making and a
task it is running), start it again: the restarted process sees the dead worker at once (its
pid is gone on SQLite; its advisory lock went with its connection on PostgreSQL), releases its
claims, posts the message and runs the task again (at-least-once), well inside 10 s instead of
the 30/60 s leases."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from api_support import TOKEN
from support import EXAMPLES

sys.path.insert(0, str(Path(__file__).parent / "slack"))
from fake_slack import FakeSlack

PAUSEBOT = [sys.executable, "-m", "bot.cli"]
AUTH = {"Authorization": f"Bearer {TOKEN}"}
RECOVERY = 10.0  # seconds: the bound, after the restarted server answers

SLOW_FLOW = """
id: slow
namespace: crash
inputs:
  - id: url
    type: STRING
tasks:
  - id: call
    type: io.kestra.plugin.core.http.Request
    uri: "{{ inputs.url }}"
    headers:
      Idempotency-Key: "{{ taskrun.id }}"
"""


class Receiver:
    """An HTTP receiver that holds its first request until released and records every
    Idempotency-Key it sees (the re-run after the crash sends the same one)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.keys: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                receiver.keys.append(self.headers.get("Idempotency-Key", ""))
                if len(receiver.keys) == 1:
                    receiver.release.wait(60)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    yield fake
    fake.stop()


def serve(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [*PAUSEBOT, "serve", "--port", "0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    deadline = time.monotonic() + 60
    output = []
    for line in process.stderr:
        output.append(line)
        if "Uvicorn running on" in line:
            port = line.rsplit(":", 1)[1].split()[0]
            threading.Thread(target=lambda: [None for _ in process.stderr], daemon=True).start()  # type: ignore[union-attr]
            return process, f"http://127.0.0.1:{port}"
        if time.monotonic() > deadline:
            break
    process.kill()
    raise AssertionError("serve did not start:\n" + "".join(output))


def wait_until(check, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {what}")


@pytest.mark.timeout(240)  # two `pausebot serve` start-ups on a loaded machine
def test_sigkilled_serve_recovers_its_claims_within_seconds(
    database_url: str, tmp_path: Path, slack: FakeSlack, receiver: Receiver
) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "pause_resume.yml").write_text((EXAMPLES / "pause_resume.yml").read_text())
    (flows / "slow.yml").write_text(SLOW_FLOW)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAUSEBOT_", "SLACK_"))}
    env.update(
        PAUSEBOT_DATABASE_URL=database_url,
        PAUSEBOT_FLOWS_DIR=str(flows),
        PAUSEBOT_API_TOKEN=TOKEN,
        SLACK_BOT_TOKEN="xoxb-crash",
        SLACK_SIGNING_SECRET="crash-secret",
        PAUSEBOT_SLACK_CHANNEL="C0CRASH",
        SLACK_API_URL=slack.url,
    )
    release_post = slack.hold("chat.postMessage")
    first, url = serve(env)
    try:
        with httpx.Client(base_url=url, headers=AUTH, timeout=10) as client:
            paused = client.post("/api/v1/executions/company.team/pause_resume").json()["id"]
            running = client.post(
                "/api/v1/executions/crash/slow", files={"url": (None, receiver.url)}
            ).json()["id"]
            # The first server is now mid-post (its outbox claim taken) and mid-task.
            slack.wait_for("chat.postMessage", timeout=20)
            wait_until(lambda: receiver.keys, 20, "the task's request arrived")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    release_post.set()  # the dead server's post never completes; later ones are not held
    posts_before = len(slack.calls_to("chat.postMessage"))

    second, url = serve(env)
    try:
        with httpx.Client(base_url=url, headers=AUTH, timeout=10) as client:

            def state(execution_id: str) -> str:
                return client.get(f"/api/v1/executions/{execution_id}").json()["state"]["current"]

            wait_until(
                lambda: len(slack.calls_to("chat.postMessage")) > posts_before,
                RECOVERY,
                "the claimed Slack post was made again",
            )
            wait_until(lambda: state(running) == "SUCCESS", RECOVERY, "the task ran again")
            assert state(paused) == "PAUSED"
        # At-least-once: the task ran twice, with one idempotency key the receiver can dedupe.
        assert len(receiver.keys) == 2 and receiver.keys[0] == receiver.keys[1] != ""
        posted = slack.calls_to("chat.postMessage")[-1]
        assert posted.params.get("channel") == "C0CRASH"
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(timeout=20)
        except subprocess.TimeoutExpired:
            second.kill()
