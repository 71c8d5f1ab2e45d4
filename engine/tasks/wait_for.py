"""flow.WaitFor: runs its ``tasks`` again and again until ``condition`` renders truthy, checking
every ``checkFrequency.interval``, at most ``maxIterations`` times and for ``maxDuration``.
Reaching a maximum ends the task in SUCCESS, or FAILED with ``failOnMaxReached``. Its output
``iterationCount`` counts the rounds (``outputs.<id>.iterationCount`` inside the loop).

As in Kestra, a new round replaces the previous round's task runs (the execution keeps one
round, so a long poll does not grow the document); the wait between rounds is a timer like
Sleep's, so it holds no thread and survives a restart."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from engine.model import TaskRun
from engine.tasks.base import register
from engine.tasks.flowable import Block, FlowableTask

if TYPE_CHECKING:  # resolved by engine.tasks once every type is registered
    from engine.tasks import AnyTask


class CheckFrequency(BaseModel):
    model_config = ConfigDict(extra="forbid")

    maxIterations: int | None = Field(default=100, ge=1)
    maxDuration: str | None = "PT1H"
    interval: str = "PT1S"


@register
class WaitForTask(FlowableTask):
    type_names = ("io.kestra.plugin.core.flow.WaitFor",)
    tasks: list[AnyTask] = Field(min_length=1)
    condition: str | bool
    failOnMaxReached: bool = False
    checkFrequency: CheckFrequency = Field(default_factory=CheckFrequency)

    def main_block(self, run: TaskRun, render: Any) -> Block:  # the executor walks the rounds
        return Block("tasks", list(self.tasks))

    def child_blocks(self) -> dict[str, list[Any]]:
        return {"tasks": list(self.tasks), **super().child_blocks()}
