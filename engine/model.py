"""The execution document, shaped like Kestra's Execution JSON.

An execution is stored as one JSON document (plus indexed columns) and changed as a whole under a
compare-and-set on its version, so the document *is* the unit of consistency. Field names are
Kestra's (camelCase) so the API can return ``execution.to_api()`` as is.
"""

from __future__ import annotations

import secrets
import string
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from engine.clock import iso
from engine.secret_values import mask_secrets_in, secret_values
from engine.states import State, check_execution_transition, check_task_run_transition

_ALPHABET = string.ascii_letters + string.digits


def new_id() -> str:
    """A 22-character base62 id, like Kestra's (about 131 random bits)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(22))


MASK = "******"
CORRELATION_ID_LABEL = "system.correlationId"  # Kestra's system label, set on every execution


def _mask(values: dict[str, Any], dotted: str) -> None:
    *parents, leaf = dotted.split(".")
    node: Any = values
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict) and node.get(leaf) is not None:
        node[leaf] = MASK


def _lookup(values: dict[str, Any], dotted: str) -> Any:
    node: Any = values
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _texts(value: Any) -> list[str]:
    if value is None or isinstance(value, bool):
        return []
    return [value if isinstance(value, str) else str(value)]


class _Doc(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", validate_assignment=False)


class HistoryEntry(_Doc):
    state: State
    date: str


class StateInfo(_Doc):
    current: State = State.CREATED
    histories: list[HistoryEntry] = Field(default_factory=list)

    def move(self, new: State, when: datetime) -> None:
        self.current = new
        self.histories.append(HistoryEntry(state=new, date=iso(when) or ""))

    @property
    def start_date(self) -> str | None:
        return self.histories[0].date if self.histories else None

    @property
    def end_date(self) -> str | None:
        if self.current.is_terminal or self.current == State.PAUSED:
            return self.histories[-1].date if self.histories else None
        return None

    def entered(self, state: State) -> str | None:
        """When this state was last entered."""
        for entry in reversed(self.histories):
            if entry.state == state:
                return entry.date
        return None

    def to_api(self) -> dict[str, Any]:
        return {
            "current": self.current.value,
            "histories": [{"state": h.state.value, "date": h.date} for h in self.histories],
            "startDate": self.start_date,
            "endDate": self.end_date,
        }


class TaskRun(_Doc):
    id: str = Field(default_factory=new_id)
    executionId: str
    namespace: str
    flowId: str
    taskId: str
    parentTaskRunId: str | None = None
    value: str | None = None
    iteration: int | None = None  # set on the direct children of a ForEach, as in Kestra
    attempts: list[dict[str, Any]] = Field(default_factory=list)
    outputs: dict[str, Any] = Field(default_factory=dict)
    state: StateInfo = Field(default_factory=StateInfo)
    # pausebot's own bookkeeping, kept in the document so it survives restarts:
    deadline: str | None = None  # when a paused task run times out (ISO UTC)
    deadlineTarget: State | None = None  # the state the Pause resolves to at the deadline
    wakeAt: str | None = None  # Sleep end, or next retry attempt
    description: str | None = None  # a Pause's rendered description, shown to deciders
    secretOutputs: list[str] = Field(default_factory=list)  # dotted paths masked when shown
    iterationValues: list[str] | None = None  # a ForEach's values, rendered once and kept

    def move(self, new: State, when: datetime) -> None:
        if self.state.histories:
            check_task_run_transition(self.state.current, new)
        self.state.move(new, when)

    def to_api(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", exclude={"state", "secretOutputs"})
        data["state"] = self.state.to_api()
        return data


def _iteration_path(run: TaskRun, by_id: dict[str, TaskRun]) -> list[str]:
    """The ForEach values a run sits under, outermost first."""
    path: list[str] = []
    node: TaskRun | None = run
    while node is not None and len(path) < 1000:
        if node.iteration is not None and node.value is not None:
            path.append(node.value)
        node = by_id.get(node.parentTaskRunId) if node.parentTaskRunId else None
    path.reverse()
    return path


class Execution(_Doc):
    id: str = Field(default_factory=new_id)
    namespace: str
    flowId: str
    flowRevision: int
    inputs: dict[str, Any] = Field(default_factory=dict)
    labels: list[dict[str, str]] = Field(default_factory=list)
    variables: dict[str, Any] = Field(default_factory=dict)
    state: StateInfo = Field(default_factory=StateInfo)
    taskRunList: list[TaskRun] = Field(default_factory=list)
    trigger: dict[str, Any] | None = None
    outputs: dict[str, Any] = Field(default_factory=dict)
    # Set by a manual pause: nothing new is scheduled until a resume clears it.
    pausedManually: bool = False
    # Who started it: {"id", "name"} or None, and through which surface.
    startedBy: dict[str, Any] | None = None
    startedVia: str | None = None
    # A kill in progress remembers who asked, for the audit trail and the Slack message.
    killedBy: dict[str, Any] | None = None
    killedVia: str | None = None
    killReason: str | None = None
    finalState: State | None = None  # decided before afterExecution runs
    # Set when an Approval's behaviour (SUCCEED, CANCEL, KILL) ends the execution early.
    ending: State | None = None
    secretInputs: list[str] = Field(default_factory=list)  # SECRET input ids, masked when shown

    def move(self, new: State, when: datetime) -> None:
        if self.state.histories:
            check_execution_transition(self.state.current, new)
        self.state.move(new, when)

    # -- task-run lookups ---------------------------------------------------------------
    def task_run(self, task_run_id: str) -> TaskRun | None:
        for run in self.taskRunList:
            if run.id == task_run_id:
                return run
        return None

    def runs_of(self, task_id: str, parent_id: str | None) -> list[TaskRun]:
        return [
            r for r in self.taskRunList if r.taskId == task_id and r.parentTaskRunId == parent_id
        ]

    def paused_task_runs(self) -> list[TaskRun]:
        return [r for r in self.taskRunList if r.state.current == State.PAUSED]

    def label_map(self) -> dict[str, str]:
        return {item["key"]: item["value"] for item in self.labels}

    def outputs_by_task(self) -> dict[str, Any]:
        """``outputs.<taskId>`` for expressions; later runs of the same task win."""
        result: dict[str, Any] = {}
        by_id = {run.id: run for run in self.taskRunList}
        for run in self.taskRunList:
            if not run.outputs:
                continue
            path = _iteration_path(run, by_id)
            if not path:
                result[run.taskId] = run.outputs
                continue
            # Inside a ForEach, as in Kestra: outputs.<taskId>[<value>]... (one level per loop)
            node = result.setdefault(run.taskId, {})
            for key in path[:-1]:
                child = node.get(key)
                node = child if isinstance(child, dict) else node.setdefault(key, {})
            if isinstance(node, dict):
                node[path[-1]] = run.outputs
        return result

    def ancestors(self, run: TaskRun) -> list[TaskRun]:
        """The parent task runs of ``run``, nearest first (Kestra's ``parents``)."""
        by_id = {r.id: r for r in self.taskRunList}
        chain: list[TaskRun] = []
        parent_id = run.parentTaskRunId
        while parent_id is not None and parent_id in by_id and len(chain) < 1000:
            parent = by_id[parent_id]
            chain.append(parent)
            parent_id = parent.parentTaskRunId
        return chain

    def masked(self) -> Execution:
        """A copy fit to show people: SECRET inputs and onResume values replaced by a mask.
        Expressions keep using the real values (as Kestra decrypts secrets in the run context)."""
        secrets = secret_values()  # values of secret() masked wherever they were copied
        if (
            not secrets
            and not self.secretInputs
            and not any(run.secretOutputs for run in self.taskRunList)
        ):
            return self
        copy = self.model_copy(deep=True)
        for path in copy.secretInputs:
            _mask(copy.inputs, path)
        for run in copy.taskRunList:
            for path in run.secretOutputs:
                _mask(run.outputs, path)
            run.outputs = mask_secrets_in(run.outputs, secrets)
        copy.outputs = mask_secrets_in(copy.outputs, secrets)
        return copy

    def secret_input_values(self) -> list[str]:
        """The text of every SECRET input and onResume value, longest first: what logs mask."""
        found: set[str] = set()
        for path in self.secretInputs:
            found.update(_texts(_lookup(self.inputs, path)))
        for run in self.taskRunList:
            for path in run.secretOutputs:
                found.update(_texts(_lookup(run.outputs, path)))
        return sorted((v for v in found if v), key=len, reverse=True)

    def to_api(self, *, url: str | None = None) -> dict[str, Any]:
        shown = self.masked()
        data = shown.model_dump(
            mode="json",
            exclude={
                "state",
                "taskRunList",
                "pausedManually",
                "finalState",
                "ending",
                "variables",
                "secretInputs",
            },
        )
        data["state"] = self.state.to_api()
        data["taskRunList"] = [run.to_api() for run in shown.taskRunList]
        if url is not None:
            data["url"] = url
        return data
