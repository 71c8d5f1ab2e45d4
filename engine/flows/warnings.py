"""Properties pausebot accepts as Kestra writes them but does not enforce, each reported at
deploy and validation as a warning that names it, so nothing is silently ignored."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.errors import Problem

if TYPE_CHECKING:
    from engine.flows import Flow

Marks = dict[tuple[Any, ...], tuple[int, int]]


def flow_warnings(flow: Flow, marks: Marks) -> list[Problem]:
    warnings: list[Problem] = []

    def warn(message: str, *path: Any) -> None:
        key = (*path[:-1], ("key", path[-1]))  # the key's own line, else its value's
        found = marks.get(key) or marks.get(path)
        line, column = found if found else (None, None)
        text = ""
        for part in path:
            text += f"[{part}]" if isinstance(part, int) else ("." if text else "") + str(part)
        warnings.append(Problem(message, path=text, line=line, column=column))

    if flow.sla:
        warn("'sla' is accepted but not enforced: no SLA is checked", "sla")
    if flow.retry is not None:
        warn(
            "a flow-level 'retry' is accepted but not enforced: only task-level retry applies",
            "retry",
        )
    if flow.listeners:
        warn(
            "'listeners' are accepted but never run (Kestra deprecated them in 0.12 and disables "
            "them by default): use 'afterExecution' or 'errors'",
            "listeners",
        )
    for index, trigger in enumerate(flow.triggers):
        if not trigger.is_webhook and not trigger.disabled:
            warn(
                f"trigger type '{trigger.type}' is accepted but never fires: only Webhook "
                "triggers start executions here",
                "triggers",
                index,
            )
    from engine.tasks.working_directory import WorkingDirectoryTask

    for task in flow.all_tasks():
        if isinstance(task, WorkingDirectoryTask) and task.outputFiles:
            warn(
                f"'outputFiles' of WorkingDirectory '{task.id}' is accepted but not collected: "
                "list them in the script task's (or a storage.LocalFiles') 'outputs' instead",
                "tasks",
            )
        if isinstance(task, WorkingDirectoryTask) and task.cache:
            warn(f"'cache' of WorkingDirectory '{task.id}' is accepted and ignored", "tasks")
    if any(task.workerGroup is not None for task in flow.all_tasks()):
        warn("'workerGroup' is accepted and ignored: every task runs on this service", "tasks")
    return warnings
