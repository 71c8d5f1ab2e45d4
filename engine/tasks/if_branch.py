from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import Field

from engine.model import TaskRun
from engine.tasks.base import register
from engine.tasks.flowable import Block, FlowableTask

if TYPE_CHECKING:  # resolved by engine.tasks once every type is registered
    from engine.tasks import AnyTask

FALSY = {"false", "0", "-0", ""}


@register
class IfTask(FlowableTask):
    """``then`` when the condition renders truthy (Kestra: anything but false/0/-0/empty)."""

    type_names = ("io.kestra.plugin.core.flow.If", "io.kestra.core.tasks.flows.If")
    condition: str
    then: list[AnyTask] = Field(min_length=1)
    else_: list[AnyTask] = Field(default_factory=list, alias="else")

    def main_block(self, run: TaskRun, render: Callable[[str], Any]) -> Block:
        if "evaluationResult" not in run.outputs:
            rendered = render(self.condition)
            run.outputs["evaluationResult"] = str(rendered).strip() not in FALSY
        if run.outputs["evaluationResult"]:
            return Block("then", list(self.then))
        return Block("else", list(self.else_))

    def child_blocks(self) -> dict[str, list[Any]]:
        return {"then": list(self.then), "else": list(self.else_), **super().child_blocks()}
