"""debug.Echo: Kestra's deprecated form of Log, writing ``format`` at ``level``."""

from __future__ import annotations

from pydantic import field_validator

from engine.tasks.base import RunContext, Task, TaskResult, register
from engine.tasks.log import normalise_level


@register
class EchoTask(Task):
    type_names = ("io.kestra.plugin.core.debug.Echo", "io.kestra.core.tasks.debugs.Echo")
    format: str
    level: str = "INFO"

    @field_validator("level")
    @classmethod
    def _level(cls, value: str) -> str:
        return normalise_level(value)

    def run(self, context: RunContext) -> TaskResult:
        context.log(self.level, context.render_text(self.format))
        return TaskResult()
