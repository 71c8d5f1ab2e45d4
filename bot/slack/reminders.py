"""When a pause still waiting is re-announced, and what the reminder says.

The schedule is per flow, from labels (flow or execution labels, so flows stay valid Kestra
YAML), falling back to the settings:

- ``slack-remind-after`` (``PAUSEBOT_SLACK_REMIND_AFTER``): ISO-8601 duration from the moment
  the pause was reached to the first reminder, e.g. ``PT4H``; ``off`` for none. Unset: none.
- ``slack-remind-every`` (``PAUSEBOT_SLACK_REMIND_EVERY``): the interval between further
  reminders; unset, it is the ``after`` duration.
- ``slack-remind-max`` (``PAUSEBOT_SLACK_REMIND_MAX``, default 3): at most that many reminders.

A reminder is posted in the thread of the channel message and as a new direct message to each
assignee who was sent one, with the same buttons. It is a durable timer of the engine's outbox
(``Engine.outbox.schedule_reminder``), turned into a ``reminder`` event in the transaction
that re-reads the pause, so no reminder is emitted once the pause is decided, and each is
delivered with the notifier's usual guarantees (retries, at most once per target). Reminders
are not scheduled past the pause's deadline: it decides itself then.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock

from bot.config import Settings
from bot.slack import texts
from bot.slack.blocks import Message
from bot.slack.messages import approval_message
from bot.slack.mrkdwn import ago
from bot.slack.pauses import Pause
from bot.slack.summary import Summary
from engine.clock import parse_iso
from engine.inputs import parse_duration
from engine.states import State

log = logging.getLogger(__name__)

AFTER_LABEL = "slack-remind-after"
EVERY_LABEL = "slack-remind-every"
MAX_LABEL = "slack-remind-max"
_OFF = frozenset({"off", "none", "false", "no", "0"})


@dataclass(frozen=True)
class ReminderPlan:
    first_at: datetime
    every: timedelta | None
    count: int


def reminder_plan(pause: Pause, settings: Settings, now: datetime) -> ReminderPlan | None:
    """The reminders ``pause`` should get, or None. A label that is not a valid duration or
    count is logged and ignored (the setting applies)."""
    labels = pause.execution.label_map()
    after = _duration(labels.get(AFTER_LABEL), settings.slack_remind_after, AFTER_LABEL)
    if after is None:
        return None
    every = _duration(labels.get(EVERY_LABEL), settings.slack_remind_every, EVERY_LABEL) or after
    count = _count(labels.get(MAX_LABEL), settings.slack_remind_max)
    if count < 1:
        return None
    first = (_moment(pause.run.state.entered(State.PAUSED)) or now) + after
    deadline = _moment(pause.run.deadline)
    if deadline is not None:
        # Only reminders that come before the pause decides itself.
        fits = 0
        at = first
        while fits < count and at < deadline:
            fits += 1
            at += every
        count = fits
        if count < 1:
            return None
    return ReminderPlan(first, every if count > 1 else None, count)


def _duration(label: str | None, setting: str | None, name: str) -> timedelta | None:
    if label is not None and label.strip():
        text = label.strip()
        if text.lower() in _OFF:
            return None
        try:
            value = parse_duration(text)
            if value > timedelta(0):
                return value
        except ValueError:
            pass
        log.warning("Slack: label %s=%r is not a positive ISO-8601 duration; ignored", name, text)
    return parse_duration(setting) if setting else None


def _count(label: str | None, setting: int) -> int:
    if label is not None and label.strip():
        try:
            return max(0, min(100, int(label.strip())))
        except ValueError:
            log.warning("Slack: label %s=%r is not a whole number; ignored", MAX_LABEL, label)
    return setting


def _moment(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return parse_iso(text)
    except (ValueError, TypeError):
        return None


def reminder_message(
    pause: Pause, number: int, now: datetime, summary: Summary | None = None
) -> Message:
    """The message again, with a line on top saying it is a reminder (same buttons)."""
    base = approval_message(pause, summary)
    asked = pause.run.state.entered(State.PAUSED)
    line = texts.reminder_line(number, ago(asked) if asked else ago(now))
    top = SectionBlock(text=MarkdownTextObject(text=line)).to_dict()
    return Message(texts.reminder_fallback(base.text), [top, *base.blocks][:50])
