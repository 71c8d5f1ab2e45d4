"""Helpers for tests that run flows through the engine (the task tests of issue 12)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.clock import ManualClock
from engine.engine import Engine
from engine.model import Execution

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "kestra-corpus"


def corpus_flow(name: str) -> str:
    """A Kestra test flow from the team's corpus (``valids/<name>``); skips when it is absent."""
    path = CORPUS / f"core__src__test__resources__flows__valids__{name}"
    if not path.exists():
        pytest.skip(f"the Kestra corpus is not here ({path})")
    return path.read_text()


def start(engine: Engine, source: str, inputs: dict | None = None) -> Execution:
    deployed = engine.deploy_flow(source)
    execution = engine.start_execution(
        deployed.flow.namespace, deployed.flow.id, inputs or {}, via="test"
    )
    return engine.run_until_blocked(execution.id)


def advance(engine: Engine, clock: ManualClock, seconds: float, execution_id: str) -> Execution:
    clock.advance(seconds)
    return engine.run_until_blocked(execution_id)


def runs(execution: Execution, task_id: str) -> list:
    return [r for r in execution.taskRunList if r.taskId == task_id]


def messages(engine: Engine, execution_id: str) -> list[str]:
    return [entry.message for entry in engine.logs(execution_id)]
