"""Counts the database transactions of one full cycle (start -> PAUSED -> resume -> SUCCESS)
with a runner, so the design cannot silently regress: counted, never timed.

A transaction is one BEGIN opened through SQLAlchemy, or one statement run in autocommit (the
store's single-statement reads on PostgreSQL), which the server also counts as a transaction."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from engine.engine import Engine
from engine.runner import Runner
from engine.states import State

CYCLE = """
id: cycle
namespace: bench
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
  - id: after
    type: io.kestra.plugin.core.log.Log
    message: resumed
"""

MAX_PER_CYCLE = 4  # issue 10: target <= 6, stretch <= 4


class TransactionCounter:
    def __init__(self, engine: Engine) -> None:
        self.count = 0
        self.statements: list[str] = []
        self._lock = threading.Lock()
        self._ignored = threading.local()
        sa_engine = engine.store.engine

        def autocommit(conn) -> bool:  # type: ignore[no-untyped-def]
            return conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"

        @event.listens_for(sa_engine, "begin")
        def _begin(conn):  # type: ignore[no-untyped-def]
            if not autocommit(conn):
                self._add("BEGIN")

        @event.listens_for(sa_engine, "before_cursor_execute")
        def _statement(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
            if autocommit(conn):
                self._add("autocommit " + statement.split("\n")[0][:60])
            elif statement.startswith(("SELECT", "UPDATE", "INSERT", "DELETE")):
                with self._lock:
                    self.statements.append("  " + statement.split("\n")[0][:60])

    def _add(self, what: str) -> None:
        if getattr(self._ignored, "on", False):
            return
        with self._lock:
            self.count += 1
            self.statements.append(what)

    @contextmanager
    def ignoring(self) -> Iterator[None]:
        """The test's own reads (waiting for a state) are not part of the cycle."""
        self._ignored.on = True
        try:
            yield
        finally:
            self._ignored.on = False


def wait_for_state(engine: Engine, runner: Runner, execution_id: str, state: State) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        runner.wait_idle(5)
        if engine.get_execution(execution_id).state.current == state:
            return
        time.sleep(0.01)
    raise AssertionError(f"{execution_id} never reached {state}")


@pytest.fixture
def counted(database_url: str) -> Iterator[tuple[Engine, Runner, TransactionCounter]]:
    engine = Engine(database_url)
    engine.deploy_flow(CYCLE)
    runner = Runner(engine, poll_interval=3600)  # the test must not depend on a poll
    runner.start()
    runner.wait_idle(5)
    time.sleep(0.2)  # the runner's first poll (on start) is behind us
    counter = TransactionCounter(engine)
    try:
        yield engine, runner, counter
    finally:
        runner.stop()
        engine.close()


def test_one_full_cycle_costs_at_most_four_transactions(counted) -> None:  # type: ignore[no-untyped-def]
    engine, runner, counter = counted
    polls_before = runner.polls
    execution = engine.start_execution("bench", "cycle")
    with counter.ignoring():
        wait_for_state(engine, runner, execution.id, State.PAUSED)
    engine.resume_execution(execution.id, {}, by={"id": "U1", "name": "Ada"})
    with counter.ignoring():
        wait_for_state(engine, runner, execution.id, State.SUCCESS)
    trace = "\n".join(counter.statements)
    assert runner.polls == polls_before, "the cycle made the runner poll"
    assert counter.count <= MAX_PER_CYCLE, f"{counter.count} transactions:\n{trace}"


def test_many_cycles_average_the_same(counted) -> None:  # type: ignore[no-untyped-def]
    engine, runner, counter = counted
    ids = [engine.start_execution("bench", "cycle").id for _ in range(5)]
    with counter.ignoring():
        for execution_id in ids:
            wait_for_state(engine, runner, execution_id, State.PAUSED)
    for execution_id in ids:
        engine.resume_execution(execution_id, {}, by={"id": "U1", "name": "Ada"})
    with counter.ignoring():
        for execution_id in ids:
            wait_for_state(engine, runner, execution_id, State.SUCCESS)
    assert counter.count <= MAX_PER_CYCLE * len(ids), "\n".join(counter.statements)


def test_a_bulk_resume_commits_per_batch_not_per_execution(database_url: str) -> None:
    from engine.engine import BULK_BATCH

    engine = Engine(database_url)
    try:
        engine.deploy_flow(CYCLE)
        ids = []
        for _ in range(BULK_BATCH + 20):
            execution = engine.start_execution("bench", "cycle")
            engine.run_until_blocked(execution.id)
            ids.append(execution.id)
        done = engine.start_execution("bench", "cycle").id  # not paused: refused, alone
        engine.run_until_blocked(done)
        engine.resume_execution(done, {})
        engine.run_until_blocked(done)
        counter = TransactionCounter(engine)
        outcome = engine.resume_many([*ids[:10], done, *ids[10:], "missing"], by={"id": "U1"})
        assert sorted(outcome.resumed) == sorted(ids)
        assert set(outcome.refused) == {done, "missing"}
        assert counter.count <= 2, "\n".join(counter.statements)  # two batches
        for execution_id in ids[:3]:
            assert engine.run_until_blocked(execution_id).state.current == State.SUCCESS
    finally:
        engine.close()
