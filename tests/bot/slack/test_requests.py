"""The /slack/events route: signatures, `/paused` (with its filter, pages and the "payload"
pitfall), the App Home tab."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from httpx import Response
from slack_harness import (
    SIGNING_SECRET,
    SlackHarness,
    assert_valid_message,
    assert_valid_view,
    buttons,
    text_of,
)

from bot.slack.blocks import APPROVE_ACTION
from engine.engine import Engine
from engine.model import Execution
from engine.states import State

FLOWS = Path(__file__).parent / "flows"
# Option buttons: pausebot.choose.<option>.<now: decides at once | form: opens the modal>
APPROVE_NOW = "pausebot.choose.approve.now"
APPROVE_AS_IS, APPROVE_WITH_CHANGES = APPROVE_NOW, "pausebot.choose.approve.form"


def start(engine: Engine, name: str, **kwargs: Any) -> Execution:
    deployed = engine.deploy_flow((FLOWS / name).read_text())
    execution = engine.start_execution(
        deployed.flow.namespace, deployed.flow.id, via="api", **kwargs
    )
    return engine.run_until_blocked(execution.id)


# -- signatures --------------------------------------------------------------------------------


def test_requests_must_be_signed_within_five_minutes(slack: SlackHarness) -> None:
    execution = start(slack.engine, "no_inputs.yml")
    value = json.dumps({"e": execution.id, "t": execution.taskRunList[0].id})
    payload = {
        "type": "block_actions",
        "user": {"id": "U1"},
        "team": {"id": "T0TEAM"},
        "actions": [{"action_id": APPROVE_ACTION, "value": value}],
        "trigger_id": "t",
    }
    body = urlencode({"payload": json.dumps(payload)})
    form = "application/x-www-form-urlencoded"
    bad = slack.post(body, form, secret="not-the-secret")
    assert bad.status_code == 401 and bad.json() == {"error": "invalid request"}
    stale = slack.post(body, form, timestamp=int(time.time()) - 301)
    assert stale.status_code == 401
    tampered = slack.post(body, form, signature="v0=" + "0" * 64)
    assert tampered.status_code == 401
    time.sleep(0.2)
    assert slack.engine.get_execution(execution.id).state.current == State.PAUSED
    assert slack.fake.calls_to("auth.test") == []  # refused before anything else ran


def test_url_verification(slack: SlackHarness) -> None:
    response = slack.post(
        json.dumps({"type": "url_verification", "challenge": "c-123", "token": "x"}),
        "application/json",
    )
    assert response.status_code == 200 and response.json() == {"challenge": "c-123"}


def test_an_unsigned_secret_is_never_logged(slack: SlackHarness, caplog: Any) -> None:
    start(slack.engine, "no_inputs.yml")
    slack.posted()
    assert "xoxb-test-token" not in caplog.text and SIGNING_SECRET not in caplog.text


# -- /paused -----------------------------------------------------------------------------------------


def test_paused_lists_newest_first_with_buttons_and_filters(slack: SlackHarness) -> None:
    older = start(slack.engine, "no_inputs.yml")
    slack.engine.clock.advance(60)  # type: ignore[attr-defined]
    newer = start(slack.engine, "reason_reject.yml")
    assert slack.command("").status_code == 200
    answer = slack.responses()[0].params
    assert answer["response_type"] == "ephemeral"
    blocks = answer["blocks"]
    assert_valid_message(blocks)
    shown = text_of(blocks)
    assert "2 paused executions, newest first" in shown
    assert shown.index("reason_reject") < shown.index("no_inputs")
    assert buttons(blocks) == [
        *(APPROVE_AS_IS, APPROVE_WITH_CHANGES, "pausebot.choose.reject.form", "pausebot.open"),
        *(APPROVE_NOW, "pausebot.choose.reject.form", "pausebot.open"),
    ]
    assert newer.id in json.dumps(blocks) and older.id in json.dumps(blocks)

    slack.command("flow:no_inputs")
    filtered = slack.responses(2)[1].params
    assert "1 paused execution matching `flow:no_inputs`" in text_of(filtered["blocks"])
    assert newer.id not in json.dumps(filtered["blocks"])

    slack.command("reason")  # free text: ids, namespaces and flows
    assert "1 paused execution" in text_of(slack.responses(3)[2].params["blocks"])
    slack.command("namespace:company.nothing")
    assert "Nothing paused matches" in text_of(slack.responses(4)[3].params["blocks"])


def test_paused_with_the_word_payload_is_answered(slack: SlackHarness) -> None:
    """Bolt parses a form body containing "payload" as an interactivity payload; we don't."""
    start(slack.engine, "no_inputs.yml")
    response = slack.command("payload")
    assert response.status_code == 200
    assert "Nothing paused matches `payload`" in text_of(slack.responses()[0].params["blocks"])


def test_paused_pages_stay_within_block_kit_limits(slack: SlackHarness) -> None:
    for _ in range(11):
        start(slack.engine, "no_inputs.yml")
    slack.command("")
    first = slack.responses()[0].params["blocks"]
    assert_valid_message(first)
    assert buttons(first).count(APPROVE_NOW) == 8
    assert "Page 1 of 2" in text_of(first)
    older = next(
        e
        for b in first
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"].endswith(".next")
    )
    slack.click(older["action_id"], older["value"])
    second = slack.responses(2)[1].params
    assert second["replace_original"] is True
    assert buttons(second["blocks"]).count(APPROVE_NOW) == 3
    assert "Page 2 of 2" in text_of(second["blocks"])


def test_paused_shows_why_a_caller_may_not_decide(slack: SlackHarness) -> None:
    start(slack.engine, "assigned.yml")
    slack.command("", user="U3")
    blocks = slack.responses()[0].params["blocks"]
    assert APPROVE_NOW not in buttons(blocks)
    assert "only ada@example.com or sre may" in text_of(blocks)


def test_approving_from_paused_confirms_ephemerally(slack: SlackHarness) -> None:
    execution = start(slack.engine, "no_inputs.yml")
    slack.command("")
    blocks = slack.responses()[0].params["blocks"]
    value = next(
        e["value"]
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == APPROVE_NOW
    )
    slack.click(APPROVE_NOW, value, user="U2", ephemeral=True)
    assert "*Approved*: Restart the &lt;!channel&gt;" in slack.responses(2)[1].params["text"]
    assert slack.engine.get_execution(execution.id).state.current != State.PAUSED


# -- App Home ----------------------------------------------------------------------------------------


def test_home_tab_lists_what_waits_for_the_viewer_and_refreshes(slack: SlackHarness) -> None:
    mine = start(slack.engine, "no_inputs.yml")
    start(slack.engine, "assigned.yml")  # for Ada and @sre only
    slack.posted(2)
    assert (
        slack.event(
            {"type": "app_home_opened", "user": "U3", "channel": "D0U3", "tab": "home"}
        ).status_code
        == 200
    )
    call = slack.fake.wait_for("views.publish")[0]
    assert call.params["user_id"] == "U3"
    view = call.params["view"]
    assert view["type"] == "home"
    assert_valid_view(view)
    assert mine.id in json.dumps(view) and "assigned" not in text_of(view["blocks"])
    # A decision anywhere re-publishes the tab without the decided pause.
    slack.engine.resume_execution(mine.id, {}, by={"id": "api", "name": "Api"}, via="api")
    refreshed = slack.fake.wait_for("views.publish", 2)[1].params["view"]
    assert mine.id not in json.dumps(refreshed)
    assert "Nothing is waiting for you" in text_of(refreshed["blocks"])


# -- malformed bodies ----------------------------------------------------------------------------


def _signed_post(slack: SlackHarness, body: bytes, content_type: str, **headers: str) -> Response:
    stamp = headers.pop("timestamp", str(int(time.time())))
    digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256)
    return slack.client.post(
        "/slack/events",
        content=body,
        headers={
            "content-type": content_type,
            "x-slack-request-timestamp": stamp,
            "x-slack-signature": headers.pop("signature", "v0=" + digest.hexdigest()),
        },
    )


FORM = "application/x-www-form-urlencoded"
MALFORMED = [
    pytest.param(b"payload=\xff\xfe", FORM, "not UTF-8", id="not-utf8"),
    pytest.param(b"\xff{}", "application/json", "not UTF-8", id="not-utf8-json"),
    pytest.param(b"payload=not+json", FORM, "not valid JSON", id="payload-not-json"),
    pytest.param(b"payload=%5B1%2C2%5D", FORM, "expected a JSON object", id="payload-list"),
    pytest.param(b"[1, 2]", "application/json", "expected a JSON object", id="json-list"),
    pytest.param(b'"text"', "application/json", "expected a JSON object", id="json-string"),
    pytest.param(b"[" * 5000, "application/json", "nested too deeply", id="deep-list"),
    pytest.param(b'{"a":' + b"[" * 5000, "application/json", "nested too deeply", id="deep"),
    pytest.param(
        b'{"a":' + b"[" * 200 + b"]" * 200 + b"}", "application/json", "nested too deeply", id="200"
    ),
    pytest.param(
        b"payload=" + quote(b"[" * 5000).encode(), FORM, "nested too deeply", id="deep-payload"
    ),
]


@pytest.mark.parametrize(("body", "content_type", "why"), MALFORMED)
def test_a_signed_malformed_body_is_400(
    slack: SlackHarness, body: bytes, content_type: str, why: str
) -> None:
    response = _signed_post(slack, body, content_type)
    assert response.status_code == 400, response.text
    assert why in response.json()["error"]


@pytest.mark.parametrize(("body", "content_type", "why"), MALFORMED)
def test_an_unsigned_malformed_body_is_401(
    slack: SlackHarness, body: bytes, content_type: str, why: str
) -> None:
    wrong = _signed_post(slack, body, content_type, signature="v0=" + "0" * 64)
    assert wrong.status_code == 401 and wrong.json() == {"error": "invalid request"}
    stale = _signed_post(slack, body, content_type, timestamp=str(int(time.time()) - 600))
    assert stale.status_code == 401
    not_a_time = _signed_post(slack, body, content_type, timestamp="soon")
    assert not_a_time.status_code == 401


def test_a_timestamp_that_is_not_a_number_is_401(slack: SlackHarness) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "c-1", "token": "x"})
    response = slack.post(body, "application/json", timestamp="soon")  # type: ignore[arg-type]
    assert response.status_code == 401


def test_a_signed_payload_of_an_unexpected_shape_is_400(slack: SlackHarness) -> None:
    """Bolt's routing reads fields of the payload and fails on a number where Slack sends an
    object; only Slack (or whoever has the signing secret) can send one."""
    for payload in (
        {"type": "block_actions", "user": "U1", "actions": 5},
        {"type": "block_actions", "user": {"id": "U1"}, "actions": [5]},
        {"type": "view_submission", "view": {"callback_id": "x"}},
        {"type": "view_submission", "view": "x"},
    ):
        response = slack.interact(payload)
        assert response.status_code == 400, (payload, response.text)
        assert response.json() == {"error": "malformed request payload"}
