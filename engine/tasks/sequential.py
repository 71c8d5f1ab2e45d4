from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from engine.model import TaskRun
from engine.tasks.base import register
from engine.tasks.flowable import Block, FlowableTask

if TYPE_CHECKING:  # resolved by engine.tasks once every type is registered
    from engine.tasks import AnyTask


@register
class SequentialTask(FlowableTask):
    """Runs its tasks one after the other."""

    type_names = ("io.kestra.plugin.core.flow.Sequential", "io.kestra.core.tasks.flows.Sequential")
    tasks: list[AnyTask] = Field(min_length=1)

    def main_block(self, run: TaskRun, render: Any) -> Block:
        return Block("tasks", list(self.tasks))

    def child_blocks(self) -> dict[str, list[Any]]:
        return {"tasks": list(self.tasks), **super().child_blocks()}
