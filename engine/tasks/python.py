from __future__ import annotations

import shlex
import shutil
import sys
import uuid
from pathlib import Path
from typing import ClassVar

from pydantic import Field

from engine.tasks.base import RunContext, register
from engine.tasks.script import ScriptTask


def python_command() -> str:
    """The local interpreter Kestra's Process runner would call ``python``."""
    return shutil.which("python3") or shutil.which("python") or sys.executable


@register
class PythonCommandsTask(ScriptTask):
    """Shell ``commands`` that run Python files (``python main.py``); ``python`` means the local
    Python 3."""

    default_image: ClassVar[str] = "python"
    type_names = ("io.kestra.plugin.scripts.python.Commands",)
    commands: list[str] | str = Field(min_length=1)

    def command_lines(self, context: RunContext, workdir: Path) -> list[str]:
        commands = [self.commands] if isinstance(self.commands, str) else self.commands
        python = shlex.quote(python_command())
        lines = []
        for command in commands:
            line = context.render_text(command)
            for name in ("python3 ", "python "):
                if line.startswith(name):
                    line = python + " " + line[len(name) :]
                    break
            lines.append(line)
        return lines


@register
class PythonScriptTask(ScriptTask):
    """An inline Python ``script``, rendered, written to a file and run with the local Python 3."""

    default_image: ClassVar[str] = "python"
    type_names = ("io.kestra.plugin.scripts.python.Script",)
    script: str

    def command_lines(self, context: RunContext, workdir: Path) -> list[str]:
        path = workdir / f"script-{uuid.uuid4().hex[:12]}.py"
        path.write_text(context.render_text(self.script))
        return [f"{shlex.quote(python_command())} {shlex.quote(str(path))}"]
