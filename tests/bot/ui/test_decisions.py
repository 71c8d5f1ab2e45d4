"""The decision buttons of the execution page: Approve/Reject for a BOOLEAN decision input, one
button per ENUM option, an Approval's labels and comment rule, fields per outcome
(``slack-ask-on-<option>``), and Reject that kills when there is no decision input."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from engine.states import State

if TYPE_CHECKING:
    from tests.bot.ui.conftest import UI

APPROVAL_FLOW = """\
id: release
namespace: test.ui
tasks:
  - id: sign_off
    type: io.kestra.plugin.core.flow.Approval
    title: Ship it?
    description: "Ship *{{ execution.id }}*"
    decisions:
      approve: Ship it
      deny: Hold
    commentRequired: ON_DENY
"""

ASK_ON_FLOW = """\
id: ask_on
namespace: test.ui
labels:
  slack-ask-on-reject: reason, ticket
tasks:
  - id: gate
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - id: approved
        type: BOOLEAN
        defaults: true
      - id: reason
        type: STRING
        required: false
      - id: ticket
        type: STRING
        description: The change ticket, e.g. CHG-1234
        validator: "^CHG-[0-9]+$"
        required: false
      - id: window
        type: SELECT
        values: [now, tonight]
        defaults: now
"""


def _outcomes(page: str) -> list[str]:
    return re.findall(r'<summary class="button (?:primary|danger|plain)">([^<]+)</summary>', page)


def _decide(ui: UI, execution_id: str, page: str, run_id: str, choice: str, **data: object):  # type: ignore[no-untyped-def]
    return ui.client.post(
        f"/ui/executions/{execution_id}/decide",
        data={"_csrf": ui.csrf(page), "_task_run": run_id, "_choice": choice, **data},
    )


def test_approve_is_two_taps_and_sets_the_decision_input(ui: UI) -> None:
    execution = ui.paused("deploy_approval.yml")
    run = execution.paused_task_runs()[0]
    ui.login("Ada")
    page = ui.page(execution)
    assert _outcomes(page) == ["Approve", "Reject"]
    response = _decide(ui, execution.id, page, run.id, "approve")
    assert response.status_code == 303
    assert "Approved. Thank you." in ui.client.get(response.headers["location"]).text
    decided = ui.engine.get_execution(execution.id).task_run(run.id)
    assert decided is not None
    assert decided.outputs["onResume"]["approved"] is True
    assert decided.outputs["onResume"]["window"] == "now"  # the field's default, shown as such
    after = ui.page(ui.engine.run_until_blocked(execution.id))
    assert "<strong>Approved</strong> by Ada" in after and "via ui" in after


def test_reject_sets_false_and_keeps_what_was_typed(ui: UI) -> None:
    execution = ui.paused("deploy_approval.yml")
    run = execution.paused_task_runs()[0]
    ui.login()
    page = ui.page(execution)
    # A value for the decision input sent by a hand-made form is ignored: the button decides.
    response = _decide(
        ui, execution.id, page, run.id, "reject", approved="true", comment="not tonight"
    )
    assert response.status_code == 303
    decided = ui.engine.get_execution(execution.id).task_run(run.id)
    assert decided is not None and decided.outputs["onResume"]["approved"] is False
    assert decided.outputs["onResume"]["comment"] == "not tonight"


def test_one_button_per_enum_option(ui: UI) -> None:
    execution = ui.paused("expense_approval.yml", amount=500)
    run = execution.paused_task_runs()[0]
    ui.login()
    page = ui.page(execution)
    assert _outcomes(page) == ["Approve", "Reject", "Changes"]
    assert '<summary class="button danger">Reject</summary>' in page  # decision=reject
    assert 'name="decision"' not in page
    response = _decide(ui, execution.id, page, run.id, "changes", note="receipt missing")
    assert response.status_code == 303
    decided = ui.engine.get_execution(execution.id).task_run(run.id)
    assert decided is not None
    assert decided.outputs["onResume"]["decision"] == "changes"
    assert decided.outputs["onResume"]["note"] == "receipt missing"


def test_ask_on_labels_open_only_the_fields_an_outcome_needs(ui: UI) -> None:
    ui.engine.deploy_flow(ASK_ON_FLOW)
    execution = ui.start("test.ui", "ask_on")
    run = execution.paused_task_runs()[0]
    ui.login()
    page = ui.page(execution)
    approve = page.split('value="approve">', 1)[1].split("</form>", 1)[0]
    reject = page.split('value="reject">', 1)[1].split("</form>", 1)[0]
    assert 'name="reason"' not in approve and 'name="ticket"' not in approve
    assert "Confirm: Approve" in approve  # nothing to fill in: the second tap decides
    assert 'name="reason"' in reject and 'name="ticket"' in reject
    assert 'name="window"' not in reject
    assert "For example CHG-1234" in reject  # the hint, not the regex

    refused = _decide(ui, execution.id, page, run.id, "reject", reason="wrong build", ticket="x")
    assert refused.status_code == 422
    text = refused.text
    assert f'id="d-{run.id}-reject-ticket-error">must look like CHG-1234, got &#39;x&#39;' in text
    assert 'value="wrong build"' in text and 'value="x"' in text
    assert ui.engine.get_execution(execution.id).state.current == State.PAUSED

    done = _decide(ui, execution.id, text, run.id, "reject", reason="wrong build", ticket="CHG-9")
    assert done.status_code == 303
    decided = ui.engine.get_execution(execution.id).task_run(run.id)
    assert decided is not None and decided.outputs["onResume"]["approved"] is False
    assert decided.outputs["onResume"]["ticket"] == "CHG-9"


def test_an_approval_uses_its_decision_labels_and_comment_rule(ui: UI) -> None:
    ui.engine.deploy_flow(APPROVAL_FLOW)
    execution = ui.start("test.ui", "release")
    run = execution.paused_task_runs()[0]
    ui.login("Ada")
    page = ui.page(execution)
    assert _outcomes(page) == ["Ship it", "Hold"]
    assert "Ship it?" in page and f"Ship <strong>{execution.id}</strong>" in page
    hold = page.split('value="deny">', 1)[1].split("</form>", 1)[0]
    assert "Comment <span" in hold and "(required)" in hold
    refused = _decide(ui, execution.id, page, run.id, "deny")
    assert refused.status_code == 422
    assert "a comment is required to deny" in refused.text
    assert ui.engine.get_execution(execution.id).state.current == State.PAUSED
    done = _decide(ui, execution.id, refused.text, run.id, "deny", comment="after the freeze")
    assert done.status_code == 303
    after = ui.page(ui.engine.run_until_blocked(execution.id))
    assert "<strong>Denied</strong> by Ada" in after and "after the freeze" in after


def test_a_pause_without_decision_input_rejects_by_killing_with_a_reason(ui: UI) -> None:
    execution = ui.paused("pause_resume.yml")
    run = execution.paused_task_runs()[0]
    ui.login("Ada")
    page = ui.page(execution)
    assert _outcomes(page) == ["Approve", "Reject"]
    response = _decide(ui, execution.id, page, run.id, "reject", reason="not  now")
    assert response.status_code == 303
    killed = ui.engine.get_execution(execution.id)
    assert killed.state.current in (State.KILLING, State.KILLED)
    assert killed.killReason == "not now" and killed.killedBy == {"id": "ui:Ada", "name": "Ada"}


def test_a_decision_taken_elsewhere_first_is_reported(ui: UI) -> None:
    execution = ui.paused("deploy_approval.yml")
    run = execution.paused_task_runs()[0]
    ui.login()
    page = ui.page(execution)
    ui.engine.resume_execution(
        execution.id, {"approved": False}, by={"id": "U2", "name": "Bob"}, via="slack"
    )
    response = _decide(ui, execution.id, page, run.id, "approve")
    after = ui.client.get(response.headers["location"]).text
    assert "Nothing was changed: this step was already rejected by Bob" in after
    assert "via slack" in after
    unknown = _decide(ui, execution.id, page, run.id, "maybe")
    assert unknown.status_code == 303


def test_logs_filter_by_level(ui: UI) -> None:
    execution = ui.paused("deploy_approval.yml")
    ui.engine.log_on_execution(execution.id, "WARN", "disk almost full")
    ui.login()
    every = ui.page(execution)
    assert "Ready to deploy" in every and "disk almost full" in every
    warn = ui.client.get(ui.path(execution) + "?level=WARN").text
    assert "Ready to deploy" not in warn and "disk almost full" in warn
    assert '<option value="WARN" selected>' in warn
