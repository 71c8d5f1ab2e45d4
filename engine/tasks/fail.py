from __future__ import annotations

from engine.tasks.base import RunContext, Task, TaskResult, register
from engine.tasks.if_branch import FALSY


@register
class FailTask(Task):
    """Fails the execution, always or when ``condition`` renders truthy."""

    type_names = ("io.kestra.plugin.core.execution.Fail", "io.kestra.core.tasks.executions.Fail")
    condition: str | None = None
    errorMessage: str = "Task failure"

    def run(self, context: RunContext) -> TaskResult:
        if self.condition is not None and context.render_text(self.condition).strip() in FALSY:
            return TaskResult()
        message = context.render_text(self.errorMessage)
        context.log("ERROR", message)
        raise context.fail(message)
