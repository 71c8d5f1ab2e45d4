"""Flow ``concurrency`` (Kestra's ``limit`` and ``behavior``), enforced in the transaction that
stores a new execution and in the one that ends an execution, under a per-flow lock, so that
replicas sharing a PostgreSQL database never run more than ``limit`` at once.

A slot is held by every execution of the flow that has not ended and is not QUEUED, a PAUSED
one included (as in Kestra). Beyond the limit a new execution is QUEUED (started, oldest first,
when a slot frees up), CANCELLED or FAILED, per ``behavior``.
"""

from __future__ import annotations

from datetime import datetime

from engine.flows import Flow
from engine.model import Execution
from engine.states import State
from engine.store.store import LogEntry, NewEvent, Transaction


def admit(tx: Transaction, execution: Execution, flow: Flow, now: datetime) -> list[NewEvent]:
    """Before a new execution is inserted: queue, cancel or fail it when the flow is full.
    Returns the events of an execution that ends here (``finished``)."""
    limit = flow.concurrency
    if limit is None or execution.state.current != State.CREATED:
        return []
    tx.lock_flow_slots(flow.namespace, flow.id)
    running = tx.count_running(flow.namespace, flow.id)
    if running < limit.limit:
        return []
    if limit.behavior == "QUEUE":
        execution.move(State.QUEUED, now)
        return []
    state = State.CANCELLED if limit.behavior == "CANCEL" else State.FAILED
    execution.move(state, now)
    execution.finalState = state
    tx.append_logs(
        [
            LogEntry(
                execution.id,
                None,
                None,
                "WARN" if state == State.CANCELLED else "ERROR",
                f"Flow concurrency limit of {limit.limit} reached ({running} running): "
                f"execution {state.value.lower()} (behavior {limit.behavior}).",
                now,
            )
        ]
    )
    return [
        NewEvent(
            "finished",
            execution.id,
            None,
            {"namespace": flow.namespace, "flowId": flow.id, "state": state.value},
        )
    ]


def fill_slots(tx: Transaction, flow: Flow, now: datetime) -> list[str]:
    """After an execution of ``flow`` ended: starts queued ones while slots are free (oldest
    first). Returns their ids, to wake them after the commit."""
    limit = flow.concurrency
    if limit is None:
        return []
    tx.lock_flow_slots(flow.namespace, flow.id)
    started: list[str] = []
    free = limit.limit - tx.count_running(flow.namespace, flow.id)
    while free > 0:
        queued = tx.oldest_queued(flow.namespace, flow.id)
        if queued is None:
            break
        execution = queued.execution
        execution.move(State.RUNNING, now)
        if not tx.save_execution(execution, queued.version, wake_at=now):
            break
        tx.append_logs(
            [
                LogEntry(
                    execution.id, None, None, "INFO", "A concurrency slot is free: started.", now
                )
            ]
        )
        started.append(execution.id)
        free -= 1
    return started
