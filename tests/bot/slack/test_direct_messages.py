"""Assignees get a direct message with the same buttons when a pause is reached, and every such
message is kept true like the channel message (chat.update on any decision)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from slack_harness import SlackHarness, assert_valid_message, buttons, text_of, wait_until

from bot.slack.notifier import CONSUMER
from engine.clock import ManualClock
from engine.engine import Engine
from engine.model import Execution
from engine.states import State

FLOWS = Path(__file__).parent / "flows"


def start(engine: Engine, name: str, **kwargs: object) -> Execution:
    deployed = engine.deploy_flow((FLOWS / name).read_text())
    execution = engine.start_execution(
        deployed.flow.namespace, deployed.flow.id, via="api", **kwargs
    )  # type: ignore[arg-type]
    return engine.run_until_blocked(execution.id)


def targets(slack: SlackHarness, execution_id: str) -> list[str]:
    return sorted(ref["to"] for _, ref in slack.engine.outbox.notices(CONSUMER, execution_id))


def test_assignees_get_a_direct_message_with_the_same_buttons(slack: SlackHarness) -> None:
    execution = start(slack.engine, "assigned_dm.yml")
    # U1 by id, Bob by e-mail and again through @sre: one message each; the unknown address
    # is skipped and said on the execution's log.
    wait_until(lambda: len(targets(slack, execution.id)) == 3)
    assert targets(slack, execution.id) == ["channel", "dm:U1", "dm:U2"]
    by_channel = {c.params["channel"]: c.params for c in slack.fake.calls_to("chat.postMessage")}
    assert set(by_channel) == {"C0FINANCE", "U1", "U2"}
    channel_message = by_channel["C0FINANCE"]
    for user in ("U1", "U2"):
        assert_valid_message(by_channel[user]["blocks"])
        assert buttons(by_channel[user]["blocks"]) == buttons(channel_message["blocks"])
        assert by_channel[user]["text"] == channel_message["text"]
    assert slack.fake.calls_to("users.lookupByEmail")
    wait_until(lambda: any(e.level == "WARN" for e in slack.engine.logs(execution.id)))
    warnings = [e.message for e in slack.engine.logs(execution.id) if e.level == "WARN"]
    assert warnings == [
        "Slack: no direct message to nobody@example.com (no Slack user with this e-mail)."
    ]
    assert slack.bot.metrics.value("direct_messages_total") == 2


def test_every_direct_message_is_updated_on_a_decision(slack: SlackHarness) -> None:
    execution = start(slack.engine, "assigned_dm.yml")
    wait_until(lambda: len(targets(slack, execution.id)) == 3)
    slack.engine.resume_execution(execution.id, {}, by={"id": "U2", "name": "Bob"}, via="api")
    wait_until(lambda: all(m.updates >= 1 for m in slack.fake.messages.values()))
    assert {m.channel for m in slack.fake.messages.values()} == {"C0FINANCE", "D1", "D2"}
    texts = {m.channel: text_of(m.blocks) for m in slack.fake.messages.values()}
    for message in slack.fake.messages.values():
        assert buttons(message.blocks) == [b for b in buttons(message.blocks) if "open" in b]
    assert texts["D1"] == texts["C0FINANCE"] == texts["D2"]
    assert slack.engine.get_execution(execution.id).state.current != State.PAUSED


def test_direct_messages_can_be_turned_off(
    make_slack: Callable[..., SlackHarness], sqlite_engine: Engine
) -> None:
    slack = make_slack(sqlite_engine, slack_dm_assignees=False)
    off = start(slack.engine, "assigned_dm.yml")
    wait_until(lambda: targets(slack, off.id) == ["channel"])
    # A flow's label turns them back on where the setting is off.
    on = start(slack.engine, "assigned_dm.yml", labels={"slack-dm-assignees": "true"})
    wait_until(lambda: len(targets(slack, on.id)) == 3)
    time.sleep(0.2)
    assert targets(slack, off.id) == ["channel"]


def test_a_label_turns_them_off_for_one_flow(slack: SlackHarness) -> None:
    execution = start(slack.engine, "assigned_dm.yml", labels={"slack-dm-assignees": "false"})
    wait_until(lambda: targets(slack, execution.id) == ["channel"])
    time.sleep(0.2)
    assert {c.params["channel"] for c in slack.fake.calls_to("chat.postMessage")} == {"C0FINANCE"}


def test_a_failed_direct_message_is_retried_without_posting_twice(
    slack: SlackHarness, clock: ManualClock
) -> None:
    slack.fake.fail("chat.postMessage", status=500, times=2)  # the channel post, then U1's
    execution = start(slack.engine, "assigned_dm.yml")
    for attempt in range(6):
        if len(targets(slack, execution.id)) == 3:
            break
        clock.advance(30)
        slack.bot.notifier.wake()
        time.sleep(0.2)
    wait_until(lambda: len(targets(slack, execution.id)) == 3)
    assert len(slack.fake.messages) == 3  # each target exactly once
    wait_until(lambda: slack.engine.outbox.backlog(CONSUMER) == 0)


def test_a_person_slack_will_not_message_is_logged_not_retried(slack: SlackHarness) -> None:
    slack.fake.users.pop("U1")  # U1 left the workspace: Slack answers user_not_found
    slack.fake.users["U2"]["profile"]["email"] = "bob@example.com"
    execution = start(slack.engine, "assigned_dm.yml")
    wait_until(lambda: targets(slack, execution.id) == ["channel", "dm:U2"])
    wait_until(
        lambda: any(
            "could not send a direct message to U1: user_not_found" in e.message
            for e in slack.engine.logs(execution.id)
        )
    )
    wait_until(lambda: slack.engine.outbox.backlog(CONSUMER) == 0)
    assert slack.engine.outbox.failed(CONSUMER) == 0
