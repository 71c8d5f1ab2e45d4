"""The outbox as its consumers see it: what ``Engine.outbox`` offers the Slack notifier (and any
other consumer) so none of them reaches into ``engine.store``.

Every state change records its events (``paused``, ``resumed``, ``killed``, ``finished``,
``reminder``, ...) in the same transaction. A consumer:

- ``register(name)`` once, then ``claim(name)`` what is due (leased, so replicas never share an
  event), and settles each claimed event with ``finish``, ``retry`` (at a later time) or ``fail``;
- records where it told people about a pause with ``add_notice`` (opaque to the engine: for Slack
  a channel and ``ts``), and reads them back with ``notices`` to keep every one of them true;
- may ask for a **reminder**: ``schedule_reminder`` stores a durable timer for one paused task
  run; ``fire_due_reminders`` turns each due timer into a ``reminder`` outbox event in one
  transaction that first re-reads the execution, so a reminder is never emitted once the task
  run is no longer PAUSED (the decision and the firing serialise on the execution row). The
  engine knows nothing of what a reminder says or where it goes; the event's payload carries the
  consumer's name and the reminder's number.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from engine.clock import Clock
from engine.errors import ExecutionNotFound
from engine.states import State
from engine.store.store import NewEvent, OutboxEvent, Store, utc

REMINDER_EVENT = "reminder"


class Outbox:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    # -- consuming ------------------------------------------------------------------------
    def register(self, consumer: str, *, from_start: bool = False) -> None:
        """A new consumer sees events from now on (or all of them with ``from_start``)."""
        self._store.register_consumer(consumer, self._clock.now(), from_start=from_start)

    def claim(
        self, consumer: str, *, limit: int = 50, lease: timedelta = timedelta(seconds=60)
    ) -> list[OutboxEvent]:
        """Events this consumer has not settled and that are due, oldest first, leased."""
        return self._store.claim_events(consumer, self._clock.now(), limit=limit, lease=lease)

    def finish(self, consumer: str, event_id: int) -> None:
        self._store.finish_delivery(consumer, event_id, self._clock.now())

    def retry(self, consumer: str, event_id: int, at: datetime, error: str) -> None:
        self._store.retry_delivery(consumer, event_id, self._clock.now(), at, error)

    def fail(self, consumer: str, event_id: int, error: str) -> None:
        self._store.fail_delivery(consumer, event_id, self._clock.now(), error)

    def backlog(self, consumer: str) -> int:
        return self._store.outbox_backlog(consumer)

    def failed(self, consumer: str) -> int:
        return self._store.failed_deliveries(consumer)

    def consumers(self) -> list[str]:
        return self._store.outbox_consumers()

    # -- notices ----------------------------------------------------------------------------
    def add_notice(
        self, consumer: str, execution_id: str, task_run_id: str | None, ref: dict[str, Any]
    ) -> None:
        self._store.add_notice(consumer, execution_id, task_run_id, ref, self._clock.now())

    def notices(self, consumer: str, execution_id: str) -> list[tuple[str | None, dict[str, Any]]]:
        """``(task_run_id, ref)`` of every notice, in the order they were added."""
        return self._store.notices(consumer, execution_id)

    # -- reminders ----------------------------------------------------------------------------
    def schedule_reminder(
        self,
        consumer: str,
        execution_id: str,
        task_run_id: str,
        *,
        first_at: datetime,
        every: timedelta | None,
        count: int,
    ) -> bool:
        """At most ``count`` reminders, the first at ``first_at``, then one each ``every``.

        Idempotent: a task run keeps the timer it already has (a re-delivered ``paused`` event
        must not restart the series). Returns whether a timer was created.
        """
        if count < 1:
            return False
        return self._store.schedule_reminder(
            consumer,
            execution_id,
            task_run_id,
            due_at=first_at,
            every_seconds=every.total_seconds() if every else None,
            remaining=count,
            now=self._clock.now(),
        )

    def fire_due_reminders(self, consumer: str, *, limit: int = 50) -> int:
        """Emits a ``reminder`` event for each due timer whose task run is still PAUSED (and
        reschedules or drops the timer) in one transaction per execution. Returns how many
        reminders were emitted."""
        now = self._clock.now()
        emitted = 0
        with self._store.transaction(now) as tx:
            for timer in tx.due_reminders(consumer, limit):
                try:
                    execution = tx.load_execution(timer.execution_id).execution
                except ExecutionNotFound:
                    tx.drop_reminder(consumer, timer.execution_id, timer.task_run_id)
                    continue
                run = execution.task_run(timer.task_run_id)
                if (
                    run is None
                    or run.state.current != State.PAUSED
                    or execution.state.current != State.PAUSED
                ):
                    # Decided (or gone) since it was scheduled: no reminder, ever again.
                    tx.drop_reminder(consumer, timer.execution_id, timer.task_run_id)
                    continue
                number = timer.fired + 1
                tx.emit(
                    [
                        NewEvent(
                            REMINDER_EVENT,
                            execution.id,
                            run.id,
                            {"consumer": consumer, "number": number},
                        )
                    ]
                )
                emitted += 1
                if timer.remaining > 1 and timer.every_seconds:
                    every = timedelta(seconds=timer.every_seconds)
                    due = (utc(timer.due_at) or now) + every
                    # After downtime: one reminder now, the next a full interval later.
                    tx.reschedule_reminder(
                        consumer, execution.id, run.id, due if due > now else now + every
                    )
                else:
                    tx.drop_reminder(consumer, execution.id, run.id)
        return emitted

    def next_reminder_at(self, consumer: str) -> datetime | None:
        return self._store.next_reminder_at(consumer)

    def reminders(self, consumer: str, execution_id: str) -> list[dict[str, Any]]:
        """The pending timers of one execution (for tests and diagnostics)."""
        return self._store.reminders_of(consumer, execution_id)


__all__ = ["REMINDER_EVENT", "NewEvent", "Outbox", "OutboxEvent"]
