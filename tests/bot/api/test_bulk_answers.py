"""Issue 7, finding 8: a bulk action says what it did. by-ids and by-query answers list the
``ids`` acted on beside ``count`` (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from api_support import Api

GATE = """
id: gate
namespace: company.{team}
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
  - id: done
    type: io.kestra.plugin.core.log.Log
    message: done
"""


def _paused(api: Api, team: str) -> str:
    api.deploy(GATE.format(team=team))
    return api.wait(api.start(f"company.{team}", "gate")["id"], "PAUSED")["id"]


def test_resume_by_query_lists_the_ids_it_resumed(api_any: Api) -> None:
    a = _paused(api_any, "a")
    other = _paused(api_any, "b")
    answer = api_any.post("/api/v1/executions/resume/by-query?namespace=company.a")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"count": 1, "ids": [a], "invalids": []}
    assert api_any.execution(other)["state"]["current"] == "PAUSED"


def test_resume_by_ids_lists_the_resumed_ones_and_the_refused_apart(api_any: Api) -> None:
    a = _paused(api_any, "a")
    b = _paused(api_any, "b")
    answer = api_any.post("/api/v1/executions/resume/by-ids", json=[b, "ghost", a])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["count"] == 2 and body["ids"] == [b, a]
    assert [i["invalidValue"] for i in body["invalids"]] == ["ghost"]


@pytest.mark.parametrize(
    ("method", "by_query", "by_ids"),
    [
        ("DELETE", "/api/v1/executions/kill/by-query", "/api/v1/executions/kill/by-ids"),
    ],
)
def test_kill_lists_ids(api_any: Api, method: str, by_query: str, by_ids: str) -> None:
    a = _paused(api_any, "a")
    b = _paused(api_any, "b")
    answer = api_any.request(method, f"{by_query}?namespace=company.a")
    assert answer.json()["ids"] == [a], answer.text
    answer = api_any.request(method, by_ids, json=[a, b])
    body = answer.json()
    assert body["count"] == 1 and body["ids"] == [b]
    assert body["invalids"][0]["invalidValue"] == a


def test_pause_answers_list_ids_too(api_any: Api) -> None:
    a = _paused(api_any, "a")
    answer = api_any.post("/api/v1/executions/pause/by-ids", json=[a])
    assert answer.json()["count"] == 0 and answer.json()["ids"] == []
    assert api_any.post("/api/v1/executions/pause/by-query?q=zzz").json() == {
        "count": 0,
        "ids": [],
        "invalids": [],
    }
