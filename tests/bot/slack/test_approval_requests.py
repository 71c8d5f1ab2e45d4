"""Approval requests end to end through Slack: the real service on a free port (runner, Slack
notifier, callbacks), the fake Slack Web API, signed Slack requests to the bot, a local callback
receiver, the CLI as a subprocess and the MCP SDK's own stdio client.

Each test asks over HTTP (``POST /api/v1/approvals`` with an approvals-only token), finds the
one Slack message, decides in Slack like a person, and checks that every channel the program
listens on says the same: ``?wait``, the signed callback, the CLI's exit status, the MCP tool."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from approvals_support import (
    APPROVALS_TOKEN,
    CALLBACK_SECRET,
    SCOPED_TOKENS,
    callback_receiver,
    served,
)
from fake_slack import Call, FakeSlack
from slack_harness import SIGNING_SECRET, SlackHarness, button, text_of

from bot.client import verify_callback
from bot.config import load_settings
from bot.server import create_app
from engine.engine import Engine

ADMIN_TOKEN = "slack-e2e-admin-token-0123456789"
CHANNEL = "C0DEFAULT"
PAUSEBOT = str(Path(sys.executable).with_name("pausebot"))


class Live:
    def __init__(self, url: str, slack: SlackHarness) -> None:
        self.url = url
        self.slack = slack
        self.http = httpx.Client(
            base_url=f"{url}/api/v1",
            headers={"Authorization": f"Bearer {APPROVALS_TOKEN}"},
            timeout=40,
        )

    @property
    def fake(self) -> FakeSlack:
        return self.slack.fake

    def ask(self, **body: Any) -> httpx.Response:
        return self.http.post("/approvals", json={"title": "Deploy billing 2.4?", **body})

    def message_for(self, request_id: str) -> Call:
        """The one Slack message posted for this request."""
        posted = self.fake.wait_for(
            "chat.postMessage", where=lambda c: request_id in json.dumps(c.params), timeout=20
        )
        assert len(posted) == 1, posted
        return posted[0]

    def updates_for(self, request_id: str, count: int = 1) -> list[Call]:
        return self.fake.wait_for(
            "chat.update", count, where=lambda c: request_id in json.dumps(c.params), timeout=20
        )

    def click(self, request_id: str, label: str, user: str = "U1") -> None:
        action, value = button(self.message_for(request_id).params["blocks"], label)
        assert self.slack.click(action, value, user=user).status_code == 200


@pytest.fixture
def live(fake_slack: FakeSlack, tmp_path: Path) -> Iterator[Live]:
    (tmp_path / "no-flows").mkdir()
    engine = Engine(f"sqlite:///{tmp_path / 'e2e.db'}", http_timeout=5.0)
    settings = load_settings(
        flows_dir=tmp_path / "no-flows",
        api_token=ADMIN_TOKEN,
        api_tokens=SCOPED_TOKENS,
        callback_secret=CALLBACK_SECRET,
        slack_bot_token="xoxb-test-token",
        slack_signing_secret=SIGNING_SECRET,
        slack_channel=CHANNEL,
        slack_api_url=fake_slack.url,
    )
    app = create_app(settings, engine=engine, start_runner=True)
    app.state.callbacks.base_delay = 0.05
    try:
        with served(app) as url, httpx.Client(base_url=url, timeout=20) as client:
            harness = SlackHarness(client, fake_slack, app.state.slack, engine)  # type: ignore[arg-type]
            yield Live(url, harness)
    finally:
        engine.close()


def in_background(action: Any) -> tuple[threading.Thread, list[Any]]:
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(action()), daemon=True)
    thread.start()
    return thread, result


def test_one_message_a_slack_decision_a_signed_callback_and_wait_agree(live: Live) -> None:
    with callback_receiver(fail_first=1) as receiver:
        body = {
            "description": "Canary was **green** for 30 min.",
            "decisions": {"approve": "Ship it", "deny": "Hold"},
            "idempotencyKey": "deploy-8812",
            "callbackUrl": receiver.url,
            "slack-channel": "C0DEPLOYS",
        }
        with ThreadPoolExecutor(3) as pool:  # the same key, three times, at once
            answers = list(pool.map(lambda _: live.ask(**body), range(3)))
        assert sorted(a.status_code for a in answers) == [200, 200, 201]
        request_id = answers[0].json()["id"]
        assert {a.json()["id"] for a in answers} == {request_id}
        assert live.ask(**body).status_code == 200  # and once more, later

        message = live.message_for(request_id)
        assert message.params["channel"] == "C0DEPLOYS"
        shown = text_of(message.params["blocks"])
        assert "Deploy billing 2.4?" in shown and "Ship it" in shown and "Hold" in shown

        # An approvals-only token cannot decide; only people can.
        refused = live.http.post(
            f"/executions/{request_id}/actions/review",
            params={"taskRunId": answers[0].json()["taskRunId"], "decision": "APPROVE"},
        )
        assert refused.status_code == 403

        waiting, waited = in_background(
            lambda: live.http.get(f"/approvals/{request_id}", params={"wait": "PT30S"}).json()
        )
        time.sleep(0.2)
        live.click(request_id, "Ship it")
        waiting.join(timeout=40)
        assert waited and waited[0]["state"] == "APPROVED"
        assert waited[0]["by"] == "Ada" and waited[0]["via"] == "slack"
        assert waited[0]["actor"] == {"id": "U1", "name": "Ada"}

        received = receiver.wait_for(2)
    assert receiver.answered == [503, 200]
    event = verify_callback(CALLBACK_SECRET, received[1].headers, received[1].body)
    assert event["type"] == "approval.approved" and event["approval"]["by"] == "Ada"
    assert received[0].headers["Idempotency-Key"] == received[1].headers["Idempotency-Key"]
    assert len(live.fake.calls_to("chat.postMessage")) == 1
    update = text_of(live.updates_for(request_id)[-1].params["blocks"])
    assert "Deploy billing 2.4?" in update and "*Approved* by <@U1> via Slack" in update


def cli(live: Live, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PAUSEBOT_URL": live.url, "PAUSEBOT_API_TOKEN": APPROVALS_TOKEN}
    return subprocess.Popen(
        [PAUSEBOT, "approvals", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def pending_id(live: Live, title: str) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for item in live.http.get("/approvals", params={"state": "PENDING"}).json()["results"]:
            if item["title"] == title:
                return str(item["id"])
        time.sleep(0.05)
    raise AssertionError(f"no pending request titled {title!r}")


@pytest.mark.parametrize(
    ("label", "status", "state"), [("Approve", 0, "APPROVED"), ("Deny", 7, "DENIED")]
)
def test_the_cli_exit_status_follows_the_slack_decision(
    live: Live, label: str, status: int, state: str
) -> None:
    title = f"Run the migration ({label})?"
    process = cli(live, "request", "--title", title, "--wait", "--json")
    request_id = pending_id(live, title)
    live.click(request_id, label, user="U3")
    if label == "Deny":
        # A one-tap deny may confirm in a modal first; submit it when it does.
        opened = live.fake.calls_to("views.open")
        if opened:
            assert live.slack.submit(opened[-1].params["view"], {}, user="U3").status_code == 200
    out, err = process.communicate(timeout=60)
    assert process.returncode == status, err
    assert json.loads(out)["state"] == state
    assert json.loads(out)["by"] == "Cy Young"


def test_an_mcp_agent_asks_and_reads_the_typed_decision_made_in_slack(live: Live) -> None:
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(
        command=PAUSEBOT,
        args=["mcp"],
        env={"PAUSEBOT_URL": live.url, "PAUSEBOT_API_TOKEN": APPROVALS_TOKEN},
    )

    def decide_in_slack(request_id: str) -> None:
        live.click(request_id, "Approve with changes…")
        view = live.fake.wait_for("views.open", timeout=20)[-1].params["view"]
        response = live.slack.submit(view, {"keep_days": "3"})
        assert response.status_code == 200, response.text

    async def scenario(quiet: Any) -> None:
        async with stdio_client(params, errlog=quiet) as (read, write):  # noqa: SIM117
            async with ClientSession(read, write) as session:
                await session.initialize()
                listed = {tool.name for tool in (await session.list_tools()).tools}
                assert {"request_approval", "get_approval", "list_pending"} <= listed
                asked = await session.call_tool(
                    "request_approval",
                    {
                        "title": "Delete the staging bucket?",
                        "inputs": [{"id": "keep_days", "type": "INT", "defaults": 7}],
                    },
                )
                assert not asked.is_error, asked.content
                request_id = (asked.structured_content or {})["id"]
                await asyncio.to_thread(decide_in_slack, request_id)
                read_back = await session.call_tool(
                    "get_approval", {"approval_id": request_id, "wait_seconds": 30}
                )
                decided = read_back.structured_content or {}
                assert decided["state"] == "APPROVED", decided
                assert decided["inputs"] == {"keep_days": 3}
                assert decided["by"] == "Ada"

    with open(os.devnull, "w") as quiet:
        asyncio.run(scenario(quiet))


def test_expiry_and_cancel_reach_slack_and_the_callback(live: Live) -> None:
    with callback_receiver() as receiver:
        expiring = live.ask(title="Expires soon?", timeout="PT1S", callbackUrl=receiver.url)
        cancelled = live.ask(title="Withdrawn soon?", callbackUrl=receiver.url)
        expiring_id, cancelled_id = expiring.json()["id"], cancelled.json()["id"]
        live.message_for(expiring_id)
        live.message_for(cancelled_id)
        assert live.http.post(f"/approvals/{cancelled_id}/cancel").json()["state"] == "CANCELLED"
        received = receiver.wait_for(2)
    types = {r.json["approval"]["id"]: r.json["type"] for r in received}
    assert types == {expiring_id: "approval.expired", cancelled_id: "approval.cancelled"}
    for one in received:
        verify_callback(CALLBACK_SECRET, one.headers, one.body)
    expired = live.updates_for(expiring_id)[-1].params["blocks"]
    withdrawn = live.updates_for(cancelled_id)[-1].params["blocks"]
    assert "*Nobody decided*; the request expired" in text_of(expired)
    assert "*Nobody decided*; the execution was killed by agent" in text_of(withdrawn)
    assert "The approval request was cancelled." in text_of(withdrawn)
    for blocks in (expired, withdrawn):
        assert not [b for b in blocks if b["type"] == "actions"], text_of(blocks)
    # A click on the withdrawn request says so and decides nothing.
    live.click(cancelled_id, "Approve")
    assert live.http.get(f"/approvals/{cancelled_id}").json()["state"] == "CANCELLED"
