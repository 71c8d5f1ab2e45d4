"""Issue 7, findings 3-5 (SQLite and PostgreSQL), each refused with the execution unchanged:

3. NUL and other control characters in text values (inputs, kill reasons, comments) are a 422
   per field; tab and newline are fine where a value may have several lines.
4. Identity headers are bounded: an ``X-Pausebot-User`` of 60,000 characters is a 431, a
   malformed one a 400; nothing is stored as the actor.
5. BOOLEAN text is ``true``/``false`` in any case and nothing else; in a JSON body a string is
   read as the text form and a value of the wrong JSON type is a per-field error.
"""

from __future__ import annotations

from typing import Any

import pytest
from api_support import TOKEN, Api, form


def _resume(api: Api, execution_id: str, **kwargs: Any) -> Any:
    return api.post(f"/api/v1/executions/{execution_id}/resume", **kwargs)


def _error_paths(answer: Any) -> list[str]:
    return [e["path"] for e in answer.json()["_embedded"]["errors"]]


# -- finding 3 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"comment": "ship\x00it"}, "comment"),  # NUL in a multi-line STRING
        ({"comment": "ship\x07it"}, "comment"),  # BEL
        ({"comment": "ship\x1bit"}, "comment"),  # ESC
        ({"comment": "ship\rit"}, "comment"),  # a lone CR is not a line break
        ({"comment": "ship\x85it"}, "comment"),  # C1 (NEL)
        ({"window": "now\n"}, "window"),  # a SELECT is one line
        ({"window": "n\x00ow"}, "window"),
    ],
)
def test_control_characters_in_resume_values_are_refused_per_field(
    api_any: Api, fields: dict[str, str], path: str
) -> None:
    paused = api_any.paused("deploy_approval.yml")
    before = api_any.execution(paused["id"])
    for kwargs in (
        {"files": form(approved="false", **fields)},
        {"json": {"approved": False, **fields}},
    ):
        answer = _resume(api_any, paused["id"], **kwargs)
        assert answer.status_code == 422, answer.text
        assert _error_paths(answer) == [path]
        assert "control character U+" in answer.json()["message"]
    assert api_any.execution(paused["id"]) == before


def test_tab_and_newlines_are_fine_in_a_multi_line_value(api_any: Api) -> None:
    paused = api_any.paused("deploy_approval.yml")
    comment = "line one\r\nline\ttwo\nthree"
    answer = _resume(api_any, paused["id"], files=form(approved="false", comment=comment))
    assert answer.status_code == 204, answer.text
    run = next(
        r for r in api_any.execution(paused["id"])["taskRunList"] if r["taskId"] == "approval"
    )
    assert run["outputs"]["onResume"]["comment"] == comment


def test_control_characters_in_flow_inputs_start_nothing(api_any: Api) -> None:
    api_any.deploy("deploy_approval.yml")
    for kwargs in ({"files": form(version="1.0\x00")}, {"json": {"version": "1.0\x00"}}):
        answer = api_any.post("/api/v1/executions/company.platform/deploy_approval", **kwargs)
        assert answer.status_code == 422, answer.text
        assert _error_paths(answer) == ["version"]
    assert api_any.get("/api/v1/executions/search").json()["total"] == 0


def test_a_kill_reason_with_a_control_character_is_refused(api_any: Api) -> None:
    paused = api_any.paused("deploy_approval.yml")
    before = api_any.execution(paused["id"])
    answer = api_any.delete(f"/api/v1/executions/{paused['id']}/kill", params={"reason": "no\x00"})
    assert answer.status_code == 422, answer.text
    assert _error_paths(answer) == ["reason"]
    assert api_any.execution(paused["id"]) == before
    answer = api_any.delete(
        f"/api/v1/executions/{paused['id']}/kill", params={"reason": "not needed\nafter all"}
    )
    assert answer.status_code == 202, answer.text


def test_a_review_comment_with_a_control_character_is_refused(api_any: Api) -> None:
    paused = api_any.paused("approval.yaml")
    before = api_any.execution(paused["id"])
    answer = api_any.post(
        f"/api/v1/executions/{paused['id']}/actions/review",
        params={"decision": "DENY"},
        files=form(comment="no\x00way"),
    )
    assert answer.status_code == 422, answer.text
    assert _error_paths(answer) == ["comment"]
    assert api_any.execution(paused["id"]) == before


# -- finding 4 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status", "says"),
    [
        ({"X-Pausebot-User": "x" * 60_000}, 431, "at most 200"),  # the finding as written
        ({"X-Pausebot-User": "x" * 201}, 431, "at most 200"),
        ({"X-Pausebot-User": "   "}, 400, "empty"),
        ({"X-Pausebot-User": "ada\tlovelace"}, 400, "U+0009"),
        ({"X-Pausebot-User": "ada\u202egnp.exe".encode()}, 400, "U+202E"),  # right-to-left override
    ],
)
def test_identity_headers_are_bounded_and_validated(
    api_any: Api, headers: dict[str, Any], status: int, says: str
) -> None:
    paused = api_any.paused("deploy_approval.yml")
    before = api_any.execution(paused["id"])
    answer = _resume(api_any, paused["id"], files=form(approved="false"), headers=headers)
    assert answer.status_code == status, answer.text
    assert says in answer.json()["message"]
    assert api_any.execution(paused["id"]) == before
    # also on routes that do not act: the header is checked on every API request
    assert api_any.get("/api/v1/executions/search", headers=headers).status_code == status


def _raw_request(api: Api, path: str, headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """Straight to the ASGI app, bytes as a server hands them over (the test client re-encodes
    header values as UTF-8, so it cannot send bytes that are not)."""
    import asyncio

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
        "state": dict(api.client.app_state),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(api.app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body


def test_an_identity_header_that_is_not_utf8_is_refused(api_any: Api) -> None:
    paused = api_any.paused("deploy_approval.yml")
    before = api_any.execution(paused["id"])
    status, body = _raw_request(
        api_any,
        f"/api/v1/executions/{paused['id']}/resume",
        [(b"authorization", f"Bearer {TOKEN}".encode()), (b"x-pausebot-user", b"ada\xff")],
    )
    assert status == 400, body
    assert b"UTF-8" in body
    assert api_any.execution(paused["id"]) == before


def test_identity_in_the_query_and_repeated_headers(api_any: Api) -> None:
    paused = api_any.paused("deploy_approval.yml")
    before = api_any.execution(paused["id"])
    path = f"/api/v1/executions/{paused['id']}/resume"
    assert api_any.post(path, params={"by": "x" * 201}).status_code == 422
    assert api_any.post(path, params={"by": "a\x00"}).status_code == 400
    differ = api_any.post(path, params={"by": "bob"}, headers={"X-Pausebot-User": "ada"})
    assert differ.status_code == 400
    twice = api_any.client.post(
        path,
        headers=[
            ("Authorization", f"Bearer {TOKEN}"),
            ("X-Pausebot-User", "ada"),
            ("X-Pausebot-User", "bob"),
        ],
    )
    assert twice.status_code == 400, twice.text
    assert api_any.execution(paused["id"]) == before
    ok = api_any.post(
        path, json={"approved": False}, headers={"X-Pausebot-User": ("José " + "x" * 195).encode()}
    )
    assert ok.status_code == 204, ok.text
    resumed = api_any.wait(paused["id"])
    run = next(r for r in resumed["taskRunList"] if r["taskId"] == "approval")
    assert run["outputs"]["resumed"]["by"]["name"] == "José " + "x" * 195


# -- finding 5 ----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["yes", "no", "on", "off", "1", "0", "Y", "ture", " true"])
def test_boolean_text_is_true_or_false_and_nothing_else(api_any: Api, text: str) -> None:
    paused = api_any.paused("deploy_approval.yml")
    before = api_any.execution(paused["id"])
    for kwargs in ({"files": form(approved=text)}, {"json": {"approved": text}}):
        answer = _resume(api_any, paused["id"], **kwargs)
        assert answer.status_code == 422, answer.text
        assert answer.json()["_embedded"]["errors"] == [
            {"path": "approved", "message": f"expected true or false, got {text!r}"}
        ]
    assert api_any.execution(paused["id"]) == before


@pytest.mark.parametrize(
    ("body", "path", "says"),
    [
        ({"approved": 0}, "approved", "expected true or false, got 0"),
        ({"approved": 1}, "approved", "expected true or false, got 1"),
        ({"approved": {"v": True}}, "approved", "expected true or false"),
        ({"approved": False, "comment": 42}, "comment", "expected a string, got 42"),
        ({"approved": False, "comment": {"a": "b"}}, "comment", "expected a string"),
        ({"approved": False, "comment": ["a"]}, "comment", "expected a string"),
        ({"approved": False, "comment": True}, "comment", "expected a string"),
        ({"approved": False, "window": ["now"]}, "window", "expected a single value"),
    ],
)
def test_a_json_value_of_the_wrong_type_is_a_per_field_error(
    api_any: Api, body: dict[str, Any], path: str, says: str
) -> None:
    paused = api_any.paused("deploy_approval.yml")
    before = api_any.execution(paused["id"])
    answer = _resume(api_any, paused["id"], json=body)
    assert answer.status_code == 422, answer.text
    assert _error_paths(answer) == [path]
    assert says in answer.json()["message"]
    assert api_any.execution(paused["id"]) == before


@pytest.mark.parametrize("approved", ["FALSE", "False", "false", False])
def test_a_json_string_is_read_as_the_text_form(api_any: Api, approved: Any) -> None:
    paused = api_any.paused("deploy_approval.yml")
    answer = _resume(api_any, paused["id"], json={"approved": approved, "comment": "42"})
    assert answer.status_code == 204, answer.text
    run = next(
        r for r in api_any.execution(paused["id"])["taskRunList"] if r["taskId"] == "approval"
    )
    assert run["outputs"]["onResume"]["approved"] is False
    assert run["outputs"]["onResume"]["comment"] == "42"
