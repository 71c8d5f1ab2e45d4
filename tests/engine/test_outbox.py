"""The outbox as consumers use it (``Engine.outbox``): claiming and settling, notices, and
durable reminder timers that never fire once a pause is decided. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from engine.clock import ManualClock
from engine.engine import Engine
from engine.model import Execution
from engine.outbox import REMINDER_EVENT

FLOW = """
id: remind_me
namespace: company.team
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
  - id: done
    type: io.kestra.plugin.core.log.Log
    message: done
"""
CONSUMER = "reminders-test"


def paused(engine: Engine) -> tuple[Execution, str]:
    engine.deploy_flow(FLOW)
    execution = engine.start_execution("company.team", "remind_me", {}, via="test")
    execution = engine.run_until_blocked(execution.id)
    run = execution.paused_task_runs()[0]
    return execution, run.id


def reminders_emitted(engine: Engine, execution_id: str) -> list[int]:
    return [
        e.payload["number"]
        for e in engine.store.events_for(execution_id)
        if e.kind == REMINDER_EVENT and e.payload.get("consumer") == CONSUMER
    ]


def test_claim_settle_and_notices(engine: Engine) -> None:
    engine.outbox.register(CONSUMER)
    execution, run_id = paused(engine)
    claimed = engine.outbox.claim(CONSUMER)
    assert [e.kind for e in claimed] == ["created", "paused"]
    assert engine.outbox.claim(CONSUMER) == []  # leased
    engine.outbox.add_notice(CONSUMER, execution.id, run_id, {"channel": "C1", "ts": "1.2"})
    for event in claimed:
        engine.outbox.finish(CONSUMER, event.id)
    assert engine.outbox.backlog(CONSUMER) == 0
    assert engine.outbox.notices(CONSUMER, execution.id) == [
        (run_id, {"channel": "C1", "ts": "1.2"})
    ]
    assert CONSUMER in engine.outbox.consumers()


def test_reminders_fire_at_most_count_times_then_stop(engine: Engine, clock: ManualClock) -> None:
    execution, run_id = paused(engine)
    first = clock.now() + timedelta(hours=4)
    assert engine.outbox.schedule_reminder(
        CONSUMER, execution.id, run_id, first_at=first, every=timedelta(hours=1), count=2
    )
    # Scheduling again (a re-delivered paused event) keeps the series as it is.
    assert not engine.outbox.schedule_reminder(
        CONSUMER, execution.id, run_id, first_at=clock.now(), every=None, count=9
    )
    assert engine.outbox.next_reminder_at(CONSUMER) == first
    assert engine.outbox.fire_due_reminders(CONSUMER) == 0
    clock.advance(timedelta(hours=4))
    assert engine.outbox.fire_due_reminders(CONSUMER) == 1
    assert engine.outbox.fire_due_reminders(CONSUMER) == 0  # not due again yet
    clock.advance(timedelta(hours=1))
    assert engine.outbox.fire_due_reminders(CONSUMER) == 1
    clock.advance(timedelta(hours=5))
    assert engine.outbox.fire_due_reminders(CONSUMER) == 0  # count reached
    assert reminders_emitted(engine, execution.id) == [1, 2]
    assert engine.outbox.reminders(CONSUMER, execution.id) == []


def test_no_reminder_after_a_decision(engine: Engine, clock: ManualClock) -> None:
    execution, run_id = paused(engine)
    engine.outbox.schedule_reminder(
        CONSUMER,
        execution.id,
        run_id,
        first_at=clock.now() + timedelta(minutes=5),
        every=None,
        count=1,
    )
    engine.resume_execution(execution.id, {}, via="test")
    clock.advance(timedelta(hours=1))
    assert engine.outbox.fire_due_reminders(CONSUMER) == 0
    assert reminders_emitted(engine, execution.id) == []
    assert engine.outbox.reminders(CONSUMER, execution.id) == []  # dropped for good


def test_the_timer_survives_a_restart(database_url: str, clock: ManualClock) -> None:
    first = Engine(database_url, clock=clock)
    execution, run_id = paused(first)
    first.outbox.schedule_reminder(
        CONSUMER,
        execution.id,
        run_id,
        first_at=clock.now() + timedelta(hours=4),
        every=timedelta(hours=4),
        count=3,
    )
    first.close()
    clock.advance(timedelta(hours=13))  # down for three intervals
    second = Engine(database_url, clock=clock)
    try:
        assert second.outbox.fire_due_reminders(CONSUMER) == 1  # one now, not a burst of three
        assert second.outbox.fire_due_reminders(CONSUMER) == 0
        (timer,) = second.outbox.reminders(CONSUMER, execution.id)
        assert timer["due_at"] == clock.now() + timedelta(hours=4)
        assert timer["remaining"] == 2 and timer["fired"] == 1
    finally:
        second.close()
