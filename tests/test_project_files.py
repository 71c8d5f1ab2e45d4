"""The project as a newcomer gets it: `make demo` works and reads right, and nothing in the
project points at files outside it (the team's workspace is not part of the product)."""

from __future__ import annotations

import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Tests may name the team's workspace (and skip with a reason when it is absent); nothing else.
SHIPPED = ["README.md", "CONTRIBUTING.md", "Makefile", "manifest.yml", "pyproject.toml", ".ci/run"]
SHIPPED_DIRS = ["engine", "bot", "docs", "examples", "scripts", "benchmarks"]


def shipped_files() -> list[Path]:
    files = [ROOT / name for name in SHIPPED]
    for directory in SHIPPED_DIRS:
        files += [
            p
            for p in (ROOT / directory).rglob("*")
            if p.is_file() and p.suffix in (".py", ".md", ".yml", ".yaml", ".html", ".toml", ".txt")
        ]
    return files


def test_nothing_in_the_project_refers_to_the_team_workspace() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in shipped_files()
        if re.search(r"\.\./shared|/work/shared|STYLE\.md", path.read_text(errors="replace"))
    ]
    assert offenders == []


@pytest.mark.timeout(180)
def test_make_demo_runs_the_seed_flow_with_pasteable_commands(tmp_path: Path) -> None:
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 8899)) == 0:
            pytest.skip("port 8899 (the demo's stand-in) is taken")
    demo = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=170,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "LANG": "C.UTF-8",
            "PAUSEBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        },
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    out = demo.stdout
    commands = [line[2:].split("    #")[0] for line in out.splitlines() if line.startswith("$ ")]
    assert commands, out
    for command in commands:
        shlex.split(command)  # every shown command is valid shell, quoted as a shell needs
    assert "-i 'request.name=Ada Lovelace'" in out
    # "running …" comes right after its command, before the command's own result.
    lines = out.splitlines()
    run_at = next(i for i, line in enumerate(lines) if line.startswith("$ pausebot run "))
    assert lines[run_at + 1].startswith("running "), lines[run_at : run_at + 3]
    assert "Traceback" not in out + demo.stderr
