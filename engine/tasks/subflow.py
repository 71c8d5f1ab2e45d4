"""flow.Subflow: starts an execution of another flow and, with ``wait`` (the default), waits for
it to end. Outputs as Kestra's: ``executionId``, then ``state`` and ``outputs`` (the child flow's
``outputs``, or the deprecated task ``outputs`` map rendered in the child's context).

With ``transmitFailed`` (the default) a child that fails, is killed or cancelled fails this task
(a warning with ``allowFailure``); without it the task succeeds whatever the child's end.

The child is created in the same transaction as the decision that starts it, so a restart can
neither lose nor duplicate it. A child that pauses leaves its parent RUNNING, waiting without a
thread or a timer: the child's end wakes the parent in the child's own transaction. The child's
``trigger`` names its parent (Kestra's shape: ``type``, ``variables.executionId`` ...).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import field_validator

from engine.states import State
from engine.tasks.base import Task, register

SUBFLOW_TRIGGER = "io.kestra.plugin.core.flow.Subflow"


@register
class SubflowTask(Task):
    kind: ClassVar[Literal["runnable", "flowable"]] = "flowable"
    type_names = (
        "io.kestra.plugin.core.flow.Subflow",
        "io.kestra.core.tasks.flows.Subflow",
        "io.kestra.core.tasks.flows.Flow",
    )
    namespace: str
    flowId: str
    revision: int | None = None
    inputs: dict[str, Any] | None = None
    labels: dict[str, str] | None = None
    wait: bool = True
    transmitFailed: bool = True
    inheritLabels: bool | str = False
    outputs: dict[str, Any] | None = None  # deprecated in Kestra 0.15: flow outputs instead
    scheduleDate: str | None = None
    restartBehavior: Literal["RETRY_FAILED", "NEW_EXECUTION"] = "RETRY_FAILED"

    @field_validator("labels", mode="before")
    @classmethod
    def _labels(cls, value: Any) -> Any:
        if isinstance(value, list):  # Kestra accepts a map or a list of {key, value}
            return {str(i.get("key")): str(i.get("value")) for i in value if isinstance(i, dict)}
        return value

    @field_validator("scheduleDate")
    @classmethod
    def _no_schedule(cls, value: str | None) -> str | None:
        if value is not None:
            raise ValueError("scheduleDate is not supported by pausebot: start the subflow now")
        return value

    def result_state(self, child: State) -> State:
        """Kestra's ExecutableUtils.guessState (before allowFailure/allowWarning)."""
        if child.is_failed:
            return State.FAILED if self.transmitFailed else State.SUCCESS
        return State.WARNING if child == State.WARNING else State.SUCCESS


def parent_of(trigger: dict[str, Any] | None) -> dict[str, Any] | None:
    """The parent link in a child's trigger: executionId, taskRunId, namespace, flowId, wait."""
    if not trigger or trigger.get("type") not in SubflowTask.type_names:
        return None
    variables = trigger.get("variables") or {}
    return variables if variables.get("executionId") else None
