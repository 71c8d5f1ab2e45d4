"""Flow concurrency (limit, behavior QUEUE / CANCEL / FAIL) on SQLite and PostgreSQL, with Kestra's
flow-concurrency-* test flows: a PAUSED execution holds its slot; queued executions start oldest
first when a slot frees up; many starters at once never exceed the limit."""

from __future__ import annotations

import threading

import pytest
from run_support import corpus_flow, messages

from engine.clock import ManualClock
from engine.engine import Engine
from engine.errors import FlowValidationError
from engine.states import State


def start(engine: Engine, flow_id: str) -> str:
    return engine.start_execution("io.kestra.tests", flow_id, {}, via="test").id


def states(execution) -> list[str]:  # type: ignore[no-untyped-def]
    return [h.state.value for h in execution.state.histories]


def test_queue_pause(engine: Engine, clock: ManualClock) -> None:
    engine.deploy_flow(corpus_flow("flow-concurrency-queue-pause.yml"))
    first = start(engine, "flow-concurrency-queue-pause")
    assert engine.run_until_blocked(first).state.current == State.PAUSED
    second = start(engine, "flow-concurrency-queue-pause")
    assert engine.get_execution(second).state.current == State.QUEUED
    assert second not in engine.due_executions()
    assert engine.run_until_blocked(second, wait_sleeps=False).state.current == State.QUEUED
    clock.advance(1)  # the Pause's delay ends: the first one finishes and frees its slot
    assert engine.run_until_blocked(first).state.current == State.SUCCESS
    assert second in engine.due_executions()
    engine.run_until_blocked(second)
    clock.advance(1)
    done = engine.run_until_blocked(second)
    assert done.state.current == State.SUCCESS
    assert states(done)[:3] == ["CREATED", "QUEUED", "RUNNING"]
    assert "A concurrency slot is free: started." in messages(engine, second)


def test_cancel_pause(engine: Engine, clock: ManualClock) -> None:
    engine.deploy_flow(corpus_flow("flow-concurrency-cancel-pause.yml"))
    first = start(engine, "flow-concurrency-cancel-pause")
    assert engine.run_until_blocked(first).state.current == State.PAUSED
    second = engine.get_execution(start(engine, "flow-concurrency-cancel-pause"))
    assert second.state.current == State.CANCELLED
    assert states(second) == ["CREATED", "CANCELLED"]
    assert [e.kind for e in engine.store.events_for(second.id)] == ["created", "finished"]
    clock.advance(1)
    assert engine.run_until_blocked(first).state.current == State.SUCCESS


def test_fail(engine: Engine) -> None:
    engine.deploy_flow(corpus_flow("flow-concurrency-fail.yml"))
    first = start(engine, "flow-concurrency-fail")
    engine.run_until_blocked(first, wait_sleeps=False)
    second = engine.get_execution(start(engine, "flow-concurrency-fail"))
    assert second.state.current == State.FAILED
    assert any("concurrency limit of 1 reached" in m for m in messages(engine, second.id))


def test_killing_frees_the_slot_and_a_killed_queued_one_gives_it_up(engine: Engine) -> None:
    engine.deploy_flow(corpus_flow("flow-concurrency-queue-pause.yml"))
    first = start(engine, "flow-concurrency-queue-pause")
    engine.run_until_blocked(first)
    second = start(engine, "flow-concurrency-queue-pause")
    third = start(engine, "flow-concurrency-queue-pause")
    engine.kill_execution(second, via="test")  # queued: killed without ever running
    assert engine.get_execution(second).state.current == State.KILLED
    assert engine.get_execution(third).state.current == State.QUEUED
    engine.kill_execution(first, via="test")
    assert engine.get_execution(third).state.current == State.RUNNING
    assert engine.run_until_blocked(third).state.current == State.PAUSED


def test_limit_holds_under_concurrent_starts(engine: Engine) -> None:
    engine.deploy_flow(
        """
id: limited
namespace: io.kestra.tests
concurrency:
  limit: 2
tasks:
  - id: gate
    type: io.kestra.plugin.core.flow.Pause
"""
    )
    ids: list[str] = []
    lock = threading.Lock()

    def starter() -> None:
        for _ in range(3):
            execution_id = start(engine, "limited")
            with lock:
                ids.append(execution_id)

    threads = [threading.Thread(target=starter) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    current = [engine.get_execution(i).state.current for i in ids]
    assert current.count(State.CREATED) == 2
    assert current.count(State.QUEUED) == 10


def test_bad_concurrency_is_a_located_validation_error(engine: Engine) -> None:
    with pytest.raises(FlowValidationError, match="behavior"):
        engine.validate_flow(
            "id: x\nnamespace: y\nconcurrency:\n  limit: 1\n  behavior: WAIT\n"
            "tasks:\n  - id: l\n    type: io.kestra.plugin.core.log.Log\n    message: m\n"
        )
    with pytest.raises(FlowValidationError, match="limit"):
        engine.validate_flow(
            "id: x\nnamespace: y\nconcurrency:\n  limit: 0\n"
            "tasks:\n  - id: l\n    type: io.kestra.plugin.core.log.Log\n    message: m\n"
        )
