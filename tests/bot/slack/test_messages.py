"""The approval message: posted from the outbox when a Pause is reached, kept true whatever
decides the pause, delivered once despite rate limits, errors and restarts."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

from conftest import DEFAULT_CHANNEL, PUBLIC_URL
from slack_harness import (
    SlackHarness,
    assert_valid_message,
    button_labels,
    mrkdwn_of,
    text_of,
    wait_until,
)
from slack_sdk.web.async_client import AsyncWebClient
from support import EXAMPLES

from bot.slack.metrics import SlackMetrics
from bot.slack.notifier import CONSUMER, Notifier
from engine.clock import ManualClock
from engine.engine import Engine
from engine.model import Execution

FLOWS = Path(__file__).parent / "flows"
ADA_API = {"id": "ada", "name": "Ada"}


def start(engine: Engine, source: str, **kwargs: object) -> Execution:
    deployed = engine.deploy_flow(source)
    execution = engine.start_execution(
        deployed.flow.namespace, deployed.flow.id, via="api", **kwargs
    )  # type: ignore[arg-type]
    return engine.run_until_blocked(execution.id)


def deploy_approval(slack: SlackHarness) -> Execution:
    return start(
        slack.engine,
        (EXAMPLES / "deploy_approval.yml").read_text(),
        by={"id": "U9", "name": "Deployer"},
    )


def test_pause_posts_the_approval_message_with_buttons_and_link(slack: SlackHarness) -> None:
    execution = deploy_approval(slack)
    call = slack.posted()[0]
    assert call.params["channel"] == "#deploys"  # the flow's slack-channel label
    assert call.params["unfurl_links"] is False and call.params["unfurl_media"] is False
    assert call.headers["Authorization"] == "Bearer xoxb-test-token"
    blocks = call.params["blocks"]
    assert_valid_message(blocks)
    assert button_labels(blocks) == [
        "Approve as is",
        "Approve with changes…",
        "Reject…",
        "Open in pausebot",
    ]
    shown = text_of(blocks)
    url = f"{PUBLIC_URL}/ui/executions/company.platform/deploy_approval/{execution.id}"
    assert url in str(blocks)
    # The header is the question; the flow and execution ids are in the context line.
    assert blocks[0] == {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": "Deploy checkout-api 1.4.2 to production?",
            "emoji": True,
        },
    }
    assert f"`company.platform.deploy_approval` · execution <{url}|{execution.id}>" in shown
    assert "Deployer via the API" in shown  # who started it (U9 is not a Slack user id shape)
    assert "*canary_percent*\n10" in shown  # key inputs
    assert "then it is cancelled" in shown  # the deadline and what happens then
    assert "*Approve as is* keeps When may it roll out?: *now*" in shown
    assert call.params["text"].startswith("Deploy checkout-api 1.4.2 to production?")
    # channel and ts are kept for later updates (recorded just after the post returns)
    wait_until(lambda: bool(slack.engine.outbox.notices(CONSUMER, execution.id)))
    notices = slack.engine.outbox.notices(CONSUMER, execution.id)
    assert [(run_id, ref["channel"], ref["ts"]) for run_id, ref in notices] == [
        (execution.paused_task_runs()[0].id, "C0DEPLOYS", call_ts(slack))
    ]


def call_ts(slack: SlackHarness) -> str:
    return next(iter(slack.fake.messages))[1]


def test_default_channel_and_escaped_text(slack: SlackHarness) -> None:
    start(slack.engine, (FLOWS / "no_inputs.yml").read_text())
    call = slack.posted()[0]
    assert call.params["channel"] == DEFAULT_CHANNEL
    blocks = call.params["blocks"]
    assert blocks[0]["text"] == {
        "type": "plain_text",  # shown literally: plain text is never parsed for mentions
        "text": "Restart the <!channel> & friends' cache?",
        "emoji": True,
    }
    assert "<!channel>" not in mrkdwn_of(blocks)
    assert "<!channel>" not in call.params["text"]  # the notification text is mrkdwn too
    assert "&lt;!channel&gt;" in call.params["text"]
    assert button_labels(blocks) == ["Approve", "Reject…", "Open in pausebot"]


def test_long_texts_and_odd_characters_stay_within_block_kit_limits(slack: SlackHarness) -> None:
    start(slack.engine, (FLOWS / "every_type.yml").read_text())
    blocks = slack.posted()[0].params["blocks"]
    assert_valid_message(blocks)
    shown = mrkdwn_of(blocks)
    assert (
        "<https://evil.example|this>" not in shown and "&lt;https://evil.example|this&gt;" in shown
    )
    # an input value cannot mention anyone, nor format: its markers sit between zero-width spaces
    z = "\u200b"
    assert f"&lt;@U999&gt; &amp; {z}*{z}bold{z}*{z}" in shown
    assert "s3cr3t" not in str(blocks)  # SECRET inputs are masked


def test_api_decision_updates_the_message(slack: SlackHarness) -> None:
    execution = deploy_approval(slack)
    slack.posted()
    slack.engine.resume_execution(
        execution.id, {"approved": "true", "window": "tonight"}, by=ADA_API, via="api"
    )
    update = slack.fake.wait_for("chat.update")[0]
    assert update.params["channel"] == "C0DEPLOYS"
    blocks = update.params["blocks"]
    assert_valid_message(blocks)
    assert button_labels(blocks) == []
    shown = text_of(blocks)
    assert "*Approved* by Ada via the API" in shown
    assert "<!date^" in shown  # when, in the reader's time zone
    assert "*When may it roll out?*\ntonight" in shown  # the values given
    assert "*canary_percent*\n10" in shown  # the key inputs stay
    # The execution finishing updates it once more, saying how it ended.
    slack.engine.run_until_blocked(execution.id)
    # (The notifier may update it more than once: it re-reads the state after posting.)
    final = slack.fake.wait_for(
        "chat.update", where=lambda c: "The execution ended" in text_of(c.params["blocks"])
    )[-1]
    assert "The execution ended: *SUCCESS*" in text_of(final.params["blocks"])


def test_timer_and_kill_update_the_message(slack: SlackHarness, clock: ManualClock) -> None:
    timed = start(slack.engine, (FLOWS / "timer.yml").read_text())
    killed = start(slack.engine, (FLOWS / "no_inputs.yml").read_text())
    slack.posted(2)
    clock.advance(timedelta(minutes=2))
    slack.engine.run_until_blocked(timed.id)
    slack.engine.kill_execution(
        killed.id, by={"id": "ops", "name": "Ops"}, via="api", reason="not <today>"
    )

    def shown() -> list[str]:
        return [text_of(message.blocks) for message in list(slack.fake.messages.values())]

    # Each message is updated once per event (decision, then end); wait for the last words.
    wait_until(lambda: all("The execution ended" in text for text in shown()))
    timer_text, kill_text = shown()
    assert "*Nobody decided*; it timed out" in timer_text and "it was cancelled" in timer_text
    assert "Approved" not in timer_text and "Yes" not in timer_text  # no default shown as chosen
    assert "*Nobody decided*; the execution was killed by Ops via the API" in kill_text
    assert "not &lt;today&gt;" in kill_text


def test_ratelimit_honours_retry_after_and_posts_once(
    slack_any: SlackHarness, clock: ManualClock
) -> None:
    slack = slack_any
    clock = slack.engine.clock  # type: ignore[assignment]
    slack.fake.fail("chat.postMessage", status=429, retry_after=30)
    execution = start(slack.engine, (FLOWS / "no_inputs.yml").read_text())
    slack.posted(1)  # the refused attempt
    time.sleep(0.3)
    assert len(slack.fake.calls_to("chat.postMessage")) == 1  # not before Retry-After
    assert slack.bot.metrics.value("delivery_retries_total", reason="ratelimited") == 1
    clock.advance(timedelta(seconds=31))
    slack.bot.notifier.wake()
    slack.posted(2)
    time.sleep(0.3)
    assert len(slack.fake.calls_to("chat.postMessage")) == 2
    assert len(slack.fake.messages) == 1
    assert len(slack.engine.store.notices(CONSUMER, execution.id)) == 1
    assert slack.engine.store.outbox_backlog(CONSUMER) == 0


def test_server_errors_back_off_then_deliver(slack: SlackHarness, clock: ManualClock) -> None:
    slack.fake.fail("chat.postMessage", status=500, times=2)
    start(slack.engine, (FLOWS / "no_inputs.yml").read_text())
    for attempt in (1, 2, 3):
        slack.posted(attempt)
        if attempt < 3:
            # The retry's time is taken when the failure is handled: move the clock only after.
            wait_until(
                lambda n=attempt: (
                    slack.bot.metrics.value("delivery_retries_total", reason="server") == n
                )
            )
        clock.advance(timedelta(seconds=10))
        slack.bot.notifier.wake()
    assert len(slack.fake.messages) == 1
    assert slack.bot.metrics.value("delivery_retries_total", reason="server") == 2


def test_permanent_error_is_logged_on_the_execution_and_not_retried(
    slack: SlackHarness, clock: ManualClock
) -> None:
    execution = start(
        slack.engine, (FLOWS / "no_inputs.yml").read_text(), labels={"slack-channel": "#nowhere"}
    )
    slack.posted(1)
    deadline = time.monotonic() + 5
    while slack.engine.store.failed_deliveries(CONSUMER) != 1:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    clock.advance(timedelta(hours=1))
    slack.bot.notifier.wake()
    time.sleep(0.3)
    assert len(slack.fake.calls_to("chat.postMessage")) == 1
    logs = [e.message for e in slack.engine.logs(execution.id) if e.level == "ERROR"]
    expected = (
        "Slack: could not post the approval message in #nowhere: channel_not_found. "
        "Invite the bot or fix the channel."
    )
    assert logs == [expected]
    assert slack.bot.metrics.value("delivery_failures_total", error="channel_not_found") == 1
    assert slack.bot.delivery_status() == {"backlog": 0, "failed": 1}


def fresh_notifier(slack: SlackHarness) -> Notifier:
    client = AsyncWebClient(token="xoxb-test-token", base_url=slack.fake.url)
    return Notifier(slack.engine, client, default_channel=DEFAULT_CHANNEL, metrics=SlackMetrics())


def test_a_restarted_notifier_does_not_post_again(slack_any: SlackHarness) -> None:
    slack = slack_any
    first = start(slack.engine, (FLOWS / "no_inputs.yml").read_text())
    slack.posted()
    portal = slack.client.portal
    assert portal is not None
    portal.call(slack.bot.notifier.stop)
    restarted = fresh_notifier(slack)
    portal.call(restarted.start)
    try:
        second = start(slack.engine, (FLOWS / "reason_reject.yml").read_text())
        posts = slack.posted(2)
        time.sleep(0.3)
        assert len(slack.fake.calls_to("chat.postMessage")) == 2
        assert first.id in json.dumps(posts[0].params) and second.id in json.dumps(posts[1].params)
    finally:
        portal.call(restarted.stop)


def test_a_crash_between_posting_and_recording_the_delivery_does_not_post_twice(
    slack_any: SlackHarness,
) -> None:
    slack = slack_any
    clock = slack.engine.clock
    assert isinstance(clock, ManualClock)
    portal = slack.client.portal
    assert portal is not None
    portal.call(slack.bot.notifier.stop)
    execution = start(slack.engine, (FLOWS / "no_inputs.yml").read_text())
    crashed = fresh_notifier(slack)
    claimed = slack.engine.store.claim_events(CONSUMER, clock.now(), lease=timedelta(seconds=60))
    assert [e.kind for e in claimed] == ["created", "paused"]
    portal.call(crashed.deliver, claimed)  # posts and records the notice, then "dies"
    assert len(slack.fake.calls_to("chat.postMessage")) == 1
    clock.advance(61)  # its lease runs out; another replica (or the restart) takes the event
    successor = fresh_notifier(slack)
    assert portal.call(successor.run_once) == 2
    assert len(slack.fake.calls_to("chat.postMessage")) == 1
    assert slack.engine.store.outbox_backlog(CONSUMER) == 0
    assert len(slack.engine.store.notices(CONSUMER, execution.id)) == 1
