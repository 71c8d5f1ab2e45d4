"""``/api/v1/approvals``: approval requests for any program, decided through the engine's review
endpoint and signed links (Slack end to end: tests/bot/slack/test_approval_requests.py)."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from api_support import Api
from approvals_support import (
    APPROVALS_TOKEN,
    CALLBACK_SECRET,
    OTHER_TOKEN,
    SCOPED_TOKENS,
    callback_receiver,
)

REQUEST: dict[str, Any] = {
    "title": "Deploy billing 2.4 to production?",
    "description": "**Canary** was green for 30 min.\n\n- errors: 0.1%",
    "inputs": [
        {"id": "window", "type": "SELECT", "values": ["now", "tonight"], "defaults": "now"},
        {"id": "ticket", "type": "STRING", "required": False},
    ],
    "decisions": {"approve": "Ship it", "deny": "Hold"},
    "commentRequired": "ON_DENY",
    "timeout": "PT1H",
    "labels": {"service": "billing"},
    "slack-channel": "C0DEPLOYS",
}


@pytest.fixture
def service(database_url: str, make_api: Callable[..., Api]) -> Api:
    # database_url first: torn down last, after the app (its callbacks loop) has stopped.
    return make_api(database_url, api_tokens=SCOPED_TOKENS, callback_secret=CALLBACK_SECRET)


def create(api: Api, token: str | None = None, **changes: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"token": token} if token else {}
    response = api.post("/api/v1/approvals", json={**REQUEST, **changes}, **kwargs)
    assert response.status_code == 201, response.text
    return response.json()


def review(api: Api, request: dict[str, Any], decision: str, **form: str) -> Any:
    return api.post(
        f"/api/v1/executions/{request['executionId']}/actions/review",
        params={"taskRunId": request["taskRunId"], "decision": decision},
        files=[(k, (None, v)) for k, v in form.items()] or None,
        headers={"X-Pausebot-User": "Ada"},
    )


def test_a_request_is_an_approval_waiting_in_a_built_in_flow(service: Api) -> None:
    created = create(service, token=APPROVALS_TOKEN)
    assert created["state"] == "PENDING"
    assert created["decision"] is None and created["taskRunId"]
    assert created["url"].startswith("http://pausebot.test/ui/executions/pausebot.approvals/")
    assert set(created["links"]) == {"approve", "deny"}
    assert created["labels"] == {"service": "billing", "slack-channel": "C0DEPLOYS"}
    assert created["expiresAt"]
    execution = service.execution(created["id"])
    assert execution["state"]["current"] == "PAUSED"
    assert execution["startedBy"] == {"id": "token:agent", "name": "agent"}
    # Every surface sees it as any Approval: the rendered title, labels, comment rule, inputs.
    waiting = service.engine.waiting_tasks(service.engine.get_execution(created["id"]))
    assert [w.kind for w in waiting] == ["approval"]
    assert waiting[0].title == REQUEST["title"]
    assert waiting[0].description == REQUEST["description"]
    assert [c.label for c in waiting[0].choices] == ["Ship it", "Hold"]
    assert [c.comment_required for c in waiting[0].choices] == [False, True]
    assert [d.id for d in waiting[0].inputs] == ["window", "ticket"]

    assert review(service, created, "APPROVE", window="tonight").status_code == 200
    read = service.get(f"/api/v1/approvals/{created['id']}", token=APPROVALS_TOKEN).json()
    assert read["state"] == read["decision"] == "APPROVED"
    assert read["by"] == "Ada" and read["on"] and read["via"] == "api"
    assert read["inputs"] == {"window": "tonight", "ticket": None}
    assert read["expiresAt"] is None


def test_templates_in_the_texts_are_text(service: Api) -> None:
    created = create(service, title="{{ 7 * 7 }} <b>", description="{% raw %}x")
    waiting = service.engine.waiting_tasks(service.engine.get_execution(created["id"]))
    assert waiting[0].title == "{{ 7 * 7 }} <b>"
    assert waiting[0].description == "{% raw %}x"


def test_requests_with_the_same_form_share_one_flow(service: Api) -> None:
    first = create(service, title="one")
    second = create(service, title="two")
    plain = create(service, inputs=[], commentRequired="NEVER")
    flows = {service.execution(r["id"])["flowId"] for r in (first, second)}
    assert len(flows) == 1 and flows != {service.execution(plain["id"])["flowId"]}
    assert service.execution(plain["id"])["flowId"] == "request"


def test_the_same_idempotency_key_is_the_same_request(service: Api) -> None:
    first = create(service, idempotencyKey="deploy-42")
    again = service.post("/api/v1/approvals", json={**REQUEST, "idempotencyKey": "deploy-42"})
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first["id"]
    other = service.post(
        "/api/v1/approvals", json={**REQUEST, "idempotencyKey": "deploy-42", "title": "else"}
    )
    assert other.status_code == 409
    assert "different parameters" in other.json()["message"]
    # Keys belong to their token: another client's same key is another request.
    theirs = create(service, token=OTHER_TOKEN, idempotencyKey="deploy-42")
    assert theirs["id"] != first["id"]


def test_racing_requests_with_one_key_create_one_execution(service: Api) -> None:
    body = {**REQUEST, "idempotencyKey": "race-1"}
    barrier = threading.Barrier(6)

    def send(_: int) -> tuple[int, str]:
        barrier.wait()
        response = service.post("/api/v1/approvals", json=body)
        return response.status_code, response.json().get("id", response.text)

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(send, range(6)))
    assert sorted(status for status, _ in answers) == [200] * 5 + [201]
    assert len({request_id for _, request_id in answers}) == 1
    _, total = service.engine.search_executions(namespace="pausebot.approvals")
    assert total == 1


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"title": ""}, "title"),
        ({"title": None}, "title"),
        ({"inputs": [{"id": "x", "type": "NOPE"}]}, "inputs"),
        ({"inputs": [{"id": "comment", "type": "STRING"}]}, "inputs"),
        ({"timeout": "tomorrow"}, "timeout"),
        ({"expireBehavior": "APPROVE"}, "expireBehavior"),
        ({"commentRequired": "SOMETIMES"}, "commentRequired"),
        ({"decisions": {"approve": "", "deny": "No"}}, "decisions"),
        ({"callbackUrl": "ftp://x"}, "callbackUrl"),
        ({"labels": {"a": 1}}, "labels.a"),
        ({"labels": {"slack-requester": "U0CEO"}}, "labels"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_bad_requests_are_422_naming_the_field(
    service: Api, changes: dict[str, Any], path: str
) -> None:
    response = service.post("/api/v1/approvals", json={**REQUEST, **changes})
    assert response.status_code == 422, response.text
    paths = [e["path"] for e in response.json()["_embedded"]["errors"]]
    assert any(p.startswith(path) for p in paths), paths
    assert service.engine.search_executions(namespace="pausebot.approvals")[1] == 0


def test_a_body_that_is_not_a_json_object_is_refused(service: Api) -> None:
    assert service.post("/api/v1/approvals", content=b"[1]").status_code == 422
    assert service.post("/api/v1/approvals", content=b"{").status_code == 400
    assert service.post("/api/v1/approvals", data={"title": "x"}).status_code == 415


def test_a_callback_needs_the_signing_secret(make_api: Callable[..., Api]) -> None:
    api = make_api()
    response = api.post("/api/v1/approvals", json={**REQUEST, "callbackUrl": "http://x.test/h"})
    assert response.status_code == 422
    assert response.json()["_embedded"]["errors"][0]["path"] == "callbackUrl"


def test_an_approvals_token_may_ask_but_never_decide(service: Api) -> None:
    created = create(service, token=APPROVALS_TOKEN)
    refused = service.post(
        f"/api/v1/executions/{created['id']}/actions/review",
        params={"taskRunId": created["taskRunId"], "decision": "APPROVE"},
        token=APPROVALS_TOKEN,
    )
    assert refused.status_code == 403
    assert "needs the admin scope" in refused.json()["message"]
    for method, path in [
        ("GET", "/api/v1/executions/search"),
        ("POST", f"/api/v1/executions/{created['id']}/resume"),
        ("DELETE", f"/api/v1/executions/{created['id']}/kill"),
        ("POST", "/api/v1/flows"),
    ]:
        assert service.request(method, path, token=APPROVALS_TOKEN).status_code == 403
    assert service.get(f"/api/v1/approvals/{created['id']}").json()["state"] == "PENDING"
    # Another client's requests are as unknown as missing ones; an admin sees them all.
    assert service.get(f"/api/v1/approvals/{created['id']}", token=OTHER_TOKEN).status_code == 404
    mine = create(service, token=OTHER_TOKEN, labels={"service": "search"})
    listed = service.get("/api/v1/approvals", token=OTHER_TOKEN).json()
    assert [r["id"] for r in listed["results"]] == [mine["id"]]
    assert service.get("/api/v1/approvals").json()["total"] == 2
    assert service.get("/api/v1/approvals", token="wrong-token-0123456789").status_code == 401


def test_list_filters_by_state_and_label(service: Api) -> None:
    first = create(service)
    second = create(service, labels={"service": "search", "team": "a_b%"})
    assert review(service, first, "DENY", comment="not today").status_code == 200
    pending = service.get("/api/v1/approvals", params={"state": "PENDING"}).json()
    assert [r["id"] for r in pending["results"]] == [second["id"]]
    denied = service.get("/api/v1/approvals", params={"state": "denied"}).json()
    assert [r["id"] for r in denied["results"]] == [first["id"]]
    assert denied["results"][0]["comment"] == "not today"
    by_label = service.get("/api/v1/approvals", params={"label": "team:a_b%"}).json()
    assert [r["id"] for r in by_label["results"]] == [second["id"]]
    assert service.get("/api/v1/approvals", params={"label": "team:a%"}).json()["total"] == 0
    assert service.get("/api/v1/approvals", params={"state": "MAYBE"}).status_code == 422
    assert service.get("/api/v1/approvals", params={"label": "nocolon"}).status_code == 422
    page = service.get("/api/v1/approvals", params={"size": 1, "page": 2}).json()
    assert page["total"] == 2 and [r["id"] for r in page["results"]] == [first["id"]]


def test_wait_returns_as_soon_as_it_is_decided(service: Api) -> None:
    created = create(service)
    timer = threading.Timer(0.5, lambda: review(service, created, "APPROVE"))
    timer.start()
    try:
        read = service.get(f"/api/v1/approvals/{created['id']}", params={"wait": "PT30S"})
    finally:
        timer.join()
    assert read.status_code == 200
    assert read.json()["decision"] == "APPROVED"
    assert service.app.state.approval_waits.waiting_count == 0


def test_wait_ends_with_the_request_still_pending(service: Api) -> None:
    created = create(service)
    read = service.get(f"/api/v1/approvals/{created['id']}", params={"wait": "PT0.3S"})
    assert read.json()["state"] == "PENDING"
    bad = service.get(f"/api/v1/approvals/{created['id']}", params={"wait": "PT1H"})
    assert bad.status_code == 422
    assert bad.json()["_embedded"]["errors"][0]["path"] == "query.wait"
    assert service.get("/api/v1/approvals/nope").status_code == 404


def test_cancel_withdraws_a_pending_request(service: Api) -> None:
    created = create(service, token=APPROVALS_TOKEN)
    cancelled = service.post(
        f"/api/v1/approvals/{created['id']}/cancel",
        json={"reason": "superseded by 2.5"},
        token=APPROVALS_TOKEN,
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["state"] == "CANCELLED"
    assert cancelled.json()["decision"] is None
    assert service.wait(created["id"])["state"]["current"] == "KILLED"
    again = service.post(f"/api/v1/approvals/{created['id']}/cancel", token=APPROVALS_TOKEN)
    assert again.status_code == 409
    assert review(service, created, "APPROVE").status_code == 409


def test_a_decided_request_cannot_be_cancelled(service: Api) -> None:
    created = create(service)
    assert review(service, created, "APPROVE").status_code == 200
    refused = service.post(f"/api/v1/approvals/{created['id']}/cancel")
    assert refused.status_code == 409
    assert refused.json()["action"] == "approved"
    assert service.get(f"/api/v1/approvals/{created['id']}").json()["state"] == "APPROVED"


def test_a_request_expires(service: Api) -> None:
    created = create(service, timeout="PT0.5S", expireBehavior="FAIL")
    read = service.get(f"/api/v1/approvals/{created['id']}", params={"wait": "PT20S"}).json()
    assert read["state"] == read["decision"] == "EXPIRED"
    assert read["by"] is None
    assert service.wait(created["id"])["state"]["current"] == "FAILED"


def test_the_decision_links_decide_once(service: Api) -> None:
    created = create(service)
    approve = created["links"]["approve"].removeprefix("http://pausebot.test")
    deny = created["links"]["deny"].removeprefix("http://pausebot.test")
    page = service.get(deny, token=None)
    assert page.status_code == 200 and "Hold" in page.text and REQUEST["title"] in page.text
    refused = service.post(deny, json={}, token=None)
    assert refused.status_code == 422  # ON_DENY: a comment is required
    decided = service.post(approve, json={"window": "tonight", "comment": "go"}, token=None)
    assert decided.status_code == 200, decided.text
    assert service.post(approve, json={}, token=None).status_code == 410
    used = service.get(deny, token=None)
    assert used.status_code == 410 and "already approved by someone with the link" in used.text
    read = service.get(f"/api/v1/approvals/{created['id']}").json()
    assert read["decision"] == "APPROVED" and read["comment"] == "go" and read["via"] == "link"
    assert read["inputs"]["window"] == "tonight"


def _verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    timestamp = headers["X-Pausebot-Request-Timestamp"]
    expected = hmac.new(
        secret.encode(), f"v1:{timestamp}:".encode() + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(headers["X-Pausebot-Signature"], f"v1={expected}")


def test_a_callback_is_signed_and_retried_until_the_receiver_recovers(service: Api) -> None:
    service.app.state.callbacks.base_delay = 0.05
    with callback_receiver(fail_first=2) as receiver:
        created = create(service, callbackUrl=receiver.url)
        assert review(service, created, "DENY", comment="freeze").status_code == 200
        received = receiver.wait_for(3)
        time.sleep(0.3)  # a fourth would be a bug: the third was accepted
    assert receiver.answered == [503, 503, 200]
    keys = {r.headers["Idempotency-Key"] for r in received}
    assert keys == {f"{created['id']}:DENIED"}
    for one in received:
        assert _verify(CALLBACK_SECRET, one.headers, one.body)
        assert one.json["type"] == "approval.denied"
        assert one.json["approval"]["comment"] == "freeze"
    assert len(receiver.received) == 3


def test_cancel_and_expiry_call_back_too(service: Api) -> None:
    with callback_receiver() as receiver:
        cancelled = create(service, callbackUrl=receiver.url)
        service.post(f"/api/v1/approvals/{cancelled['id']}/cancel")
        expired = create(service, callbackUrl=receiver.url, timeout="PT0.3S")
        received = receiver.wait_for(2)
    types = {r.json["approval"]["id"]: r.json["type"] for r in received}
    assert types == {cancelled["id"]: "approval.cancelled", expired["id"]: "approval.expired"}


def test_a_receiver_that_refuses_is_not_retried(service: Api) -> None:
    with callback_receiver(fail_first=99, fail_status=400) as receiver:
        created = create(service, callbackUrl=receiver.url)
        assert review(service, created, "APPROVE").status_code == 200
        service.wait_for_log(created["id"], "The callback could not be delivered")
    assert receiver.answered == [400]
    assert service.engine.store.failed_deliveries("callbacks") == 1
