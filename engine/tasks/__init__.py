"""Task types, registered by their Kestra type names (and legacy aliases).

``AnyTask`` is the pydantic discriminated union over every registered type: a task dict is
validated by the class its ``type`` names, so errors point into the right properties.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import Discriminator, Tag

from engine.tasks import (  # noqa: F401 - importing registers the types
    allow_failure,
    approval,
    assert_task,
    echo,
    fail,
    for_each,
    for_each_item,
    http_download,
    http_request,
    if_branch,
    kv_delete,
    kv_get,
    kv_get_keys,
    kv_set,
    labels,
    local_files,
    log,
    mail_send,
    output_values,
    parallel,
    pause,
    purge_executions,
    python,
    returns,
    sequential,
    shell,
    slack_incoming_webhook,
    sleep,
    storage_write,
    subflow,
    switch,
    teams_incoming_webhook,
    wait_for,
    working_directory,
)
from engine.tasks.base import TASK_TYPES, RunContext, Task, TaskResult
from engine.tasks.flowable import Block, FlowableTask

_CLASSES: list[type[Task]] = list(dict.fromkeys(TASK_TYPES.values()))


def _task_tag(value: Any) -> str | None:
    if isinstance(value, Task):
        return value.type_names[0]
    if isinstance(value, dict):
        type_name = value.get("type")
        if not isinstance(type_name, str):
            return None
        cls = TASK_TYPES.get(type_name)
        return cls.type_names[0] if cls else type_name
    return None


if TYPE_CHECKING:  # to a type checker every task is a Task
    AnyTask = Task
else:
    AnyTask = Annotated[
        Union[tuple(Annotated[cls, Tag(cls.type_names[0])] for cls in _CLASSES)],  # type: ignore[valid-type]  # noqa: UP007
        Discriminator(_task_tag),
    ]

for _cls in [*_CLASSES, FlowableTask]:  # resolve the forward references to AnyTask
    _cls.model_rebuild(  # type: ignore[attr-defined]
        _types_namespace={"AnyTask": AnyTask}
    )

__all__ = ["TASK_TYPES", "AnyTask", "Block", "FlowableTask", "RunContext", "Task", "TaskResult"]
