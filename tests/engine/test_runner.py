"""The runner on the real clock: started and resumed executions are picked up at once (no
polling on that path), deadlines fire, and two runners never advance one execution together."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from support import EXAMPLES, flow_source, slow_server

from engine.engine import Engine
from engine.model import Execution
from engine.runner import Runner
from engine.states import State


@pytest.fixture
def live_engine(database_url: str) -> Iterator[Engine]:
    engine = Engine(database_url)
    yield engine
    engine.close()


def wait_for(
    engine: Engine, execution_id: str, states: set[State], timeout: float = 10.0
) -> Execution:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        execution = engine.get_execution(execution_id)
        if execution.state.current in states:
            return execution
        time.sleep(0.01)
    raise AssertionError(
        f"{execution_id} stayed {engine.get_execution(execution_id).state.current}"
    )


def test_runner_wakes_on_start_and_resume_without_polling(live_engine: Engine) -> None:
    # A poll interval far longer than the test: only direct wake-ups can make it pass.
    runner = Runner(live_engine, poll_interval=30.0)
    runner.start()
    try:
        live_engine.deploy_flow((EXAMPLES / "pause_resume.yml").read_text())
        execution = live_engine.start_execution("company.team", "pause_resume")
        wait_for(live_engine, execution.id, {State.PAUSED}, timeout=5)
        live_engine.resume_execution(execution.id, {}, by={"id": "U1", "name": "Ada"})
        done = wait_for(live_engine, execution.id, {State.SUCCESS}, timeout=5)
        assert [r.taskId for r in done.taskRunList] == ["pause", "after_pause"]
    finally:
        runner.stop()


def test_runner_fires_deadlines(live_engine: Engine) -> None:
    runner = Runner(live_engine, poll_interval=0.2)
    runner.start()
    try:
        live_engine.deploy_flow(flow_source("pause-errors-finally-after-execution.yaml"))
        execution = live_engine.start_execution(
            "io.kestra.tests", "pause-with-errors-finally-after-execution"
        )
        done = wait_for(live_engine, execution.id, {State.FAILED}, timeout=5)
        assert len(done.taskRunList) == 4
    finally:
        runner.stop()


def test_two_runners_share_work_without_doubling(database_url: str) -> None:
    engines = [Engine(database_url) for _ in range(2)]
    runners = [Runner(e, poll_interval=0.05) for e in engines]
    for runner in runners:
        runner.start()
    try:
        engines[0].deploy_flow((EXAMPLES / "pause_resume.yml").read_text())
        ids = [engines[i % 2].start_execution("company.team", "pause_resume").id for i in range(10)]
        for execution_id in ids:
            wait_for(engines[0], execution_id, {State.PAUSED})
        for i, execution_id in enumerate(ids):
            engines[i % 2].resume_execution(execution_id, {})
        for execution_id in ids:
            done = wait_for(engines[0], execution_id, {State.SUCCESS})
            assert [r.taskId for r in done.taskRunList] == ["pause", "after_pause"]
            logs = [e.message for e in engines[0].logs(execution_id)]
            assert logs.count("Execution has been resumed!") == 1
    finally:
        for runner in runners:
            runner.stop()
        for engine in engines:
            engine.close()


def test_lease_is_kept_alive_while_a_slow_task_runs(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading
    from datetime import timedelta

    import engine.engine as engine_module

    monkeypatch.setattr(engine_module, "LEASE", timedelta(seconds=0.3))
    engine = Engine(sqlite_url)
    try:
        with slow_server() as (url, release):
            engine.deploy_flow(
                "id: slow\nnamespace: n\ntasks:\n  - id: call\n"
                "    type: io.kestra.plugin.core.http.Request\n"
                f"    uri: {url}\n"
            )
            execution = engine.start_execution("n", "slow")
            worker = threading.Thread(target=engine.advance, args=(execution.id, "first"))
            worker.start()
            time.sleep(0.8)  # well past the 0.3 s lease: only renewals keep it
            now = engine.clock.now()
            assert not engine.store.claim_execution(
                execution.id, "second", now, timedelta(seconds=1)
            )
            release.set()
            worker.join(10)
        assert engine.get_execution(execution.id).state.current == State.SUCCESS
    finally:
        engine.close()


def test_an_execution_that_cannot_be_advanced_fails_instead_of_spinning(database_url: str) -> None:
    from sqlalchemy import delete

    from engine.store.models import FlowRow

    starter = Engine(database_url)
    engine = Engine(database_url)  # a replica that never saw the flow (nothing cached)
    runner = Runner(engine, poll_interval=0.05)
    try:
        starter.deploy_flow((EXAMPLES / "pause_resume.yml").read_text())
        execution = starter.start_execution("company.team", "pause_resume")
        with engine.store.writer.begin() as connection:  # the revision it needs is gone
            connection.execute(delete(FlowRow.__table__))
        runner.start()
        failed = wait_for(engine, execution.id, {State.FAILED}, timeout=10)
        assert failed.state.current == State.FAILED
        messages = [e.message for e in engine.logs(execution.id)]
        assert any("could not advance this execution" in m and "not found" in m for m in messages)
    finally:
        runner.stop()
        engine.close()
        starter.close()


def test_nul_characters_in_logged_text_are_stored(database_url: str) -> None:
    engine = Engine(database_url)
    try:
        # Inputs with NUL are refused (issue 7, finding 3); an expression can still make one.
        engine.deploy_flow(
            "id: nul\nnamespace: n\ntasks:\n"
            "  - id: say\n    type: io.kestra.plugin.core.log.Log\n"
            "    message: \"{{ 'a\\\\x00b' }}\"\n"
        )
        execution = engine.start_execution("n", "nul", {})
        done = engine.run_until_blocked(execution.id)
        assert done.state.current == State.SUCCESS
        assert [e.message for e in engine.logs(execution.id)] == ["a\ufffdb"]
    finally:
        engine.close()
