"""/api/v1/flows: create or update from YAML, read, delete; invalid YAML located precisely."""

from __future__ import annotations

import pytest
from api_support import Api
from support import EXAMPLES

YAML = {"Content-Type": "application/x-yaml"}
PAUSE_RESUME = (EXAMPLES / "pause_resume.yml").read_text()


@pytest.mark.parametrize("content_type", ["application/x-yaml", "text/yaml", "text/plain"])
def test_create_then_update_makes_revisions(api: Api, content_type: str) -> None:
    headers = {"Content-Type": content_type}
    created = api.post("/api/v1/flows", content=PAUSE_RESUME, headers=headers)
    assert created.status_code == 200, created.text
    flow = created.json()
    assert (flow["namespace"], flow["id"], flow["revision"]) == ("company.team", "pause_resume", 1)
    assert flow["tasks"][0]["type"] == "io.kestra.plugin.core.flow.Pause"
    assert flow["source"] == PAUSE_RESUME

    same = api.post("/api/v1/flows", content=PAUSE_RESUME, headers=headers)
    assert same.json()["revision"] == 1  # unchanged YAML keeps its revision

    changed = PAUSE_RESUME.replace("Execution has been resumed!", "Resumed.")
    assert api.post("/api/v1/flows", content=changed, headers=headers).json()["revision"] == 2
    got = api.get("/api/v1/flows/company.team/pause_resume").json()
    assert got["revision"] == 2 and "Resumed." in got["source"]
    first = api.get("/api/v1/flows/company.team/pause_resume", params={"revision": 1}).json()
    assert first["revision"] == 1 and "Execution has been resumed!" in first["source"]


def test_invalid_yaml_is_422_with_line_column_and_path(api: Api) -> None:
    broken = PAUSE_RESUME.replace("message: Execution", "mesage: Execution")
    response = api.post("/api/v1/flows", content=broken, headers=YAML)
    assert response.status_code == 422
    body = response.json()
    assert body["message"].startswith("The posted YAML is not a valid flow")
    errors = {e["path"]: e for e in body["_embedded"]["errors"]}
    assert errors["tasks[1].mesage"] == {
        "path": "tasks[1].mesage",
        "line": 11,
        "column": 13,
        "message": "unknown property 'mesage' (did you mean 'message'?)",
    }
    assert errors["tasks[1].message"]["message"] == "'message' is required"

    syntax = api.post("/api/v1/flows", content="id: x\nnamespace: [unclosed\n", headers=YAML)
    assert syntax.status_code == 422
    [error] = syntax.json()["_embedded"]["errors"]
    assert error["line"] is not None and error["column"] is not None


@pytest.mark.parametrize(
    ("content", "content_type", "status", "says"),
    [
        (PAUSE_RESUME, "application/json", 415, "application/x-yaml"),
        (PAUSE_RESUME, "application/x-www-form-urlencoded", 415, "--data-binary"),
        (b"id: \xff\xfe", "application/x-yaml", 400, "UTF-8"),
        ("", "application/x-yaml", 422, "not a valid flow"),
        ("- just\n- a list\n", "application/x-yaml", 422, "not a valid flow"),
    ],
)
def test_bad_flow_bodies_are_clear_4xx(
    api: Api, content: str | bytes, content_type: str, status: int, says: str
) -> None:
    response = api.post("/api/v1/flows", content=content, headers={"Content-Type": content_type})
    assert response.status_code == status, response.text
    assert says in response.json()["message"]


def test_put_updates_and_checks_the_path(api: Api) -> None:
    api.deploy(PAUSE_RESUME)
    changed = PAUSE_RESUME.replace("Execution has been resumed!", "Back.")
    updated = api.put("/api/v1/flows/company.team/pause_resume", content=changed, headers=YAML)
    assert updated.status_code == 200 and updated.json()["revision"] == 2

    wrong = api.put("/api/v1/flows/company.team/other", content=changed, headers=YAML)
    assert wrong.status_code == 422
    assert "company.team.pause_resume" in wrong.json()["message"]

    unknown = PAUSE_RESUME.replace("id: pause_resume", "id: never_deployed")
    missing = api.put("/api/v1/flows/company.team/never_deployed", content=unknown, headers=YAML)
    assert missing.status_code == 404


def test_delete_then_gone(api: Api) -> None:
    api.deploy(PAUSE_RESUME)
    assert api.delete("/api/v1/flows/company.team/pause_resume").status_code == 204
    gone = api.get("/api/v1/flows/company.team/pause_resume")
    assert gone.status_code == 404
    assert gone.json()["message"] == "Flow 'company.team.pause_resume' not found."
    assert api.delete("/api/v1/flows/company.team/pause_resume").status_code == 404
    start = api.post("/api/v1/executions/company.team/pause_resume")
    assert start.status_code == 404


def test_unknown_flow_and_revision_are_404(api: Api) -> None:
    assert api.get("/api/v1/flows/nope/nothing").status_code == 404
    api.deploy(PAUSE_RESUME)
    response = api.get("/api/v1/flows/company.team/pause_resume", params={"revision": 9})
    assert response.status_code == 404
    assert "revision 9" in response.json()["message"]
