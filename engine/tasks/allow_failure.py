"""flow.AllowFailure (deprecated in Kestra for the ``allowFailure`` property): its tasks run one
after the other; a failure runs its ``errors`` and ends the task (and so the execution) in
WARNING instead of FAILED."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from engine.model import TaskRun
from engine.tasks.base import register
from engine.tasks.flowable import Block, FlowableTask

if TYPE_CHECKING:  # resolved by engine.tasks once every type is registered
    from engine.tasks import AnyTask


@register
class AllowFailureTask(FlowableTask):
    type_names = (
        "io.kestra.plugin.core.flow.AllowFailure",
        "io.kestra.core.tasks.flows.AllowFailure",
    )
    tasks: list[AnyTask] = Field(min_length=1)
    allowFailure: bool = True

    def main_block(self, run: TaskRun, render: Any) -> Block:
        return Block("tasks", list(self.tasks))

    def child_blocks(self) -> dict[str, list[Any]]:
        return {"tasks": list(self.tasks), **super().child_blocks()}
