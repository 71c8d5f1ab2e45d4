"""The parts of Kestra's API issue 11 adds: the Approval review action, resume/validate, bulk
kill and pause, labels, flow validation and Kestra's default page size."""

from __future__ import annotations

from api_support import Api, form


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
