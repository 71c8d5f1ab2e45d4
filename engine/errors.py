"""The engine's exception tree. Every surface maps these to its own answer in one place
(HTTP status codes in ``bot/api``, ephemeral messages and modal errors in ``bot/slack``,
exit codes in ``bot/cli``). Messages are written for the person who will read them.

    PausebotError
    ├── FlowValidationError        invalid flow YAML; ``problems`` carry path, line and column
    ├── NotFoundError              unknown flow or execution (HTTP 404)
    │   ├── FlowNotFound
    │   ├── ExecutionNotFound
    │   └── TaskRunNotFound        a task run id that is not part of the execution
    ├── InputValidationError       invalid input or onResume values; one ``FieldError`` per field (422)
    ├── ConflictError              the execution is not in a state that allows this (409)
    │   └── AlreadyDecided         someone else resumed/killed the pause first: says who and when
    ├── SchemaError                the database is missing, empty, foreign, older or newer than us
    ├── ExpressionError            a template failed to render; names the expression
    └── TaskFailure                a task failed while running; carries the message logged on it
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class PausebotError(Exception):
    """Base class: ``str(error)`` is a complete sentence meant for the user."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a flow document, located as precisely as we can."""

    message: str
    path: str = ""
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}" + (f", column {self.column}" if self.column else ""))
        if self.path:
            where.append(self.path)
        return f"{' '.join(where)}: {self.message}" if where else self.message

    def as_dict(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "path": self.path,
            "line": self.line,
            "column": self.column,
        }


class FlowValidationError(PausebotError):
    def __init__(self, problems: list[Problem], source_name: str = "flow") -> None:
        self.problems = problems
        self.source_name = source_name
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source_name} is not a valid flow:\n{lines}")


class NotFoundError(PausebotError):
    pass


class FlowNotFound(NotFoundError):
    def __init__(self, namespace: str, flow_id: str, revision: int | None = None) -> None:
        self.namespace, self.flow_id, self.revision = namespace, flow_id, revision
        rev = f" (revision {revision})" if revision is not None else ""
        super().__init__(f"Flow '{namespace}.{flow_id}'{rev} not found.")


class ExecutionNotFound(NotFoundError):
    def __init__(self, execution_id: str) -> None:
        self.execution_id = execution_id
        super().__init__(f"Execution '{execution_id}' not found.")


class TaskRunNotFound(NotFoundError):
    def __init__(self, execution_id: str, task_run_id: str) -> None:
        self.execution_id, self.task_run_id = execution_id, task_run_id
        super().__init__(f"Execution '{execution_id}' has no task run '{task_run_id}'.")


@dataclass(frozen=True)
class FieldError:
    """What is wrong with one input value. ``field`` is the input id (dotted ids stay dotted)."""

    field: str
    message: str
    value: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.field, "message": self.message}


class InputValidationError(PausebotError):
    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("Invalid input: " + "; ".join(f"{e.field}: {e.message}" for e in errors))

    def by_field(self) -> dict[str, str]:
        return {e.field: e.message for e in self.errors}


class ConflictError(PausebotError):
    """The execution's state forbids the operation (resume of a non-paused execution, ...)."""

    def __init__(
        self,
        message: str,
        *,
        execution_id: str | None = None,
        state: str | None = None,
        by: dict[str, Any] | None = None,
        on: str | None = None,
        via: str | None = None,
    ):
        self.execution_id = execution_id
        self.state = state
        self.by, self.on, self.via = by, on, via
        super().__init__(message)

    def as_dict(self) -> dict[str, Any]:
        """The one 409 shape (beside ``message``): the execution's ``state`` and, when a
        decision won (a resume, a review, a kill, the timer), who made it (``by``), when
        (``on``) and through which surface (``via``); null when there was none."""
        return {"state": self.state, "by": self.by, "on": self.on, "via": self.via}


class AlreadyDecided(ConflictError):
    """A pause was already resumed (or the execution killed) by somebody else.

    ``by`` is the actor dict recorded by the winner (``{"id", "name"}``) or None for a timer;
    ``on`` an ISO-8601 UTC timestamp; ``via`` the surface (cli/api/slack/ui/link/timer/bulk);
    ``to`` the state the pause resolved to.
    """

    def __init__(
        self,
        execution_id: str,
        *,
        by: dict[str, Any] | None,
        on: str | None,
        via: str | None,
        to: str | None,
        action: str = "resumed",
        state: str | None = None,
    ) -> None:
        self.to, self.action = to, action
        who = (
            (by or {}).get("name")
            or (by or {}).get("id")
            or ("the timer" if via == "timer" else "someone")
        )
        when = f" at {on}" if on else ""
        through = f" via {via}" if via else ""
        super().__init__(
            f"Execution '{execution_id}' was already {action} by {who}{when}{through}.",
            execution_id=execution_id,
            state=state or to,
            by=by,
            on=on,
            via=via,
        )

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "to": self.to, "action": self.action}


class SchemaError(PausebotError):
    """The database is not one this pausebot can use as it is (missing, empty, foreign, or an
    older or newer schema). The message says which and what to do."""


class ExpressionError(PausebotError):
    def __init__(self, expression: str, reason: str, *, task_id: str | None = None) -> None:
        self.expression, self.reason, self.task_id = expression, reason, task_id
        where = f"Task '{task_id}': " if task_id else ""
        shown = expression if len(expression) <= 200 else expression[:197] + "..."
        super().__init__(f"{where}cannot render expression {shown!r}: {reason}")


class TaskFailure(PausebotError):
    def __init__(self, message: str, *, outputs: dict[str, Any] | None = None) -> None:
        self.outputs = outputs or {}
        super().__init__(message)


__all__ = [
    "AlreadyDecided",
    "ConflictError",
    "ExecutionNotFound",
    "ExpressionError",
    "FieldError",
    "FlowNotFound",
    "FlowValidationError",
    "InputValidationError",
    "NotFoundError",
    "PausebotError",
    "Problem",
    "TaskFailure",
    "TaskRunNotFound",
]
