"""The outbox consumer that keeps Slack true: posts the approval message when a Pause is reached
and updates every message posted for a pause when anything decides it.

Delivery rules:

- Events are claimed from the engine's outbox with a lease, so replicas never share one, and the
  engine's commit listener wakes this loop at once (the poll only catches other replicas' work
  and due retries).
- Messages are rendered from the execution's *current* state, never from the event, so updates
  are idempotent and their order does not matter: a late ``resumed`` shows what is true now.
- Each message is posted once: its channel and ``ts`` are recorded as a notice right after
  ``chat.postMessage``, one per *target* (``channel``, ``dm:<user>``, ``reminder:<n>:channel``,
  ``reminder:<n>:dm:<user>``), and a target that already has a notice is skipped (a restart
  re-delivering the event, or a second replica). A pause decided before we got to it is not
  posted at all.
- Assignees get a direct message with the same buttons (``bot/slack/recipients.py``), and
  reminders are re-announced in the thread and to them (``bot/slack/reminders.py``). Both are
  notices like the channel message, so the update on a decision keeps every one of them true.
- 429 waits for ``Retry-After``; 5xx and network errors back off exponentially; permanent errors
  (``channel_not_found``, ``not_in_channel``, ``invalid_auth`` …) fail the delivery at once, are
  logged on the execution and counted. Nothing is retried more than ``max_attempts`` times.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.outbox_consumer import OutboxConsumer
from bot.slack import texts
from bot.slack.blocks import Message
from bot.slack.messages import approval_message, pause_message
from bot.slack.metrics import SlackMetrics
from bot.slack.pauses import Pause, PauseGone, pause_of
from bot.slack.recipients import RecipientFinder, direct_messages_wanted
from bot.slack.reminders import reminder_message, reminder_plan
from bot.slack.summary import Summary, emails_to_resolve, summarize
from engine.clock import Clock
from engine.engine import Engine
from engine.errors import ExecutionNotFound
from engine.model import Execution
from engine.outbox import REMINDER_EVENT, NewEvent, OutboxEvent
from engine.states import State

log = logging.getLogger(__name__)

CONSUMER = "slack"
# What a Web API call can raise: Slack's answer, or the transport failing on the way.
SLACK_CALL_ERRORS = (SlackApiError, SlackClientError, aiohttp.ClientError, OSError, TimeoutError)
PAUSE_EVENTS = frozenset({"paused", "resumed", "killed", "finished", REMINDER_EVENT})
UPDATE_EVENTS = frozenset({"resumed", "killed", "finished"})

# Errors that will not go away by trying again (the bot is misconfigured, or the message is bad).
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "not_allowed_token_type",
        "team_access_not_granted",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "msg_blocks_too_long",
        "invalid_arguments",
    }
)
# Errors of a direct message that concern that one person (the channel message still stands).
DM_GONE_ERRORS = frozenset(
    {
        "user_not_found",
        "user_disabled",
        "cannot_dm_bot",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "messages_tab_disabled",
        "restricted_action",
    }
)
# chat.update errors that only mean this one message cannot be updated any more.
MESSAGE_GONE_ERRORS = frozenset(
    {
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
        "channel_not_found",
        "is_archived",
    }
)
SERVER_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
AUTH_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "missing_scope",
    }
)


@dataclass(frozen=True)
class SlackFailure:
    """What went wrong with one Web API call, classified for the retry decision."""

    kind: str  # ratelimited | server | network | permanent | gone
    code: str
    retry_after: float | None = None


class DeliveryFailed(Exception):
    def __init__(self, failure: SlackFailure, what: str, channel: str | None = None) -> None:
        self.failure, self.what, self.channel = failure, what, channel
        super().__init__(f"{what}: {failure.code}")


@dataclass(frozen=True)
class Outcome:
    event: OutboxEvent
    status: str  # done | retry | failed
    error: str = ""
    at: datetime | None = None
    log_line: str | None = None  # written on the execution's log when the delivery fails


def classify(error: BaseException) -> SlackFailure:
    if isinstance(error, SlackApiError):
        response: Any = error.response
        status = getattr(response, "status_code", None) or getattr(response, "status", None) or 0
        try:
            code = str(response.get("error") or status)
        except (AttributeError, TypeError):
            code = str(status)
        headers = getattr(response, "headers", None) or {}
        if status == 429 or code == "ratelimited":
            return SlackFailure("ratelimited", "ratelimited", _retry_after(headers))
        if status >= 500 or code in SERVER_ERRORS:
            return SlackFailure("server", code)
        if code in PERMANENT_ERRORS:
            return SlackFailure("permanent", code)
        return SlackFailure("unknown", code)
    if isinstance(error, SlackClientError | aiohttp.ClientError | OSError | TimeoutError):
        return SlackFailure("network", type(error).__name__)
    raise error


class Notifier(OutboxConsumer):
    consumer = CONSUMER
    label = "slack-notifier"

    def __init__(
        self,
        engine: Engine,
        client: AsyncWebClient,
        *,
        default_channel: str,
        metrics: SlackMetrics,
        clock: Clock | None = None,
        on_change: Callable[[], None] | None = None,
        people: Callable[[list[str]], Awaitable[dict[str, str]]] | None = None,
        poll_interval: float = 5.0,
        batch_size: int = 20,
        lease: timedelta = timedelta(seconds=60),
        max_attempts: int = 8,
        settings: Settings | None = None,
        recipients: RecipientFinder | None = None,
    ) -> None:
        self.engine = engine
        self.outbox = engine.outbox
        self.client = client
        self.default_channel = default_channel
        self.metrics = metrics
        self.clock = clock or engine.clock
        self.on_change = on_change
        self.people = people  # e-mail -> Slack id, for requester mentions
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self.lease = lease
        self.max_attempts = max_attempts
        self.settings = settings or Settings()
        self.recipients = recipients
        self._next_retry: datetime | None = None
        self._next_reminder: datetime | None = None
        self._init_loop()

    # -- the loop's parts (bot/outbox_consumer.py) ----------------------------------------------
    def wants(self, events: Sequence[NewEvent]) -> bool:
        return any(event.kind in PAUSE_EVENTS for event in events)

    def sleep_for(self) -> float:
        due = [at for at in (self._next_retry, self._next_reminder) if at is not None]
        if not due:
            return self.poll_interval
        due_in = (min(due) - self.clock.now()).total_seconds()
        return max(0.05, min(self.poll_interval, due_in))

    # -- one round --------------------------------------------------------------------------------
    async def run_once(self) -> int:
        """Claims what is due, delivers it, records the outcomes. Returns the number of events."""
        await self.fire_reminders()
        events = await asyncio.to_thread(
            self.outbox.claim, CONSUMER, limit=self.batch_size, lease=self.lease
        )
        if not events:
            return 0
        outcomes = await self.deliver(events)
        await self.settle(outcomes)
        return len(events)

    async def fire_reminders(self) -> int:
        """Turns due reminder timers into ``reminder`` events (the engine checks, in the same
        transaction, that the pause still waits). A read when nothing is due."""
        now = self.clock.now()
        due = await asyncio.to_thread(self.outbox.next_reminder_at, CONSUMER)
        fired = 0
        if due is not None and due <= now:
            fired = await asyncio.to_thread(self.outbox.fire_due_reminders, CONSUMER)
            due = await asyncio.to_thread(self.outbox.next_reminder_at, CONSUMER)
        self._next_reminder = due
        return fired

    async def deliver(self, events: Sequence[OutboxEvent]) -> list[Outcome]:
        """Does the Slack work for claimed events; records nothing in the outbox."""
        by_execution: dict[str, list[OutboxEvent]] = {}
        for event in events:
            by_execution.setdefault(event.execution_id, []).append(event)
        outcomes: list[Outcome] = []
        for execution_id, group in by_execution.items():
            outcomes.extend(await self._deliver_execution(execution_id, group))
        if self.on_change is not None and any(e.kind in PAUSE_EVENTS for e in events):
            self.on_change()
        return outcomes

    async def settle(self, outcomes: Sequence[Outcome]) -> None:
        now = self.clock.now()
        for outcome in outcomes:
            event = outcome.event
            if outcome.status == "done":
                await asyncio.to_thread(self.outbox.finish, CONSUMER, event.id)
            elif outcome.status == "retry":
                assert outcome.at is not None
                await asyncio.to_thread(
                    self.outbox.retry, CONSUMER, event.id, outcome.at, outcome.error
                )
                if (
                    self._next_retry is None
                    or outcome.at < self._next_retry
                    or self._next_retry <= now
                ):
                    self._next_retry = outcome.at
            else:
                await asyncio.to_thread(self.outbox.fail, CONSUMER, event.id, outcome.error)
                if outcome.log_line:
                    await asyncio.to_thread(
                        self.engine.log_on_execution, event.execution_id, "ERROR", outcome.log_line
                    )

    # -- the Slack work -------------------------------------------------------------------------------
    async def _deliver_execution(
        self, execution_id: str, group: list[OutboxEvent]
    ) -> list[Outcome]:
        try:
            execution = await asyncio.to_thread(self.engine.get_execution, execution_id)
        except ExecutionNotFound:
            return [Outcome(e, "done") for e in group]
        outcomes: list[Outcome] = []
        for index, event in enumerate(group):
            try:
                if event.kind == "paused" and event.task_run_id and not event.payload.get("manual"):
                    await self._post(execution, event.task_run_id)
                elif (
                    event.kind == REMINDER_EVENT
                    and event.task_run_id
                    and event.payload.get("consumer") == CONSUMER
                ):
                    await self._remind(event.execution_id, event.task_run_id, event.payload)
                elif event.kind in UPDATE_EVENTS:
                    await self._update_all(execution)
            except DeliveryFailed as failed:
                outcome = self._failed(event, failed)
                outcomes.append(outcome)
                if outcome.status == "retry":
                    # Later events of this execution wait too, so they stay in order.
                    outcomes.extend(
                        Outcome(later, "retry", outcome.error, outcome.at)
                        for later in group[index + 1 :]
                    )
                    return outcomes
                continue
            outcomes.append(Outcome(event, "done"))
        return outcomes

    async def _post(self, execution: Execution, task_run_id: str) -> None:
        done = await self._targets_done(execution.id, task_run_id)
        try:
            pause = await asyncio.to_thread(pause_of, self.engine, execution, task_run_id)
        except PauseGone:
            return
        if not pause.is_waiting:
            return  # decided before we got to it (a fast API answer, a backlog): nothing to ask
        message = approval_message(pause, await self._summary(pause))
        if "channel" not in done:
            # Posted before a restart or by another replica when it has a notice.
            channel = pause.channel(self.default_channel)
            await self._send(pause, "channel", channel, message, what="post the approval message")
            log.info(
                "Slack: posted the approval for %s/%s in %s", execution.id, task_run_id, channel
            )
        for user_id in await self._direct_recipients(pause):
            if f"dm:{user_id}" not in done:
                await self._send_dm(pause, f"dm:{user_id}", user_id, message)
        await self._true_after_posting(execution.id, task_run_id)
        plan = reminder_plan(pause, self.settings, self.clock.now())
        if plan is not None:
            await asyncio.to_thread(
                self.outbox.schedule_reminder,
                CONSUMER,
                execution.id,
                task_run_id,
                first_at=plan.first_at,
                every=plan.every,
                count=plan.count,
            )
            if self._next_reminder is None or plan.first_at < self._next_reminder:
                self._next_reminder = plan.first_at

    async def _remind(self, execution_id: str, task_run_id: str, payload: dict[str, Any]) -> None:
        """Re-announces a pause still waiting: in its message's thread, and to each assignee
        who had a direct message. The engine emitted the event only while it waited; the
        fresh state is read again so a decision in between posts nothing."""
        execution = await asyncio.to_thread(self.engine.get_execution, execution_id)
        try:
            pause = await asyncio.to_thread(pause_of, self.engine, execution, task_run_id)
        except PauseGone:
            return
        if not pause.is_waiting:
            return
        number = int(payload.get("number") or 1)
        notices = await asyncio.to_thread(self.outbox.notices, CONSUMER, execution_id)
        mine = [ref for run_id, ref in notices if run_id == task_run_id]
        done = {_target(ref) for ref in mine}
        message = reminder_message(pause, number, self.clock.now(), await self._summary(pause))
        posted = False
        for ref in mine:
            target = _target(ref)
            if target == "channel":
                again = f"reminder:{number}:channel"
                if again not in done:
                    await self._send(
                        pause,
                        again,
                        ref["channel"],
                        message,
                        what="post a reminder",
                        thread_ts=ref["ts"],
                    )
                    posted = True
            elif target.startswith("dm:"):
                again = f"reminder:{number}:{target}"
                if again not in done:
                    await self._send_dm(pause, again, ref["channel"], message)
                    posted = True
        if posted:
            self.metrics.inc("reminders_posted_total")
            await self._true_after_posting(execution_id, task_run_id)

    async def _true_after_posting(self, execution_id: str, task_run_id: str) -> None:
        """A decision that landed while we were posting (its ``resumed`` event may be handled by
        another replica that saw fewer notices) would leave buttons on a decided pause: read
        the state once more and, if it is decided, update every notice now."""
        try:
            execution = await asyncio.to_thread(self.engine.get_execution, execution_id)
        except ExecutionNotFound:
            return
        run = execution.task_run(task_run_id)
        if (
            run is not None
            and run.state.current == State.PAUSED
            and execution.state.current == State.PAUSED
        ):
            return
        await self._update_all(execution)

    async def _targets_done(self, execution_id: str, task_run_id: str) -> set[str]:
        notices = await asyncio.to_thread(self.outbox.notices, CONSUMER, execution_id)
        return {_target(ref) for run_id, ref in notices if run_id == task_run_id}

    async def _direct_recipients(self, pause: Pause) -> list[str]:
        if self.recipients is None or not direct_messages_wanted(
            pause, default=self.settings.slack_dm_assignees
        ):
            return []
        found = await self.recipients.assignees(pause)
        if found.skipped:
            await asyncio.to_thread(
                self.engine.log_on_execution,
                pause.execution.id,
                "WARN",
                texts.log_dm_skipped(found.skipped),
            )
        return list(found.user_ids)

    async def _send(
        self,
        pause: Pause,
        target: str,
        channel: str,
        message: Message,
        *,
        what: str,
        thread_ts: str | None = None,
    ) -> None:
        """Posts ``message`` and records it as a notice for ``target`` (raises DeliveryFailed)."""
        extra: dict[str, Any] = {"thread_ts": thread_ts} if thread_ts else {}
        try:
            response = await self.client.chat_postMessage(
                channel=channel,
                text=message.text,
                blocks=message.blocks,
                unfurl_links=False,
                unfurl_media=False,
                **extra,
            )
        except SLACK_CALL_ERRORS as error:
            raise DeliveryFailed(classify(error), what, channel) from None
        ref = {"channel": response["channel"], "ts": response["ts"], "requested": channel}
        ref["to"] = target
        await asyncio.to_thread(
            self.outbox.add_notice, CONSUMER, pause.execution.id, pause.run.id, ref
        )
        self.metrics.inc("messages_posted_total")

    async def _send_dm(self, pause: Pause, target: str, channel: str, message: Message) -> None:
        """A direct message; a problem that concerns only this person is logged, not retried."""
        try:
            await self._send(pause, target, channel, message, what="send a direct message")
        except DeliveryFailed as failed:
            if failed.failure.code not in DM_GONE_ERRORS:
                raise
            log.warning("Slack: no direct message to %s: %s", channel, failed.failure.code)
            await asyncio.to_thread(
                self.engine.log_on_execution,
                pause.execution.id,
                "WARN",
                texts.log_dm_failed(channel, failed.failure.code),
            )
            return
        self.metrics.inc("direct_messages_total")

    async def _summary(self, pause: Pause) -> Summary:
        emails = emails_to_resolve(pause)
        people: dict[str, str] = {}
        if emails and self.people is not None:
            try:
                people = await self.people(emails)
            except Exception:  # a mention is a nicety: the message goes out without it
                log.exception("Slack: could not look the requester up")
        return summarize(pause, people=people)

    async def _update_all(self, execution: Execution) -> None:
        notices = await asyncio.to_thread(self.outbox.notices, CONSUMER, execution.id)
        if not notices:
            return
        # The freshest state: an event can be delivered long after it was emitted.
        execution = await asyncio.to_thread(self.engine.get_execution, execution.id)
        for task_run_id, ref in notices:
            if task_run_id is None:
                continue
            try:
                pause: Pause = await asyncio.to_thread(
                    pause_of, self.engine, execution, task_run_id
                )
            except PauseGone:
                continue
            message = pause_message(pause, await self._summary(pause))
            try:
                await self.client.chat_update(
                    channel=ref["channel"], ts=ref["ts"], text=message.text, blocks=message.blocks
                )
            except SLACK_CALL_ERRORS as error:
                failure = classify(error)
                if failure.code in MESSAGE_GONE_ERRORS:
                    log.warning(
                        "Slack: message %s in %s can no longer be updated (%s)",
                        ref["ts"],
                        ref["channel"],
                        failure.code,
                    )
                    continue
                raise DeliveryFailed(
                    failure, "update the approval message", ref.get("requested") or ref["channel"]
                ) from None
            self.metrics.inc("messages_updated_total")

    def _failed(self, event: OutboxEvent, failed: DeliveryFailed) -> Outcome:
        failure = failed.failure
        now = self.clock.now()
        attempts = event.attempts + 1
        error = f"{failed.what}: {failure.code}"
        if (
            failure.kind in ("ratelimited", "server", "network", "unknown")
            and attempts < self.max_attempts
        ):
            if failure.kind == "ratelimited":
                delay = failure.retry_after if failure.retry_after is not None else 1.0
            else:
                delay = min(300.0, 2.0**event.attempts) * (1 + random.random() / 4)
            self.metrics.inc("delivery_retries_total", reason=failure.kind)
            log.warning(
                "Slack: could not %s (%s); retrying in %.1f s", failed.what, failure.code, delay
            )
            return Outcome(event, "retry", error, now + timedelta(seconds=delay))
        self.metrics.inc("delivery_failures_total", error=failure.code)
        channel = failed.channel or self.default_channel
        log.error(
            "Slack: giving up on event %s of execution %s: could not %s in %s: %s",
            event.id,
            event.execution_id,
            failed.what,
            channel,
            failure.code,
        )
        return Outcome(
            event,
            "failed",
            error,
            log_line=texts.log_delivery_failed(failed.what, channel, failure.code),
        )


def _target(ref: dict[str, Any]) -> str:
    """What a notice was for; notices from before direct messages are the channel message."""
    return str(ref.get("to") or "channel")


def _retry_after(headers: Any) -> float | None:
    try:
        value = headers.get("Retry-After") or headers.get("retry-after")
    except AttributeError:
        return None
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


__all__ = ["CONSUMER", "Notifier", "classify"]
