"""What the pages show, computed from engine objects: plain functions, no HTTP, no database."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from engine.clock import parse_iso
from engine.model import Execution, TaskRun
from engine.states import TERMINAL, State

# Pages of executions in these states refresh themselves, so a resume is seen to finish.
ACTIVE = frozenset(
    {State.CREATED, State.QUEUED, State.RUNNING, State.RESTARTED, State.KILLING, State.RETRYING}
)
PAUSABLE = frozenset({State.CREATED, State.RUNNING, State.RESTARTED})


@dataclass
class TaskNode:
    run: TaskRun
    children: list[TaskNode] = field(default_factory=list)


@dataclass(frozen=True)
class Decision:
    """How a pause was decided, from the ``resumed`` output the engine recorded."""

    verb: str  # approved | rejected | resumed | killed | timed out
    who: str
    on: str | None
    via: str | None

    @property
    def sentence(self) -> str:
        when = f" at {format_time(self.on)}" if self.on else ""
        via = f" via {self.via}" if self.via else ""
        return f"{self.verb} by {self.who}{when}{via}"


def task_tree(execution: Execution) -> list[TaskNode]:
    """Task runs nested under their parents, in the order they were created."""
    nodes = {run.id: TaskNode(run) for run in execution.taskRunList}
    roots: list[TaskNode] = []
    for run in execution.taskRunList:
        parent = nodes.get(run.parentTaskRunId or "")
        (parent.children if parent else roots).append(nodes[run.id])
    return roots


_APPROVAL_VERBS = {"APPROVED": "approved", "DENIED": "denied", "EXPIRED": "timed out"}


def decision_of(execution: Execution, run: TaskRun) -> Decision | None:
    resumed = run.outputs.get("resumed")
    if isinstance(resumed, dict):
        via = resumed.get("via")
        to = resumed.get("to")
        approved = (run.outputs.get("onResume") or {}).get("approved")
        if to == "KILLING":
            verb = "killed"
        elif to in _APPROVAL_VERBS:  # an Approval's decision
            verb = _APPROVAL_VERBS[to]
        elif via == "timer":
            verb = "timed out"
        elif isinstance(approved, bool):
            verb = "approved" if approved else "rejected"
        else:
            verb = "resumed"
        who = actor_name(resumed.get("by"), "the timer" if via == "timer" else "someone")
        return Decision(verb, who, resumed.get("on"), via)
    if execution.state.current == State.KILLED:
        return Decision(
            "killed", actor_name(execution.killedBy), execution.state.entered(State.KILLED), None
        )
    return None


def actor_name(actor: Any, fallback: str = "someone") -> str:
    if isinstance(actor, dict):
        return str(actor.get("name") or actor.get("id") or fallback)
    return fallback


def format_time(value: str | None) -> str:
    """An ISO timestamp as people read it: ``2026-01-01 09:30:00 UTC``."""
    if not value:
        return ""
    try:
        return parse_iso(value).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return value


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)


def display_value(value: Any) -> str:
    """A value in a table cell: strings as they are, everything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def flat_items(values: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """``{"request": {"name": x}}`` → ``[("request.name", x)]``, for a two-column table."""
    items: list[tuple[str, Any]] = []
    for key, value in values.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            items.extend(flat_items(value, name))
        else:
            items.append((name, value))
    return items


def last_change(execution: Execution) -> str | None:
    histories = execution.state.histories
    return histories[-1].date if histories else None


def can_pause(execution: Execution) -> bool:
    return execution.state.current in PAUSABLE


def can_kill(execution: Execution) -> bool:
    return execution.state.current not in TERMINAL and execution.state.current != State.KILLING


def is_active(execution: Execution) -> bool:
    return execution.state.current in ACTIVE
