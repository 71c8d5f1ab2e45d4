from __future__ import annotations

from pathlib import Path

from pydantic import Field

from engine.tasks.base import RunContext, register
from engine.tasks.script import ScriptTask


@register
class ShellCommandsTask(ScriptTask):
    """Shell ``commands``, one per line, run by ``interpreter`` (``/bin/sh -c``)."""

    type_names = ("io.kestra.plugin.scripts.shell.Commands",)
    commands: list[str] | str = Field(min_length=1)

    def command_lines(self, context: RunContext, workdir: Path) -> list[str]:
        commands = [self.commands] if isinstance(self.commands, str) else self.commands
        return [context.render_text(command) for command in commands]


@register
class ShellScriptTask(ScriptTask):
    """A multi-line shell ``script``, rendered, run by ``interpreter``."""

    type_names = ("io.kestra.plugin.scripts.shell.Script",)
    script: str

    def command_lines(self, context: RunContext, workdir: Path) -> list[str]:
        return [context.render_text(self.script)]
