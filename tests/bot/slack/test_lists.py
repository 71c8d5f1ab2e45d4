"""`/paused` and the App Home tab at volume (0, 1, 30 and 1,000 pauses): the nearest deadline
first, one compact entry per pause (question, requester, age, deadline, key inputs, an overflow
menu with the message's choices), grouped by flow with counts when there are many, `/paused
mine`, Home's "Waiting for you" first, and Block Kit's limits at any volume."""

from __future__ import annotations

import json
import time
from typing import Any

from slack_harness import SlackHarness, assert_valid_message, assert_valid_view, text_of

from bot.slack.lists import LIST_ACTION
from bot.slack.messages import CHOOSE_ACTION
from engine.clock import ManualClock
from engine.engine import Engine
from engine.model import Execution
from engine.states import State

DEPLOYS = """
id: deploys
namespace: company.platform
inputs:
  - id: service
    type: STRING
    defaults: checkout-api
  - id: replicas
    type: INT
    defaults: 3
tasks:
  - id: gate
    type: io.kestra.plugin.core.flow.Pause
    description: "Deploy {{ inputs.service }} to production?"
    pauseDuration: PT2H
    behavior: CANCEL
  - id: done
    type: io.kestra.plugin.core.log.Log
    message: done
"""
EXPENSES = """
id: expenses
namespace: company.finance
tasks:
  - id: gate
    type: io.kestra.plugin.core.flow.Pause
    description: Approve the expense report?
    pauseDuration: PT8H
  - id: done
    type: io.kestra.plugin.core.log.Log
    message: done
"""
ACCESS = """
id: access
namespace: company.security
tasks:
  - id: gate
    type: io.kestra.plugin.core.flow.Pause
    description: Grant production access?
    assignment:
      users: ["U1"]
  - id: done
    type: io.kestra.plugin.core.log.Log
    message: done
"""
FLOWS = {"deploys": DEPLOYS, "expenses": EXPENSES, "access": ACCESS}


def quiet(slack: SlackHarness) -> None:
    """No channel messages: these tests look at the lists only."""
    portal = slack.client.portal
    assert portal is not None
    portal.call(slack.bot.notifier.stop)


def fill(slack: SlackHarness, counts: dict[str, int]) -> dict[str, list[Execution]]:
    clock = slack.engine.clock
    assert isinstance(clock, ManualClock)
    started: dict[str, list[Execution]] = {}
    for name, count in counts.items():
        slack.engine.deploy_flow(FLOWS[name])
    for index in range(max(counts.values(), default=0)):
        for name, count in counts.items():
            if index < count:
                namespace = {"deploys": "company.platform", "expenses": "company.finance"}.get(
                    name, "company.security"
                )
                execution = slack.engine.start_execution(
                    namespace, name, {}, via="api", by={"id": "U9", "name": "Deployer"}
                )
                started.setdefault(name, []).append(slack.engine.run_until_blocked(execution.id))
        clock.advance(1)
    return started


def paused(slack: SlackHarness, text: str = "", *, user: str = "U3", n: int = 1) -> list[dict]:
    slack.command(text, user=user)
    blocks = slack.responses(n)[n - 1].params["blocks"]
    assert_valid_message(blocks)
    for block in blocks:
        assert len(json.dumps(block.get("text") or "")) < 3000
    return blocks


def home(slack: SlackHarness, user: str = "U3", n: int = 1) -> dict:
    slack.event({"type": "app_home_opened", "user": user, "channel": "D0", "tab": "home"})
    view = slack.fake.wait_for("views.publish", n)[n - 1].params["view"]
    assert view["type"] == "home"
    assert_valid_view(view)
    return view


def entries(blocks: list[dict]) -> list[dict]:
    return [b for b in blocks if str(b.get("block_id", "")).startswith("pausebot:entry:")]


def groups(blocks: list[dict]) -> list[str]:
    return [
        b["text"]["text"]
        for b in blocks
        if str(b.get("block_id", "")).startswith("pausebot:group:")
    ]


def menu(entry: dict) -> list[tuple[str, str]]:
    accessory = entry["accessory"]
    assert accessory["type"] == "overflow" and accessory["action_id"] == LIST_ACTION
    return [(o["text"]["text"], o["value"]) for o in accessory["options"]]


def choose(slack: SlackHarness, option_value: str, *, user: str, surface: str = "message") -> None:
    """Picks an overflow option, as Slack sends it (block_actions with ``selected_option``)."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T0TEAM"},
        "api_app_id": "A0APP",
        "token": "deprecated",
        "team": {"id": "T0TEAM", "domain": "acme"},
        "trigger_id": f"trigger-{time.monotonic_ns()}",
        "actions": [
            {
                "action_id": LIST_ACTION,
                "block_id": "pausebot:entry:x",
                "type": "overflow",
                "selected_option": {
                    "text": {"type": "plain_text", "text": "x"},
                    "value": option_value,
                },
                "action_ts": "1767225700.000001",
            }
        ],
        "container": {
            "type": "message",
            "message_ts": "1767225600.000001",
            "channel_id": "C0CHAN",
            "is_ephemeral": True,
        },
        "channel": {"id": "C0CHAN", "name": "chan"},
        "message": {"type": "message", "ts": "1767225600.000001", "text": "x", "blocks": []},
        "response_url": slack.fake.response_url(f"{user}-{time.monotonic_ns()}"),
        "state": {"values": {}},
    }
    assert slack.interact(payload).status_code == 200


# -- 0 ---------------------------------------------------------------------------------------------


def test_nothing_waiting(slack: SlackHarness) -> None:
    blocks = paused(slack)
    assert "Nothing is waiting" in text_of(blocks) and "`/paused mine`" in text_of(blocks)
    assert "Nothing is waiting for you" in text_of(paused(slack, "mine", n=2))
    view = home(slack)
    assert "Waiting for you (0)" in text_of(view["blocks"])
    assert "Nothing is waiting for you" in text_of(view["blocks"])
    assert "Everything else" not in text_of(view["blocks"])


# -- 1 ---------------------------------------------------------------------------------------------


def test_one_entry_says_what_a_person_needs_and_decides_from_its_menu(slack: SlackHarness) -> None:
    quiet(slack)
    (execution,) = fill(slack, {"deploys": 1})["deploys"]
    blocks = paused(slack)
    (entry,) = entries(blocks)
    text = entry["text"]["text"]
    assert "*<https://pausebot.test/ui/executions/company.platform/deploys/" in text
    assert "Deploy checkout-api to production?" in text  # the question, not the flow id
    assert "Deployer via the API" in text  # who asked
    assert "asked <!date^" in text and "{ago}" in text  # how long it waited
    assert "then it is cancelled" in text  # the deadline and what happens then
    assert "checkout-api" in text and "3" in text  # key inputs
    options = menu(entry)
    assert [label for label, _ in options][:1] == ["Approve"]
    approve = next(v for label, v in options if label == "Approve")
    assert approve.startswith(CHOOSE_ACTION + ".approve")  # the message button it stands for
    choose(slack, approve, user="U2")
    slack.wait_execution(execution.id, lambda e: e.state.current != State.PAUSED)
    # Home: anyone may decide it, so it waits for U3 too.
    view = home(slack)
    assert "Waiting for you (0)" in text_of(view["blocks"])


def test_a_pause_the_caller_may_not_decide_says_why_and_only_opens(slack: SlackHarness) -> None:
    quiet(slack)
    fill(slack, {"access": 1})
    (entry,) = entries(paused(slack, user="U3"))
    assert "only" in entry["text"]["text"] and "may" in entry["text"]["text"]
    assert [label for label, _ in menu(entry)] == ["Open in pausebot"]
    (mine,) = entries(paused(slack, "mine", user="U1", n=2))
    assert "Approve" in [label for label, _ in menu(mine)]
    assert entries(paused(slack, "mine", user="U3", n=3)) == []


# -- 30 --------------------------------------------------------------------------------------------


def test_thirty_are_grouped_by_flow_nearest_deadline_first(slack: SlackHarness) -> None:
    quiet(slack)
    started = fill(slack, {"deploys": 10, "expenses": 10, "access": 10})
    blocks = paused(slack)
    shown = text_of(blocks)
    assert "*30 waiting* in 3 flows, the nearest deadline first" in shown
    heads = groups(blocks)
    assert [h.split("*")[1] for h in heads] == [
        "company.platform.deploys",  # due in 2 h
        "company.finance.expenses",  # due in 8 h
        "company.security.access",  # no deadline
    ]
    assert all("10 waiting" in h for h in heads)
    first = entries(blocks)[0]
    assert started["deploys"][0].id in json.dumps(first)  # the one due first
    assert len(blocks) <= 50 and len(json.dumps(blocks)) < 13_000
    assert len(entries(blocks)) == 6  # two per flow
    print(f"/paused with 30: {len(blocks)} blocks, {len(json.dumps(blocks))} characters")
    # "Show all 10" lists one flow, a page at a time.
    show_all = next(
        b["accessory"] for b in blocks if b.get("accessory", {}).get("type") == "button"
    )
    slack.click(show_all["action_id"], show_all["value"], user="U3")
    page = slack.responses(2)[1].params["blocks"]
    assert_valid_message(page)
    assert "10 waiting" in text_of(page) and "Page 1 of 2" in text_of(page)
    ids = [e["block_id"] for e in entries(page)]
    assert len(ids) == 6
    assert all(d.id in json.dumps(page) for d in started["deploys"][:6])


def test_thirty_on_home_put_what_waits_for_you_first(slack: SlackHarness) -> None:
    quiet(slack)
    started = fill(slack, {"deploys": 10, "expenses": 10, "access": 10})
    view = home(slack, user="U3")  # not assigned to access
    shown = text_of(view["blocks"])
    assert "Waiting for you (20)" in shown and "Everything else waiting (10)" in shown
    assert shown.index("Waiting for you") < shown.index("Everything else")
    heads = groups(view["blocks"])  # 20 of mine: grouped by flow, then the others' flows
    assert [h.split("*")[1] for h in heads] == [
        "company.platform.deploys",
        "company.finance.expenses",
        "company.security.access",
    ]
    assert started["deploys"][0].id in json.dumps(entries(view["blocks"])[0])  # nearest first
    other = home(slack, user="U1", n=2)  # U1 may decide everything
    assert "Waiting for you (30)" in text_of(other["blocks"])
    assert "Everything else" not in text_of(other["blocks"])


def test_paused_mine_lists_what_the_caller_may_decide(slack: SlackHarness) -> None:
    quiet(slack)
    fill(slack, {"access": 12, "expenses": 1})
    blocks = paused(slack, "mine", user="U3")
    assert "*1 waiting for you*" in text_of(blocks)
    assert len(entries(blocks)) == 1
    blocks = paused(slack, "mine", user="U1", n=2)
    assert "*13 waiting for you*" in text_of(blocks)


# -- 1,000 -----------------------------------------------------------------------------------------


def test_a_thousand_stay_within_block_kit_limits(
    slack: SlackHarness, sqlite_engine: Engine
) -> None:
    quiet(slack)
    fill(slack, {"deploys": 400, "expenses": 300, "access": 300})
    began = time.perf_counter()
    blocks = paused(slack)
    print(
        f"/paused with 1000: answered in {time.perf_counter() - began:.3f} s (printed, not asserted)"
    )
    shown = text_of(blocks)
    assert "*1000 waiting* in 3 flows" in shown
    assert groups(blocks)[0].split("*")[1] == "company.platform.deploys"
    assert any("400 waiting" in h for h in groups(blocks))
    assert len(blocks) <= 50 and len(json.dumps(blocks)) < 13_000
    mine = paused(slack, "mine", user="U3", n=2)
    assert "*700 waiting for you*" in text_of(mine)
    began = time.perf_counter()
    view = home(slack, user="U3")
    print(
        f"Home with 1000: published in {time.perf_counter() - began:.3f} s, "
        f"{len(view['blocks'])} blocks, {len(json.dumps(view))} characters"
    )
    shown = text_of(view["blocks"])
    assert "Waiting for you (700)" in shown and "Everything else waiting (300)" in shown
    assert len(view["blocks"]) <= 100


def test_home_is_refreshed_when_a_pause_is_decided(slack: SlackHarness) -> None:
    (execution,) = fill(slack, {"expenses": 1})["expenses"]
    slack.posted(1)
    view = home(slack, user="U3")
    assert execution.id in json.dumps(view) and "Waiting for you (1)" in text_of(view["blocks"])
    # A decision anywhere re-publishes the tab (one read for every recent viewer).
    slack.engine.resume_execution(execution.id, {}, by={"id": "api", "name": "Api"}, via="api")
    refreshed = slack.fake.wait_for(
        "views.publish", where=lambda c: execution.id not in json.dumps(c.params)
    )[-1].params["view"]
    assert "Nothing is waiting for you" in text_of(refreshed["blocks"])


def test_many_of_mine_on_home_are_grouped_with_counts(slack: SlackHarness) -> None:
    quiet(slack)
    fill(slack, {"deploys": 20, "expenses": 20})
    view = home(slack, user="U3")
    heads = groups(view["blocks"])
    assert "Waiting for you (40)" in text_of(view["blocks"])
    assert [h.split("*")[1] for h in heads] == [
        "company.platform.deploys",
        "company.finance.expenses",
    ]
    assert all("20 waiting" in h for h in heads)
    assert len(entries(view["blocks"])) == 6  # three of each
