"""What Kestra's script tasks share (``AbstractExecScript``): the task runner, ``beforeCommands``,
``env``, ``interpreter``, ``failFast``, ``warningOnStdErr``, ``inputFiles``, ``outputFiles``,
``namespaceFiles`` and the outputs ``exitCode``, ``vars`` and ``outputFiles``.

Security model: a flow is code. Whoever can deploy a flow can run any command as the pausebot
service's user, as with Kestra's Process runner; only deployers (API token holders, CLI users)
can deploy. Scripts get a minimal environment (never pausebot's tokens or database URL), their
own temporary directory and process group, and are killed with their children on timeout.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.inputs import parse_duration
from engine.namespace_files import list_namespace_files
from engine.tasks.base import RunContext, Task, TaskResult
from engine.tasks.process import minimal_environment, run_process

PROCESS_RUNNERS = (
    "io.kestra.plugin.core.runner.Process",
    "io.kestra.plugin.scripts.runner.Process",
)
DOCKER_RUNNERS = ("io.kestra.plugin.scripts.runner.docker.Docker",)
MAX_OUTPUT_FILE = 50 * 1024 * 1024  # bytes; larger outputFiles fail the task


class TaskRunner(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str

    @field_validator("type")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in PROCESS_RUNNERS + DOCKER_RUNNERS:
            raise ValueError(
                f"task runner '{value}' is not supported; use "
                "io.kestra.plugin.core.runner.Process (a local process) or "
                "io.kestra.plugin.scripts.runner.docker.Docker (needs a reachable Docker daemon)"
            )
        return value


class NamespaceFiles(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    namespaces: list[str] = Field(default_factory=list)
    folderPerNamespace: bool = False
    ifExists: str | None = None


class ScriptTask(Task):
    handles_timeout: ClassVar[bool] = True
    default_image: ClassVar[str] = "ubuntu"

    taskRunner: TaskRunner | None = None
    runner: str | None = None  # deprecated: PROCESS | DOCKER
    docker: dict[str, Any] | None = None  # deprecated Docker options
    containerImage: str | None = None
    beforeCommands: list[str] | str | None = None
    env: dict[str, Any] = Field(default_factory=dict)
    interpreter: list[str] | str = Field(default_factory=lambda: ["/bin/sh", "-c"])
    failFast: bool = True
    warningOnStdErr: bool = True
    inputFiles: dict[str, Any] | str | None = None
    outputFiles: list[str] | None = None
    namespaceFiles: NamespaceFiles | None = None
    targetOS: str | None = None
    outputDirectory: bool | None = None

    @field_validator("runner")
    @classmethod
    def _runner(cls, value: str | None) -> str | None:
        if value is not None and value.upper() not in ("PROCESS", "DOCKER"):
            raise ValueError("runner must be PROCESS or DOCKER")
        return value

    # -- what a subclass says ------------------------------------------------------------
    def command_lines(self, context: RunContext, workdir: Path) -> list[str]:
        """The rendered commands, run by the interpreter after ``beforeCommands``."""
        raise NotImplementedError

    # -- running ---------------------------------------------------------------------------
    def run(self, context: RunContext) -> TaskResult:
        docker = self._wants_docker()
        if docker and not docker_reachable():
            raise context.fail(
                "The Docker task runner needs a reachable Docker daemon (DOCKER_HOST or "
                "/var/run/docker.sock) and the docker command; none was found. Use "
                "taskRunner: {type: io.kestra.plugin.core.runner.Process} to run it locally."
            )
        shared = context.working_dir
        workdir = shared or Path(tempfile.mkdtemp(prefix="pausebot-script-"))
        try:
            workdir.mkdir(parents=True, exist_ok=True)
            output_dir = workdir / "_outputs"
            output_dir.mkdir(exist_ok=True)
            context.variables = {
                **context.variables,
                "workingDir": str(workdir),
                "outputDir": str(output_dir),
            }
            self._write_namespace_files(context, workdir)
            self._write_input_files(context, workdir)
            script = self._script(context, workdir)
            env = {str(k): context.render_text(v) for k, v in self.env.items()}
            env.update({"WORKING_DIR": str(workdir), "OUTPUT_DIR": str(output_dir)})
            interpreter = self._interpreter(context)
            if docker:
                argv = docker_argv(self._image(context), workdir, env, [*interpreter, script])
                process_env = minimal_environment({})
            else:
                argv = [*interpreter, script]
                process_env = minimal_environment(env)
            timeout = parse_duration(self.timeout).total_seconds() if self.timeout else None
            result = run_process(
                argv, cwd=workdir, env=process_env, context=context, timeout=timeout
            )
            outputs: dict[str, Any] = {"exitCode": result.exit_code, "vars": result.vars}
            if self.outputFiles:
                outputs["outputFiles"] = self._collect_output_files(context, workdir)
            if result.timed_out:
                raise context.fail(
                    f"Task '{self.id}' timed out after {self.timeout}; its processes were killed."
                )
            if result.exit_code != 0:
                raise context.fail(f"Command failed with exit code {result.exit_code}")
            state = "WARNING" if self.warningOnStdErr and result.stderr_lines else "SUCCESS"
            return TaskResult(outputs=outputs, state=state)
        finally:
            if shared is None:
                shutil.rmtree(workdir, ignore_errors=True)

    def _wants_docker(self) -> bool:
        if self.taskRunner is not None:
            return self.taskRunner.type in DOCKER_RUNNERS
        return (self.runner or "").upper() == "DOCKER"

    def _image(self, context: RunContext) -> str:
        image = self.containerImage or (self.docker or {}).get("image") or self.default_image
        return context.render_text(image)

    def _interpreter(self, context: RunContext) -> list[str]:
        if isinstance(self.interpreter, str):
            rendered = context.render(self.interpreter)
            if isinstance(rendered, str):
                try:
                    rendered = json.loads(rendered)
                except ValueError:
                    rendered = rendered.split()
            return [str(part) for part in rendered]
        return [context.render_text(part) for part in self.interpreter]

    def _script(self, context: RunContext, workdir: Path) -> str:
        before = self.beforeCommands
        if isinstance(before, str):
            before = [before]
        lines = [context.render_text(line) for line in (before or [])]
        lines += self.command_lines(context, workdir)
        if self.failFast and self._is_shell(context):
            lines.insert(0, "set -e")
        return "\n".join(lines)

    def _is_shell(self, context: RunContext) -> bool:
        first = Path(self._interpreter(context)[0]).name
        return first in ("sh", "bash", "dash", "zsh", "ash", "ksh")

    def _write_namespace_files(self, context: RunContext, workdir: Path) -> None:
        spec = self.namespaceFiles
        if spec is None or not spec.enabled:
            return
        namespaces = spec.namespaces or [context.namespace]
        for namespace in namespaces:
            target = workdir / namespace if spec.folderPerNamespace else workdir
            for relative, source in list_namespace_files(namespace, spec.include, spec.exclude):
                destination = safe_path(target, relative)
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, destination)

    def _write_input_files(self, context: RunContext, workdir: Path) -> None:
        files = self.inputFiles
        if files is None:
            return
        if isinstance(files, str):
            rendered = context.render_text(files)
            try:
                files = json.loads(rendered)
            except ValueError:
                raise context.fail("inputFiles must be a map of file names to contents") from None
            if not isinstance(files, dict):
                raise context.fail("inputFiles must be a map of file names to contents")
        for name, content in files.items():
            destination = safe_path(workdir, str(name))
            destination.parent.mkdir(parents=True, exist_ok=True)
            rendered = context.render(content) if isinstance(content, str) else content
            if isinstance(rendered, str) and rendered.startswith("kestra://"):
                destination.write_bytes(read_stored_file(context, rendered))
            elif isinstance(rendered, str):
                destination.write_text(rendered)
            else:
                destination.write_text(json.dumps(rendered))

    def _collect_output_files(self, context: RunContext, workdir: Path) -> dict[str, str]:
        storage = getattr(context.services, "storage", None)
        if storage is None:
            raise context.fail("outputFiles need the engine's file storage, which is not set up")
        found: dict[str, str] = {}
        for pattern in self.outputFiles or []:
            pattern = context.render_text(pattern)
            for path in sorted(workdir.glob(pattern)):
                if not path.is_file() or path.is_symlink():
                    continue
                relative = path.relative_to(workdir).as_posix()
                if path.stat().st_size > MAX_OUTPUT_FILE:
                    raise context.fail(
                        f"output file {relative!r} is larger than {MAX_OUTPUT_FILE} bytes"
                    )
                found[relative] = storage.put_for(context, relative, path.read_bytes())
        return found


def read_stored_file(context: RunContext, uri: str) -> bytes:
    storage = getattr(context.services, "storage", None)
    if storage is None:
        raise context.fail(f"cannot read {uri}: file storage is not set up")
    return storage.get_for(context, uri)  # type: ignore[no-any-return]


def safe_path(root: Path, relative: str) -> Path:
    """``root/relative`` unless that leaves ``root`` (``../``, absolute paths)."""
    from engine.errors import TaskFailure

    candidate = (root / relative).resolve()
    if not candidate.is_relative_to(root.resolve()):
        raise TaskFailure(f"file name {relative!r} leaves the working directory")
    return candidate


def docker_reachable() -> bool:
    if shutil.which("docker") is None:
        return False
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        return True  # a TCP daemon: the docker command will say if it is not there
    path = host[len("unix://") :]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(1.0)
            probe.connect(path)
        return True
    except OSError:
        return False


def docker_argv(image: str, workdir: Path, env: dict[str, str], command: list[str]) -> list[str]:
    argv = ["docker", "run", "--rm", "-v", f"{workdir}:{workdir}", "-w", str(workdir)]
    for key, value in env.items():
        argv += ["-e", f"{key}={value}"]
    return [*argv, image, *command]
