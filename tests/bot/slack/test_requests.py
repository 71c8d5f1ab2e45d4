"""The /slack/events route: signatures, the "payload" pitfall of `/paused`, malformed bodies.
The lists of `/paused` and the App Home tab are tested in test_lists.py."""

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


# -- /paused (its lists and the Home tab: test_lists.py) ------------------------------------------


def test_paused_with_the_word_payload_is_answered(slack: SlackHarness) -> None:
    """Bolt parses a form body containing "payload" as an interactivity payload; we don't."""
    start(slack.engine, "no_inputs.yml")
    response = slack.command("payload")
    assert response.status_code == 200
    assert "Nothing waiting matches `payload`" in text_of(slack.responses()[0].params["blocks"])


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
