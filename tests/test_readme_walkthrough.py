"""The README's walkthrough, run as written: its `sh walkthrough-server` block in the background
and its `sh walkthrough` blocks in one bash, from the repository root, in a clean environment
(a fresh HOME, so the embedded default database is new; no activated venv; only /usr/bin and
/bin on PATH). Only the ports are changed, to free ones, so parallel runs do not collide."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def blocks(kind: str) -> list[str]:
    return re.findall(rf"^```sh {kind}\n(.*?)^```", README.read_text(), re.MULTILINE | re.DOTALL)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_readme_marks_a_server_and_client_walkthrough() -> None:
    assert len(blocks("walkthrough-server")) == 1
    assert blocks("walkthrough")


@pytest.mark.timeout(180)
def test_the_readme_walkthrough_runs_as_written(tmp_path: Path) -> None:
    for tool in ("make", "curl", "jq", "bash"):
        if shutil.which(tool) is None:
            pytest.skip(f"the walkthrough needs {tool} (.ci/run installs jq)")
    if not (ROOT / ".venv" / "bin" / "pausebot").exists():
        pytest.skip("no .venv: run `make setup` (make test does)")
    port, standin_port = free_port(), free_port()
    flows = tmp_path / "flows"
    shutil.copytree(ROOT / "examples", flows, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    for flow in flows.glob("*.yml"):
        flow.write_text(flow.read_text().replace("127.0.0.1:8899", f"127.0.0.1:{standin_port}"))
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PAUSEBOT_FLOWS_DIR": str(flows),
        "PAUSEBOT_STANDIN_PORT": str(standin_port),
    }

    def ported(text: str) -> str:
        text = text.replace("127.0.0.1:8080", f"127.0.0.1:{port}")
        return text.replace(
            "make serve", f"make --no-print-directory serve SERVE_ARGS='--port {port}'"
        )

    (server_block,) = blocks("walkthrough-server")
    server = subprocess.Popen(
        ["bash", "-c", ported(server_block)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, server.communicate()[0]
            assert time.monotonic() < deadline, "the walkthrough's server did not come up"
            time.sleep(0.2)

        script = "\n".join(ported(block) for block in blocks("walkthrough"))
        client = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert client.returncode == 0, client.stdout + client.stderr
        out = client.stdout
        assert re.search(r"^started \w{10,}$", out, re.MULTILINE), out
        assert re.search(r"^1$", out, re.MULTILINE), out
        assert "Status is Enjoy the beach. Process finished with" in out
        assert re.search(r"^409$", out, re.MULTILINE), out
        assert "SUCCESS" in out and "Traceback" not in client.stderr
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            output, _ = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            output, _ = server.communicate()
    assert "pausebot is serving" in output and "Traceback" not in output, output
