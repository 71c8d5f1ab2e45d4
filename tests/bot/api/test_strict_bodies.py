"""Issue 7, findings 1-2: a body that does not parse completely, or is not UTF-8, is a 400 on
every route that reads one, and the execution is unchanged afterwards (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from api_support import Api

from bot.api.bodies import MalformedBody, parse_form

MULTIPART = "multipart/form-data; boundary=zzz"
PART = b'--zzz\r\nContent-Disposition: form-data; name="approved"\r\n\r\nfalse'
URLENCODED = "application/x-www-form-urlencoded"

REFUSED = [
    (MULTIPART, PART, "closing boundary"),  # finding 1 as written
    (MULTIPART, PART + b"\r\n--zzz-", "closing boundary"),  # cut inside the closing boundary
    (MULTIPART, PART + b"\r\n--zzz\r\n", "closing boundary"),
    (
        MULTIPART,
        b'--zzz\r\nContent-Disposition: form-data; name="approvedd"\r\n\r\nfalse',
        "closing boundary",
    ),
    (
        MULTIPART,
        b'--zzz\r\nContent-Disposition: form-data; name="comment"\r\n\r\n\xff\xfe\r\n--zzz--\r\n',
        "comment",
    ),  # finding 2
    (URLENCODED, b"approved=false&comment=\xff\xfe", "comment"),
    (URLENCODED, b"approved=false&comment=%ff%fe", "comment"),
    (URLENCODED, b"approved=false&comment=%zz", "comment"),
    (URLENCODED, b'{"approved": false}', "no '='"),  # JSON sent as a form
    (URLENCODED + "; charset=iso-8859-1", b"approved=false", "charset"),
]


@pytest.mark.parametrize(("content_type", "body", "says"), REFUSED)
def test_a_resume_body_that_does_not_parse_is_refused_and_changes_nothing(
    api_any: Api, content_type: str, body: bytes, says: str
) -> None:
    paused = api_any.paused("deploy_approval.yml")
    before = api_any.execution(paused["id"])
    answer = api_any.post(
        f"/api/v1/executions/{paused['id']}/resume",
        content=body,
        headers={"Content-Type": content_type},
    )
    assert answer.status_code in (400, 415), answer.text
    assert says in answer.json()["message"]
    assert api_any.execution(paused["id"]) == before


@pytest.mark.parametrize(("content_type", "body", "says"), REFUSED[:2] + REFUSED[5:7])
def test_a_start_body_that_does_not_parse_starts_nothing(
    api_any: Api, content_type: str, body: bytes, says: str
) -> None:
    api_any.deploy("deploy_approval.yml")
    answer = api_any.post(
        "/api/v1/executions/company.platform/deploy_approval",
        content=body.replace(b"approved", b"service").replace(b"comment", b"version"),
        headers={"Content-Type": content_type},
    )
    assert answer.status_code == 400, answer.text
    assert api_any.get("/api/v1/executions/search").json()["total"] == 0


def test_a_complete_multipart_body_still_decides(api_any: Api) -> None:
    paused = api_any.paused("deploy_approval.yml")
    answer = api_any.post(
        f"/api/v1/executions/{paused['id']}/resume",
        content=PART + b"\r\n--zzz--\r\n",
        headers={"Content-Type": MULTIPART},
    )
    assert answer.status_code == 204, answer.text
    runs = api_any.execution(paused["id"])["taskRunList"]
    run = next(r for r in runs if r["taskId"] == "approval")
    assert run["outputs"]["onResume"]["approved"] is False


def test_the_parser_names_the_field() -> None:
    with pytest.raises(MalformedBody) as caught:
        parse_form(URLENCODED, b"a=1&reason=%C3")
    assert caught.value.field == "reason" and caught.value.status_code == 400
    assert parse_form(URLENCODED, b"a=%C3%A9&b=x+y&&") == [("a", "é"), ("b", "x y")]
    assert parse_form(MULTIPART, b"") == []
