"""Issue 7, finding 7: a query parameter pausebot does not implement is a 422 naming it, on every
API endpoint; Kestra's filters (labels, startDate/endDate, timeRange, sort, state) work with
Kestra's names. SQLite and PostgreSQL; refused requests change nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from api_support import Api

GATE = """
id: gate
namespace: company.team
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
  - id: done
    type: io.kestra.plugin.core.log.Log
    message: done
"""


def _paused_with_labels(api: Api, *labels: str) -> str:
    query = "&".join(f"labels={label}" for label in labels)
    answer = api.post(f"/api/v1/executions/company.team/gate?{query}")
    assert answer.status_code == 200, answer.text
    return api.wait(answer.json()["id"], "PAUSED")["id"]


@pytest.fixture
def two(api_any: Api) -> tuple[Api, str, str]:
    api_any.deploy(GATE)
    a = _paused_with_labels(api_any, "team:a", "env:prod")
    b = _paused_with_labels(api_any, "team:b", "env:prod")
    return api_any, a, b


def _paused_ids(api: Api) -> set[str]:
    found = api.get("/api/v1/executions/search?state=PAUSED&size=100").json()["results"]
    return {e["id"] for e in found}


def test_resume_by_query_with_labels_resumes_only_the_labelled_one(
    two: tuple[Api, str, str],
) -> None:
    """The finding as written: ``labels=team:a`` once resumed both paused executions."""
    api, a, b = two
    before_b = api.execution(b)
    answer = api.post("/api/v1/executions/resume/by-query?labels=team:a")
    assert answer.status_code == 200, answer.text
    assert answer.json()["count"] == 1
    api.wait(a)
    assert api.execution(b) == before_b


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/executions/resume/by-query"),
        ("POST", "/api/v1/executions/pause/by-query"),
        ("DELETE", "/api/v1/executions/kill/by-query"),
        ("GET", "/api/v1/executions/search"),
        ("POST", "/api/v1/main/executions/resume/by-query"),
    ],
)
@pytest.mark.parametrize("query", ["label=team:a", "triggerExecutionId=x", "filters[q][EQUALS]=a"])
def test_an_unknown_filter_is_a_422_naming_it_and_acts_on_nothing(
    two: tuple[Api, str, str], method: str, path: str, query: str
) -> None:
    api, a, b = two
    before = [api.execution(a), api.execution(b)]
    answer = api.request(method, f"{path}?{query}&namespace=company")
    assert answer.status_code == 422, answer.text
    name = query.split("=")[0]
    assert repr(name) in answer.json()["message"]
    assert answer.json()["_embedded"]["errors"][0]["path"] == f"query.{name}"
    assert [api.execution(a), api.execution(b)] == before


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def test_every_api_route_refuses_unknown_query_parameters(api: Api) -> None:
    """Walks every operation of the OpenAPI document under /api/v1 (the webhook excepted: its
    query parameters are the caller's data, ``trigger.parameters``)."""
    checked = 0
    for path, operations in api.app.openapi()["paths"].items():
        if not path.startswith("/api/v1") or "/webhook/" in path:
            continue
        for method in operations:
            answer = api.request(method.upper(), _concrete(path) + "?bogusParam=1")
            assert answer.status_code == 422, (method, path, answer.text)
            assert "'bogusParam'" in answer.json()["message"], (method, path)
            checked += 1
    assert checked >= 20


def test_labels_filter_is_repeatable_and_all_must_match(two: tuple[Api, str, str]) -> None:
    api, a, b = two

    def ids(query: str) -> set[str]:
        answer = api.get(f"/api/v1/executions/search?{query}")
        assert answer.status_code == 200, answer.text
        return {e["id"] for e in answer.json()["results"]}

    assert ids("labels=team:a") == {a}
    assert ids("labels=env:prod") == {a, b}
    assert ids("labels=env:prod&labels=team:b") == {b}
    assert ids("labels=env:prod&labels=team:c") == set()
    assert ids("labels=team:%25") == set()
    assert api.get("/api/v1/executions/search?labels=team").status_code == 422


def test_labels_set_later_are_found_and_replaced_ones_are_not(two: tuple[Api, str, str]) -> None:
    api, a, b = two
    answer = api.post(f"/api/v1/executions/{b}/labels", json=[{"key": "team", "value": "a"}])
    assert answer.status_code == 200, answer.text
    found = api.get("/api/v1/executions/search?labels=team:a").json()["results"]
    assert {e["id"] for e in found} == {a, b}
    assert api.get("/api/v1/executions/search?labels=team:b").json()["total"] == 0


def test_dates_and_time_range(two: tuple[Api, str, str]) -> None:
    api, a, _b = two
    now = datetime.now(UTC)
    past = (now - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    future = (now + timedelta(hours=1)).isoformat().replace("+00:00", "Z")

    def total(params: dict[str, str]) -> int:
        answer = api.get("/api/v1/executions/search", params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()["total"]

    assert total({"startDate": past}) == 2
    assert total({"startDate": future}) == 0
    assert total({"startDate": past[:16]}) == 2  # Kestra's yyyy-MM-dd'T'HH:mm, UTC
    assert total({"timeRange": "PT1H"}) == 2
    assert total({"timeRange": "P1D", "labels": "team:a"}) == 1
    # A paused execution's state.endDate is when it paused (as the API shows it).
    assert total({"endDate": future}) == 2
    assert total({"endDate": past}) == 0
    api.post("/api/v1/executions/resume/by-query?labels=team:a")
    api.wait(a)
    assert total({"endDate": future, "state": "SUCCESS"}) == 1


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"startDate": "2026-01-01T00:00:00Z", "timeRange": "PT5M"}, "mutually exclusive"),
        ({"timeRange": "5 minutes"}, "timeRange"),
        ({"timeRange": "P1M"}, "timeRange"),
        ({"startDate": "yesterday"}, "startDate"),
        ({"endDate": "2026-13-01T00:00"}, "endDate"),
        ({"startDate": "2026-02-01T00:00Z", "endDate": "2026-01-01T00:00Z"}, "before endDate"),
        ({"sort": "labels:asc"}, "'labels'"),
        ({"sort": "state.startDate:up"}, "'up'"),
        ({"sort": "startDate"}, "'startDate'"),
        ({"state": "PAUSE"}, "PAUSE"),
    ],
)
def test_invalid_filters_are_a_422(
    two: tuple[Api, str, str], params: dict[str, str], says: str
) -> None:
    api, a, b = two
    for path, method in [
        ("/api/v1/executions/search", "GET"),
        ("/api/v1/executions/resume/by-query", "POST"),
    ]:
        if "sort" in params and method == "POST":
            continue  # sort is a search parameter; on a bulk action it is unknown (also 422)
        answer = api.request(method, path, params=params)
        assert answer.status_code == 422, (path, answer.text)
        assert says in answer.json()["message"], answer.text
    assert _paused_ids(api) == {a, b}


def test_sort_with_kestra_fields(two: tuple[Api, str, str]) -> None:
    api, a, b = two

    def order(sort: str) -> list[str]:
        answer = api.get(f"/api/v1/executions/search?sort={sort}")
        assert answer.status_code == 200, answer.text
        return [e["id"] for e in answer.json()["results"]]

    assert order("id:asc") == sorted([a, b])
    assert order("id:desc") == sorted([a, b], reverse=True)
    assert order("state.startDate:asc") == [a, b]
    assert order("state.startDate:desc") == [b, a]
    for field in ("state.endDate", "state.duration", "namespace", "flowId", "state.current"):
        assert set(order(f"{field}:desc")) == {a, b}
    assert order("namespace:asc,id:desc") == sorted([a, b], reverse=True)
    assert api.get("/api/v1/executions/resume/by-query?sort=id:asc").status_code in (405, 422)


def test_state_is_repeatable(two: tuple[Api, str, str]) -> None:
    api, a, _b = two
    api.post("/api/v1/executions/resume/by-query?labels=team:a")
    api.wait(a)
    answer = api.get("/api/v1/executions/search?state=PAUSED&state=SUCCESS").json()
    assert answer["total"] == 2
    answer = api.get("/api/v1/executions/search?state=SUCCESS").json()
    assert [e["id"] for e in answer["results"]] == [a]
