"""Execution and task-run states, as in Kestra, and the table of allowed transitions.

Execution: CREATED -> RUNNING -> PAUSED -> RESTARTED -> RUNNING -> SUCCESS|WARNING|FAILED, with
KILLING -> KILLED and CANCELLED on the side. Task run: CREATED -> RUNNING -> PAUSED -> SUCCESS|...
The history is appended to, never rewritten; a transition not in the table is a bug, not a user
error, so it raises ``IllegalTransition`` (an AssertionError subclass).
"""

from __future__ import annotations

from enum import Enum


class State(str, Enum):
    CREATED = "CREATED"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    RESTARTED = "RESTARTED"
    RETRYING = "RETRYING"
    KILLING = "KILLING"
    SUCCESS = "SUCCESS"
    WARNING = "WARNING"
    FAILED = "FAILED"
    KILLED = "KILLED"
    CANCELLED = "CANCELLED"
    SKIPPED = "SKIPPED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL

    @property
    def is_failed(self) -> bool:
        return self in (State.FAILED, State.KILLED, State.CANCELLED)

    def __str__(self) -> str:
        return self.value


TERMINAL = frozenset(
    {State.SUCCESS, State.WARNING, State.FAILED, State.KILLED, State.CANCELLED, State.SKIPPED}
)

_ENDINGS = {State.SUCCESS, State.WARNING, State.FAILED, State.KILLED, State.CANCELLED}

EXECUTION_TRANSITIONS: dict[State, frozenset[State]] = {
    State.CREATED: frozenset(
        {State.RUNNING, State.QUEUED, State.KILLING, State.CANCELLED, State.FAILED}
    ),
    State.QUEUED: frozenset({State.RUNNING, State.KILLING, State.CANCELLED}),
    State.RUNNING: frozenset({State.PAUSED, State.KILLING} | _ENDINGS),
    State.PAUSED: frozenset({State.RESTARTED, State.KILLING, State.CANCELLED, State.FAILED}),
    State.RESTARTED: frozenset({State.RUNNING, State.KILLING}),
    State.KILLING: frozenset({State.KILLED}),
    State.SUCCESS: frozenset(),
    State.WARNING: frozenset(),
    State.FAILED: frozenset(),
    State.KILLED: frozenset(),
    State.CANCELLED: frozenset(),
}

TASK_RUN_TRANSITIONS: dict[State, frozenset[State]] = {
    State.CREATED: frozenset({State.RUNNING, State.SKIPPED, State.KILLED, State.CANCELLED}),
    State.RUNNING: frozenset({State.PAUSED, State.RETRYING} | _ENDINGS),
    State.RETRYING: frozenset({State.RUNNING, State.KILLED, State.CANCELLED, State.FAILED}),
    # A Pause with children (errors/finally/onPause) goes back to RUNNING while they run.
    State.PAUSED: frozenset({State.RUNNING} | _ENDINGS),
    State.SUCCESS: frozenset(),
    State.WARNING: frozenset(),
    State.FAILED: frozenset(),
    State.KILLED: frozenset(),
    State.CANCELLED: frozenset(),
    State.SKIPPED: frozenset(),
}


class IllegalTransition(AssertionError):
    pass


def check_execution_transition(current: State, new: State) -> None:
    if new not in EXECUTION_TRANSITIONS.get(current, frozenset()):
        raise IllegalTransition(f"execution cannot go from {current} to {new}")


def check_task_run_transition(current: State, new: State) -> None:
    if new not in TASK_RUN_TRANSITIONS.get(current, frozenset()):
        raise IllegalTransition(f"task run cannot go from {current} to {new}")


def worst(states: list[State]) -> State:
    """The outcome of a group of finished task runs: the worst state wins."""
    for candidate in (State.KILLED, State.CANCELLED, State.FAILED, State.WARNING):
        if candidate in states:
            return candidate
    return State.SUCCESS
