"""Issue 7, "answers that tell the truth": the 409 body has one shape everywhere (resume, pause,
kill, bulk, links): ``message``, ``state``, and ``by``/``on``/``via`` of the decision that won
(null when none did). A kill of a killed execution names its ``via``; a resume of a killed one
says KILLED, not KILLING. SQLite and PostgreSQL; nothing changes on a 409."""

from __future__ import annotations

from typing import Any

import pytest
from api_support import Api, form

SHAPE = {"message", "state", "by", "on", "via"}


def _conflict(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 409, answer.text
    body = answer.json()
    assert SHAPE <= set(body), body
    return body


def test_resume_of_a_resumed_execution(api_any: Api) -> None:
    paused = api_any.paused("deploy_approval.yml")
    path = f"/api/v1/executions/{paused['id']}/resume"
    ok = api_any.post(path, files=form(approved="false"), headers={"X-Pausebot-User": "ada"})
    assert ok.status_code == 204
    done = api_any.wait(paused["id"])
    body = _conflict(api_any.post(path, files=form(approved="true")))
    assert body["state"] == done["state"]["current"]
    assert body["by"] == {"id": "ada", "name": "ada"} and body["via"] == "api" and body["on"]
    assert body["action"] == "resumed" and body["to"] == "SUCCESS"
    assert "already resumed by ada" in body["message"]
    assert api_any.execution(paused["id"]) == done


def test_resume_of_a_killed_execution_says_killed(api_any: Api) -> None:
    paused = api_any.paused("deploy_approval.yml")
    kill = api_any.delete(
        f"/api/v1/executions/{paused['id']}/kill", headers={"X-Pausebot-User": "grace"}
    )
    assert kill.status_code == 202
    killed = api_any.execution(paused["id"])
    for path, kwargs in [
        (f"/api/v1/executions/{paused['id']}/resume", {"files": form(approved="true")}),
        (f"/api/v1/executions/{paused['id']}/resume/validate", {"json": {}}),
    ]:
        body = _conflict(api_any.post(path, **kwargs))
        assert body["state"] == "KILLED"
        assert body["to"] == "KILLED"  # not KILLING, what the pause itself recorded
        assert "KILLING" not in answer_text(body)
        assert body["by"] == {"id": "grace", "name": "grace"} and body["via"] == "api"
        assert "already killed by grace" in body["message"]
    assert api_any.execution(paused["id"]) == killed


def answer_text(body: dict[str, Any]) -> str:
    return repr(body)


@pytest.mark.parametrize("flow", ["deploy_approval.yml", "sleepy.yaml"])
def test_kill_of_a_killed_execution_names_its_via(api_any: Api, flow: str) -> None:
    deployed = api_any.deploy(flow)
    started = api_any.start(deployed["namespace"], deployed["id"])
    api_any.wait(started["id"], "PAUSED", "RUNNING")
    bulk = api_any.request(
        "DELETE",
        "/api/v1/executions/kill/by-ids",
        json=[started["id"]],
        headers={"X-Pausebot-User": "ops"},
    )
    assert bulk.json()["ids"] == [started["id"]]
    killed = api_any.execution(started["id"])
    body = _conflict(api_any.delete(f"/api/v1/executions/{started['id']}/kill"))
    assert body["state"] == "KILLED" and body["via"] == "bulk"
    assert body["by"] == {"id": "ops", "name": "ops"} and body["on"]
    assert "via bulk" in body["message"]
    # pausing it says the same
    body = _conflict(api_any.post(f"/api/v1/executions/{started['id']}/pause"))
    assert body["via"] == "bulk" and body["state"] == "KILLED"
    assert api_any.execution(started["id"]) == killed


def test_a_conflict_without_a_decision_has_the_same_keys(api_any: Api) -> None:
    paused = api_any.paused("deploy_approval.yml")
    body = _conflict(api_any.post(f"/api/v1/executions/{paused['id']}/pause"))
    assert body["state"] == "PAUSED"
    assert body["by"] is None and body["on"] is None and body["via"] is None


def test_bulk_invalids_carry_the_409_shape(api_any: Api) -> None:
    paused = api_any.paused("deploy_approval.yml")
    api_any.post(
        f"/api/v1/executions/{paused['id']}/resume",
        json={"approved": True},
        headers={"X-Pausebot-User": "bob"},
    )
    api_any.wait(paused["id"])
    for method, path in [
        ("POST", "/api/v1/executions/resume/by-ids"),
        ("DELETE", "/api/v1/executions/kill/by-ids"),
    ]:
        answer = api_any.request(method, path, json=[paused["id"]])
        assert answer.status_code == 200
        (invalid,) = answer.json()["invalids"]
        assert invalid["invalidValue"] == paused["id"]
        assert {"message", "state", "by", "on", "via"} <= set(invalid)
        if method == "POST":
            assert invalid["by"] == {"id": "bob", "name": "bob"} and invalid["via"] == "api"


def test_a_used_link_answers_with_the_same_shape(api_any: Api) -> None:
    execution = api_any.paused("links.yaml")
    approve, _ = Api.tokens(Api.paused_run(execution)["description"])
    assert api_any.client.post(f"/resume/{approve}", json={}).status_code == 200
    api_any.wait(execution["id"])
    again = api_any.client.post(f"/resume/{approve}", json={})
    assert again.status_code in (409, 410)
    body = again.json()
    assert SHAPE <= set(body)
    assert body["via"] == "link" and body["state"] == "SUCCESS"
