"""Reminders: a pause still waiting is re-announced in its message's thread and to its
assignees, at most N times, from the outbox; never after a decision; across restarts."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from slack_harness import SlackHarness, assert_valid_message, buttons, text_of, wait_until
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import load_settings
from bot.slack.metrics import SlackMetrics
from bot.slack.notifier import CONSUMER, Notifier
from engine.clock import ManualClock
from engine.engine import Engine
from engine.model import Execution
from engine.outbox import REMINDER_EVENT

FLOWS = Path(__file__).parent / "flows"


def start(engine: Engine, name: str, **kwargs: object) -> Execution:
    deployed = engine.deploy_flow((FLOWS / name).read_text())
    execution = engine.start_execution(
        deployed.flow.namespace, deployed.flow.id, via="api", **kwargs
    )  # type: ignore[arg-type]
    return engine.run_until_blocked(execution.id)


def targets(slack: SlackHarness, execution_id: str) -> list[str]:
    return sorted(ref["to"] for _, ref in slack.engine.outbox.notices(CONSUMER, execution_id))


def reminders_posted(slack: SlackHarness) -> list[dict]:
    return [
        c.params
        for c in slack.fake.calls_to("chat.postMessage")
        if str(c.params.get("text", "")).startswith("Reminder:")
    ]


def later(slack: SlackHarness, clock: ManualClock, hours: float) -> None:
    clock.advance(timedelta(hours=hours))
    slack.bot.notifier.wake()


def test_reminders_in_the_thread_and_to_assignees_at_most_n_times(
    slack: SlackHarness, clock: ManualClock
) -> None:
    execution = start(slack.engine, "reminded.yml")
    wait_until(lambda: targets(slack, execution.id) == ["channel", "dm:U1"])
    wait_until(lambda: bool(slack.engine.outbox.reminders(CONSUMER, execution.id)))
    channel_ts = next(
        ref["ts"]
        for _, ref in slack.engine.outbox.notices(CONSUMER, execution.id)
        if ref["to"] == "channel"
    )
    later(slack, clock, 3.9)
    time.sleep(0.3)
    assert reminders_posted(slack) == []  # not before four hours
    later(slack, clock, 0.1)
    wait_until(lambda: len(reminders_posted(slack)) == 2)
    thread, direct = sorted(reminders_posted(slack), key=lambda p: p["channel"])
    assert thread["channel"] == "C0FINANCE" and thread["thread_ts"] == channel_ts
    assert direct["channel"] == "D1" and "thread_ts" not in direct
    for posted in (thread, direct):
        assert_valid_message(posted["blocks"])
        assert "Reminder" in text_of(posted["blocks"][:1])
        assert "pausebot.choose.approve.now" in buttons(posted["blocks"])
    later(slack, clock, 1)
    wait_until(lambda: len(reminders_posted(slack)) == 4)
    assert "Reminder (2nd)" in text_of(reminders_posted(slack)[-1]["blocks"][:1])
    later(slack, clock, 5)
    time.sleep(0.3)
    assert len(reminders_posted(slack)) == 4  # slack-remind-max: 2
    assert targets(slack, execution.id) == [
        "channel",
        "dm:U1",
        "reminder:1:channel",
        "reminder:1:dm:U1",
        "reminder:2:channel",
        "reminder:2:dm:U1",
    ]
    # A decision updates the reminders too: none keeps buttons that no longer work.
    slack.engine.resume_execution(execution.id, {}, by={"id": "U1", "name": "Ada"}, via="api")
    wait_until(lambda: all(m.updates >= 1 for m in slack.fake.messages.values()))
    for message in slack.fake.messages.values():
        assert not [b for b in buttons(message.blocks) if b.startswith("pausebot.choose")]


def test_no_reminder_after_a_decision(slack: SlackHarness, clock: ManualClock) -> None:
    execution = start(slack.engine, "reminded.yml")
    wait_until(lambda: targets(slack, execution.id) == ["channel", "dm:U1"])
    wait_until(lambda: bool(slack.engine.outbox.reminders(CONSUMER, execution.id)))
    slack.engine.resume_execution(execution.id, {}, via="api")
    later(slack, clock, 10)
    time.sleep(0.3)
    assert reminders_posted(slack) == []
    kinds = [e.kind for e in slack.engine.store.events_for(execution.id)]
    assert REMINDER_EVENT not in kinds
    assert slack.engine.outbox.reminders(CONSUMER, execution.id) == []


def test_a_reminder_emitted_then_overtaken_by_a_decision_is_not_posted(
    slack: SlackHarness, clock: ManualClock
) -> None:
    execution = start(slack.engine, "reminded.yml")
    wait_until(lambda: targets(slack, execution.id) == ["channel", "dm:U1"])
    wait_until(lambda: bool(slack.engine.outbox.reminders(CONSUMER, execution.id)))
    portal = slack.client.portal
    assert portal is not None
    portal.call(slack.bot.notifier.stop)
    clock.advance(timedelta(hours=4))
    assert slack.engine.outbox.fire_due_reminders(CONSUMER) == 1  # emitted while it waited
    slack.engine.resume_execution(execution.id, {}, via="api")  # decided before delivery
    notifier = fresh_notifier(slack)
    portal.call(notifier.run_once)
    assert reminders_posted(slack) == []
    assert slack.engine.outbox.backlog(CONSUMER) == 0


def fresh_notifier(slack: SlackHarness, **settings: object) -> Notifier:
    client = AsyncWebClient(token="xoxb-test-token", base_url=slack.fake.url)
    return Notifier(
        slack.engine,
        client,
        default_channel="C0DEFAULT",
        metrics=SlackMetrics(),
        settings=load_settings(**settings),  # type: ignore[arg-type]
    )


def test_the_reminder_survives_a_restart(
    make_slack: Callable[..., SlackHarness], sqlite_url: str, clock: ManualClock
) -> None:
    first_engine = Engine(sqlite_url, clock=clock)
    slack = make_slack(first_engine)
    execution = start(first_engine, "reminded.yml")
    wait_until(lambda: targets(slack, execution.id) == ["channel", "dm:U1"])
    wait_until(lambda: bool(slack.engine.outbox.reminders(CONSUMER, execution.id)))
    portal = slack.client.portal
    assert portal is not None
    portal.call(slack.bot.notifier.stop)  # the process "dies"
    clock.advance(timedelta(hours=6))
    second_engine = Engine(sqlite_url, clock=clock)  # a new process on the same database
    try:
        restarted = Notifier(
            second_engine,
            AsyncWebClient(token="xoxb-test-token", base_url=slack.fake.url),
            default_channel="C0DEFAULT",
            metrics=SlackMetrics(),
        )
        portal.call(restarted.run_once)
        assert len(reminders_posted(slack)) == 2
        portal.call(restarted.run_once)
        assert len(reminders_posted(slack)) == 2  # one now, the next an interval later
    finally:
        second_engine.close()
        first_engine.close()


def test_the_setting_applies_where_a_flow_has_no_label(
    make_slack: Callable[..., SlackHarness], sqlite_engine: Engine, clock: ManualClock
) -> None:
    slack = make_slack(sqlite_engine, slack_remind_after="PT30M", slack_remind_max=1)
    execution = start(slack.engine, "no_inputs.yml")
    wait_until(lambda: len(slack.engine.outbox.reminders(CONSUMER, execution.id)) == 1)
    (timer,) = slack.engine.outbox.reminders(CONSUMER, execution.id)
    assert timer["remaining"] == 1 and timer["every_seconds"] is None
    later(slack, clock, 0.5)
    wait_until(lambda: len(reminders_posted(slack)) == 1)
    off = start(slack.engine, "no_inputs.yml", labels={"slack-remind-after": "off"})
    wait_until(lambda: targets(slack, off.id) == ["channel"])
    time.sleep(0.2)
    assert slack.engine.outbox.reminders(CONSUMER, off.id) == []


def test_no_reminder_is_planned_past_the_deadline(sqlite_engine: Engine) -> None:
    """A pause that decides itself in 5 h, reminded after 2 h and then every 2 h: two fit."""
    from bot.slack.pauses import pause_of
    from bot.slack.reminders import reminder_plan

    source = (FLOWS / "timer.yml").read_text().replace("PT1M", "PT5H")
    deployed = sqlite_engine.deploy_flow(source)
    started = sqlite_engine.start_execution(
        deployed.flow.namespace,
        deployed.flow.id,
        via="api",
        labels={"slack-remind-after": "PT2H", "slack-remind-every": "PT2H"},
    )
    execution = sqlite_engine.run_until_blocked(started.id)
    pause = pause_of(sqlite_engine, execution, execution.paused_task_runs()[0].id)
    settings = load_settings(slack_remind_max=5)
    plan = reminder_plan(pause, settings, sqlite_engine.clock.now())
    assert plan is not None and plan.count == 2 and plan.every == timedelta(hours=2)
    bad = load_settings(slack_remind_after="PT1H")
    labelled = {"slack-remind-after": "soon", "slack-remind-max": "x"}  # ignored, logged
    sqlite_engine.set_labels(execution.id, labelled)
    relabelled = sqlite_engine.get_execution(execution.id)
    pause = pause_of(sqlite_engine, relabelled, relabelled.paused_task_runs()[0].id)
    plan = reminder_plan(pause, bad, sqlite_engine.clock.now())
    # The setting's PT1H applies, still every 2 h (label), max 3: at 1 h and 3 h, not at 5 h.
    assert plan is not None and plan.count == 2
    assert plan.first_at == sqlite_engine.clock.now() + timedelta(hours=1)
