"""Shared shape of flowable tasks that own child task lists (If, Switch, Sequential, Parallel)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from engine.tasks.base import Task

if TYPE_CHECKING:
    from engine.model import TaskRun
    from engine.tasks import AnyTask


@dataclass
class Block:
    """The child tasks a flowable run executes, chosen once and recorded on the run."""

    name: str
    tasks: list[Task]
    parallel: bool = False
    concurrency: int = 0  # 0 = unlimited


class FlowableTask(Task):
    kind: ClassVar[Literal["runnable", "flowable"]] = "flowable"

    errors: list[AnyTask] = Field(default_factory=list)
    finally_: list[AnyTask] = Field(default_factory=list, alias="finally")

    def main_block(self, run: TaskRun, render: Callable[[str], Any]) -> Block:
        """Which children to run. May record its choice in ``run.outputs`` (read it back first:
        a resumed execution must take the same branch)."""
        raise NotImplementedError

    def child_blocks(self) -> dict[str, list[Task]]:
        return {"errors": list(self.errors), "finally": list(self.finally_)}
