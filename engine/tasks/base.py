"""What every task type shares, and the registry that maps Kestra type names to classes.

Two kinds of task, as in Kestra: *flowable* tasks (Pause, If, Switch, Sequential, Parallel,
Sleep) are decided by the executor without I/O; *runnable* tasks (Log, http.Request, ...) do
their work in ``run`` on a runner thread and return a ``TaskResult``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine.errors import TaskFailure

LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"]

ID_PATTERN = r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$"


class Retry(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    type: Literal["constant", "exponential", "random"] = "constant"
    interval: str | None = None
    maxAttempt: int | None = Field(default=None, alias="maxAttempts")
    maxDuration: str | None = None
    maxInterval: str | None = None
    minInterval: str | None = None
    delayFactor: float | None = None
    warningOnRetry: bool = False
    behavior: Literal["RETRY_FAILED_TASK", "CREATE_NEW_EXECUTION"] = "RETRY_FAILED_TASK"

    @field_validator("behavior")
    @classmethod
    def _supported_behavior(cls, value: str) -> str:
        if value == "CREATE_NEW_EXECUTION":
            raise ValueError(
                "retry behavior CREATE_NEW_EXECUTION is not supported by pausebot: a failed task "
                "is retried in the same execution (RETRY_FAILED_TASK)"
            )
        return value


class Task(BaseModel):
    """Properties common to every task (Kestra's ``Task``)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    kind: ClassVar[Literal["runnable", "flowable"]] = "runnable"
    # True for tasks that enforce their own ``timeout`` (scripts kill their process group).
    handles_timeout: ClassVar[bool] = False
    # The canonical Kestra type name first, then legacy aliases.
    type_names: ClassVar[tuple[str, ...]] = ()

    id: str = Field(pattern=ID_PATTERN, max_length=255)
    type: str
    description: str | None = None
    disabled: bool = False
    allowFailure: bool = False
    allowWarning: bool = False
    runIf: str | None = None
    retry: Retry | None = None
    timeout: str | None = None
    logLevel: str | None = None
    logToFile: bool | None = None
    workerGroup: Any = None

    @model_validator(mode="before")
    @classmethod
    def _nulls_are_unset(cls, value: Any) -> Any:
        # Jackson reads `defaults: null` as "not given": the property keeps its default.
        if isinstance(value, dict):
            return {key: item for key, item in value.items() if item is not None}
        return value

    @field_validator("id", mode="before")
    @classmethod
    def _numeric_id(cls, value: Any) -> Any:
        # Kestra's ids are strings, and Jackson reads `id: 1` into one.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if cls.type_names and value not in cls.type_names:
            raise ValueError(f"type must be one of {', '.join(cls.type_names)}")
        return value

    def child_blocks(self) -> dict[str, list[Task]]:
        """Named lists of child tasks (``then``, ``errors``, ...), for validation and lookup."""
        return {}

    def run(self, context: RunContext) -> TaskResult:  # pragma: no cover - runnables override
        raise NotImplementedError(f"{self.type} is not runnable")


@dataclass
class LogLine:
    level: str
    message: str


@dataclass
class TaskResult:
    outputs: dict[str, Any] = field(default_factory=dict)
    state: str = "SUCCESS"  # SUCCESS | WARNING | FAILED
    logs: list[LogLine] = field(default_factory=list)


@dataclass
class RunContext:
    """What a runnable task gets: a renderer bound to its expression context, and a log."""

    variables: dict[str, Any]
    deadline: datetime | None = None
    http_timeout: float = 30.0
    logs: list[LogLine] = field(default_factory=list)
    task_id: str = ""
    # Set by the engine for tasks that stream output (scripts): lines go to the execution's log
    # while the task runs instead of at its end.
    log_sink: Callable[[list[LogLine]], None] | None = None
    # A flow.WorkingDirectory's shared directory, when the task runs inside one.
    working_dir: Path | None = None
    # The engine's services for tasks that do I/O beyond the task itself (files, KV store).
    services: Any = None

    def render(self, value: Any) -> Any:
        from engine.errors import ExpressionError
        from engine.expressions import render_value

        try:
            return render_value(value, self.variables)
        except ExpressionError as error:
            raise ExpressionError(error.expression, error.reason, task_id=self.task_id) from None

    def render_text(self, value: Any) -> str:
        rendered = self.render(value)
        return rendered if isinstance(rendered, str) else str(rendered)

    def render_bool(self, value: bool | str, field: str) -> bool:
        """A boolean property that may be an expression (``overwrite: "{{ inputs.force }}"``)."""
        if isinstance(value, bool):
            return value
        text = self.render_text(value).strip().lower()
        if text not in ("true", "false"):
            raise TaskFailure(f"{field} must be true or false, got {text!r}")
        return text == "true"

    def log(self, level: str, message: str) -> None:
        self.logs.append(LogLine(level, message))

    def stream(self, lines: list[LogLine]) -> None:
        """Log lines now if the engine streams logs, else with the task's result."""
        if self.log_sink is not None:
            self.log_sink(lines)
        else:
            self.logs.extend(lines)

    @property
    def namespace(self) -> str:
        return str(self.variables.get("flow", {}).get("namespace", ""))

    def fail(self, message: str) -> TaskFailure:
        return TaskFailure(message)


TASK_TYPES: dict[str, type[Task]] = {}


def register(cls: type[Task]) -> type[Task]:
    for name in cls.type_names:
        TASK_TYPES[name] = cls
    return cls
