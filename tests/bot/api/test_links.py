"""Signed resume links: minted in flow expressions (``pause.*``), decided by a JSON POST to
``/resume/{token}`` (the route is the web UI's; the decision is ``resume_with_link``), once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from api_support import PUBLIC_URL, Api

from bot.api.links import LINK_ACTOR, resume_with_link
from bot.links import LinkError
from engine.clock import ManualClock
from engine.engine import Engine
from engine.errors import AlreadyDecided, ConflictError, InputValidationError


def description_links(execution: dict[str, object]) -> tuple[str, str]:
    """(approve, reject) tokens from the paused Pause's rendered description."""
    run = Api.paused_run(execution)  # type: ignore[arg-type]
    approve, reject = Api.tokens(run["description"])
    return approve, reject


def tamper(token: str) -> str:
    """Changes a character in the middle of the signature (the last one may be padding bits)."""
    body, signature = token.split(".")
    middle = len(signature) // 2
    changed = "B" if signature[middle] != "B" else "C"
    return f"{body}.{signature[:middle]}{changed}{signature[middle + 1 :]}"


def test_links_are_offered_to_the_pause_its_onpause_task_and_siblings(api: Api) -> None:
    execution = api.paused("links.yaml")
    run = api.paused_run(execution, "approval")
    assert run["description"].startswith(f"Approve {PUBLIC_URL}/resume/")
    decide = api.wait_for_log(execution["id"], "Decide at")
    [resume_token] = api.tokens(decide)
    assert "(task approval, until 2" in decide
    sibling = api.wait_for_log(execution["id"], "Sibling sees")
    assert api.tokens(sibling), sibling
    signer = api.app.state.links
    link = signer.verify(resume_token)
    assert (link.execution_id, link.task_run_id, link.action) == (
        execution["id"],
        run["id"],
        "resume",
    )
    approve, reject = description_links(execution)
    assert signer.verify(approve).action == "approve"
    assert signer.verify(reject).action == "reject"


def test_outside_a_pause_the_names_are_undefined(api: Api) -> None:
    flow = api.deploy(
        "id: nolink\nnamespace: tests.api\ntasks:\n  - id: say\n"
        "    type: io.kestra.plugin.core.log.Log\n    message: \"{{ pause.approveUrl ?? 'no pause' }}\"\n"
    )
    started = api.start(flow["namespace"], flow["id"])
    api.wait(started["id"])
    assert api.logs(started["id"]) == ["no pause"]


def test_a_json_post_decides_once(api_any: Api) -> None:
    execution = api_any.paused("links.yaml")
    approve, _ = description_links(execution)
    response = api_any.client.post(f"/resume/{approve}", json={"reason": "ship it"})
    assert response.status_code == 200, response.text
    assert response.json()["id"] == execution["id"]
    done = api_any.wait(execution["id"])
    assert done["state"]["current"] == "SUCCESS"
    assert "approved=true reason=ship it by=someone with the link via=link" in api_any.logs(
        execution["id"]
    )

    again = api_any.client.post(f"/resume/{approve}", json={})
    assert again.status_code in (409, 410)
    assert "already resumed by someone with the link" in again.json()["message"]


def test_reject_sets_approved_false_and_the_action_wins_over_the_body(api: Api) -> None:
    rejected = api.paused("links.yaml")
    _, reject = description_links(rejected)
    assert (
        api.client.post(f"/resume/{reject}", json={"approved": True, "reason": "no"}).status_code
        == 200
    )
    api.wait(rejected["id"])
    assert any(line.startswith("approved=false reason=no") for line in api.logs(rejected["id"]))

    approved = api.paused("links.yaml")
    approve, _ = description_links(approved)
    assert api.client.post(f"/resume/{approve}", json={"approved": False}).status_code == 200
    api.wait(approved["id"])
    assert any(line.startswith("approved=true") for line in api.logs(approved["id"]))


def test_reject_without_an_approved_input_kills(api: Api) -> None:
    execution = api.paused("no_decision.yaml")
    _, reject = description_links(execution)
    response = api.client.post(f"/resume/{reject}", json={"reason": "wrong ticket"})
    assert response.status_code == 200, response.text
    killed = api.execution(execution["id"])
    assert killed["state"]["current"] == "KILLED"
    assert killed["killReason"] == "wrong ticket" and killed["killedBy"] == LINK_ACTOR
    again = api.client.post(f"/resume/{reject}", json={})
    assert again.status_code in (409, 410) and "already killed" in again.json()["message"]

    other = api.paused("no_decision.yaml")
    approve, _ = description_links(other)
    assert api.client.post(f"/resume/{approve}", json={"comment": "fine"}).status_code == 200
    api.wait(other["id"])
    assert "comment=fine" in api.logs(other["id"])


def test_tampered_and_malformed_links_are_403(api: Api) -> None:
    execution = api.paused("links.yaml")
    approve, _ = description_links(execution)
    for token in (tamper(approve), "not-a-token", approve + "x", approve.split(".")[0]):
        response = api.client.post(f"/resume/{token}", json={})
        assert response.status_code == 403, (token, response.text)
    assert api.execution(execution["id"])["state"]["current"] == "PAUSED"


@pytest.fixture
def manual_engine(sqlite_url: str) -> Iterator[Engine]:
    engine = Engine(sqlite_url, clock=ManualClock(), http_timeout=5.0)
    yield engine
    engine.close()


def test_an_expired_link_is_410(make_api: Callable[..., Api], manual_engine: Engine) -> None:
    api = make_api(engine=manual_engine, link_ttl="P1D")
    execution = api.paused("links.yaml")
    approve, _ = description_links(execution)
    clock = manual_engine.clock
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(days=1, seconds=1))
    response = api.client.post(f"/resume/{approve}", json={})
    assert response.status_code == 410
    assert "expired" in response.json()["message"]
    assert api.execution(execution["id"])["state"]["current"] == "PAUSED"


def test_resume_with_link_contract(api: Api) -> None:
    state = api.app.state
    execution = api.paused("links.yaml")
    approve, reject = description_links(execution)
    resume = state.links.mint(execution["id"], api.paused_run(execution)["id"], "resume")

    with pytest.raises(InputValidationError) as invalid:
        resume_with_link(state, resume, {"approved": "maybe"})
    assert "approved" in invalid.value.by_field()
    with pytest.raises(LinkError) as tampered:
        resume_with_link(state, tamper(approve))
    assert tampered.value.status == 403

    grace = {"id": "U7", "name": "Grace"}
    resumed = resume_with_link(
        state, resume, {"approved": "true"}, by=grace
    )  # invalid try spent nothing
    assert resumed.id == execution["id"]
    for token in (resume, approve, reject):
        with pytest.raises(AlreadyDecided) as decided:
            resume_with_link(state, token, {})
        assert decided.value.by == grace and decided.value.via == "link"

    ghost = state.links.mint("no-such-execution", "run", "approve")
    with pytest.raises(Exception, match="not found"):
        resume_with_link(state, ghost)
    not_a_pause = state.links.mint(execution["id"], "no-such-run", "approve")
    with pytest.raises(ConflictError, match="no pause this link could decide"):
        resume_with_link(state, not_a_pause)


def test_a_pause_decided_elsewhere_refuses_its_links(api: Api) -> None:
    execution = api.paused("links.yaml")
    approve, reject = description_links(execution)
    api.post(f"/api/v1/executions/{execution['id']}/resume", headers={"X-Pausebot-User": "ada"})
    for token in (approve, reject):
        response = api.client.post(f"/resume/{token}", json={})
        assert response.status_code in (409, 410)
        assert "already resumed by ada" in response.json()["message"]


def test_a_reject_link_of_a_decided_pause_kills_nothing(api: Api) -> None:
    execution = api.paused("no_decision.yaml")
    _, reject = description_links(execution)
    api.post(f"/api/v1/executions/{execution['id']}/resume", headers={"X-Pausebot-User": "ada"})
    response = api.client.post(f"/resume/{reject}", json={"reason": "too late"})
    assert response.status_code in (409, 410)
    assert "already resumed by ada" in response.json()["message"]
    assert api.wait(execution["id"])["state"]["current"] == "SUCCESS"


def test_approval_links_approve_and_deny_once(api_any: Api) -> None:
    execution = api_any.paused("approval_links.yaml")
    approve, reject = description_links(execution)
    denied_without_comment = api_any.client.post(f"/resume/{reject}", json={})
    assert denied_without_comment.status_code == 422
    assert denied_without_comment.json()["errors"][0]["path"] == "comment"
    ok = api_any.client.post(f"/resume/{approve}", json={"comment": "go", "ticket": "T-1"})
    assert ok.status_code == 200, ok.text
    done = api_any.wait(execution["id"])
    assert done["state"]["current"] == "SUCCESS"
    assert "APPROVED comment=go ticket=T-1" in api_any.logs(execution["id"])
    review = next(r for r in done["taskRunList"] if r["taskId"] == "review")
    assert review["outputs"]["by"] == LINK_ACTOR["name"]
    late = api_any.client.post(f"/resume/{reject}", json={"comment": "too late"})
    assert late.status_code in (409, 410) and "already approved" in late.json()["message"]


def test_approval_link_pages_ask_for_the_comment_and_show_the_decision_labels(api: Api) -> None:
    execution = api.paused("approval_links.yaml")
    approve, reject = description_links(execution)
    page = api.client.get(f"/resume/{reject}")
    assert page.status_code == 200
    assert 'name="comment"' in page.text and "(required)" in page.text
    assert ">Hold</button>" in page.text and 'name="ticket"' in page.text
    assert ">Ship it</button>" in api.client.get(f"/resume/{approve}").text
    refused = api.client.post(f"/resume/{reject}", data={"ticket": "T-2", "comment": ""})
    assert refused.status_code == 422 and 'name="comment"' in refused.text
    denied = api.client.post(f"/resume/{reject}", data={"ticket": "T-2", "comment": "not now"})
    assert denied.status_code == 200, denied.text
    api.wait(execution["id"])
    assert "DENIED comment=not now ticket=T-2" in api.logs(execution["id"])


def test_a_resume_link_cannot_decide_an_approval(api: Api) -> None:
    execution = api.paused("approval_links.yaml")
    run = api.paused_run(execution)
    token = api.app.state.links.mint(execution["id"], run["id"], "resume")
    page = api.client.get(f"/resume/{token}")
    assert page.status_code == 409 and "approve or reject link" in page.text
    posted = api.client.post(f"/resume/{token}", json={})
    assert posted.status_code == 410 and "is an Approval" in posted.json()["message"]
    assert api.execution(execution["id"])["state"]["current"] == "PAUSED"
