"""PostgreSQL LISTEN/NOTIFY between replicas: one engine starts and resumes, the other one's
runner advances the execution, woken by NOTIFY and never by its poll (counted, not timed)."""

from __future__ import annotations

import time

from engine.engine import Engine
from engine.runner import Runner
from engine.states import State

CYCLE = """
id: cycle
namespace: replicas
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
  - id: after
    type: io.kestra.plugin.core.log.Log
    message: resumed
"""


def wait_for(engine: Engine, execution_id: str, state: State, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if engine.get_execution(execution_id).state.current == state:
            return
        time.sleep(0.02)
    raise AssertionError(f"{execution_id} stayed {engine.get_execution(execution_id).state}")


def test_the_other_replica_wakes_by_notify_not_by_polling(postgres_url: str) -> None:
    front = Engine(postgres_url)  # a replica without a runner (an API-only process, the CLI)
    back = Engine(postgres_url)
    runner = Runner(back, poll_interval=3600)
    runner.start()
    try:
        assert runner.poll_interval >= 30, "on PostgreSQL the poll is only a slow fallback"
        runner.wait_idle(5)
        time.sleep(0.3)  # the poll on start is behind us
        polls = runner.polls
        listener = back._worker.listener  # type: ignore[union-attr]
        received = listener.received
        front.deploy_flow(CYCLE)
        execution = front.start_execution("replicas", "cycle")
        wait_for(front, execution.id, State.PAUSED)
        front.resume_execution(execution.id, {}, by={"id": "U1", "name": "Ada"})
        wait_for(front, execution.id, State.SUCCESS)
        assert runner.polls == polls, "the runner polled instead of being woken"
        assert listener.received > received
    finally:
        runner.stop()
        back.close()
        front.close()


def test_a_deadline_set_elsewhere_is_scheduled_without_polling(postgres_url: str) -> None:
    front = Engine(postgres_url)
    back = Engine(postgres_url)
    runner = Runner(back, poll_interval=3600)
    runner.start()
    try:
        runner.wait_idle(5)
        time.sleep(0.3)
        polls = runner.polls
        front.deploy_flow(
            "id: nap\nnamespace: replicas\ntasks:\n"
            "  - id: nap\n    type: io.kestra.plugin.core.flow.Sleep\n    duration: PT0.5S\n"
            "  - id: after\n    type: io.kestra.plugin.core.log.Log\n    message: awake\n"
        )
        execution = front.start_execution("replicas", "nap")
        wait_for(front, execution.id, State.SUCCESS)
        # Woken for the start (NOTIFY "run"), then at the sleep's end (a deadline it was told
        # of): the poll that finds the due sleep is the deadline's, not the 3600 s fallback.
        assert runner.polls <= polls + 1
    finally:
        runner.stop()
        back.close()
        front.close()


def test_an_idle_runner_on_postgresql_costs_no_polling(postgres_url: str) -> None:
    engine = Engine(postgres_url)
    runner = Runner(engine)
    runner.start()
    try:
        runner.wait_idle(5)
        time.sleep(0.3)
        polls = runner.polls
        time.sleep(2.0)  # a SQLite runner would have polled twice by now
        assert runner.polls == polls
    finally:
        runner.stop()
        engine.close()


def test_a_lone_worker_sends_no_notify_until_another_says_hello(postgres_url: str) -> None:
    first = Engine(postgres_url)
    second = Engine(postgres_url)
    runners = [Runner(first, poll_interval=3600), Runner(second, poll_interval=3600)]
    try:
        runners[0].start()
        assert first.store.peers is False  # alone: its commits send no pg_notify
        runners[1].start()  # registers with a "hello" that the first one hears
        deadline = time.monotonic() + 10
        while first.store.peers is not True and time.monotonic() < deadline:
            time.sleep(0.02)
        assert first.store.peers is True and second.store.peers is True
    finally:
        for runner in runners:
            runner.stop()
        second.close()
        first.close()
