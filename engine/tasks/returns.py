from __future__ import annotations

from engine.tasks.base import RunContext, Task, TaskResult, register


@register
class ReturnTask(Task):
    """Renders ``format`` into the output ``value`` (debugging, simple computed values)."""

    type_names = ("io.kestra.plugin.core.debug.Return", "io.kestra.core.tasks.debugs.Return")
    format: str | None = None

    def run(self, context: RunContext) -> TaskResult:
        value = context.render_text(self.format) if self.format is not None else None
        return TaskResult(outputs={"value": value})
