from __future__ import annotations

from typing import ClassVar, Literal

from engine.tasks.base import Task, register


@register
class SleepTask(Task):
    """Waits without holding a thread: the executor sets a wake-up time and moves on."""

    kind: ClassVar[Literal["runnable", "flowable"]] = "flowable"
    type_names = ("io.kestra.plugin.core.flow.Sleep", "io.kestra.core.tasks.flows.Sleep")
    duration: str
