"""The Approval task (Kestra's io.kestra.plugin.core.flow.Approval) end to end through the
engine's front door, on SQLite and PostgreSQL, with a manual clock for expiry."""

from __future__ import annotations

import threading

import pytest
from support import flow_source

from engine.clock import ManualClock
from engine.engine import Engine
from engine.errors import (
    AlreadyDecided,
    ConflictError,
    FlowValidationError,
    InputValidationError,
    TaskRunNotFound,
)
from engine.flows import parse_flow
from engine.model import Execution
from engine.states import State

ADA = {"id": "U1", "name": "Ada"}
BOB = {"id": "U2", "name": "Bob"}


def start(engine: Engine, name: str, inputs: dict | None = None) -> Execution:
    deployed = engine.deploy_flow(flow_source(name))
    execution = engine.start_execution(
        deployed.flow.namespace, deployed.flow.id, inputs or {}, via="test"
    )
    return engine.run_until_blocked(execution.id)


def states(execution: Execution) -> dict[str, str]:
    return {r.taskId: r.state.current.value for r in execution.taskRunList}


def approval_run(execution: Execution, task_id: str = "approval"):  # type: ignore[no-untyped-def]
    return next(r for r in execution.taskRunList if r.taskId == task_id)


def test_approve_runs_on_approve_and_records_who(engine: Engine) -> None:
    execution = start(engine, "approval-basic.yaml")
    assert execution.state.current == State.PAUSED
    assert states(execution) == {"approval": "PAUSED", "notify": "SUCCESS"}
    run = approval_run(execution)
    assert run.outputs["url"].endswith(
        f"/ui/executions/io.kestra.tests/approval-basic/{execution.id}"
    )
    engine.review_execution(execution.id, run.id, "APPROVE", comment="looks good", by=ADA)
    done = engine.run_until_blocked(execution.id)
    assert done.state.current == State.SUCCESS
    assert states(done) == {
        "approval": "SUCCESS",
        "notify": "SUCCESS",
        "approved": "SUCCESS",
        "last": "SUCCESS",
    }
    outputs = approval_run(done).outputs
    assert outputs["decision"] == "APPROVED"
    assert outputs["auto"] is False
    assert outputs["by"] == "Ada"
    assert outputs["comment"] == "looks good"
    assert outputs["on"]
    assert [r.outputs for r in done.taskRunList if r.taskId == "last"] == [{"value": "APPROVED"}]
    messages = [e.message for e in engine.logs(execution.id)]
    assert "Approved by Ada: looks good" in messages


def test_deny_runs_on_deny_then_cancels_by_default(engine: Engine) -> None:
    execution = start(engine, "approval-basic.yaml")
    engine.review_execution(execution.id, None, "DENY", comment="needs changes", by=BOB)
    done = engine.run_until_blocked(execution.id)
    assert done.state.current == State.CANCELLED
    assert states(done)["denied"] == "SUCCESS"
    assert states(done)["approval"] == "CANCELLED"
    assert "last" not in states(done)
    assert approval_run(done).outputs["decision"] == "DENIED"


def test_a_second_decision_is_refused_saying_who_won(engine: Engine) -> None:
    execution = start(engine, "approval-basic.yaml")
    run = approval_run(execution)
    engine.review_execution(execution.id, run.id, "APPROVE", by=ADA, via="slack")
    with pytest.raises(AlreadyDecided) as error:
        engine.review_execution(execution.id, run.id, "DENY", by=BOB)
    assert error.value.by == ADA and error.value.to == "APPROVED"
    assert "already approved by Ada" in str(error.value)


def test_resume_never_decides_an_approval(engine: Engine) -> None:
    execution = start(engine, "approval-basic.yaml")
    with pytest.raises(ConflictError, match="approve or deny it"):
        engine.resume_execution(execution.id, {}, by=ADA)
    outcome = engine.resume_many([execution.id], by=ADA)
    assert outcome.resumed == [] and "approve or deny" in outcome.refused[execution.id]
    assert engine.get_execution(execution.id).state.current == State.PAUSED


def test_unknown_task_run_and_not_an_approval(engine: Engine) -> None:
    execution = start(engine, "approval-basic.yaml")
    with pytest.raises(TaskRunNotFound):
        engine.review_execution(execution.id, "nope", "APPROVE")
    notify = approval_run(execution, "notify")
    with pytest.raises(InputValidationError) as error:
        engine.review_execution(execution.id, notify.id, "APPROVE")
    assert error.value.errors[0].field == "taskRunId"
    with pytest.raises(InputValidationError) as bad:
        engine.review_execution(execution.id, None, "MAYBE")
    assert bad.value.errors[0].field == "decision"


@pytest.mark.parametrize(
    ("behavior", "decision", "execution_state", "approval_state", "after_runs"),
    [
        ("CONTINUE", "APPROVE", State.SUCCESS, "SUCCESS", True),
        ("WARN", "APPROVE", State.WARNING, "WARNING", True),
        ("FAIL", "APPROVE", State.FAILED, "FAILED", False),
        ("SUCCEED", "APPROVE", State.SUCCESS, "SUCCESS", False),
        ("CANCEL", "APPROVE", State.CANCELLED, "CANCELLED", False),
        ("KILL", "APPROVE", State.KILLED, "KILLED", False),
        ("CONTINUE", "DENY", State.SUCCESS, "SUCCESS", True),
        ("CANCEL", "DENY", State.CANCELLED, "CANCELLED", False),
        ("KILL", "DENY", State.KILLED, "KILLED", False),
    ],
)
def test_each_behavior(
    engine: Engine,
    behavior: str,
    decision: str,
    execution_state: State,
    approval_state: str,
    after_runs: bool,
) -> None:
    execution = start(engine, "approval-behaviors.yaml", {"behavior": behavior})
    engine.review_execution(execution.id, None, decision, by=ADA)
    done = engine.run_until_blocked(execution.id)
    assert done.state.current == execution_state
    assert states(done)["approval"] == approval_state
    branch = "approved" if decision == "APPROVE" else "denied"
    assert states(done)[branch] == "SUCCESS"  # the branch always runs before the behaviour
    assert ("after" in states(done)) == after_runs
    # FAIL fails the task, so the flow's errors branch runs; the others end without it.
    assert ("cleanup" in states(done)) == (behavior == "FAIL")
    assert all(State(s).is_terminal for s in states(done).values())


def test_a_failing_branch_is_never_hidden_by_a_behavior(engine: Engine) -> None:
    execution = start(engine, "approval-failing-branch.yaml")
    engine.review_execution(execution.id, None, "APPROVE", by=ADA)
    done = engine.run_until_blocked(execution.id)
    assert done.state.current == State.FAILED
    assert states(done) == {"approval": "FAILED", "boom": "FAILED"}


def test_auto_approve_skips_the_wait(engine: Engine) -> None:
    done = start(engine, "approval-auto.yaml", {"auto": True})
    assert done.state.current == State.SUCCESS
    assert "PAUSED" not in [h.state.value for h in done.state.histories]
    assert states(done) == {"approval": "SUCCESS", "approved": "SUCCESS"}  # no onWait
    outputs = approval_run(done).outputs
    assert outputs["decision"] == "APPROVED" and outputs["auto"] is True and outputs["by"] is None
    # rendered per execution: the next one without autoApprove waits
    waiting = start(engine, "approval-auto.yaml", {"auto": False})
    assert waiting.state.current == State.PAUSED
    assert states(waiting) == {"approval": "PAUSED", "notify": "SUCCESS"}


@pytest.mark.parametrize(
    ("rule", "needs_comment"),
    [
        ("NEVER", {"APPROVE": False, "DENY": False}),
        ("ALWAYS", {"APPROVE": True, "DENY": True}),
        ("ON_DENY", {"APPROVE": False, "DENY": True}),
        ("ON_APPROVE", {"APPROVE": True, "DENY": False}),
    ],
)
def test_comment_required(engine: Engine, rule: str, needs_comment: dict[str, bool]) -> None:
    for decision, needed in needs_comment.items():
        execution = start(engine, "approval-comment.yaml", {"rule": rule})
        if needed:
            for blank in (None, "   "):
                with pytest.raises(InputValidationError) as error:
                    engine.review_execution(execution.id, None, decision, comment=blank, by=ADA)
                assert error.value.errors[0].field == "comment"
            assert engine.get_execution(execution.id).state.current == State.PAUSED
            engine.review_execution(execution.id, None, decision, comment="because", by=ADA)
        else:
            engine.review_execution(execution.id, None, decision, by=ADA)
        done = engine.run_until_blocked(execution.id)
        assert done.state.current == State.SUCCESS


def test_review_inputs_are_typed_and_validated(engine: Engine) -> None:
    execution = start(engine, "approval-comment.yaml", {"rule": "NEVER"})
    with pytest.raises(InputValidationError) as error:
        engine.review_execution(execution.id, None, "APPROVE", values={"level": "high"})
    assert error.value.errors[0].field == "level"
    with pytest.raises(InputValidationError):
        engine.review_execution(execution.id, None, "APPROVE", values={"unknown": "x"})
    engine.review_execution(
        execution.id, None, "APPROVE", values={"reason": "urgent fix", "level": "3"}, by=ADA
    )
    done = engine.run_until_blocked(execution.id)
    assert approval_run(done).outputs["inputs"] == {"reason": "urgent fix", "level": 3}


def test_on_wait_failing_fails_without_asking(engine: Engine) -> None:
    done = start(engine, "approval-onwait-fails.yaml")
    assert done.state.current == State.FAILED
    assert states(done) == {"approval": "FAILED", "notify": "FAILED", "cleanup": "SUCCESS"}
    assert "PAUSED" not in [h.state.value for h in done.state.histories]
    assert "decision" not in approval_run(done).outputs
    assert not [e for e in engine.store.events_for(done.id) if e.kind == "paused"]


def test_expiry_runs_finally_then_the_expire_behavior(engine: Engine, clock: ManualClock) -> None:
    execution = start(engine, "approval-expire.yaml")
    run = approval_run(execution)
    paused_at = run.state.entered(State.PAUSED)
    assert run.deadline is not None and run.outputs["due"] == run.deadline
    assert engine.waiting_task(execution, run.id).on_deadline == "CANCEL"  # type: ignore[union-attr]
    clock.advance(599)
    assert execution.id not in engine.due_executions()
    clock.advance(1)
    assert execution.id in engine.due_executions()
    done = engine.run_until_blocked(execution.id)
    assert done.state.current == State.CANCELLED
    assert states(done) == {"approval": "CANCELLED", "cleanup": "SUCCESS"}
    outputs = approval_run(done).outputs
    assert outputs["decision"] == "EXPIRED" and outputs["by"] is None and outputs["auto"] is False
    assert paused_at is not None and outputs["due"] > paused_at
    with pytest.raises(AlreadyDecided) as error:
        engine.review_execution(execution.id, run.id, "APPROVE", by=ADA)
    assert error.value.via == "timer" and "already expired by the timer" in str(error.value)


def test_a_late_decision_after_the_deadline_is_refused(engine: Engine, clock: ManualClock) -> None:
    execution = start(engine, "approval-expire.yaml")
    clock.advance(600)  # due, but the runner has not fired the timer yet
    with pytest.raises(ConflictError, match="expired at"):
        engine.review_execution(execution.id, None, "APPROVE", by=ADA)
    done = engine.run_until_blocked(execution.id)
    assert approval_run(done).outputs["decision"] == "EXPIRED"
    resumed = [e for e in engine.store.events_for(execution.id) if e.kind == "resumed"]
    assert len(resumed) == 1


def test_a_decision_before_the_deadline_wins_over_the_timer(
    engine: Engine, clock: ManualClock
) -> None:
    execution = start(engine, "approval-expire.yaml")
    clock.advance(599)
    engine.review_execution(execution.id, None, "APPROVE", by=ADA)
    clock.advance(3600)
    done = engine.run_until_blocked(execution.id)
    assert done.state.current == State.SUCCESS
    assert approval_run(done).outputs["decision"] == "APPROVED"
    assert states(done) == {
        "approval": "SUCCESS",
        "approved": "SUCCESS",
        "cleanup": "SUCCESS",
        "after": "SUCCESS",
    }


def test_concurrent_reviews_and_timer_exactly_one_wins(
    database_url: str, clock: ManualClock
) -> None:
    engines = [Engine(database_url, clock=clock) for _ in range(2)]
    try:
        execution = start(engines[0], "approval-expire.yaml")
        clock.advance(599.5)
        outcomes: list[str] = []
        barrier = threading.Barrier(9)

        def review(index: int) -> None:
            barrier.wait()
            try:
                engines[index % 2].review_execution(
                    execution.id,
                    None,
                    "APPROVE" if index % 2 else "DENY",
                    by={"id": f"U{index}", "name": f"user{index}"},
                )
                outcomes.append("won")
            except ConflictError:
                outcomes.append("lost")

        def timer() -> None:
            barrier.wait()
            clock.advance(1)
            engines[1].run_until_blocked(execution.id)

        threads = [threading.Thread(target=review, args=(i,)) for i in range(8)]
        threads.append(threading.Thread(target=timer))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        done = engines[0].run_until_blocked(execution.id)
        decided = [e for e in engines[0].store.events_for(execution.id) if e.kind == "resumed"]
        assert len(decided) == 1
        decision = approval_run(done).outputs["decision"]
        assert outcomes.count("won") == (0 if decision == "EXPIRED" else 1)
        assert decided[0].payload["decision"] == decision
    finally:
        for eng in engines:
            eng.close()


def test_kill_decides_a_waiting_approval(engine: Engine) -> None:
    execution = start(engine, "approval-basic.yaml")
    engine.kill_execution(execution.id, by=ADA, reason="not needed")
    done = engine.get_execution(execution.id)
    assert done.state.current == State.KILLED
    assert states(done)["approval"] == "KILLED"
    with pytest.raises(AlreadyDecided) as error:
        engine.review_execution(execution.id, None, "APPROVE", by=BOB)
    assert error.value.action == "killed"


def test_deny_kill_in_parallel_resolves_the_sibling_pause(engine: Engine) -> None:
    execution = start(engine, "approval-parallel.yaml")
    assert states(execution)["approval"] == "PAUSED" and states(execution)["pause"] == "PAUSED"
    waiting = engine.waiting_tasks(execution)
    assert [w.kind for w in waiting] == ["approval", "pause"]
    engine.review_execution(execution.id, None, "DENY", by=ADA)
    done = engine.run_until_blocked(execution.id)
    assert done.state.current == State.KILLED
    assert states(done) == {
        "both": "KILLED",
        "approval": "KILLED",
        "pause": "KILLED",
        "denied": "SUCCESS",
    }
    assert engine.waiting_tasks(done) == []
    with pytest.raises(AlreadyDecided):
        engine.resume_execution(execution.id, {}, by=BOB)


def test_review_many(engine: Engine) -> None:
    first = start(engine, "approval-basic.yaml")
    second = start(engine, "approval-comment.yaml", {"rule": "ON_APPROVE"})
    outcome = engine.review_many([first.id, second.id, "ghost"], "APPROVE", by=ADA)
    assert outcome.resumed == [first.id]
    assert "comment is required" in outcome.refused[second.id]
    assert "not found" in outcome.refused["ghost"]


def test_waiting_view_describes_an_approval(engine: Engine) -> None:
    execution = start(engine, "approval-basic.yaml")
    [waiting] = engine.waiting_tasks(execution)
    assert waiting.kind == "approval"
    assert waiting.title == "Ship approval-basic?"
    assert [(c.id, c.label, c.comment_required) for c in waiting.choices] == [
        ("approve", "Ship it", False),
        ("deny", "Hold", False),
    ]
    assert waiting.deadline is None and waiting.on_deadline is None
    engine.decide_waiting(execution.id, waiting.task_run_id, "approve", by=ADA)
    assert engine.run_until_blocked(execution.id).state.current == State.SUCCESS


def test_definition_errors_are_named() -> None:
    base = "id: f\nnamespace: n\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.flow.Approval\n"
    for extra, expected in [
        ("    commentRequired: SOMETIMES\n", "commentRequired must be one of"),
        ("    denyBehavior: EXPLODE\n", "behavior must be one of"),
        ("    decisions: {approve: A, maybe: M}\n", "maybe"),
        ("    inputs:\n      - id: comment\n        type: STRING\n", "reserved"),
    ]:
        with pytest.raises(FlowValidationError, match=expected):
            parse_flow(base + extra)
    parse_flow(flow_source("approval-basic.yaml"))
