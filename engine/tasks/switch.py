from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator

from engine.model import TaskRun
from engine.tasks.base import register
from engine.tasks.flowable import Block, FlowableTask

if TYPE_CHECKING:  # resolved by engine.tasks once every type is registered
    from engine.tasks import AnyTask


@register
class SwitchTask(FlowableTask):
    """Runs the case whose key equals the rendered ``value`` exactly, else ``defaults``."""

    type_names = ("io.kestra.plugin.core.flow.Switch", "io.kestra.core.tasks.flows.Switch")
    value: str
    cases: dict[str, list[AnyTask]] = Field(default_factory=dict)
    defaults: list[AnyTask] = Field(default_factory=list)

    @field_validator("cases", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        # YAML reads `1:` as an int key; Kestra compares cases as strings.
        if isinstance(value, dict):
            return {
                str(key).lower() if isinstance(key, bool) else str(key): v
                for key, v in value.items()
            }
        return value

    def main_block(self, run: TaskRun, render: Callable[[str], Any]) -> Block:
        if "value" not in run.outputs:
            value = str(render(self.value))
            run.outputs["value"] = value
            run.outputs["defaults"] = value not in self.cases
        value = run.outputs["value"]
        if value in self.cases:
            return Block(f"case:{value}", list(self.cases[value]))
        return Block("defaults", list(self.defaults))

    def child_blocks(self) -> dict[str, list[Any]]:
        blocks = {f"cases.{key}": list(tasks) for key, tasks in self.cases.items()}
        return {**blocks, "defaults": list(self.defaults), **super().child_blocks()}
