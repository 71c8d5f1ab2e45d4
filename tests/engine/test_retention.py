"""Nothing grows forever: settled outbox events are pruned after the retention, finished
executions and their logs are purged by the retention setting, by Kestra's PurgeExecutions task
and by `pausebot purge`; a soak (PAUSEBOT_SLOW=1) shows the database size levelling off."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from engine.clock import ManualClock, iso
from engine.engine import Engine
from engine.executor import Settings
from engine.states import State

CYCLE = """
id: cycle
namespace: company.team
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
  - id: after
    type: io.kestra.plugin.core.log.Log
    message: resumed
"""

OTHER = CYCLE.replace("id: cycle", "id: other").replace("company.team", "other")


def cycle(engine: Engine, flow: str = "cycle", namespace: str = "company.team") -> str:
    execution = engine.start_execution(namespace, flow)
    engine.run_until_blocked(execution.id)
    engine.resume_execution(execution.id, {}, by={"id": "U1", "name": "Ada"})
    assert engine.run_until_blocked(execution.id).state.current == State.SUCCESS
    return execution.id


def rows(engine: Engine, table: str) -> int:
    with engine.store.engine.connect() as connection:
        return int(connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar())


def test_settled_outbox_events_are_pruned_after_the_retention(engine: Engine, clock) -> None:  # type: ignore[no-untyped-def]
    engine.deploy_flow(CYCLE)
    engine.store.register_consumer("slack", clock.now())
    done = cycle(engine)
    events = engine.store.events_for(done)
    assert events
    claimed = engine.store.claim_events("slack", clock.now(), limit=100)
    for event in claimed[:-1]:
        engine.store.finish_delivery("slack", event.id, clock.now())
    owed = claimed[-1]  # still pending for the consumer: kept whatever its age
    clock.advance(timedelta(days=8))
    pruned, deliveries = engine.prune_outbox(clock.now() - timedelta(days=7))
    assert pruned == len(events) - 1 and deliveries == len(events) - 1
    assert [e.id for e in engine.store.events_for(done)] == [owed.id]
    engine.store.fail_delivery("slack", owed.id, clock.now(), "gave up")
    assert engine.prune_outbox(clock.now()) == (1, 1)
    assert rows(engine, "outbox_events") == 0 and rows(engine, "outbox_deliveries") == 0


def test_recent_events_are_kept(engine: Engine, clock) -> None:  # type: ignore[no-untyped-def]
    engine.deploy_flow(CYCLE)
    cycle(engine)
    before = rows(engine, "outbox_events")
    assert engine.prune_outbox(clock.now() - timedelta(days=7)) == (0, 0)
    assert rows(engine, "outbox_events") == before


def test_purge_executions_matches_like_kestra(engine: Engine, clock) -> None:  # type: ignore[no-untyped-def]
    engine.deploy_flow(CYCLE)
    engine.deploy_flow(OTHER)
    old = cycle(engine)
    old_other = cycle(engine, "other", "other")
    paused = engine.start_execution("company.team", "cycle").id
    engine.run_until_blocked(paused)
    clock.advance(timedelta(days=40))
    recent = cycle(engine)
    cutoff = clock.now() - timedelta(days=30)
    # Only one namespace, only finished states: the PAUSED one and the other namespace stay.
    outcome = engine.purge_executions(
        end_date=cutoff, namespace="company", states=["SUCCESS", "FAILED", "KILLED"]
    )
    assert outcome.executions == 1 and outcome.logs >= 1
    ids = {e.id for e in engine.search_executions(size=100)[0]}
    assert ids == {old_other, paused, recent}
    assert engine.store.events_for(old) == []
    # Logs only: the execution stays, its logs go.
    logs_only = engine.purge_executions(end_date=cutoff, flow_id=None, purge_execution=False)
    assert logs_only.executions == 0
    assert engine.logs(old_other) == []
    # No states: every state, as in Kestra (the paused one too).
    everything = engine.purge_executions(end_date=cutoff)
    assert everything.executions == 2
    assert {e.id for e in engine.search_executions(size=100)[0]} == {recent}


def test_retention_setting_purges_finished_executions(database_url: str) -> None:
    clock = ManualClock()
    settings = Settings(execution_retention=timedelta(days=30), outbox_retention=timedelta(days=1))
    engine = Engine(database_url, clock=clock, settings=settings)
    try:
        engine.deploy_flow(CYCLE)
        done = cycle(engine)
        paused = engine.start_execution("company.team", "cycle").id
        engine.run_until_blocked(paused)
        clock.advance(timedelta(days=31))
        result = engine.housekeeping()
        assert result["executions"] == 1 and result["logs"] >= 1
        remaining = {e.id for e in engine.search_executions(size=10)[0]}
        assert remaining == {paused} and done not in remaining
    finally:
        engine.close()


def test_the_purge_executions_task(engine: Engine, clock) -> None:  # type: ignore[no-untyped-def]
    engine.deploy_flow(CYCLE)
    first = cycle(engine)
    second = cycle(engine)
    clock.advance(timedelta(days=2))
    engine.deploy_flow(
        """
id: purge
namespace: system
tasks:
  - id: purge
    type: io.kestra.plugin.core.execution.PurgeExecutions
    endDate: "{{ now() | dateAdd(-1, 'DAYS') }}"
    namespace: company.team
    flowId: cycle
    states: [SUCCESS]
    purgeMetric: false
"""
    )
    run = engine.start_execution("system", "purge")
    done = engine.run_until_blocked(run.id)
    assert done.state.current == State.SUCCESS, engine.logs(run.id)
    outputs = done.taskRunList[0].outputs
    assert outputs["executionsCount"] == 2
    assert outputs["logsCount"] >= 2
    assert outputs["metricsCount"] == 0 and outputs["storagesCount"] == 0
    remaining = {e.id for e in engine.search_executions(size=10)[0]}
    assert first not in remaining and second not in remaining and run.id in remaining


def test_the_purge_task_refuses_an_unknown_state(engine: Engine) -> None:
    from engine.errors import FlowValidationError

    with pytest.raises(FlowValidationError, match="states"):
        engine.deploy_flow(
            "id: p\nnamespace: system\ntasks:\n  - id: purge\n"
            "    type: io.kestra.plugin.core.execution.PurgeExecutions\n"
            "    endDate: '2020-01-01T00:00:00Z'\n    states: [DONE]\n"
        )


def test_pausebot_purge_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = Engine(url)
    try:
        engine.deploy_flow(CYCLE)
        done = cycle(engine)
        paused = engine.start_execution("company.team", "cycle").id
        engine.run_until_blocked(paused)
    finally:
        engine.close()
    env = {**os.environ, "PAUSEBOT_DATABASE_URL": url}
    future = iso(ManualClock().now() + timedelta(days=3650))
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "purge", "--end-date", future, "--outbox", "--json"],
        text=True,
        capture_output=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    counts = json.loads(result.stdout)
    assert counts["executionsCount"] == 1 and counts["logsCount"] >= 1
    engine = Engine(url)
    try:
        assert {e.id for e in engine.search_executions(size=10)[0]} == {paused}
        assert engine.store.events_for(done) == []
    finally:
        engine.close()
    both = subprocess.run(
        [sys.executable, "-m", "bot.cli", "purge"], text=True, capture_output=True, env=env
    )
    assert both.returncode == 2 and "--end-date" in both.stderr


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.skipif(not os.environ.get("PAUSEBOT_SLOW"), reason="soak test: PAUSEBOT_SLOW=1")
def test_soak_database_size_levels_off(database_url: str) -> None:
    clock = ManualClock()
    settings = Settings(execution_retention=timedelta(hours=1), outbox_retention=timedelta(hours=1))
    engine = Engine(database_url, clock=clock, settings=settings)
    try:
        engine.deploy_flow(CYCLE)
        engine.store.register_consumer("soak", clock.now())
        sizes = []
        for _round in range(8):
            for _ in range(250):
                cycle(engine)
                clock.advance(timedelta(seconds=3))  # 250 cycles = 12.5 minutes
            for event in engine.store.claim_events("soak", clock.now(), limit=10_000):
                engine.store.finish_delivery("soak", event.id, clock.now())
            engine.housekeeping()
            sizes.append(engine.database_size())
        print("database size per round of 250 cycles:", sizes)
        # Past the retention (after ~5 rounds), deleted rows' space is reused: no growth.
        assert max(sizes[5:]) <= sizes[4] * 1.15, sizes
        assert rows(engine, "executions") <= 5 * 250
    finally:
        engine.close()
