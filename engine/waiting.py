"""What is waiting for a person: one description of every paused task run, Pause or Approval.

``Engine.waiting_tasks(execution)`` (and ``Engine.waiting_task(execution, task_run_id)``) return
``WaitingTask`` values, so every surface treats an Approval like a Pause with a decision and none
of them needs to know the task classes:

- **Slack** posts one message per ``WaitingTask``: ``title`` (or the flow name) as the header,
  ``description`` as the text, one button per ``choices`` entry labelled ``choice.label``, a
  modal when ``inputs`` is not empty or ``choice.comment_required`` is true; ``assignment`` says
  who may click. It decides with ``Engine.decide_waiting(execution_id, task_run_id, choice.id,
  ...)``.
- **The web UI** and **signed-link pages** render the same form: ``inputs`` (InputDefinitions,
  rendered with the shared field builders), a comment box when any choice asks for one, and
  one submit button per choice.
- **/paused, App Home, lists** show ``title``/``description``, ``deadline`` and ``on_deadline``
  ("expires at 10:00, then CANCEL").
- **Bulk actions** call ``Engine.resume_many`` (Pauses only: an Approval needs a decision, so
  it is listed as refused) or ``Engine.review_many`` (Approvals, one decision for all).
- **Timers** need nothing: the executor fires ``deadline`` itself.

A Pause has one choice, ``resume`` (plus the surfaces' own reject, which kills), an Approval two,
``approve`` and ``deny``; a manual pause (``POST .../pause``) has ``task_run_id`` None and one
``resume`` choice.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from engine.errors import PausebotError
from engine.inputs import InputDefinition
from engine.model import Execution, TaskRun
from engine.states import State
from engine.tasks.approval import ApprovalTask, ReviewDecision, comment_required
from engine.tasks.base import Task
from engine.tasks.pause import Assignment, PauseTask

Kind = Literal["pause", "approval", "manual"]
ChoiceId = Literal["resume", "approve", "deny"]


@dataclass(frozen=True)
class Choice:
    """One button: ``id`` is what a surface sends back, ``label`` what it shows."""

    id: ChoiceId
    label: str
    comment_required: bool = False


@dataclass(frozen=True)
class WaitingTask:
    execution_id: str
    namespace: str
    flow_id: str
    kind: Kind
    task_run_id: str | None  # None for a manual pause of the whole execution
    task_id: str | None
    title: str | None  # Approval ``title`` (EE); None for a Pause
    description: str | None  # rendered when the pause started
    inputs: list[InputDefinition] = field(default_factory=list)
    choices: tuple[Choice, ...] = ()
    comment_rule: str = "NEVER"  # NEVER / ALWAYS / ON_DENY / ON_APPROVE
    assignment: Assignment | None = None
    paused_at: str | None = None
    deadline: str | None = None  # ISO-8601 UTC, None when it waits for ever
    on_deadline: str | None = None  # Pause: RESUME/WARN/FAIL/CANCEL; Approval: expireBehavior
    url: str | None = None

    @property
    def comment_asked(self) -> bool:
        return any(choice.comment_required for choice in self.choices)

    def choice(self, choice_id: str) -> Choice | None:
        for choice in self.choices:
            if choice.id == choice_id:
                return choice
        return None


Render = Callable[[Task, TaskRun, Any], Any]

_TARGET_BEHAVIOR = {
    State.SUCCESS: "RESUME",
    State.WARNING: "WARN",
    State.FAILED: "FAIL",
    State.CANCELLED: "CANCEL",
}


def _text(render: Render, task: Task, run: TaskRun, value: str) -> str:
    """A label or title, rendered; the raw text if it cannot be (never a failure here)."""
    try:
        return str(render(task, run, value))
    except PausebotError:
        return value


def describe(
    execution: Execution,
    run: TaskRun,
    task: Task,
    render: Render,
    url: str,
) -> WaitingTask | None:
    """The ``WaitingTask`` of one PAUSED task run, or None when it is not a Pause/Approval."""
    base: dict[str, Any] = {
        "execution_id": execution.id,
        "namespace": execution.namespace,
        "flow_id": execution.flowId,
        "task_run_id": run.id,
        "task_id": run.taskId,
        "description": run.description,
        "paused_at": run.state.entered(State.PAUSED),
        "deadline": run.deadline,
        "url": url,
    }
    if isinstance(task, ApprovalTask):
        rule = _text(render, task, run, task.commentRequired).strip().upper()
        return WaitingTask(
            **base,
            kind="approval",
            title=_text(render, task, run, task.title) if task.title else None,
            inputs=list(task.inputs or []),
            choices=(
                Choice(
                    "approve",
                    _text(render, task, run, task.decisions.approve),
                    comment_required(rule, ReviewDecision.APPROVE),
                ),
                Choice(
                    "deny",
                    _text(render, task, run, task.decisions.deny),
                    comment_required(rule, ReviewDecision.DENY),
                ),
            ),
            comment_rule=rule,
            assignment=task.assignment,
            on_deadline=_text(render, task, run, task.expireBehavior).strip().upper()
            if run.deadline
            else None,
        )
    if isinstance(task, PauseTask):
        return WaitingTask(
            **base,
            kind="pause",
            title=None,
            inputs=list(task.onResume or []),
            choices=(Choice("resume", "Resume"),),
            assignment=task.assignment,
            on_deadline=_TARGET_BEHAVIOR.get(run.deadlineTarget) if run.deadlineTarget else None,
        )
    return None


def manual(execution: Execution, url: str) -> WaitingTask:
    """A whole execution paused by hand: nothing to fill in, resume it to go on."""
    return WaitingTask(
        execution_id=execution.id,
        namespace=execution.namespace,
        flow_id=execution.flowId,
        kind="manual",
        task_run_id=None,
        task_id=None,
        title=None,
        description=None,
        choices=(Choice("resume", "Resume"),),
        paused_at=execution.state.entered(State.PAUSED),
        url=url,
    )


@dataclass(frozen=True)
class WaitingOverview:
    """What ``Engine.waiting_overview`` returns for lists at volume (``/paused``, App Home):
    the PAUSED executions matching a filter, the soonest deadline first, then the oldest (at
    most ``limit`` of them), and how many match per flow, counted by the database."""

    executions: list[Execution]
    by_flow: list[tuple[str, str, int]]  # (namespace, flow id, executions waiting)

    @property
    def total(self) -> int:
        return sum(count for _, _, count in self.by_flow)

    @property
    def complete(self) -> bool:
        return len(self.executions) >= self.total


class ParsedExecutions:
    """A bounded, thread-safe cache of parsed executions keyed by id and version (a version
    changes with every write, so a hit is always current). The executions it hands out are
    shared snapshots: read them, never change them."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[str, tuple[int, Execution]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, execution_id: str, version: int) -> Execution | None:
        with self._lock:
            item = self._items.get(execution_id)
            if item is None or item[0] != version:
                return None
            self._items.move_to_end(execution_id)
            return item[1]

    def put(self, execution_id: str, version: int, execution: Execution) -> None:
        with self._lock:
            self._items[execution_id] = (version, execution)
            self._items.move_to_end(execution_id)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)
