"""A waiting task run (a ``Pause`` or an ``Approval``) as the bot sees it, looked up server-side
from ids Slack sends back.

Button values and ``private_metadata`` are client data: they only name an execution and a task
run. Everything else (is it still paused, which form, who may decide) is re-read from the engine.

Two flow labels steer the bot (labels keep Kestra flows valid):

- ``slack-channel``: where to post the approval message (default ``PAUSEBOT_SLACK_CHANNEL``).
- ``slack-decision-input``: which ``onResume`` input is the decision. A BOOLEAN input id
  (``approved`` when the label is absent), or an ENUM/SELECT input id (each of its values gets
  a button; ``<id>=<value>`` marks ``<value>`` as the rejection).

The other labels (what a modal asks per option, confirmations, the requester) are read by
``bot.slack.summary``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from engine.engine import Engine
from engine.flows import Flow
from engine.inputs import InputDefinition, InputType
from engine.model import Execution, TaskRun
from engine.states import State
from engine.tasks.approval import ApprovalTask
from engine.tasks.pause import PauseTask
from engine.waiting import WaitingTask

CHANNEL_LABEL = "slack-channel"
DECISION_LABEL = "slack-decision-input"
DEFAULT_DECISION_INPUT = "approved"
_BOOLEANS = (InputType.BOOLEAN, InputType.BOOL)
_SINGLE_CHOICES = (InputType.ENUM, InputType.SELECT)


class BadReference(ValueError):
    """A button value or private_metadata that does not name a pause."""


class PauseGone(Exception):
    """The execution exists but has no such Pause task run (any more)."""


@dataclass(frozen=True)
class PauseRef:
    execution_id: str
    task_run_id: str

    def encode(self, **extra: str) -> str:
        return json.dumps(
            {"e": self.execution_id, "t": self.task_run_id, **extra}, separators=(",", ":")
        )

    @classmethod
    def decode(cls, text: str | None) -> tuple[PauseRef, dict[str, Any]]:
        try:
            data = json.loads(text or "")
            ref = cls(str(data.pop("e")), str(data.pop("t")))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise BadReference(text) from None
        if not ref.execution_id or not ref.task_run_id or len(ref.execution_id) > 64:
            raise BadReference(text)
        return ref, data


@dataclass(frozen=True)
class Decision:
    """How a pause was decided, read from its task run's ``outputs.resumed``."""

    by: dict[str, Any] | None
    on: str | None
    via: str | None
    to: str | None
    values: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None  # the kill's reason, or the Approval reviewer's comment
    rejected: bool = False
    word: str | None = None  # the option chosen, in words ("changes requested"); None: default

    @property
    def action(self) -> str:
        """approved, rejected, stopped, timed out, ...: the word for "already … by X"."""
        if self.via == "timer":
            return "timed out" if self.to != "EXPIRED" else "expired"
        if self.to == "KILLING":
            return "stopped"
        if self.via == "bulk" and self.to not in ("APPROVED", "DENIED"):
            return "resumed in bulk"
        if self.word:
            return self.word
        return "rejected" if self.rejected else "approved"


@dataclass(frozen=True)
class DecisionInput:
    """The onResume input that carries approve/reject, with the answer for each button."""

    definition: InputDefinition
    approve: Any
    reject: Any


@dataclass(frozen=True)
class Pause:
    execution: Execution
    flow: Flow
    task: PauseTask | ApprovalTask
    run: TaskRun
    url: str
    waiting: WaitingTask | None = None  # the engine's view of it (rendered title and labels)

    @property
    def is_approval(self) -> bool:
        return isinstance(self.task, ApprovalTask)

    @property
    def ref(self) -> PauseRef:
        return PauseRef(self.execution.id, self.run.id)

    @property
    def flow_name(self) -> str:
        return f"{self.execution.namespace}.{self.execution.flowId}"

    @property
    def inputs(self) -> list[InputDefinition]:
        if isinstance(self.task, ApprovalTask):
            return list(self.task.inputs or [])
        return list(self.task.onResume or [])

    @property
    def is_waiting(self) -> bool:
        return (
            self.run.state.current == State.PAUSED and self.execution.state.current == State.PAUSED
        )

    def channel(self, default: str) -> str:
        return self.execution.label_map().get(CHANNEL_LABEL) or default

    @property
    def assignees(self) -> tuple[list[str], list[str]]:
        assignment = self.task.assignment
        if assignment is None:
            return [], []
        return list(assignment.users), list(assignment.groups)

    @property
    def decision_input(self) -> DecisionInput | None:
        if self.is_approval:
            return None  # an Approval's decision is its own: approve or deny
        spec = self.execution.label_map().get(DECISION_LABEL, DEFAULT_DECISION_INPUT).strip()
        input_id, _, reject_text = spec.partition("=")
        definition = next((d for d in self.inputs if d.id == input_id.strip()), None)
        if definition is None:
            return None
        if definition.type in _BOOLEANS and not reject_text:
            return DecisionInput(definition, True, False)
        if definition.type in _SINGLE_CHOICES and reject_text and definition.values:
            reject = next((v for v in definition.values if str(v) == reject_text.strip()), None)
            if reject is None:
                return None
            default = definition.default_value
            approve = default if default is not None and default != reject else None
            return DecisionInput(definition, approve, reject)
        return None

    @property
    def decision(self) -> Decision | None:
        resumed = self.run.outputs.get("resumed")
        if not resumed:
            return None
        to = resumed.get("to")
        if self.is_approval:
            return Decision(
                by=resumed.get("by"),
                on=resumed.get("on"),
                via=resumed.get("via"),
                to=to,
                values=self.run.outputs.get("inputs") or {},
                reason=self.run.outputs.get("comment")
                if to != "KILLING"
                else self.execution.killReason,
                rejected=to == "DENIED",
                word="denied" if to == "DENIED" else None,
            )
        values = self.run.outputs.get("onResume") or {}
        decision_input = self.decision_input
        rejected = False
        if decision_input is not None and to != "KILLING":
            rejected = value_at(values, decision_input.definition.id) == decision_input.reject
        return Decision(
            by=resumed.get("by"),
            on=resumed.get("on"),
            via=resumed.get("via"),
            to=to,
            values=values,
            reason=self.execution.killReason if to == "KILLING" else None,
            rejected=rejected,
        )


def load_pause(engine: Engine, ref: PauseRef) -> Pause:
    """The pause ``ref`` names, whatever its state. Raises ``ExecutionNotFound`` or ``PauseGone``.

    Synchronous (database reads): call it with ``asyncio.to_thread``.
    """
    execution = engine.get_execution(ref.execution_id)
    return pause_of(engine, execution, ref.task_run_id)


def pause_of(engine: Engine, execution: Execution, task_run_id: str) -> Pause:
    run = execution.task_run(task_run_id)
    if run is None or run.executionId != execution.id:
        raise PauseGone(task_run_id)
    flow = engine.flow_of(execution)
    task = flow.find_task(run.taskId)
    if not isinstance(task, PauseTask | ApprovalTask):
        raise PauseGone(task_run_id)
    described = engine.described_task(execution, run.id)
    return Pause(execution, flow, task, run, engine.url_of(execution), described)


def waiting_pauses(engine: Engine, executions: list[Execution]) -> list[Pause]:
    """Every paused Pause or Approval task run of these executions, in their order (manual pauses have none)."""
    found: list[Pause] = []
    for execution in executions:
        for run in execution.paused_task_runs():
            try:
                found.append(pause_of(engine, execution, run.id))
            except PauseGone:
                continue
    return found


def value_at(values: dict[str, Any], dotted: str) -> Any:
    """An input's value in nested (or flat) values: ``request.name`` in ``{"request": {...}}``."""
    if dotted in values:
        return values[dotted]
    node: Any = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node
