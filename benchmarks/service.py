"""The service under test: the real ``pausebot serve`` as a subprocess on a free port, read from
outside (HTTP, /proc) like an operator would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
FLOWS = Path(__file__).resolve().parent / "flows"
TOKEN = "bench-token-0123456789abcdef"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Service:
    """``pausebot serve`` on ``database_url``; Slack on when ``slack_url`` is given."""

    database_url: str
    slack_url: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    command: list[str] | None = None  # another server (the trivial FastAPI floor)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, log_dir: Path) -> Service:
        self.port = free_port()
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PAUSEBOT_", "SLACK_"))
        }
        env.update(
            PAUSEBOT_DATABASE_URL=self.database_url,
            PAUSEBOT_FLOWS_DIR=str(FLOWS),
            PAUSEBOT_API_TOKEN=TOKEN,
            PAUSEBOT_PUBLIC_URL=self.url,
            PYTHONUNBUFFERED="1",
        )
        if self.slack_url:
            env.update(
                SLACK_BOT_TOKEN="xoxb-bench",
                SLACK_SIGNING_SECRET=SIGNING_SECRET,
                PAUSEBOT_SLACK_CHANNEL="C0BENCH",
                SLACK_API_URL=self.slack_url,
            )
        env.update(self.extra_env)
        command = self.command or [
            sys.executable,
            "-m",
            "bot.cli",
            "serve",
            "--port",
            str(self.port),
        ]
        command = [part.replace("{port}", str(self.port)) for part in command]
        self.log_path = log_dir / f"server-{self.port}.log"
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=self.log_path.open("wb"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        path = "/healthz" if self.command is None else "/ping"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the server exited at start-up:\n{self.log_path.read_text()}")
            try:
                if httpx.get(self.url + path, timeout=1).status_code == 200:
                    self._profile()
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise SystemExit(f"the server did not answer within 60 s:\n{self.log_path.read_text()}")

    def _profile(self) -> None:
        """With PAUSEBOT_BENCH_PROFILE=<dir>, py-spy samples the server until it exits
        (collapsed stacks in <dir>/<pid>.txt; PAUSEBOT_BENCH_PROFILE_IDLE=1 adds waiting)."""
        directory = os.environ.get("PAUSEBOT_BENCH_PROFILE")
        if not directory or self.command is not None:
            return
        Path(directory).mkdir(parents=True, exist_ok=True)
        spy = Path(sys.executable).parent / "py-spy"
        command = [str(spy), "record", "--format", "raw", "--rate", "200", "--nonblocking"]
        if os.environ.get("PAUSEBOT_BENCH_PROFILE_IDLE"):
            command.append("--idle")
        command += ["-o", f"{directory}/{self.pid}.txt", "-p", str(self.pid)]
        subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url + "/api/v1",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=60,
        )
