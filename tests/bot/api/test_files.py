"""FILE inputs uploaded as multipart parts (curl -F doc=@file), downloaded back through
GET /api/v1/executions/{id}/file (and /file/metas), on SQLite and PostgreSQL; bad paths are 422
naming ``path``, missing files 404."""

from __future__ import annotations

from urllib.parse import quote

from api_support import Api

FLOW = """
id: review
namespace: company.team
inputs:
  - id: document
    type: FILE
  - id: note
    type: STRING
    defaults: none
tasks:
  - id: show
    type: io.kestra.plugin.core.log.Log
    message: "{{ read(inputs.document) }}"
"""


def test_upload_then_download(api_any: Api) -> None:
    api = api_any
    api.deploy(FLOW)
    started = api.start(
        "company.team",
        "review",
        files=[("document", ("plan.txt", b"terraform plan: +1 bucket", "text/plain"))],
        data={"note": "see attached"},
    )
    uri = started["inputs"]["document"]
    assert uri.endswith(f"/executions/{started['id']}/inputs/document/plan.txt")
    done = api.wait(started["id"])
    assert done["state"]["current"] == "SUCCESS"
    response = api.get(f"/api/v1/executions/{started['id']}/file?path={quote(uri)}")
    assert response.status_code == 200
    assert response.content == b"terraform plan: +1 bucket"
    assert "plan.txt" in response.headers["content-disposition"]
    metas = api.get(f"/api/v1/executions/{started['id']}/file/metas?path={quote(uri)}")
    assert metas.json() == {"size": 25}


def test_bad_and_missing_paths(api: Api) -> None:
    api.deploy(FLOW)
    started = api.start(
        "company.team", "review", files=[("document", ("a.txt", b"x", "text/plain"))]
    )
    base = f"/api/v1/executions/{started['id']}/file?path="
    outside = api.get(base + quote("kestra:///other/flow/executions/x/inputs/a.txt"))
    assert outside.status_code == 422
    assert outside.json()["_embedded"]["errors"][0]["path"] == "path"
    traversal = api.get(base + quote(started["inputs"]["document"] + "/../../x"))
    assert traversal.status_code == 422
    missing = api.get(base + quote(started["inputs"]["document"] + ".nope"))
    assert missing.status_code == 404
    unknown = api.get("/api/v1/executions/nope/file?path=kestra:///a/b")
    assert unknown.status_code == 404


def test_a_file_for_a_text_input_and_text_for_a_file_input_are_422(api: Api) -> None:
    api.deploy(FLOW)
    response = api.post(
        "/api/v1/executions/company.team/review",
        files=[
            ("note", ("n.txt", b"x", "text/plain")),
            ("document", (None, "not a file")),
        ],
    )
    assert response.status_code == 422, response.text
    errors = {e["path"]: e["message"] for e in response.json()["_embedded"]["errors"]}
    assert "file uploads are accepted only for FILE inputs" in errors["note"]
    assert "expected a file" in errors["document"]


def test_resume_with_an_attached_file(api: Api) -> None:
    api.deploy(
        """
id: signoff
namespace: company.team
tasks:
  - id: approve
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - id: signed
        type: FILE
"""
    )
    started = api.start("company.team", "signoff")
    api.wait(started["id"], "PAUSED")
    response = api.post(
        f"/api/v1/executions/{started['id']}/resume",
        files=[("signed", ("signed.pdf", b"%PDF-1.7 signed", "application/pdf"))],
    )
    assert response.status_code == 204, response.text
    done = api.wait(started["id"])
    uri = done["taskRunList"][0]["outputs"]["onResume"]["signed"]
    download = api.get(f"/api/v1/executions/{started['id']}/file?path={quote(uri)}")
    assert download.content == b"%PDF-1.7 signed"
