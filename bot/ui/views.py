"""What the pages show, computed from engine objects: plain functions, no HTTP, no database."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
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

    verb: str  # approved | rejected | denied | expired | resumed | killed | timed out
    who: str
    on: str | None
    via: str | None
    note: str | None = None  # the reviewer's comment or the kill reason

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
        if to in ("APPROVED", "DENIED", "EXPIRED"):
            verb = {"APPROVED": "approved", "DENIED": "denied", "EXPIRED": "expired"}[to]
            who = actor_name(resumed.get("by"), "the timer" if to == "EXPIRED" else "someone")
            return Decision(verb, who, resumed.get("on"), via, run.outputs.get("comment"))
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
        note = execution.killReason if to == "KILLING" else None
        return Decision(verb, who, resumed.get("on"), via, note)
    if execution.state.current == State.KILLED:
        return Decision(
            "killed",
            actor_name(execution.killedBy),
            execution.state.entered(State.KILLED),
            None,
            execution.killReason,
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


def format_duration(seconds: float | None) -> str:
    """A duration as people say it: ``45 s``, ``5 min``, ``2 h 10 min``, ``3 d 4 h``."""
    if seconds is None:
        return ""
    total = int(abs(seconds))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


def seconds_between(start: str | None, end: datetime | str | None) -> float | None:
    """Seconds from one ISO timestamp to another (or to a datetime); None when one is missing."""
    if not start or end is None:
        return None
    try:
        later = parse_iso(end) if isinstance(end, str) else end
        return (later - parse_iso(start)).total_seconds()
    except ValueError:
        return None


def utc_title(value: str | None) -> str:
    """The ``title`` of a ``<time>``: the instant in UTC, shown on hover."""
    return format_time(value)
