"""Surfaces enter the engine through its API (engine/engine.py, engine/outbox.py,
engine/waiting.py), never through ``engine/store``: no module of bot/ imports it or reaches for
an engine's ``.store``."""

from __future__ import annotations

import re
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"
STORE_IMPORT = re.compile(r"^\s*(from|import)\s+engine\.store\b", re.MULTILINE)
STORE_ATTRIBUTE = re.compile(r"\bengine\.store\b|\.store\.")
# Justified exceptions, as "path relative to bot/": why. Empty: none is needed today.
ALLOWED: dict[str, str] = {}


def _sources() -> list[Path]:
    return sorted(p for p in BOT.rglob("*.py") if "__pycache__" not in p.parts)


def test_bot_never_imports_the_store() -> None:
    offenders = [
        str(path.relative_to(BOT))
        for path in _sources()
        if STORE_IMPORT.search(path.read_text()) and str(path.relative_to(BOT)) not in ALLOWED
    ]
    assert offenders == [], f"these import engine.store; use the engine's API: {offenders}"


def test_bot_never_reaches_for_the_engines_store() -> None:
    offenders = []
    for path in _sources():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if STORE_ATTRIBUTE.search(code) and str(path.relative_to(BOT)) not in ALLOWED:
                offenders.append(f"{path.relative_to(BOT)}:{number}: {line.strip()}")
    assert offenders == [], "use Engine / Engine.outbox instead:\n" + "\n".join(offenders)
