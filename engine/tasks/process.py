"""Running a command as a local process (Kestra's ``io.kestra.plugin.core.runner.Process`` task
runner): its own process group, a minimal environment, stdout/stderr streamed into the
execution's log line by line, Kestra's ``::{"outputs": {...}}::`` lines collected, and a timeout
that kills the whole group (children included)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.tasks.base import LogLine, RunContext

# Variables a process gets from pausebot's own environment; nothing else (no tokens, no
# database URL): a script sees what its flow gives it in ``env``.
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "USER", "SHELL")
OUTPUT_LINE = re.compile(r"^::(\{.*\})::\s*$")
FLUSH_EVERY = 0.25  # seconds between batches of streamed log lines
MAX_LINE = 10_000  # characters of one log line kept
KILL_GRACE = 2.0  # seconds between SIGTERM and SIGKILL


@dataclass
class ProcessResult:
    exit_code: int
    timed_out: bool
    vars: dict[str, Any] = field(default_factory=dict)
    stderr_lines: int = 0


def minimal_environment(extra: dict[str, str]) -> dict[str, str]:
    env = {key: os.environ[key] for key in PASSED_THROUGH if key in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.update(extra)
    return env


def run_process(
    argv: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    context: RunContext,
    timeout: float | None,
) -> ProcessResult:
    try:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group, so a kill reaches its children
        )
    except OSError as error:
        raise context.fail(f"cannot start {argv[0]!r}: {error}") from None
    collector = _Collector(context)
    readers = [
        threading.Thread(target=collector.read, args=(process.stdout, "INFO"), daemon=True),
        threading.Thread(target=collector.read, args=(process.stderr, "WARN"), daemon=True),
    ]
    for reader in readers:
        reader.start()
    timed_out = False
    deadline = time.monotonic() + timeout if timeout is not None else None
    while True:
        try:
            process.wait(timeout=FLUSH_EVERY)
            break
        except subprocess.TimeoutExpired:
            collector.flush()
            if deadline is not None and time.monotonic() >= deadline:
                timed_out = True
                kill_group(process)
                break
    for reader in readers:
        reader.join(timeout=5)
    collector.flush()
    return ProcessResult(
        exit_code=process.returncode if process.returncode is not None else -9,
        timed_out=timed_out,
        vars=collector.vars,
        stderr_lines=collector.stderr_lines,
    )


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the whole group, then SIGKILL to whatever is left of it."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=KILL_GRACE)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


class _Collector:
    def __init__(self, context: RunContext) -> None:
        self.context = context
        self.vars: dict[str, Any] = {}
        self.stderr_lines = 0
        self._pending: list[LogLine] = []
        self._lock = threading.Lock()

    def read(self, stream: Any, level: str) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n").replace("\x00", "")
            match = OUTPUT_LINE.match(line)
            if match and self._take_outputs(match.group(1)):
                continue
            with self._lock:
                if level == "WARN":
                    self.stderr_lines += 1
                self._pending.append(LogLine(level, line[:MAX_LINE]))
        stream.close()

    def _take_outputs(self, text: str) -> bool:
        try:
            data = json.loads(text)
        except ValueError:
            return False
        if not isinstance(data, dict):
            return False
        outputs = data.get("outputs")
        if isinstance(outputs, dict):
            with self._lock:
                self.vars.update(outputs)
        return True  # metrics and other keys are accepted and ignored

    def flush(self) -> None:
        with self._lock:
            lines, self._pending = self._pending, []
        if lines:
            self.context.stream(lines)
