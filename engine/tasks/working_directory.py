"""flow.WorkingDirectory: its tasks run one after the other in one shared temporary directory,
created with ``inputFiles`` and ``namespaceFiles`` when the first of them runs and removed when
the WorkingDirectory ends.

The directory lives on the machine that runs the tasks (``<tmp>/pausebot-wd-<task run id>``).
If another replica takes the execution over mid-way, it starts from a fresh directory: keep
what must survive in ``outputFiles`` / the file storage, as with Kestra's workers.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from engine.model import Execution, TaskRun
from engine.tasks.base import RunContext, register
from engine.tasks.flowable import Block, FlowableTask
from engine.tasks.script import NamespaceFiles, safe_path

if TYPE_CHECKING:  # resolved by engine.tasks once every type is registered
    from engine.flows import Flow
    from engine.tasks import AnyTask


@register
class WorkingDirectoryTask(FlowableTask):
    type_names = (
        "io.kestra.plugin.core.flow.WorkingDirectory",
        "io.kestra.core.tasks.flows.WorkingDirectory",
    )
    tasks: list[AnyTask] = Field(min_length=1)
    inputFiles: dict[str, Any] | str | None = None
    namespaceFiles: NamespaceFiles | None = None
    outputFiles: list[str] | None = None
    cache: dict[str, Any] | None = None

    def main_block(self, run: TaskRun, render: Any) -> Block:
        return Block("tasks", list(self.tasks))

    def child_blocks(self) -> dict[str, list[Any]]:
        return {"tasks": list(self.tasks), **super().child_blocks()}


def directory_for(run: TaskRun) -> Path:
    return Path(tempfile.gettempdir()) / f"pausebot-wd-{run.id}"


def working_directory_of(execution: Execution, flow: Flow, run: TaskRun) -> Path | None:
    """The shared directory of the nearest enclosing WorkingDirectory, if any."""
    for parent in execution.ancestors(run):
        if isinstance(flow.find_task(parent.taskId), WorkingDirectoryTask):
            return directory_for(parent)
    return None


def enclosing_task(execution: Execution, flow: Flow, run: TaskRun) -> WorkingDirectoryTask | None:
    for parent in execution.ancestors(run):
        task = flow.find_task(parent.taskId)
        if isinstance(task, WorkingDirectoryTask):
            return task
    return None


def prepare(directory: Path, task: WorkingDirectoryTask, context: RunContext) -> None:
    """Creates the directory with the WorkingDirectory's files, once."""
    ready = _ready_mark(directory)
    if ready.exists() and directory.is_dir():
        return
    directory.mkdir(parents=True, exist_ok=True)
    if task.namespaceFiles is not None and task.namespaceFiles.enabled:
        from engine.namespace_files import list_namespace_files

        spec = task.namespaceFiles
        for namespace in spec.namespaces or [context.namespace]:
            for relative, source in list_namespace_files(namespace, spec.include, spec.exclude):
                target = safe_path(directory, relative)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
    files = task.inputFiles
    if isinstance(files, str):
        files = json.loads(context.render_text(files))
    for name, content in (files or {}).items():
        target = safe_path(directory, str(name))
        target.parent.mkdir(parents=True, exist_ok=True)
        rendered = context.render(content)
        target.write_text(rendered if isinstance(rendered, str) else json.dumps(rendered))
    ready.write_text("")


def remove(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
    _ready_mark(directory).unlink(missing_ok=True)


def _ready_mark(directory: Path) -> Path:
    return directory.with_name(directory.name + ".ready")  # beside it, so no glob picks it up
