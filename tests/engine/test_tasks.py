"""Runnable tasks against a real local HTTP server, and failures that name their cause."""

from __future__ import annotations

import pytest
from support import slow_server

from engine.engine import Engine
from engine.model import Execution
from engine.states import State


def run_flow(engine: Engine, tasks_yaml: str, inputs: dict | None = None) -> Execution:
    source = "id: t\nnamespace: tests\ntasks:\n" + tasks_yaml
    engine.deploy_flow(source)
    execution = engine.start_execution("tests", "t", inputs or {})
    return engine.run_until_blocked(execution.id, wait_sleeps=False)


def messages(engine: Engine, execution: Execution) -> list[str]:
    return [e.message for e in engine.logs(execution.id)]


@pytest.fixture
def sqlite_engine(sqlite_url: str, clock) -> Engine:  # type: ignore[no-untyped-def]
    eng = Engine(sqlite_url, clock=clock, http_timeout=3.0)
    yield eng  # type: ignore[misc]
    eng.close()


def test_http_request_failure_and_allow_failed(sqlite_engine: Engine, standin) -> None:  # type: ignore[no-untyped-def]
    failed = run_flow(
        sqlite_engine,
        f"""  - id: req
    type: io.kestra.plugin.core.http.Request
    uri: {standin.url}/api/products
    method: POST
    body: "not json"
""",
    )
    assert failed.state.current == State.FAILED
    assert any("HTTP 400" in m for m in messages(sqlite_engine, failed))
    allowed = run_flow(
        sqlite_engine,
        f"""  - id: req
    type: io.kestra.plugin.core.http.Request
    uri: {standin.url}/api/products
    method: POST
    body: "not json"
    allowFailed: true
""",
    )
    assert allowed.state.current == State.SUCCESS
    assert allowed.taskRunList[0].outputs["code"] == 400


def test_unreachable_host_fails_with_a_message(sqlite_engine: Engine) -> None:
    execution = run_flow(
        sqlite_engine,
        """  - id: req
    type: io.kestra.plugin.core.http.Request
    uri: http://127.0.0.1:9/nothing
""",
    )
    assert execution.state.current == State.FAILED
    assert any(
        "GET http://127.0.0.1:9/nothing failed" in m for m in messages(sqlite_engine, execution)
    )


def test_slack_webhook_payload_must_be_json(sqlite_engine: Engine, standin) -> None:  # type: ignore[no-untyped-def]
    execution = run_flow(
        sqlite_engine,
        f"""  - id: notify
    type: io.kestra.plugin.notifications.slack.SlackIncomingWebhook
    url: {standin.url}/api/slack
    payload: "{{{{ 'not json' }}}}"
""",
    )
    assert execution.state.current == State.FAILED
    assert any("not valid JSON" in m for m in messages(sqlite_engine, execution))
    ok = run_flow(
        sqlite_engine,
        f"""  - id: notify
    type: io.kestra.plugin.notifications.slack.SlackIncomingWebhook
    url: {standin.url}/api/slack
    messageText: "hello <world> & you"
""",
    )
    assert ok.state.current == State.SUCCESS
    assert standin.requests[-1]["body"] == '{"text": "hello <world> & you"}'


def test_expression_error_names_task_and_expression(sqlite_engine: Engine) -> None:
    execution = run_flow(
        sqlite_engine,
        """  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "{{ outputs.nope.value }}"
""",
    )
    assert execution.state.current == State.FAILED
    error = next(m for m in messages(sqlite_engine, execution) if "cannot render" in m)
    assert "Task 'say'" in error and "outputs.nope" in error


def test_run_if_skips_and_flowable_expression_errors_fail(sqlite_engine: Engine) -> None:
    execution = run_flow(
        sqlite_engine,
        """  - id: maybe
    type: io.kestra.plugin.core.log.Log
    runIf: "{{ 1 > 2 }}"
    message: never
  - id: branch
    type: io.kestra.plugin.core.flow.If
    condition: "{{ missing.value }}"
    then:
      - id: inner
        type: io.kestra.plugin.core.log.Log
        message: never
""",
    )
    states = {r.taskId: r.state.current for r in execution.taskRunList}
    assert states == {"maybe": State.SKIPPED, "branch": State.FAILED}
    assert execution.state.current == State.FAILED


def test_task_timeout(sqlite_engine: Engine) -> None:
    import time

    with slow_server() as (url, _release):
        started = time.monotonic()
        execution = run_flow(
            sqlite_engine,
            f"""  - id: slow
    type: io.kestra.plugin.core.http.Request
    uri: {url}
    timeout: PT0.3S
""",
        )
        assert execution.state.current == State.FAILED
        assert any("timed out after PT0.3S" in m for m in messages(sqlite_engine, execution))
        assert time.monotonic() - started < 3  # not held until the server answers
