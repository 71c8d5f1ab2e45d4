"""Input no client should send, answered with a clear 4xx on both databases, never a 500: JSON
nested too deeply (or that no database can hold), page numbers past any OFFSET, control
characters in ids and filters, unknown task runs."""

from __future__ import annotations

import pytest
from api_support import Api
from sqlalchemy.exc import DataError

from bot.api.bodies import MAX_JSON_DEPTH

JSON = {"Content-Type": "application/json"}
WEBHOOK = "/api/v1/executions/webhook/tests.api/webhook/s3cr3t-key"


def nested(depth: int) -> bytes:
    return b'{"reason": ' + b"[" * depth + b"]" * depth + b"}"


# -- JSON bodies --------------------------------------------------------------------------


def test_deeply_nested_json_is_400_everywhere_json_is_read(api_any: Api) -> None:
    api = api_any
    api.deploy("webhook.yaml")
    paused = api.paused("links.yaml")
    link = "/resume/" + api.tokens(api.paused_run(paused)["description"])[0]
    for body in (b"[" * 5000, nested(MAX_JSON_DEPTH + 1), nested(300)):
        for path, headers in [
            ("/api/v1/executions/company.team/pause_resume", JSON),
            (f"/api/v1/executions/{paused['id']}/resume", JSON),
            (f"/api/v1/main/executions/{paused['id']}/resume", {"Content-Type": "x+json"}),
            ("/api/v1/executions/resume/by-ids", JSON),
            (link, JSON),
            (WEBHOOK, {}),
            (WEBHOOK.replace("/api/v1/", "/api/v1/main/"), {"Content-Type": "text/plain"}),
        ]:
            response = api.post(path, content=body, headers=headers)
            assert response.status_code == 400, (path, body[:20], response.text)
            assert "nested too deeply" in response.json()["message"], response.text
    assert api.execution(paused["id"])["state"]["current"] == "PAUSED"
    assert api.client.post(link, json={}).status_code == 200  # the link was not spent


def test_json_within_the_depth_limit_is_accepted(api: Api) -> None:
    api.deploy("webhook.yaml")
    body = b'{"name": ' + b"[" * (MAX_JSON_DEPTH - 1) + b"]" * (MAX_JSON_DEPTH - 1) + b"}"
    started = api.post(WEBHOOK, token=None, content=body)
    assert started.status_code == 200, started.text
    assert api.wait(started.json()["id"])["state"]["current"] == "SUCCESS"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'{"greeting": "a\\ud800b"}', "unpaired surrogate"),
        (b'{"gr\\udc00": "x"}', "unpaired surrogate"),
        (b'{"greeting": NaN}', "NaN is not a valid JSON number"),
        (b'{"greeting": -Infinity}', "-Infinity is not a valid JSON number"),
        (b'{"greeting": 1e999}', "too large"),
        (b'{"greeting": ' + b"9" * 5000 + b"}", "too many digits"),
    ],
)
def test_json_no_database_can_hold_is_400(api_any: Api, body: bytes, says: str) -> None:
    api_any.deploy("webhook.yaml")
    started = api_any.post("/api/v1/executions/tests.api/webhook", content=body, headers=JSON)
    assert started.status_code == 400 and says in started.json()["message"], started.text
    hooked = api_any.post(WEBHOOK, token=None, content=body)
    assert hooked.status_code == 400 and says in hooked.json()["message"], hooked.text
    ids = api_any.post("/api/v1/executions/resume/by-ids", content=b"[" + body + b"]", headers=JSON)
    assert ids.status_code == 400, ids.text


def test_webhook_text_that_only_looks_like_json_stays_text(api: Api) -> None:
    api.deploy("webhook.yaml")
    for text in ("[unclosed", "NaN", "{not json}"):
        response = api.post(WEBHOOK, token=None, content=text.encode())
        assert response.status_code == 200, response.text
        assert response.json()["trigger"]["body"] == text


# -- paging -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "page=9223372036854775807",
        "page=92233720368547758070",
        "page=1000001",
        "page=0",
        "size=0",
        "size=501",
        "size=9223372036854775807",
    ],
)
def test_page_and_size_out_of_range_are_422(api_any: Api, query: str) -> None:
    response = api_any.get(f"/api/v1/executions/search?{query}")
    assert response.status_code == 422, response.text
    assert response.json()["message"].startswith("Invalid request: query.")


def test_the_last_allowed_page_is_empty(api_any: Api) -> None:
    response = api_any.get("/api/v1/executions/search?page=1000000&size=500")
    assert response.status_code == 200 and response.json() == {"results": [], "total": 0}


def test_a_revision_out_of_range_is_422(api_any: Api) -> None:
    api_any.deploy("pause_resume.yml")
    for revision in ("9223372036854775807", "2147483648", "0"):
        response = api_any.get(f"/api/v1/flows/company.team/pause_resume?revision={revision}")
        assert response.status_code == 422, response.text
    missing = api_any.get("/api/v1/flows/company.team/pause_resume?revision=2147483647")
    assert missing.status_code == 404


# -- control characters -------------------------------------------------------------------


@pytest.mark.parametrize("char", ["%00", "%01", "%7F", "%C2%85"])
def test_ids_with_control_characters_name_nothing(api_any: Api, char: str) -> None:
    api = api_any
    api.deploy("webhook.yaml")
    bad = f"a{char}b"
    for method, path in [
        ("GET", f"/api/v1/executions/{bad}"),
        ("GET", f"/api/v1/executions/{bad}/flow"),
        ("POST", f"/api/v1/executions/{bad}/resume"),
        ("POST", f"/api/v1/executions/{bad}/pause"),
        ("DELETE", f"/api/v1/executions/{bad}/kill"),
        ("GET", f"/api/v1/logs/{bad}"),
        ("GET", f"/api/v1/main/executions/{bad}"),
    ]:
        response = api.request(method, path)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["message"].startswith("Execution 'a"), response.text
    for method, path in [
        ("GET", f"/api/v1/flows/{bad}/c"),
        ("GET", f"/api/v1/flows/tests.api/{bad}"),
        ("DELETE", f"/api/v1/flows/{bad}/c"),
        ("POST", f"/api/v1/executions/{bad}/webhook"),
    ]:
        response = api.request(method, path)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["message"].startswith("Flow '"), response.text
    for path in [
        f"/api/v1/executions/webhook/{bad}/webhook/s3cr3t-key",
        f"/api/v1/executions/webhook/tests.api/{bad}/s3cr3t-key",
        f"/api/v1/executions/webhook/tests.api/webhook/{bad}",
    ]:
        response = api.post(path, token=None)
        assert response.status_code == 404 and response.json()["message"] == "Webhook not found."


def test_an_id_with_a_control_character_needs_the_token_first(api: Api) -> None:
    assert api.get("/api/v1/executions/a%00b", token=None).status_code == 401


@pytest.mark.parametrize("param", ["q", "namespace", "flowId"])
def test_filters_with_control_characters_are_422(api_any: Api, param: str) -> None:
    for path in ("/api/v1/executions/search", "/api/v1/executions/resume/by-query"):
        method = "GET" if path.endswith("search") else "POST"
        response = api_any.request(method, f"{path}?{param}=a%00b")
        assert response.status_code == 422, response.text
        assert f"Invalid {param}: control characters" in response.json()["message"]


def test_labels_with_control_characters_are_422(api_any: Api) -> None:
    api_any.deploy("webhook.yaml")
    for label in ("a:b%00c", "a%00:bc", "a:b%0Ac"):
        response = api_any.post(f"/api/v1/executions/tests.api/webhook?labels={label}")
        assert response.status_code == 422, response.text
        assert "control characters" in response.json()["message"]


def test_bulk_resume_lists_ids_with_control_characters_as_unknown(api_any: Api) -> None:
    paused = api_any.paused("pause_resume.yml")
    response = api_any.post(
        "/api/v1/executions/resume/by-ids", json=["a\u0000b", paused["id"], "nope"]
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "count": 1,
        "ids": [paused["id"]],
        "invalids": [
            {"invalidValue": "a\u0000b", "message": "Execution 'a\u0000b' not found."},
            {"invalidValue": "nope", "message": "Execution 'nope' not found."},
        ],
    }


def test_a_value_the_database_refuses_is_400(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever else reaches the database with a value it refuses (PostgreSQL's DataError) is a
    400 saying why, without the statement or its parameters."""

    class Refused(Exception):
        def __str__(self) -> str:
            return "A string literal cannot contain NUL (0x00) characters."

    def refuse(*args: object, **kwargs: object) -> None:
        raise DataError("SELECT secret FROM t WHERE x = %(x)s", {"x": "hunter2"}, Refused())

    monkeypatch.setattr(api.engine, "get_execution", refuse)
    response = api.get("/api/v1/executions/anything")
    assert response.status_code == 400
    message = response.json()["message"]
    assert message == (
        "The database refused a value of this request: "
        "A string literal cannot contain NUL (0x00) characters."
    )
    assert "hunter2" not in response.text and "SELECT" not in response.text


# -- task runs ----------------------------------------------------------------------------


def test_resuming_an_unknown_task_run_is_404(api_any: Api) -> None:
    paused = api_any.paused("pause_resume.yml")
    for task_run_id in ("nope", "a\u0000b"):
        response = api_any.post(
            f"/api/v1/executions/{paused['id']}/resume", params={"taskRunId": task_run_id}
        )
        assert response.status_code == 404, response.text
        assert response.json()["message"] == (
            f"Execution '{paused['id']}' has no task run '{task_run_id}'."
        )
        assert "state" not in response.json()
    unknown = api_any.post("/api/v1/executions/nope/resume", params={"taskRunId": "x"})
    assert unknown.status_code == 404
    assert unknown.json()["message"] == "Execution 'nope' not found."
    run = api_any.paused_run(api_any.execution(paused["id"]))
    resumed = api_any.post(
        f"/api/v1/executions/{paused['id']}/resume", params={"taskRunId": run["id"]}
    )
    assert resumed.status_code == 204, resumed.text
