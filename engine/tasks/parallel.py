from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from engine.model import TaskRun
from engine.tasks.base import register
from engine.tasks.flowable import Block, FlowableTask

if TYPE_CHECKING:  # resolved by engine.tasks once every type is registered
    from engine.tasks import AnyTask


@register
class ParallelTask(FlowableTask):
    """Runs its tasks side by side (``concurrent`` at a time; 0 = all). A Pause in one branch
    does not hold the others back; each paused branch is resumed on its own."""

    type_names = ("io.kestra.plugin.core.flow.Parallel", "io.kestra.core.tasks.flows.Parallel")
    tasks: list[AnyTask] = Field(min_length=1)
    concurrent: int = Field(default=0, ge=0)

    def main_block(self, run: TaskRun, render: Any) -> Block:
        return Block("tasks", list(self.tasks), parallel=True, concurrency=self.concurrent)

    def child_blocks(self) -> dict[str, list[Any]]:
        return {"tasks": list(self.tasks), **super().child_blocks()}
