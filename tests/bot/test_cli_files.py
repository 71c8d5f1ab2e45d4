"""`pausebot run -i doc=@path` for FILE inputs, as a subprocess: the file is stored and read by
the flow; a missing or unreadable file is a validation error naming the input (exit 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

FLOW = """
id: review
namespace: company.team
inputs:
  - id: document
    type: FILE
tasks:
  - id: show
    type: io.kestra.plugin.core.log.Log
    message: "{{ read(inputs.document) }}"
"""


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PAUSEBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        text=True,
        capture_output=True,
        env=env,
        timeout=60,
    )


def test_file_input_from_a_path(tmp_path: Path) -> None:
    flow = tmp_path / "review.yml"
    flow.write_text(FLOW)
    document = tmp_path / "plan.txt"
    document.write_text("+ bucket")
    result = run(tmp_path, "run", str(flow), "-i", f"document=@{document}", "--json")
    assert result.returncode == 0, result.stderr
    execution = json.loads(result.stdout)
    assert execution["state"]["current"] == "SUCCESS"
    assert execution["inputs"]["document"].endswith("/inputs/document/plan.txt")
    logs = run(tmp_path, "logs", execution["id"])
    assert "+ bucket" in logs.stdout


def test_missing_file_is_a_located_error(tmp_path: Path) -> None:
    flow = tmp_path / "review.yml"
    flow.write_text(FLOW)
    result = run(tmp_path, "run", str(flow), "-i", f"document=@{tmp_path / 'nope.pdf'}")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "document: cannot read the file" in result.stderr
    assert "nope.pdf" in result.stderr
    assert "No such file or directory" in result.stderr
