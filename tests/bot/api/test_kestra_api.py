"""The parts of Kestra's API issue 11 adds: the Approval review action, resume/validate, bulk
kill and pause, labels, flow validation and Kestra's default page size."""

from __future__ import annotations

from api_support import TOKEN, Api, form


def test_review_approve_with_comment_and_inputs(api_any: Api) -> None:
    paused = api_any.paused("approval.yaml")
    run = api_any.paused_run(paused)
    response = api_any.post(
        f"/api/v1/executions/{paused['id']}/actions/review",
        params={"taskRunId": run["id"], "decision": "APPROVE"},
        files=form(comment="ship it", reason="urgent"),
        headers={"X-Pausebot-User": "ada"},
    )
    assert response.status_code == 200, response.text
    done = api_any.wait(paused["id"])
    assert done["state"]["current"] == "SUCCESS"
    outputs = next(r for r in done["taskRunList"] if r["taskId"] == "approval")["outputs"]
    assert outputs["decision"] == "APPROVED" and outputs["by"] == "ada"
    assert outputs["comment"] == "ship it" and outputs["inputs"] == {"reason": "urgent"}
    again = api_any.post(
        f"/api/v1/executions/{paused['id']}/actions/review",
        params={"taskRunId": run["id"], "decision": "DENY"},
        files=form(comment="no"),
    )
    assert again.status_code == 409 and "already approved by ada" in again.json()["message"]


def test_review_refusals(api: Api) -> None:
    paused = api.paused("approval.yaml")
    url = f"/api/v1/executions/{paused['id']}/actions/review"
    no_comment = api.post(url, params={"decision": "DENY"})
    assert no_comment.status_code == 422
    assert no_comment.json()["_embedded"]["errors"][0]["path"] == "comment"
    assert api.post(url, params={"decision": "MAYBE"}).status_code == 422
    assert api.post(url, params={"decision": "APPROVE", "taskRunId": "x"}).status_code == 404
    resume = api.post(f"/api/v1/executions/{paused['id']}/resume")
    assert resume.status_code == 409 and "actions/review" in resume.json()["message"]
    flow = api.get(f"/api/v1/executions/{paused['id']}/flow").json()
    assert flow["tasks"][0]["inputs"][0]["id"] == "reason"  # the review form
    denied = api.post(url, params={"decision": "DENY"}, json={"comment": "not now"})
    assert denied.status_code == 200
    assert api.wait(paused["id"])["state"]["current"] == "SUCCESS"


def test_resume_validate(api: Api) -> None:
    paused = api.paused("pause_resume.yml")
    response = api.post(f"/api/v1/executions/{paused['id']}/resume/validate", files=form())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == paused["flowId"] and isinstance(body["inputs"], list)
    assert api.execution(paused["id"])["state"]["current"] == "PAUSED"


def test_bulk_kill_and_pause(api: Api) -> None:
    first = api.paused("pause_resume.yml")
    second = api.start(first["namespace"], first["flowId"])
    api.wait(second["id"], "PAUSED")
    killed = api.request(
        "DELETE", "/api/v1/executions/kill/by-ids", json=[first["id"], "ghost"]
    ).json()
    assert killed["count"] == 1 and killed["invalids"][0]["invalidValue"] == "ghost"
    assert api.execution(first["id"])["state"]["current"] == "KILLED"
    by_query = api.request(
        "DELETE", "/api/v1/executions/kill/by-query", params={"flowId": first["flowId"]}
    ).json()
    assert by_query["count"] == 1
    assert api.execution(second["id"])["state"]["current"] == "KILLED"
    paused = api.post("/api/v1/executions/pause/by-ids", json=[first["id"]]).json()
    assert paused["count"] == 0 and "already killed" in paused["invalids"][0]["message"]
    assert api.post("/api/v1/executions/pause/by-query").json()["count"] == 0


def test_labels(api: Api) -> None:
    paused = api.paused("pause_resume.yml")
    url = f"/api/v1/executions/{paused['id']}/labels"
    response = api.post(url, json=[{"key": "team", "value": "ops"}])
    assert response.status_code == 200, response.text
    patched = api.request(
        "PATCH", url, json=[{"key": "team", "value": "sre"}, {"key": "a", "value": "b"}]
    )
    labels = {item["key"]: item["value"] for item in patched.json()["labels"]}
    assert labels["team"] == "sre" and labels["a"] == "b"
    assert api.post(url, json=[{"key": "system.x", "value": "1"}]).status_code == 422
    assert api.post(url, json={"team": "ops"}).status_code == 422
    assert api.post("/api/v1/executions/ghost/labels", json=[]).status_code == 404


def test_flows_validate(api: Api) -> None:
    good = "id: a\nnamespace: n\ntasks:\n  - id: l\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
    bad = "id: b\nnamespace: n\ntasks:\n  - id: l\n    type: io.kestra.plugin.core.log.Log\n    mesage: hi\n"
    response = api.post(
        "/api/v1/flows/validate",
        content=good + "---\n" + bad,
        headers={"Content-Type": "application/x-yaml"},
    )
    assert response.status_code == 200, response.text
    first, second = response.json()
    assert (first["index"], first["flow"], first["constraints"]) == (0, "a", None)
    assert second["flow"] == "b" and "mesage" in second["constraints"]
    one = api.post(
        "/api/v1/flows/n/other/validate",
        content=good,
        headers={"Content-Type": "application/x-yaml"},
    ).json()
    assert "path names 'n.other'" in one["constraints"]
    assert api.get("/api/v1/flows/n/a").status_code == 404  # nothing deployed


def test_default_page_size_is_kestras(api: Api) -> None:
    api.deploy("pause_resume.yml")
    for _ in range(11):
        api.start("company.team", "pause_resume")
    body = api.get("/api/v1/executions/search").json()
    assert len(body["results"]) == 10 and body["total"] == 11


def test_flows_validate_names_properties_accepted_but_not_enforced(api: Api) -> None:
    source = (
        "id: w\nnamespace: n\nsla:\n  - id: s\n    type: MAX_DURATION\n    duration: PT1H\n"
        "tasks:\n  - id: l\n"
        "    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
    )
    response = api.post(
        "/api/v1/flows/validate", content=source, headers={"Content-Type": "application/x-yaml"}
    )
    (result,) = response.json()
    assert result["constraints"] is None
    assert len(result["warnings"]) == 1 and "'sla'" in result["warnings"][0]


# -- follow (server-sent events), wait=true, revision, basic auth ----------------------------

SHORT_NAP = """id: nap
namespace: tests.api
tasks:
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT0.3S
  - id: after
    type: io.kestra.plugin.core.log.Log
    message: "{{ flow.revision }}"
"""


def _events(api: Api, execution_id: str) -> list[tuple[str, dict]]:
    import json

    events: list[tuple[str, dict]] = []
    with api.client.stream(
        "GET",
        f"/api/v1/executions/{execution_id}/follow",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in response.iter_lines():
            if line.startswith("id: "):
                name = line[4:]
            elif line.startswith("data: "):
                assert name is not None
                events.append((name, json.loads(line[6:])))
    return events


def test_follow_streams_progress_until_the_end(api: Api) -> None:
    api.deploy(SHORT_NAP)
    started = api.start("tests.api", "nap")
    events = _events(api, started["id"])
    names = [name for name, _ in events]
    assert names[0] == "start" and events[0][1] == {"id": started["id"]}
    assert names[-1] == "end" and set(names[1:-1]) <= {"progress"}
    assert events[-1][1]["state"]["current"] == "SUCCESS"
    # A finished execution: start and end only.
    assert [name for name, _ in _events(api, started["id"])] == ["start", "end"]
    assert api.get("/api/v1/executions/nope/follow").status_code == 404


def test_wait_true_answers_once_ended_or_paused(api: Api) -> None:
    api.deploy(SHORT_NAP)
    done = api.start("tests.api", "nap", params={"wait": "true"})
    assert done["state"]["current"] == "SUCCESS"
    paused = api.deploy("approval.yaml")
    waited = api.start(paused["namespace"], paused["id"], params={"wait": "true"})
    assert waited["state"]["current"] == "PAUSED"


def test_start_on_a_given_revision(api: Api) -> None:
    api.deploy(SHORT_NAP)
    api.deploy(SHORT_NAP.replace("{{ flow.revision }}", "second {{ flow.revision }}"))
    first = api.start("tests.api", "nap", params={"revision": "1", "wait": "true"})
    assert first["flowRevision"] == 1 and api.logs(first["id"])[-1] == "1"
    latest = api.start("tests.api", "nap", params={"wait": "true"})
    assert latest["flowRevision"] == 2
    missing = api.post("/api/v1/executions/tests.api/nap", params={"revision": "9"})
    assert missing.status_code == 404 and "revision 9" in missing.json()["message"]
    assert api.post("/api/v1/executions/tests.api/nap", params={"revision": "0"}).status_code == 422


def _basic(user: str, password: str) -> dict[str, str]:
    import base64

    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_basic_auth_beside_the_token(make_api) -> None:  # type: ignore[no-untyped-def]
    api = make_api(basic_auth_users="ada:correct-horse, bob:battery:staple")
    api.deploy("pause_resume.yml")
    ok = api.post(
        "/api/v1/executions/company.team/pause_resume",
        token=None,
        headers={**_basic("ada", "correct-horse"), "X-Pausebot-User": "mallory"},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["startedBy"] == {"id": "ada", "name": "ada"}  # proven, not claimed
    colon = api.get(
        "/api/v1/executions/search", token=None, headers=_basic("bob", "battery:staple")
    )
    assert colon.status_code == 200
    for user, password in (("ada", "wrong-password"), ("eve", "correct-horse")):
        refused = api.get("/api/v1/executions/search", token=None, headers=_basic(user, password))
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Basic")
        assert refused.json()["message"] == "Invalid user name or password."
    assert api.get("/api/v1/executions/search").status_code == 200  # the token still works
    missing = api.get("/api/v1/executions/search", token=None)
    assert missing.status_code == 401 and "Basic" in missing.headers["www-authenticate"]


def test_basic_auth_alone_opens_the_api(make_api) -> None:  # type: ignore[no-untyped-def]
    api = make_api(api_token=None, basic_auth_users="ada:correct-horse")
    assert api.get("/api/v1/executions/search").status_code == 401  # a bearer token is no use
    assert (
        api.get("/api/v1/executions/search", token=None, headers=_basic("ada", "correct-horse"))
    ).status_code == 200


def test_malformed_basic_auth_users_are_refused_at_start_up() -> None:
    import pytest
    from pydantic import ValidationError

    from bot.config import Settings

    for value, message in (("ada", "must be 'user:password'"), ("ada:short", "at least 8")):
        with pytest.raises(ValidationError, match=message):
            Settings(basic_auth_users=value)
