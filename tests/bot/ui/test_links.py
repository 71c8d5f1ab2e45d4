"""Pages of signed resume links: GET shows, POST decides (form → HTML, JSON → JSON), once."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from engine.states import State

if TYPE_CHECKING:
    from tests.bot.ui.conftest import UI


def test_opening_a_link_shows_the_form_and_decides_nothing(ui: UI) -> None:
    execution = ui.paused("vacation_approval_process.yml", **{"request.name": "Rick"})
    token = ui.link(execution, "resume")
    for _ in range(3):  # scanners, unfurlers and the person all open it
        response = ui.client.get(f"/resume/{token}")
        assert response.status_code == 200
    text = response.text
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "This step waits for you" in text
    assert f'<form method="post" action="/resume/{token}"' in text
    assert '<input type="radio" name="approved" value="true" checked> Yes' in text
    assert 'value="Approved"' in text  # the reason's default
    assert "Rick" in text and "Grace" in text
    assert "Opening this page decides nothing" in text
    assert 'name="_csrf"' not in text  # the token is the credential; no login either
    assert ui.engine.get_execution(execution.id).state.current == State.PAUSED


def test_approve_and_reject_links_fix_the_decision(ui: UI) -> None:
    execution = ui.paused("vacation_approval_process.yml")
    approve = ui.client.get(f"/resume/{ui.link(execution, 'approve')}").text
    assert "Approve this request?" in approve
    assert '<input type="hidden" name="approved" value="true">' in approve
    assert 'type="radio" name="approved"' not in approve
    reject = ui.client.get(f"/resume/{ui.link(execution, 'reject')}").text
    assert "Reject this request?" in reject
    assert '<span class="label">Approve the request?</span> <strong>No</strong>' in reject
    assert '<input type="hidden" name="approved" value="false">' in reject
    assert 'class="danger">Reject</button>' in reject


def test_posting_the_form_decides_once_and_thanks(ui: UI) -> None:
    execution = ui.paused("vacation_approval_process.yml")
    token = ui.link(execution, "approve")
    response = ui.client.post(
        f"/resume/{token}", data={"approved": "true", "reason": "Enjoy", "_name": "Linus"}
    )
    assert response.status_code == 200
    assert "Recorded: approved by Linus at" in response.text and "via link" in response.text
    run = ui.engine.get_execution(execution.id).task_run(execution.paused_task_runs()[0].id)
    assert run is not None
    assert run.outputs["onResume"] == {"approved": True, "reason": "Enjoy"}
    assert run.outputs["resumed"]["by"] == {"id": "link:Linus", "name": "Linus"}
    again = ui.client.post(f"/resume/{token}", data={"approved": "true"})
    assert again.status_code == 410
    assert "This request was already approved by Linus" in again.text
    shown = ui.client.get(f"/resume/{token}")
    assert shown.status_code == 410
    assert "This request was already approved by Linus at" in shown.text


def test_a_reject_link_on_a_pause_without_a_decision_input_kills_with_a_reason(ui: UI) -> None:
    execution = ui.paused("no-decision.yaml")
    token = ui.link(execution, "reject")
    page = ui.client.get(f"/resume/{token}").text
    assert "Rejecting stops the whole execution." in page
    assert '<label for="link-reason">Reason</label>' in page
    assert 'name="note"' not in page
    response = ui.client.post(f"/resume/{token}", data={"reason": "Not now"})
    assert response.status_code == 200
    assert "Recorded: killed by someone with the link" in response.text
    killed = ui.engine.get_execution(execution.id)
    assert killed.state.current == State.KILLED and killed.killReason == "Not now"
    assert ui.client.post(f"/resume/{token}", data={"reason": "again"}).status_code == 410


def test_invalid_values_come_back_with_errors_and_spend_nothing(ui: UI) -> None:
    execution = ui.paused("every-input.yaml")
    token = ui.link(execution, "resume")
    response = ui.client.post(
        f"/resume/{token}", data={"copies": "0", "code": "nope", "_name": "Linus"}
    )
    assert response.status_code == 422
    assert 'id="link-copies-error">must be at least 1' in response.text
    assert 'value="0"' in response.text and 'value="nope"' in response.text
    assert 'value="Linus"' in response.text
    assert ui.engine.get_execution(execution.id).state.current == State.PAUSED
    fixed = ui.client.post(f"/resume/{token}", data={"copies": "4"})
    assert fixed.status_code == 200


def test_a_system_posts_json_and_gets_json(ui: UI) -> None:
    execution = ui.paused("vacation_approval_process.yml")
    token = ui.link(execution, "resume")
    response = ui.client.post(f"/resume/{token}", json={"approved": False, "reason": "CI says no"})
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == execution.id and body["state"] == "RUNNING"
    assert body["url"].endswith(ui.path(execution))
    run = ui.engine.get_execution(execution.id).task_run(execution.paused_task_runs()[0].id)
    assert run is not None and run.outputs["onResume"] == {
        "approved": False,
        "reason": "CI says no",
    }
    reused = ui.client.post(f"/resume/{token}", json={})
    assert reused.status_code == 410
    assert "already resumed by someone with the link" in reused.json()["message"]
    assert reused.json()["decided"]["via"] == "link"


def test_a_bare_post_resumes_with_the_defaults(ui: UI) -> None:
    execution = ui.paused("vacation_approval_process.yml")
    response = ui.client.post(f"/resume/{ui.link(execution, 'resume')}")
    assert response.status_code == 200 and response.json()["state"] == "RUNNING"
    run = ui.engine.get_execution(execution.id).taskRunList[1]
    assert run.outputs["onResume"] == {"approved": True, "reason": "Approved"}


def test_json_errors(ui: UI) -> None:
    execution = ui.paused("every-input.yaml")
    token = ui.link(execution, "resume")
    invalid = ui.client.post(f"/resume/{token}", json={"copies": 99})
    assert invalid.status_code == 422
    assert invalid.json()["errors"] == [{"path": "copies", "message": "must be at most 10, got 99"}]
    malformed = ui.client.post(
        f"/resume/{token}", content=b"{oops", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400
    listed = ui.client.post(f"/resume/{token}", json=[1, 2])
    assert listed.status_code == 400
    text = ui.client.post(
        f"/resume/{token}", content=b"approved", headers={"content-type": "text/plain"}
    )
    assert text.status_code == 415
    assert ui.engine.get_execution(execution.id).state.current == State.PAUSED


def test_tampered_links_are_refused_with_403(ui: UI) -> None:
    execution = ui.paused()
    token = ui.link(execution)
    body, _, signature = token.partition(".")
    forged = f"{body[:-2]}AA.{signature}"
    for bad in (forged, "garbage", f"{body}.", "a.b.c"):
        shown = ui.client.get(f"/resume/{bad}")
        assert shown.status_code == 403, bad
        assert "Invalid link" in shown.text
        assert ui.client.post(f"/resume/{bad}", data={}).status_code == 403
        assert ui.client.post(f"/resume/{bad}", json={}).status_code == 403
    assert ui.engine.get_execution(execution.id).state.current == State.PAUSED


def test_expired_links_are_refused_with_410(ui: UI) -> None:
    execution = ui.paused()
    token = ui.link(execution)
    ui.engine.clock.advance(timedelta(days=8))  # type: ignore[attr-defined]
    shown = ui.client.get(f"/resume/{token}")
    assert shown.status_code == 410
    assert "This link expired on" in shown.text
    assert ui.client.post(f"/resume/{token}", data={}).status_code == 410
    assert ui.client.post(f"/resume/{token}", json={}).status_code == 410


def test_a_pause_decided_elsewhere_says_who_decided(ui: UI) -> None:
    execution = ui.paused()
    token = ui.link(execution)
    ui.engine.resume_execution(
        execution.id, {"approved": False}, by={"id": "U2", "name": "Bob"}, via="slack"
    )
    shown = ui.client.get(f"/resume/{token}")
    assert shown.status_code == 410
    assert "This request was already rejected by Bob at" in shown.text
    assert "via slack" in shown.text
    posted = ui.client.post(f"/resume/{token}", json={})
    assert posted.status_code == 410
    assert posted.json()["decided"]["by"] == {"id": "U2", "name": "Bob"}


def test_a_link_to_a_deleted_execution_or_task_run_is_404(ui: UI) -> None:
    execution = ui.paused()
    signer = ui.client.app.state.links  # type: ignore[attr-defined]
    now = ui.engine.clock.now()
    gone = signer.mint("nope", "nope", "approve", now=now)
    assert ui.client.get(f"/resume/{gone}").status_code == 404
    assert ui.client.post(f"/resume/{gone}", json={}).status_code == 404
    wrong_run = signer.mint(execution.id, "nope", "approve", now=now)
    assert ui.client.get(f"/resume/{wrong_run}").status_code == 404


def test_head_answers_like_get_without_a_page_and_decides_nothing(ui: UI) -> None:
    execution = ui.paused("vacation_approval_process.yml", **{"request.name": "Rick"})
    token = ui.link(execution, "approve")
    shown = ui.client.get(f"/resume/{token}")
    for _ in range(3):  # link scanners
        response = ui.client.head(f"/resume/{token}")
        assert response.status_code == 200 and response.content == b""
        assert response.headers["content-type"] == shown.headers["content-type"]
        assert response.headers["referrer-policy"] == "no-referrer"
    assert ui.engine.get_execution(execution.id).state.current == State.PAUSED
    assert ui.client.head("/resume/garbage").status_code == 403
    decided = ui.client.post(f"/resume/{token}", json={})
    assert decided.status_code == 200, decided.text
    assert ui.client.head(f"/resume/{token}").status_code == 410
