"""The seed flows and the examples, run through the API as the README's walkthrough does it:
deploy, start with curl-style multipart, see it paused, resume, read the log."""

from __future__ import annotations

import json
from typing import Any

from api_support import Api, form


def test_vacation_walkthrough(api_any: Api, standin: Any) -> None:
    api_any.deploy("vacation_approval_process.yml", **{"http://127.0.0.1:8899": standin.url})
    # curl -F request.name=Ada ...
    started = api_any.start(
        "company.team", "vacation_approval_process", files=form(**{"request.name": "Ada"})
    )
    assert started["inputs"]["request"] == {
        "name": "Ada",
        "start_date": "2024-07-01",
        "end_date": "2024-07-07",
    }
    paused = api_any.wait(started["id"], "PAUSED")
    assert api_any.paused_run(paused)["taskId"] == "waitForApproval"
    listed = api_any.get(
        "/api/v1/executions/search",
        params={"state": "PAUSED", "flowId": "vacation_approval_process"},
    ).json()
    assert [e["id"] for e in listed["results"]] == [started["id"]]
    slack = standin.requests[0]
    assert slack["path"] == "/api/slack" and "Validate holiday request for Ada" in slack["body"]

    # curl -F approved=true -F reason='Enjoy the beach'
    response = api_any.post(
        f"/api/v1/executions/{started['id']}/resume",
        files=form(approved="true", reason="Enjoy the beach"),
    )
    assert response.status_code == 204
    done = api_any.wait(started["id"])
    assert done["state"]["current"] == "SUCCESS"
    products = json.loads(standin.requests[1]["body"])
    assert products["name"] == "Ada"
    [status] = [line for line in api_any.logs(started["id"]) if line.startswith("Status is")]
    assert status.startswith("Status is Enjoy the beach. Process finished with {")
    assert '"name": "Ada"' in status


def test_expense_rejection_fails_the_execution(api: Api) -> None:
    execution = api.paused("expense_approval.yml")
    response = api.post(
        f"/api/v1/executions/{execution['id']}/resume",
        files=form(decision="reject", note="No receipt"),
    )
    assert response.status_code == 204
    done = api.wait(execution["id"])
    assert done["state"]["current"] == "FAILED"
    assert "Expense rejected: No receipt" in api.logs(execution["id"])


def test_small_expenses_pass_without_a_pause(api: Api) -> None:
    api.deploy("expense_approval.yml")
    started = api.start("company.finance", "expense_approval", json={"amount": 42})
    done = api.wait(started["id"])
    assert done["state"]["current"] == "SUCCESS"
    assert "Auto-approved 42.0 EUR for Ada Lovelace" in api.logs(started["id"])
