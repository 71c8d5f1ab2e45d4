from __future__ import annotations

from pydantic import field_validator

from engine.tasks.base import LEVELS, RunContext, Task, TaskResult, register


def normalise_level(value: str) -> str:
    value = value.upper()
    if value == "WARNING":
        value = "WARN"
    if value not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}")
    return value


@register
class LogTask(Task):
    """Writes ``message`` (a string or a list of strings) to the execution's logs."""

    type_names = ("io.kestra.plugin.core.log.Log", "io.kestra.core.tasks.log.Log")
    message: str | list[str]
    level: str = "INFO"

    @field_validator("level")
    @classmethod
    def _level(cls, value: str) -> str:
        return normalise_level(value)

    def run(self, context: RunContext) -> TaskResult:
        messages = self.message if isinstance(self.message, list) else [self.message]
        for message in messages:
            context.log(self.level, context.render_text(message))
        return TaskResult()
