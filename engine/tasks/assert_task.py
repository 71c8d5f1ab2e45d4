"""execution.Assert: fails the task when any of its ``conditions`` renders falsy, logging each
failed condition; ``errorMessage`` replaces the summary when given."""

from __future__ import annotations

from pydantic import Field

from engine.expressions.printing import is_truthy
from engine.tasks.base import RunContext, Task, TaskResult, register


@register
class AssertTask(Task):
    type_names = ("io.kestra.plugin.core.execution.Assert",)
    conditions: list[str | bool] = Field(min_length=1)
    errorMessage: str | None = None

    def run(self, context: RunContext) -> TaskResult:
        failed = 0
        for condition in self.conditions:
            passed = (
                condition
                if isinstance(condition, bool)
                else is_truthy(context.render_text(condition))
            )
            if not passed:
                failed += 1
                context.log("ERROR", f"Assertion `{condition}` failed!")
        if failed:
            message = (
                context.render_text(self.errorMessage)
                if self.errorMessage
                else f"{failed} assertion{'s' if failed > 1 else ''} failed!"
            )
            raise context.fail(message)
        return TaskResult()
