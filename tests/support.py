"""Helpers shared by tests (importable thanks to pytest's ``pythonpath``)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOWS = ROOT / "tests" / "engine" / "flows"
EXAMPLES = ROOT / "examples"


def flow_source(name: str) -> str:
    return (FLOWS / name).read_text()
