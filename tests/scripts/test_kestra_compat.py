"""The compatibility report over Kestra's own test flows (``scripts/kestra_compat.py``): no file
raises, and no valid Kestra flow is refused beyond the list below, each with its reason."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "kestra-corpus"
SCRIPT = ROOT / "scripts" / "kestra_compat.py"

# Valid Kestra flows pausebot still refuses, each with why. Empty it as they are fixed.
KNOWN_WRONGLY_REFUSED: dict[str, str] = {}


@pytest.fixture(scope="module")
def verdicts() -> dict[str, object]:
    if not CORPUS.is_dir():
        pytest.skip(f"the Kestra corpus is not here ({CORPUS})")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(CORPUS), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def test_no_flow_raises(verdicts: dict) -> None:
    tracebacks = [f for f in verdicts["files"] if f["verdict"] == "traceback"]
    assert tracebacks == []


def test_no_valid_flow_is_refused_beyond_the_documented_ones(verdicts: dict) -> None:
    wrong = {
        f["name"]: f["problems"] for f in verdicts["files"] if f["verdict"] == "wrongly-refused"
    }
    assert set(wrong) <= set(KNOWN_WRONGLY_REFUSED), wrong


def test_totals_add_up(verdicts: dict) -> None:
    assert sum(verdicts["totals"].values()) == len(verdicts["files"]) > 0


def test_the_report_prints_a_verdict_per_file_and_totals(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text(
        "id: ok\nnamespace: t\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n"
        "    message: hi\n"
    )
    (tmp_path / "feature.yml").write_text(
        "id: f\nnamespace: t\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.debug.Nope\n"
    )
    (tmp_path / "bad.yaml").write_text("id: b\nnamespace: t\ntasks:\n  - id: a\n    typo: 1\n")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path)], capture_output=True, text=True, check=False
    )
    lines = result.stdout.splitlines()
    assert any(line.startswith("valid") and "ok.yaml" in line for line in lines)
    assert any(line.startswith("refused-feature") and "feature.yml" in line for line in lines)
    assert any(line.startswith("wrongly-refused") and "bad.yaml" in line for line in lines)
    assert lines[-1] == (
        "3 files: 1 valid, 1 refused-feature, 0 kestra-refuses, 1 wrongly-refused, 0 traceback"
    )
    assert result.returncode == 1
