"""examples/infra_change.yml end to end on SQLite and PostgreSQL: the plan script's file reaches
the approval message, the approver attaches a signed document, the apply script reads the plan;
a rejection applies nothing."""

from __future__ import annotations

from run_support import messages, runs
from support import EXAMPLES

from engine.engine import Engine
from engine.states import State
from engine.storage import UploadedFile


def test_plan_approve_apply(engine: Engine) -> None:
    engine.deploy_flow((EXAMPLES / "infra_change.yml").read_text())
    execution = engine.start_execution(
        "company.platform",
        "infra_change",
        {"environment": "production", "change_request": UploadedFile("cr-42.pdf", b"%PDF cr")},
    )
    paused = engine.run_until_blocked(execution.id)
    assert paused.state.current == State.PAUSED, messages(engine, execution.id)
    (approve,) = runs(paused, "approve")
    assert "Apply 2 change(s) to *production*?" in approve.description
    assert "+ bucket app-assets-production" in approve.description
    assert "/inputs/change_request/cr-42.pdf" in approve.description
    engine.resume_execution(
        execution.id,
        {"approved": "true", "signed_off": UploadedFile("signed.pdf", b"%PDF signed")},
        by={"id": "U1", "name": "Ada"},
        via="test",
    )
    done = engine.run_until_blocked(execution.id)
    assert done.state.current == State.SUCCESS, messages(engine, execution.id)
    assert "applying 3 plan lines to production" in messages(engine, execution.id)
    assert runs(done, "apply")[0].outputs["vars"] == {"applied": True}
    signed = runs(done, "approve")[0].outputs["onResume"]["signed_off"]
    assert engine.execution_file(execution.id, signed)[1] == b"%PDF signed"


def test_rejected_plan_is_not_applied(engine: Engine) -> None:
    engine.deploy_flow((EXAMPLES / "infra_change.yml").read_text())
    execution = engine.start_execution("company.platform", "infra_change", {})
    engine.run_until_blocked(execution.id)
    engine.resume_execution(execution.id, {"approved": "false"}, via="test")
    done = engine.run_until_blocked(execution.id)
    assert done.state.current == State.SUCCESS
    assert runs(done, "apply") == []
    assert "Plan for staging not approved; nothing applied." in messages(engine, execution.id)
