"""Drives the real service like Slack does: signed ``/slack/events`` requests shaped like Slack's
payloads (form-encoded ``payload=`` for interactivity, form fields for slash commands, JSON for
events), plus helpers to answer a modal the bot opened."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fake_slack import Call, FakeSlack
from httpx import Response
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View
from slack_sdk.signature import SignatureVerifier

from engine.engine import Engine
from engine.model import Execution

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAM = {"id": "T0TEAM", "domain": "acme"}


@dataclass
class SlackHarness:
    client: TestClient
    fake: FakeSlack
    bot: Any  # bot.slack.app.SlackBot
    engine: Engine

    # -- raw signed requests ---------------------------------------------------------------------
    def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str = SIGNING_SECRET,
        signature: str | None = None,
    ) -> Response:
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        signed = signature or SignatureVerifier(secret).generate_signature(
            timestamp=stamp, body=body
        )
        return self.client.post(
            "/slack/events",
            content=body.encode(),
            headers={
                "content-type": content_type,
                "x-slack-request-timestamp": stamp,
                "x-slack-signature": signed,
            },
        )

    def interact(self, payload: dict[str, Any], **kwargs: Any) -> Response:
        body = urlencode({"payload": json.dumps(payload)})
        return self.post(body, "application/x-www-form-urlencoded", **kwargs)

    # -- what people do ----------------------------------------------------------------------------
    def click(
        self,
        action_id: str,
        value: str,
        *,
        user: str = "U1",
        message: Call | None = None,
        surface: str = "message",
        ephemeral: bool = False,
    ) -> Response:
        """A button click on a channel message (default), an ephemeral message or the Home tab."""
        user_obj = {
            "id": user,
            "username": user.lower(),
            "name": user.lower(),
            "team_id": TEAM["id"],
        }
        action = {
            "action_id": action_id,
            "block_id": "b",
            "type": "button",
            "value": value,
            "text": {"type": "plain_text", "text": "x"},
            "action_ts": "1767225700.000001",
        }
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": user_obj,
            "api_app_id": "A0APP",
            "token": "deprecated",
            "team": TEAM,
            "enterprise": None,
            "is_enterprise_install": False,
            "trigger_id": f"trigger-{time.monotonic_ns()}",
            "actions": [action],
            "state": {"values": {}},
        }
        if surface == "home":
            payload["container"] = {"type": "view", "view_id": "VHOME"}
            payload["view"] = {"id": "VHOME", "type": "home"}
        else:
            channel = "C0CHAN"
            ts = "1767225600.000001"
            payload["container"] = {
                "type": "message",
                "message_ts": ts,
                "channel_id": channel,
                "is_ephemeral": ephemeral,
            }
            payload["channel"] = {"id": channel, "name": "chan"}
            payload["message"] = {"type": "message", "ts": ts, "text": "x", "blocks": []}
            payload["response_url"] = self.fake.response_url(f"{user}-{time.monotonic_ns()}")
        return self.interact(payload)

    def submit(
        self, view: dict[str, Any], answers: dict[str, Any] | None = None, *, user: str = "U1"
    ) -> Response:
        """Submits a modal the bot opened, with ``answers`` by block_id (others keep their initial value)."""
        submitted = {
            **view,
            "id": "V0SUBMIT",
            "team_id": TEAM["id"],
            "state": {"values": state_for(view, answers or {})},
            "hash": "1767225700.abc",
            "root_view_id": "V0SUBMIT",
            "previous_view_id": None,
            "app_id": "A0APP",
            "bot_id": "B0BOT",
            "external_id": "",
            "app_installed_team_id": TEAM["id"],
        }
        payload = {
            "type": "view_submission",
            "team": TEAM,
            "api_app_id": "A0APP",
            "token": "deprecated",
            "user": {
                "id": user,
                "username": user.lower(),
                "name": user.lower(),
                "team_id": TEAM["id"],
            },
            "trigger_id": f"trigger-{time.monotonic_ns()}",
            "view": submitted,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self.interact(payload)

    def command(self, text: str, *, user: str = "U1") -> Response:
        body = urlencode(
            {
                "token": "deprecated",
                "team_id": TEAM["id"],
                "team_domain": "acme",
                "channel_id": "C0CHAN",
                "channel_name": "chan",
                "user_id": user,
                "user_name": user.lower(),
                "command": "/paused",
                "text": text,
                "api_app_id": "A0APP",
                "is_enterprise_install": "false",
                "response_url": self.fake.response_url(f"command-{time.monotonic_ns()}"),
                "trigger_id": f"trigger-{time.monotonic_ns()}",
            }
        )
        return self.post(body, "application/x-www-form-urlencoded")

    def event(self, event: dict[str, Any]) -> Response:
        body = json.dumps(
            {
                "token": "deprecated",
                "team_id": TEAM["id"],
                "api_app_id": "A0APP",
                "event": event,
                "type": "event_callback",
                "event_id": f"Ev{time.monotonic_ns()}",
                "event_time": int(time.time()),
                "authorizations": [{"team_id": TEAM["id"], "user_id": "U0BOT", "is_bot": True}],
            }
        )
        return self.post(body, "application/json")

    # -- waiting on the bot ----------------------------------------------------------------------
    def opened_view(self, count: int = 1) -> dict[str, Any]:
        """The view of the ``count``-th views.open call."""
        return self.fake.wait_for("views.open", count)[count - 1].params["view"]

    def responses(self, count: int = 1, timeout: float = 10.0) -> list[Call]:
        return self.fake.wait_for("response", count, timeout)

    def posted(self, count: int = 1) -> list[Call]:
        return self.fake.wait_for("chat.postMessage", count)

    def wait_execution(self, execution_id: str, predicate: Any, timeout: float = 10.0) -> Execution:
        deadline = time.monotonic() + timeout
        while True:
            execution = self.engine.get_execution(execution_id)
            if predicate(execution):
                return execution
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"execution {execution_id} never matched; state {execution.state.current}"
                )
            time.sleep(0.02)


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition never held")
        time.sleep(0.02)


def value_of(blocks: list[dict[str, Any]], action_id: str) -> str:
    """The ``value`` of the button ``action_id`` in message blocks."""
    for block in blocks:
        for element in block.get("elements") or []:
            if element.get("action_id") == action_id:
                return str(element["value"])
    raise AssertionError(f"no button {action_id}")


def buttons(blocks: list[dict[str, Any]]) -> list[str]:
    return [e.get("action_id") for b in blocks if b["type"] == "actions" for e in b["elements"]]


def text_of(blocks: list[dict[str, Any]]) -> str:
    """Every text in the blocks, joined, to assert on what people read."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                if isinstance(value, dict | list):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return "\n".join(found)


def mrkdwn_of(blocks: list[dict[str, Any]]) -> str:
    """Only the mrkdwn texts (what Slack parses for links and mentions), joined."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                if isinstance(value, dict | list):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return "\n".join(found)


def assert_valid_message(blocks: list[dict[str, Any]]) -> None:
    """Block Kit limits, re-checked by parsing the JSON back into slack_sdk's models."""
    assert 0 < len(blocks) <= 50
    for block in Block.parse_all(blocks):
        block.to_dict()  # runs the validators; unknown keys warn, and warnings are errors here
    assert len(json.dumps(blocks)) < 13_000


def assert_valid_view(view: dict[str, Any]) -> None:
    blocks = view.get("blocks") or []
    assert 0 < len(blocks) <= 100
    View(**view).to_dict()
    assert len(json.dumps(view)) < 250_000
    ids = [b.get("block_id") for b in blocks if b.get("block_id")]
    assert len(ids) == len(set(ids)), "block_ids must be unique in a view"


def state_for(view: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """``view.state.values`` as Slack builds it: every input block, answered or as initialised."""
    values: dict[str, Any] = {}
    for block in view.get("blocks") or []:
        if block.get("type") != "input":
            continue
        element = block["element"]
        block_id = block["block_id"]
        kind = element["type"]
        state: dict[str, Any] = {"type": kind}
        answer = answers.get(block_id, _INITIAL)
        options = element.get("options") or []
        if kind in ("plain_text_input", "email_text_input", "url_text_input", "number_input"):
            state["value"] = element.get("initial_value") if answer is _INITIAL else answer
        elif kind == "checkboxes":
            ticked = bool(element.get("initial_options")) if answer is _INITIAL else bool(answer)
            state["selected_options"] = options[:1] if ticked else []
        elif kind in ("radio_buttons", "static_select"):
            if answer is _INITIAL:
                state["selected_option"] = element.get("initial_option")
            else:
                wanted = (
                    {True: "Yes", False: "No"}.get(answer, answer)
                    if isinstance(answer, bool)
                    else answer
                )
                state["selected_option"] = next(
                    (o for o in options if o["text"]["text"] == wanted), None
                )
        elif kind == "multi_static_select":
            if answer is _INITIAL:
                state["selected_options"] = element.get("initial_options") or []
            else:
                state["selected_options"] = [o for o in options if o["text"]["text"] in answer]
        elif kind == "datepicker":
            state["selected_date"] = element.get("initial_date") if answer is _INITIAL else answer
        elif kind == "timepicker":
            state["selected_time"] = element.get("initial_time") if answer is _INITIAL else answer
        elif kind == "datetimepicker":
            state["selected_date_time"] = (
                element.get("initial_date_time") if answer is _INITIAL else answer
            )
        values[block_id] = {element["action_id"]: state}
    return values


_INITIAL: Any = object()


def button(blocks: list[dict[str, Any]], label: str) -> tuple[str, str]:
    """(action_id, value) of the button whose text is ``label``, in message blocks."""
    for block in blocks:
        candidates = list(block.get("elements") or [])
        if block.get("accessory"):
            candidates.append(block["accessory"])
        for element in candidates:
            if element.get("type") == "button" and element["text"]["text"] == label:
                return str(element["action_id"]), str(element.get("value"))
    raise AssertionError(f"no button {label!r} in {button_labels(blocks)}")


def button_labels(blocks: list[dict[str, Any]]) -> list[str]:
    return [
        e["text"]["text"]
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e.get("type") == "button"
    ]
