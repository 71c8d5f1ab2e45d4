from __future__ import annotations

from typing import Any

from pydantic import Field

from engine.tasks.base import RunContext, Task, TaskResult, register


@register
class OutputValuesTask(Task):
    """Renders ``values`` into the output ``values`` map."""

    type_names = (
        "io.kestra.plugin.core.output.OutputValues",
        "io.kestra.core.tasks.storages.OutputValues",
    )
    values: dict[str, Any] = Field(default_factory=dict)

    def run(self, context: RunContext) -> TaskResult:
        return TaskResult(outputs={"values": context.render(self.values)})
