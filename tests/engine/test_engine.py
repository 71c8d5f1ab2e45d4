"""Executions end to end through the engine's front door, on SQLite and PostgreSQL, with a
manual clock for every deadline."""

from __future__ import annotations

import threading

import pytest
from support import EXAMPLES, flow_source

from engine.clock import ManualClock
from engine.engine import Engine
from engine.errors import (
    AlreadyDecided,
    ConflictError,
    ExecutionNotFound,
    FlowNotFound,
    InputValidationError,
)
from engine.model import Execution
from engine.states import State

ADA = {"id": "U1", "name": "Ada"}
BOB = {"id": "U2", "name": "Bob"}


def start(engine: Engine, source: str, inputs: dict | None = None) -> Execution:
    deployed = engine.deploy_flow(source)
    execution = engine.start_execution(
        deployed.flow.namespace, deployed.flow.id, inputs or {}, via="test"
    )
    return engine.run_until_blocked(execution.id)


def run_on(engine: Engine, execution_id: str) -> Execution:
    return engine.run_until_blocked(execution_id)


def advance_clock(
    engine: Engine, clock: ManualClock, seconds: float, execution_id: str
) -> Execution:
    clock.advance(seconds)
    assert execution_id in engine.due_executions()
    return engine.run_until_blocked(execution_id)


def task_states(execution: Execution) -> dict[str, str]:
    return {r.taskId: r.state.current.value for r in execution.taskRunList}


def history(execution: Execution) -> list[str]:
    return [h.state.value for h in execution.state.histories]


def log_messages(engine: Engine, execution_id: str) -> list[str]:
    return [entry.message for entry in engine.logs(execution_id)]


# -- the seed flows ---------------------------------------------------------------------


def test_seed_pause_resume(engine: Engine) -> None:
    execution = start(engine, (EXAMPLES / "pause_resume.yml").read_text())
    assert execution.state.current == State.PAUSED
    assert task_states(execution) == {"pause": "PAUSED"}
    engine.resume_execution(execution.id, {}, by=ADA, via="cli")
    done = run_on(engine, execution.id)
    assert done.state.current == State.SUCCESS
    assert history(done) == ["CREATED", "RUNNING", "PAUSED", "RESTARTED", "RUNNING", "SUCCESS"]
    assert [h.state.value for h in done.taskRunList[0].state.histories] == [
        "CREATED",
        "RUNNING",
        "PAUSED",
        "SUCCESS",
    ]
    assert "Execution has been resumed!" in log_messages(engine, execution.id)


def test_seed_vacation_approval(engine: Engine, standin) -> None:  # type: ignore[no-untyped-def]
    source = (
        (EXAMPLES / "vacation_approval_process.yml")
        .read_text()
        .replace("http://127.0.0.1:8899", standin.url)
    )
    execution = start(engine, source)
    assert execution.state.current == State.PAUSED
    slack = standin.requests[0]
    assert slack["path"] == "/api/slack"
    assert "Validate holiday request for Rick Astley" in slack["body"]
    assert f"/ui/executions/company.team/vacation_approval_process/{execution.id}" in slack["body"]

    with pytest.raises(InputValidationError) as error:
        engine.resume_execution(execution.id, {"approved": "ture"}, by=ADA)
    assert (
        error.value.by_field() == {"approved": "expected true or false, got 'ture'"}
        or "approved" in error.value.by_field()
    )

    engine.resume_execution(
        execution.id, {"approved": "false", "reason": "Team offsite"}, by=ADA, via="api"
    )
    done = run_on(engine, execution.id)
    assert done.state.current == State.SUCCESS, log_messages(engine, execution.id)
    pause = next(r for r in done.taskRunList if r.taskId == "waitForApproval")
    assert pause.outputs["onResume"] == {"approved": False, "reason": "Team offsite"}
    assert pause.outputs["resumed"]["by"] == ADA
    assert pause.outputs["resumed"]["via"] == "api"
    assert pause.outputs["resumed"]["to"] == "SUCCESS"
    assert pause.outputs["resumed"]["on"].endswith("Z")
    products = standin.requests[1]
    import json

    assert json.loads(products["body"]) == {
        "name": "Rick Astley",
        "start_date": "2024-07-01",
        "end_date": "2024-07-07",
    }
    approve = next(r for r in done.taskRunList if r.taskId == "approve")
    assert approve.outputs["code"] == 201
    last = log_messages(engine, execution.id)[-1]
    assert last.startswith("Status is Team offsite. Process finished with {")
    assert '"name":' in last or '"name"' in last


def test_seed_vacation_defaults_apply(engine: Engine, standin) -> None:  # type: ignore[no-untyped-def]
    source = (
        (EXAMPLES / "vacation_approval_process.yml")
        .read_text()
        .replace("http://127.0.0.1:8899", standin.url)
    )
    execution = start(engine, source, {"request.name": "Grace"})
    engine.resume_execution(execution.id, {}, by=ADA)
    done = run_on(engine, execution.id)
    pause = next(r for r in done.taskRunList if r.taskId == "waitForApproval")
    assert pause.outputs["onResume"] == {"approved": True, "reason": "Approved"}
    assert done.inputs["request"]["name"] == "Grace"


# -- Kestra's own Pause test flows ------------------------------------------------------


def test_kestra_pause_on_resume_requires_input(engine: Engine) -> None:
    execution = start(engine, flow_source("pause_on_resume.yaml"))
    with pytest.raises(InputValidationError) as error:
        engine.resume_execution(execution.id, {})
    assert "asked" in error.value.by_field()
    assert engine.get_execution(execution.id).state.current == State.PAUSED
    with pytest.raises(InputValidationError) as error:
        engine.resume_execution(execution.id, {"asked": "restarted", "data": "file.txt"})
    assert "expected a file" in error.value.by_field()["data"]
    engine.resume_execution(execution.id, {"asked": "restarted"})
    done = run_on(engine, execution.id)
    assert done.state.current == State.SUCCESS
    assert done.taskRunList[-1].outputs["values"]["asked"] == "restarted"


def test_kestra_pause_on_resume_optional(engine: Engine) -> None:
    execution = start(engine, flow_source("pause_on_resume_optional.yaml"))
    engine.resume_execution(execution.id, {})
    done = run_on(engine, execution.id)
    assert done.state.current == State.SUCCESS
    assert done.taskRunList[-1].outputs["values"]["asked"] == "MISSING"


@pytest.mark.parametrize(
    ("behavior", "state", "runs"),
    [
        ("RESUME", "SUCCESS", 2),
        ("WARN", "WARNING", 2),
        ("FAIL", "FAILED", 1),
        ("CANCEL", "CANCELLED", 1),
    ],
)
def test_kestra_pause_behavior(
    engine: Engine, clock: ManualClock, behavior: str, state: str, runs: int
) -> None:
    execution = start(engine, flow_source("pause-behavior.yaml"), {"behavior": behavior})
    assert execution.state.current == State.PAUSED
    clock.advance(0.5)
    assert execution.id not in engine.due_executions()
    done = advance_clock(engine, clock, 0.6, execution.id)
    assert done.state.current.value == state
    assert len(done.taskRunList) == runs
    assert done.taskRunList[0].outputs["resumed"]["via"] == "timer"
    assert done.taskRunList[0].outputs["resumed"]["by"] is None
    if runs == 2:
        assert done.taskRunList[1].outputs["value"] == "last"


def test_kestra_pause_timeout_fails(engine: Engine, clock: ManualClock) -> None:
    execution = start(engine, flow_source("pause-timeout.yaml"))
    done = advance_clock(engine, clock, 1.0, execution.id)
    assert done.state.current == State.FAILED
    assert len(done.taskRunList) == 1
    assert [h.state.value for h in done.taskRunList[0].state.histories].count("PAUSED") == 1


def test_kestra_pause_timeout_allow_failure(engine: Engine, clock: ManualClock) -> None:
    execution = start(engine, flow_source("pause-timeout-allow-failure.yaml"))
    done = advance_clock(engine, clock, 1.0, execution.id)
    assert done.state.current == State.WARNING
    assert len(done.taskRunList) == 2
    assert done.taskRunList[1].outputs["value"].startswith("last > ")


def test_kestra_pause_delay_and_duration_from_input(engine: Engine, clock: ManualClock) -> None:
    for name, inputs in (
        ("pause-delay.yaml", {}),
        ("pause-duration-from-input.yaml", {"duration": "PT3S"}),
    ):
        execution = start(engine, flow_source(name), inputs)
        clock.advance(1.5)
        if name == "pause-duration-from-input.yaml":
            assert execution.id not in engine.due_executions()
            clock.advance(2)
        done = engine.run_until_blocked(execution.id)
        assert done.state.current == State.SUCCESS, name
        assert len(done.taskRunList) == 2
        assert history(done).count("PAUSED") == 1


def test_kestra_pause_errors_finally_after_execution(engine: Engine, clock: ManualClock) -> None:
    execution = start(engine, flow_source("pause-errors-finally-after-execution.yaml"))
    done = advance_clock(engine, clock, 0.3, execution.id)
    assert done.state.current == State.FAILED
    assert [r.taskId for r in done.taskRunList] == ["pause", "logError", "logFinally", "logAfter"]
    assert task_states(done)["pause"] == "FAILED"
    messages = log_messages(engine, execution.id)
    for text in ("I'm in error", "I'm in finally", "I'm after the execution"):
        assert messages.count(text) == 1
    assert "I'm after the pause" not in messages


def test_kestra_manual_resume_then_stale_timer(engine: Engine, clock: ManualClock) -> None:
    execution = start(engine, flow_source("pause-duration-manual-resume.yaml"))
    engine.resume_execution(execution.id, {"reason": "approved"}, by=ADA)
    running = engine.run_until_blocked(execution.id, wait_sleeps=False)
    assert task_states(running)["sleep"] == "RUNNING"
    clock.advance(6)  # past the pause's 5 s: the stale timer must not fire
    running = engine.run_until_blocked(execution.id, wait_sleeps=False)
    pause = running.taskRunList[0]
    assert pause.outputs["resumed"]["via"] != "timer"
    assert pause.outputs["onResume"] == {"reason": "approved"}
    clock.advance(5)
    done = engine.run_until_blocked(execution.id, wait_sleeps=False)
    assert done.state.current == State.SUCCESS
    assert done.taskRunList[-1].outputs["values"]["reason"] == "approved"


def test_kestra_kill_during_long_pause(engine: Engine) -> None:
    execution = start(engine, flow_source("pause-kill-delay.yaml"))
    killed = engine.kill_execution(execution.id, by=ADA, via="api", reason="not needed")
    assert killed.state.current == State.KILLED
    assert task_states(killed) == {"pause": "KILLED"}
    assert history(killed)[-2:] == ["KILLING", "KILLED"]
    assert engine.due_executions() == []
    assert run_on(engine, execution.id).state.current == State.KILLED
    with pytest.raises(AlreadyDecided) as error:
        engine.resume_execution(execution.id, {})
    assert "killed by Ada" in str(error.value)


def test_kestra_on_pause(engine: Engine, clock: ManualClock) -> None:
    execution = start(engine, flow_source("pause_on_pause.yaml"))
    assert "paused, waiting" in log_messages(engine, execution.id)
    done = advance_clock(engine, clock, 0.5, execution.id)
    assert done.state.current == State.SUCCESS
    assert done.taskRunList[-1].taskId == "hello"
    assert [r.taskId for r in done.taskRunList if r.parentTaskRunId is None] == ["pause", "hello"]


def test_pause_without_children_legacy_alias(engine: Engine) -> None:
    execution = start(engine, flow_source("pause_no_tasks.yaml"))
    assert len(execution.taskRunList) == 1
    engine.resume_execution(execution.id)
    assert run_on(engine, execution.id).state.current == State.SUCCESS


# -- exactly once -------------------------------------------------------------------------


def test_second_resume_says_who_won(engine: Engine) -> None:
    execution = start(engine, (EXAMPLES / "pause_resume.yml").read_text())
    engine.resume_execution(execution.id, {}, by=ADA, via="slack")
    with pytest.raises(AlreadyDecided) as error:
        engine.resume_execution(execution.id, {}, by=BOB, via="api")
    assert error.value.by == ADA and error.value.via == "slack"
    assert "already resumed by Ada" in str(error.value)


def test_concurrent_resumes_exactly_one_wins(database_url: str, clock: ManualClock) -> None:
    engines = [Engine(database_url, clock=clock) for _ in range(2)]
    try:
        execution = start(engines[0], (EXAMPLES / "pause_resume.yml").read_text())
        outcomes: list[str] = []
        barrier = threading.Barrier(16)

        def attempt(index: int) -> None:
            barrier.wait()
            try:
                engines[index % 2].resume_execution(
                    execution.id, {}, by={"id": f"U{index}", "name": f"user{index}"}
                )
                outcomes.append("won")
            except AlreadyDecided:
                outcomes.append("lost")

        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["lost"] * 15 + ["won"]
        resumed_events = [
            e for e in engines[0].store.events_for(execution.id) if e.kind == "resumed"
        ]
        assert len(resumed_events) == 1
    finally:
        for eng in engines:
            eng.close()


def test_unknown_and_wrong_state(engine: Engine) -> None:
    with pytest.raises(ExecutionNotFound):
        engine.resume_execution("nope")
    with pytest.raises(ExecutionNotFound):
        engine.kill_execution("nope")
    with pytest.raises(FlowNotFound):
        engine.start_execution("company.team", "missing")
    execution = start_sleeping(engine)
    with pytest.raises(ConflictError) as error:
        engine.resume_execution(execution.id)
    assert "not paused" in str(error.value)


# -- manual pause, kill, parallel, errors/finally, retries, sleep ---------------------------


def start_sleeping(engine: Engine) -> Execution:
    deployed = engine.deploy_flow(flow_source("sleep.yaml"))
    execution = engine.start_execution(deployed.flow.namespace, deployed.flow.id)
    return engine.run_until_blocked(execution.id, wait_sleeps=False)


def test_manual_pause_and_resume(engine: Engine, clock: ManualClock) -> None:
    execution = start_sleeping(engine)
    assert execution.state.current == State.RUNNING  # sleeping
    paused = engine.pause_execution(execution.id, by=ADA)
    assert paused.state.current == State.PAUSED and paused.pausedManually
    clock.advance(31)
    stuck = engine.run_until_blocked(execution.id, wait_sleeps=False)
    assert stuck.state.current == State.PAUSED
    assert "awake" not in [r.taskId for r in stuck.taskRunList]
    with pytest.raises(ConflictError):
        engine.pause_execution(execution.id)
    engine.resume_execution(execution.id, {}, by=BOB)
    done = engine.run_until_blocked(execution.id, wait_sleeps=False)
    assert done.state.current == State.SUCCESS
    assert task_states(done) == {"nap": "SUCCESS", "awake": "SUCCESS"}


def test_kill_running_and_finished(engine: Engine) -> None:
    execution = start_sleeping(engine)
    killed = engine.kill_execution(execution.id, by=ADA)
    assert killed.state.current == State.KILLED
    assert task_states(killed) == {"nap": "KILLED"}
    with pytest.raises(AlreadyDecided):
        engine.kill_execution(execution.id)
    done = start(engine, (EXAMPLES / "pause_resume.yml").read_text())
    engine.resume_execution(done.id)
    run_on(engine, done.id)
    with pytest.raises(ConflictError) as error:
        engine.kill_execution(done.id)
    assert "already ended with SUCCESS" in str(error.value)


def test_parallel_pauses_are_resumed_one_by_one(engine: Engine) -> None:
    execution = start(engine, flow_source("parallel-pauses.yaml"))
    assert execution.state.current == State.PAUSED
    states = task_states(execution)
    assert states["first"] == states["second"] == "PAUSED"
    assert states["side"] == "SUCCESS"
    engine.resume_execution(execution.id, {"ok": "true"})
    still = run_on(engine, execution.id)
    assert still.state.current == State.PAUSED
    assert task_states(still)["first"] == "SUCCESS"
    second = next(r for r in still.taskRunList if r.taskId == "second")
    engine.resume_execution(execution.id, {"ok": "false"}, task_run_id=second.id)
    done = run_on(engine, execution.id)
    assert done.state.current == State.SUCCESS
    assert done.taskRunList[-1].outputs["values"] == {"first": "true", "second": "false"}


def test_errors_and_finally_blocks(engine: Engine) -> None:
    done = start(engine, flow_source("errors-finally.yaml"))
    assert done.state.current == State.FAILED
    order = [r.taskId for r in done.taskRunList]
    assert order == ["seq", "boom", "seq_error", "seq_finally", "flow_error", "flow_finally"]
    assert "skipped" not in order
    assert "boom bang" in log_messages(engine, done.id)


def test_retry_then_allow_failure(engine: Engine, clock: ManualClock) -> None:
    deployed = engine.deploy_flow(flow_source("retry-allow-failure.yaml"))
    execution = engine.start_execution(deployed.flow.namespace, deployed.flow.id)
    execution = engine.run_until_blocked(execution.id, wait_sleeps=False)
    assert task_states(execution)["flaky"] == "RETRYING"
    for _ in range(2):
        clock.advance(10)
        execution = engine.run_until_blocked(execution.id, wait_sleeps=False)
    assert execution.state.current == State.WARNING
    flaky = execution.taskRunList[0]
    assert len(flaky.attempts) == 3 and flaky.state.current == State.WARNING
    assert task_states(execution)["after"] == "SUCCESS"


def test_branching_on_the_decision(engine: Engine) -> None:
    source = (EXAMPLES / "deploy_approval.yml").read_text()
    approved = start(engine, source)
    engine.resume_execution(approved.id, {"approved": "true", "window": "tonight"}, by=ADA)
    done = run_on(engine, approved.id)
    assert "deploy" in task_states(done) and "rejected" not in task_states(done)
    assert "approved by Ada" in log_messages(engine, approved.id)[-1]

    rejected = start(engine, source)
    with pytest.raises(InputValidationError) as error:
        engine.resume_execution(rejected.id, {"approved": "no way", "window": "someday"})
    assert set(error.value.by_field()) == {"approved", "window"}
    engine.resume_execution(rejected.id, {"approved": "false", "comment": "freeze week"})
    done = run_on(engine, rejected.id)
    assert task_states(done)["rejected"] == "SUCCESS"
    assert "freeze week" in log_messages(engine, rejected.id)[-1]


def test_deploy_pause_cancels_when_nobody_answers(engine: Engine, clock: ManualClock) -> None:
    execution = start(engine, (EXAMPLES / "deploy_approval.yml").read_text())
    done = advance_clock(engine, clock, 4 * 3600, execution.id)
    assert done.state.current == State.CANCELLED


def test_switch_and_fail_on_decision(engine: Engine) -> None:
    source = (EXAMPLES / "expense_approval.yml").read_text()
    small = start(engine, source, {"amount": "50"})
    assert small.state.current == State.SUCCESS and "auto_approve" in task_states(small)
    big = start(engine, source)
    engine.resume_execution(big.id, {"decision": "reject", "note": "no receipt"})
    done = run_on(engine, big.id)
    assert done.state.current == State.FAILED
    assert "Expense rejected: no receipt" in log_messages(engine, big.id)


def test_revisions_are_kept_for_paused_executions(engine: Engine) -> None:
    source = (EXAMPLES / "pause_resume.yml").read_text()
    execution = start(engine, source)
    changed = engine.deploy_flow(source.replace("Execution has been resumed!", "v2"))
    assert changed.revision == 2 and changed.created
    assert engine.deploy_flow(source.replace("Execution has been resumed!", "v2")).created is False
    engine.resume_execution(execution.id)
    run_on(engine, execution.id)
    assert "Execution has been resumed!" in log_messages(engine, execution.id)
    assert engine.get_execution(execution.id).flowRevision == 1


def test_outbox_records_every_change(engine: Engine) -> None:
    execution = start(engine, (EXAMPLES / "pause_resume.yml").read_text())
    engine.resume_execution(execution.id, {}, by=ADA, via="ui")
    run_on(engine, execution.id)
    kinds = [e.kind for e in engine.store.events_for(execution.id)]
    assert kinds == ["created", "paused", "resumed", "finished"]


def test_deadline_survives_restart(database_url: str, clock: ManualClock) -> None:
    first = Engine(database_url, clock=clock)
    execution = start(first, flow_source("pause-behavior.yaml"))
    first.close()
    clock.advance(2)
    second = Engine(database_url, clock=clock)
    try:
        assert second.due_executions() == [execution.id]
        assert second.run_until_blocked(execution.id).state.current == State.SUCCESS
    finally:
        second.close()


def test_crashed_runner_is_taken_over(engine: Engine, clock: ManualClock) -> None:
    deployed = engine.deploy_flow(flow_source("pause_no_tasks.yaml"))
    execution = engine.start_execution(deployed.flow.namespace, deployed.flow.id)
    assert engine.store.claim_execution(
        execution.id, "dead-runner", clock.now(), __import__("datetime").timedelta(seconds=30)
    )
    assert engine.advance(execution.id, "live-runner") is None  # lease held
    clock.advance(31)
    assert engine.advance(execution.id, "live-runner") is not None
    assert engine.get_execution(execution.id).state.current == State.PAUSED


def test_model_release_needs_both_sign_offs(engine: Engine) -> None:
    source = (EXAMPLES / "model_release.yml").read_text()
    both = start(engine, source)
    assert {r.taskId for r in both.paused_task_runs()} == {"quality_review", "fairness_review"}
    engine.resume_execution(both.id, {"approved": "true"}, by=ADA)
    engine.resume_execution(both.id, {"approved": "true"}, by=BOB)
    done = run_on(engine, both.id)
    assert done.state.current == State.SUCCESS and "release" in task_states(done)

    one_no = start(engine, source)
    engine.resume_execution(one_no.id, {"approved": "true"}, by=ADA)
    engine.resume_execution(one_no.id, {"approved": "false"}, by=BOB)
    done = run_on(engine, one_no.id)
    assert done.state.current == State.FAILED and "release" not in task_states(done)


def test_misspelt_decision_is_refused_not_defaulted(engine: Engine) -> None:
    execution = start(engine, (EXAMPLES / "deploy_approval.yml").read_text())
    with pytest.raises(InputValidationError) as error:
        engine.resume_execution(execution.id, {"approvedd": "false"}, by=ADA)
    assert error.value.by_field() == {
        "approvedd": "is not an input here (did you mean 'approved'? expected: approved, window, comment)"
    }
    assert engine.get_execution(execution.id).state.current == State.PAUSED
    with pytest.raises(InputValidationError) as error:
        engine.start_execution("company.platform", "deploy_approval", {"servce": "x"})
    assert "did you mean 'service'?" in error.value.by_field()["servce"]
    # Empty stray fields (a form's leftovers) carry no decision and are ignored.
    engine.resume_execution(execution.id, {"approved": "true", "stray": ""}, by=ADA)


def test_secrets_are_masked_when_shown_but_usable_in_expressions(engine: Engine) -> None:
    source = """id: secret
namespace: n
inputs:
  - id: pw
    type: SECRET
tasks:
  - id: ask
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - id: otp
        type: SECRET
      - id: note
        type: STRING
  - id: use
    type: io.kestra.plugin.core.output.OutputValues
    values:
      both: "{{ inputs.pw }}-{{ outputs.ask.onResume.otp }}"
"""
    execution = start(engine, source, {"pw": "hunter2"})
    engine.resume_execution(execution.id, {"otp": "123456", "note": "hi"}, by=ADA)
    done = run_on(engine, execution.id)
    shown = done.to_api()
    assert shown["inputs"] == {"pw": "******"}
    ask = next(r for r in shown["taskRunList"] if r["taskId"] == "ask")
    assert ask["outputs"]["onResume"] == {"otp": "******", "note": "hi"}
    # Expressions see the real values (what a flow does with them is its author's choice).
    assert done.taskRunList[-1].outputs["values"]["both"] == "hunter2-123456"
    assert done.inputs == {"pw": "hunter2"}
