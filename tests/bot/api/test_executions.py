"""/api/v1/executions and /api/v1/logs through HTTP, with the real runner: start, read, search,
resume (one, by ids, by query), pause, kill, and every refusal."""

from __future__ import annotations

from typing import Any

import pytest
from api_support import Api, form


def test_start_with_multipart_inputs_and_labels(api: Api) -> None:
    api.deploy("deploy_approval.yml")
    started = api.start(
        "company.platform",
        "deploy_approval",
        files=form(service="billing", version="2.0.0", canary_percent="25"),
        params=[("labels", "team:payments"), ("labels", "ticket:OPS-1")],
        headers={"X-Pausebot-User": "ada"},
    )
    assert started["inputs"] == {"service": "billing", "version": "2.0.0", "canary_percent": 25}
    labels = {item["key"]: item["value"] for item in started["labels"]}
    assert labels["team"] == "payments" and labels["ticket"] == "OPS-1"
    assert labels["slack-channel"] == "#deploys"  # the flow's own labels stay
    assert started["url"] == (
        f"http://pausebot.test/ui/executions/company.platform/deploy_approval/{started['id']}"
    )
    assert started["startedBy"] == {"id": "ada", "name": "ada"} and started["startedVia"] == "api"
    paused = api.wait(started["id"], "PAUSED")
    assert api.paused_run(paused)["taskId"] == "approval"


def test_start_with_json_inputs_and_defaults(api: Api) -> None:
    api.deploy("deploy_approval.yml")
    started = api.start("company.platform", "deploy_approval", json={"service": "search"})
    assert started["inputs"] == {"service": "search", "version": "1.4.2", "canary_percent": 10}
    assert started["startedBy"] == {"id": "api", "name": "API"}
    urlencoded = api.start("company.platform", "deploy_approval", data={"version": "3.0"})
    assert urlencoded["inputs"]["version"] == "3.0"


def test_invalid_inputs_are_422_with_one_error_per_field(api: Api) -> None:
    api.deploy("deploy_approval.yml")
    response = api.post(
        "/api/v1/executions/company.platform/deploy_approval",
        files=form(service="Not A Service!", canary_percent="250"),
    )
    assert response.status_code == 422
    body = response.json()
    errors = {e["path"]: e["message"] for e in body["_embedded"]["errors"]}
    assert set(errors) == {"service", "canary_percent"}
    assert "250" in errors["canary_percent"]
    assert body["message"].startswith("Invalid input")


@pytest.mark.parametrize(
    ("kwargs", "status", "says"),
    [
        (
            {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
            400,
            "Malformed JSON",
        ),
        ({"content": b"\xff", "headers": {"Content-Type": "application/json"}}, 400, "UTF-8"),
        ({"json": ["a", "list"]}, 422, "must be an object"),
        (
            {"content": b"<x/>", "headers": {"Content-Type": "application/xml"}},
            415,
            "multipart/form-data",
        ),
        ({"content": b"service=x", "headers": {}}, 415, "(none)"),
        ({"files": [("service", ("s.txt", b"x", "text/plain"))]}, 422, "file uploads"),
        ({"params": {"labels": "no-colon"}}, 422, "key:value"),
        ({"params": {"labels": "system.secret:x"}}, 422, "reserved"),
    ],
)
def test_bad_start_requests_are_clear_4xx(
    api: Api, kwargs: dict[str, Any], status: int, says: str
) -> None:
    api.deploy("deploy_approval.yml")
    response = api.post("/api/v1/executions/company.platform/deploy_approval", **kwargs)
    assert response.status_code == status, response.text
    assert says in response.json()["message"]


def test_unknown_flow_and_execution_are_404(api: Api) -> None:
    response = api.post("/api/v1/executions/no.such/flow", json={})
    assert response.status_code == 404
    assert response.json()["message"] == "Flow 'no.such.flow' not found."
    for method, path in [
        ("GET", "/api/v1/executions/nope"),
        ("GET", "/api/v1/executions/nope/flow"),
        ("POST", "/api/v1/executions/nope/resume"),
        ("POST", "/api/v1/executions/nope/pause"),
        ("DELETE", "/api/v1/executions/nope/kill"),
        ("GET", "/api/v1/logs/nope"),
    ]:
        response = api.request(method, path)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["message"] == "Execution 'nope' not found."


def test_disabled_flow_is_409(api: Api) -> None:
    api.deploy(
        "pause_resume.yml", **{"namespace: company.team": "namespace: company.team\ndisabled: true"}
    )
    response = api.post("/api/v1/executions/company.team/pause_resume")
    assert response.status_code == 409
    assert "disabled" in response.json()["message"]


def test_flow_for_execution_lists_the_pause_inputs(api: Api) -> None:
    execution = api.paused("expense_approval.yml")
    flow = api.get(f"/api/v1/executions/{execution['id']}/flow").json()
    assert (flow["id"], flow["namespace"], flow["revision"]) == (
        "expense_approval",
        "company.finance",
        1,
    )
    assert [i["id"] for i in flow["inputs"]] == ["employee", "amount", "purpose"]
    [needs_review] = flow["tasks"]
    assert (
        needs_review["type"] == "io.kestra.plugin.core.flow.If" and needs_review["inputs"] is None
    )
    review = next(t for t in needs_review["tasks"] if t["id"] == "review")
    assert [i["id"] for i in review["inputs"]] == ["decision", "approved_amount", "note"]
    decision = review["inputs"][0]
    assert decision["type"] == "SELECT" and decision["values"] == ["approve", "reject", "changes"]
    assert decision["defaults"] == "approve"

    # The revision it runs, not the latest one.
    api.deploy("expense_approval.yml", **{"Conference ticket": "Books"})
    again = api.get(f"/api/v1/executions/{execution['id']}/flow").json()
    assert again["revision"] == 1


def test_resume_with_multipart_then_409_saying_who_and_when(api: Api) -> None:
    execution = api.paused("deploy_approval.yml")
    response = api.post(
        f"/api/v1/executions/{execution['id']}/resume",
        files=form(approved="false", window="tonight", comment="Freeze week"),
        headers={"X-Pausebot-User": "grace"},
    )
    assert response.status_code == 204 and response.content == b""
    done = api.wait(execution["id"])
    assert done["state"]["current"] == "SUCCESS"
    approval = next(r for r in done["taskRunList"] if r["taskId"] == "approval")
    assert approval["outputs"]["onResume"] == {
        "approved": False,
        "window": "tonight",
        "comment": "Freeze week",
    }
    assert approval["outputs"]["resumed"]["by"] == {"id": "grace", "name": "grace"}
    assert "Deploy of checkout-api rejected: Freeze week" in api.logs(execution["id"])

    again = api.post(f"/api/v1/executions/{execution['id']}/resume", json={"approved": True})
    assert again.status_code == 409
    body = again.json()
    assert body["by"] == {"id": "grace", "name": "grace"}
    assert body["via"] == "api" and body["on"].endswith("Z") and body["action"] == "resumed"
    assert "already resumed by grace" in body["message"]


def test_resume_with_json_and_per_field_errors(api: Api) -> None:
    execution = api.paused("deploy_approval.yml")
    path = f"/api/v1/executions/{execution['id']}/resume"
    bad = api.post(path, json={"approved": "ture", "window": "someday"})
    assert bad.status_code == 422
    errors = {e["path"]: e["message"] for e in bad.json()["_embedded"]["errors"]}
    assert set(errors) == {"approved", "window"}
    assert "ture" in errors["approved"]
    assert api.execution(execution["id"])["state"]["current"] == "PAUSED"  # nothing changed

    malformed = api.post(
        path, content=b'{"approved": tru', headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 400 and "line 1" in malformed.json()["message"]
    wrong_type = api.post(path, content=b"approved=true", headers={"Content-Type": "text/csv"})
    assert wrong_type.status_code == 415

    assert api.post(path, json={"approved": True, "window": "weekend"}).status_code == 204
    done = api.wait(execution["id"])
    assert "Deploying checkout-api 1.4.2 (weekend), approved by API" in api.logs(execution["id"])
    assert done["state"]["current"] == "SUCCESS"


def test_resume_picks_one_of_parallel_pauses_by_task_run_id(api: Api) -> None:
    execution = api.paused("model_release.yml")
    runs = {
        r["taskId"]: r["id"] for r in execution["taskRunList"] if r["state"]["current"] == "PAUSED"
    }
    assert set(runs) == {"quality_review", "fairness_review"}
    path = f"/api/v1/executions/{execution['id']}/resume"
    assert (
        api.post(
            path, params={"taskRunId": runs["fairness_review"]}, json={"approved": True}
        ).status_code
        == 204
    )
    again = api.post(path, params={"taskRunId": runs["fairness_review"]})
    assert again.status_code == 409 and again.json()["via"] == "api"
    unknown = api.post(path, params={"taskRunId": "nope"})
    assert unknown.status_code == 404 and "no task run 'nope'" in unknown.json()["message"]

    still = api.wait(execution["id"], "PAUSED")
    assert api.paused_run(still)["taskId"] == "quality_review"
    assert api.post(path, files=form(approved="true")).status_code == 204
    assert api.wait(execution["id"])["state"]["current"] == "SUCCESS"
    assert "Releasing churn-predictor" in api.logs(execution["id"])


def test_pause_resume_and_kill_a_running_execution(api: Api) -> None:
    api.deploy("sleepy.yaml")
    started = api.start("tests.api", "sleepy")
    execution_id = started["id"]
    running = api.wait(execution_id, "RUNNING")
    assert running["state"]["current"] == "RUNNING"

    assert api.post(f"/api/v1/executions/{execution_id}/pause").status_code == 204
    assert api.execution(execution_id)["state"]["current"] == "PAUSED"
    twice = api.post(f"/api/v1/executions/{execution_id}/pause")
    assert twice.status_code == 409
    assert twice.json()["state"] == "PAUSED" and "not running" in twice.json()["message"]

    assert api.post(f"/api/v1/executions/{execution_id}/resume").status_code == 204
    assert api.wait(execution_id, "RUNNING")["state"]["current"] == "RUNNING"

    killed = api.delete(
        f"/api/v1/executions/{execution_id}/kill",
        params={"reason": "not needed"},
        headers={"X-Pausebot-User": "ops"},
    )
    assert killed.status_code == 202
    assert killed.json()["state"]["current"] == "KILLED"
    assert killed.json()["killReason"] == "not needed"
    again = api.delete(f"/api/v1/executions/{execution_id}/kill")
    assert again.status_code == 409
    assert again.json()["by"] == {"id": "ops", "name": "ops"} and again.json()["action"] == "killed"
    assert api.post(f"/api/v1/executions/{execution_id}/pause").status_code == 409
    assert "Execution killed by ops via api: not needed" in api.logs(execution_id)


def test_kill_a_paused_execution_then_resume_is_409(api: Api) -> None:
    execution = api.paused("pause_resume.yml")
    assert api.delete(f"/api/v1/executions/{execution['id']}/kill").status_code == 202
    refused = api.post(f"/api/v1/executions/{execution['id']}/resume")
    assert refused.status_code == 409
    assert refused.json()["action"] == "killed" and refused.json()["by"] == {
        "id": "api",
        "name": "API",
    }


def test_logs_filtered_by_level_and_task(api: Api) -> None:
    execution = api.paused("deploy_approval.yml")
    api.post(f"/api/v1/executions/{execution['id']}/resume", json={"approved": False})
    api.wait(execution["id"])
    entries = api.get(f"/api/v1/logs/{execution['id']}").json()
    assert {"executionId", "taskRunId", "taskId", "level", "message", "timestamp"} <= set(
        entries[0]
    )
    warnings = api.get(f"/api/v1/logs/{execution['id']}", params={"minLevel": "WARN"}).json()
    assert [e["taskId"] for e in warnings] == ["rejected"]
    announce = api.get(f"/api/v1/logs/{execution['id']}", params={"taskId": "announce"}).json()
    assert [e["message"] for e in announce] == ["Ready to deploy checkout-api 1.4.2 (10% canary)"]
    invalid = api.get(f"/api/v1/logs/{execution['id']}", params={"minLevel": "LOUD"})
    assert invalid.status_code == 422
    assert invalid.json()["_embedded"]["errors"][0]["path"] == "query.minLevel"


def test_search_filters_and_pages(api: Api) -> None:
    paused = [api.paused("pause_resume.yml")["id"] for _ in range(3)]
    api.deploy("deploy_approval.yml")
    other = api.start("company.platform", "deploy_approval")["id"]
    api.wait(other, "PAUSED")
    api.post(f"/api/v1/executions/{paused[0]}/resume")
    api.wait(paused[0])

    def search(**params: object) -> dict[str, Any]:
        response = api.get("/api/v1/executions/search", params=params)
        assert response.status_code == 200, response.text
        return response.json()

    everything = search()
    assert everything["total"] == 4
    found = search(state="PAUSED", namespace="company.team")
    assert found["total"] == 2
    assert {e["id"] for e in found["results"]} == set(paused[1:])
    assert all(e["url"].startswith("http://pausebot.test/ui/") for e in found["results"])
    assert search(state="paused,success", flowId="pause_resume")["total"] == 3
    assert search(namespace="company")["total"] == 4  # a namespace matches its children
    assert search(q="deploy_app")["total"] == 1
    page = search(size=3, page=2)
    assert page["total"] == 4 and len(page["results"]) == 1

    assert api.get("/api/v1/executions/search", params={"state": "NAPPING"}).status_code == 422
    too_big = api.get("/api/v1/executions/search", params={"size": 10_000})
    assert (
        too_big.status_code == 422
        and too_big.json()["_embedded"]["errors"][0]["path"] == "query.size"
    )
    assert api.get("/api/v1/executions/search", params={"page": 0}).status_code == 422


def test_bulk_resume_by_ids_resumes_the_valid_and_lists_the_rest(api: Api) -> None:
    first = api.paused("pause_resume.yml")["id"]
    second = api.paused("pause_resume.yml")["id"]
    needs_value = api.paused("deploy_approval.yml")["id"]  # defaults cover every onResume input
    api.deploy("sleepy.yaml")
    running = api.start("tests.api", "sleepy")["id"]
    api.wait(running, "RUNNING")
    api.post(f"/api/v1/executions/{second}/resume", headers={"X-Pausebot-User": "bob"})

    response = api.post(
        "/api/v1/executions/resume/by-ids",
        json=[first, second, running, "ghost", first, needs_value],
        headers={"X-Pausebot-User": "carol"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    invalids = {item["invalidValue"]: item["message"] for item in body["invalids"]}
    assert set(invalids) == {second, running, "ghost"}
    assert "already resumed by bob" in invalids[second]
    assert "not paused" in invalids[running]
    assert invalids["ghost"] == "Execution 'ghost' not found."
    done = api.wait(first)
    pause = done["taskRunList"][0]
    assert pause["outputs"]["resumed"]["via"] == "bulk"
    assert pause["outputs"]["resumed"]["by"] == {"id": "carol", "name": "carol"}
    assert api.wait(needs_value)["state"]["current"] == "SUCCESS"


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"content": b"[1, 2", "headers": {"Content-Type": "application/json"}}, 400),
        ({"json": {"ids": ["a"]}}, 422),
        ({"json": [1, 2]}, 422),
        ({"json": ["x"] * 1001}, 422),
        ({"files": form(ids="a")}, 415),
    ],
)
def test_bulk_resume_refuses_bad_bodies(api: Api, kwargs: dict[str, Any], status: int) -> None:
    response = api.post("/api/v1/executions/resume/by-ids", **kwargs)
    assert response.status_code == status, response.text
    assert response.json()["message"]


def test_bulk_resume_by_query_takes_only_paused_ones(api: Api) -> None:
    team = [api.paused("pause_resume.yml")["id"] for _ in range(2)]
    platform = api.paused("deploy_approval.yml")["id"]
    # A state filter narrows the action's states, never widens them: RUNNING resumes nothing.
    response = api.post(
        "/api/v1/executions/resume/by-query",
        params={"namespace": "company.team", "state": "RUNNING"},
    )
    assert response.status_code == 200
    assert response.json()["count"] == 0
    response = api.post(
        "/api/v1/executions/resume/by-query",
        params={"namespace": "company.team", "state": "PAUSED"},
    )
    assert response.status_code == 200
    assert response.json()["count"] == 2
    assert response.json()["invalids"] == []
    for execution_id in team:
        assert api.wait(execution_id)["state"]["current"] == "SUCCESS"
    assert api.execution(platform)["state"]["current"] == "PAUSED"
    nothing = api.post("/api/v1/executions/resume/by-query", params={"flowId": "pause_resume"})
    assert nothing.json() == {"count": 0, "ids": [], "invalids": []}


def test_seed_pause_resume_on_both_databases(api_any: Api) -> None:
    execution = api_any.paused("pause_resume.yml")
    assert api_any.post(f"/api/v1/executions/{execution['id']}/resume").status_code == 204
    done = api_any.wait(execution["id"])
    assert done["state"]["current"] == "SUCCESS"
    assert [h["state"] for h in done["state"]["histories"]] == [
        "CREATED",
        "RUNNING",
        "PAUSED",
        "RESTARTED",
        "RUNNING",
        "SUCCESS",
    ]
    assert "Execution has been resumed!" in api_any.logs(execution["id"])
    again = api_any.post(f"/api/v1/executions/{execution['id']}/resume")
    assert again.status_code == 409 and again.json()["by"] == {"id": "api", "name": "API"}
