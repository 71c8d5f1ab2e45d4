from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.inputs import InputDefinition
from engine.tasks.base import Task, register

if TYPE_CHECKING:  # resolved by engine.tasks once every type is registered
    from engine.tasks import AnyTask

BEHAVIORS = ("RESUME", "WARN", "FAIL", "CANCEL")


class Assignment(BaseModel):
    """Who may resume (Kestra EE HumanTask): user ids, group ids or e-mail addresses."""

    model_config = ConfigDict(extra="forbid")
    users: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)


@register
class PauseTask(Task):
    """Stops the branch until someone resumes it with typed ``onResume`` values, or a deadline
    passes: ``pauseDuration`` (then ``behavior`` applies) or ``timeout`` (then it fails)."""

    kind: ClassVar[Literal["runnable", "flowable"]] = "flowable"
    type_names = ("io.kestra.plugin.core.flow.Pause", "io.kestra.core.tasks.flows.Pause")

    onResume: list[InputDefinition] | None = None
    pauseDuration: str | None = None
    delay: str | None = None  # deprecated alias of pauseDuration
    behavior: str = "RESUME"
    onPause: AnyTask | None = None
    errors: list[AnyTask] = Field(default_factory=list)
    finally_: list[AnyTask] = Field(default_factory=list, alias="finally")
    tasks: list[AnyTask] = Field(default_factory=list)  # deprecated: children run after resume
    assignment: Assignment | None = None

    @field_validator("behavior")
    @classmethod
    def _behavior(cls, value: str) -> str:
        if "{{" not in value and value.upper() not in BEHAVIORS:
            raise ValueError(f"behavior must be one of {', '.join(BEHAVIORS)}")
        return value

    @field_validator("onResume")
    @classmethod
    def _unique_inputs(cls, value: list[InputDefinition] | None) -> list[InputDefinition] | None:
        seen: set[str] = set()
        for definition in value or []:
            if definition.id in seen:
                raise ValueError(f"duplicate onResume input id '{definition.id}'")
            seen.add(definition.id)
        return value

    @property
    def duration(self) -> str | None:
        return self.pauseDuration or self.delay

    @property
    def has_children(self) -> bool:
        return bool(self.errors or self.finally_ or self.tasks or self.onPause)

    def child_blocks(self) -> dict[str, list[Any]]:
        return {
            "onPause": [self.onPause] if self.onPause is not None else [],
            "tasks": list(self.tasks),
            "errors": list(self.errors),
            "finally": list(self.finally_),
        }
