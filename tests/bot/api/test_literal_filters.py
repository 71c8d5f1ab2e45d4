"""Issue 7, finding 6: ``%`` and ``_`` in a text filter match themselves, not anything. Every text
filter (API search, by-query bulk actions, Slack's /paused, the web UI's list, the CLI) goes
through ``engine.store.filters``; these tests drive it from the API (SQLite and PostgreSQL) and
the store, and check that nothing was resumed, paused or killed by a wildcard."""

from __future__ import annotations

import pytest
from api_support import Api

from engine.store.filters import literal_like

GATE = """
id: gate
namespace: {namespace}
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
  - id: done
    type: io.kestra.plugin.core.log.Log
    message: done
"""


def _two_paused(api: Api) -> list[str]:
    ids = []
    for namespace in ("company.team", "company.ops"):
        api.deploy(GATE.format(namespace=namespace))
        started = api.start(namespace, "gate")
        ids.append(api.wait(started["id"], "PAUSED")["id"])
    return ids


def _states(api: Api, ids: list[str]) -> list[str]:
    return [api.execution(i)["state"]["current"] for i in ids]


def test_resume_by_query_with_a_percent_resumes_nothing(api_any: Api) -> None:
    """The finding as written: ``POST /api/v1/executions/resume/by-query?q=%25``."""
    ids = _two_paused(api_any)
    before = [api_any.execution(i) for i in ids]
    answer = api_any.post("/api/v1/executions/resume/by-query?q=%25")
    assert answer.status_code == 200, answer.text
    assert answer.json()["count"] == 0
    assert [api_any.execution(i) for i in ids] == before


@pytest.mark.parametrize(
    "query", ["q=%25", "q=_", "q=%25%25", "q=__", "namespace=%25", "namespace=company.%25", "q=\\"]
)
def test_wildcards_in_search_match_literally(api_any: Api, query: str) -> None:
    _two_paused(api_any)
    answer = api_any.get(f"/api/v1/executions/search?{query}")
    assert answer.status_code == 200, answer.text
    assert answer.json()["total"] == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/executions/resume/by-query"),
        ("POST", "/api/v1/executions/pause/by-query"),
        ("DELETE", "/api/v1/executions/kill/by-query"),
    ],
)
@pytest.mark.parametrize("query", ["q=%25", "q=_", "namespace=%25", "namespace=company._eam"])
def test_bulk_actions_with_wildcards_act_on_nothing(
    api_any: Api, method: str, path: str, query: str
) -> None:
    ids = _two_paused(api_any)
    answer = api_any.request(method, f"{path}?{query}")
    assert answer.status_code == 200, answer.text
    assert answer.json()["count"] == 0
    assert _states(api_any, ids) == ["PAUSED", "PAUSED"]


def test_an_underscore_or_percent_that_is_there_still_matches(api_any: Api) -> None:
    api_any.deploy(GATE.format(namespace="company.team_a"))
    api_any.deploy(GATE.format(namespace="company.teamxa"))
    wanted = api_any.wait(api_any.start("company.team_a", "gate")["id"], "PAUSED")["id"]
    other = api_any.wait(api_any.start("company.teamxa", "gate")["id"], "PAUSED")["id"]
    found = api_any.get("/api/v1/executions/search?q=team_a").json()
    assert [e["id"] for e in found["results"]] == [wanted]
    found = api_any.get("/api/v1/executions/search?namespace=company.team_a").json()
    assert [e["id"] for e in found["results"]] == [wanted]
    answer = api_any.post("/api/v1/executions/resume/by-query?q=TEAM_A").json()
    assert answer["count"] == 1
    assert api_any.execution(other)["state"]["current"] == "PAUSED"


def test_the_store_is_the_one_place_that_escapes(api_any: Api) -> None:
    """Slack's /paused, the UI list and the CLI call ``engine.search_executions`` too."""
    _two_paused(api_any)
    engine = api_any.engine
    for text in ("%", "_", "\\", "%team%"):
        assert engine.search_executions(text=text) == ([], 0)
        assert engine.search_executions(namespace=text, states=["PAUSED"]) == ([], 0)
    assert engine.search_executions(text="TEAM")[1] == 1
    assert engine.search_executions(namespace="company")[1] == 2


def test_literal_like() -> None:
    assert literal_like("a%b_c\\d") == "a\\%b\\_c\\\\d"
