"""Callbacks of approval requests: when a request is decided, expires or is cancelled, pausebot
POSTs it to the request's ``callbackUrl``, from the outbox.

- **At least once.** The outbox event is written in the transaction that decided the request;
  this consumer claims it with a lease (replicas never share one) and settles it only after the
  receiver answered 2xx. A crash in between means the callback is sent again, so receivers
  deduplicate on the ``Idempotency-Key`` header (``<request id>:<state>``, the same on every
  attempt).
- **Retries with back-off.** A network error, a timeout, 408, 429 (``Retry-After`` is honoured)
  or 5xx is retried after 1 s, 2 s, 4 s ... (at most 10 minutes, with jitter), up to
  ``max_attempts`` (12: about an hour and a half); other 4xx answers mean the receiver refuses
  it: the delivery fails at once. Either way a failure is written on the execution's log.
- **Signed.** ``X-Pausebot-Signature: v1=<hex HMAC-SHA256 of "v1:<timestamp>:<body>">`` with
  ``PAUSEBOT_CALLBACK_SECRET`` and ``X-Pausebot-Request-Timestamp: <unix seconds>``, the scheme
  Slack and Stripe use; ``pausebot.client.verify_callback`` checks it (docs/approvals.md).

The body is the request as ``GET /api/v1/approvals/{id}`` shows it, read when it is sent (so it
is true even for an event delivered late), under ``{"type": "approval.<state>", "approval":
...}``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from bot.outbox_consumer import OutboxConsumer
from engine.approvals import ApprovalRequestNotFound, ApprovalRequests, outcome_of
from engine.clock import Clock
from engine.engine import Engine
from engine.errors import ExecutionNotFound
from engine.outbox import NewEvent, OutboxEvent

log = logging.getLogger(__name__)

CONSUMER = "callbacks"
SIGNATURE_HEADER = "X-Pausebot-Signature"
TIMESTAMP_HEADER = "X-Pausebot-Request-Timestamp"
VERSION = "v1"
USER_AGENT = "pausebot-callbacks/1"


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The ``X-Pausebot-Signature`` value for ``body`` sent at ``timestamp``."""
    message = f"{VERSION}:{timestamp}:".encode() + body
    return f"{VERSION}=" + hmac.new(secret, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Attempt:
    status: str  # done | retry | failed
    error: str = ""
    retry_after: float | None = None


class CallbackDispatcher(OutboxConsumer):
    consumer = CONSUMER
    label = "callbacks"

    def __init__(
        self,
        engine: Engine,
        secret: bytes | None,
        *,
        approvals: ApprovalRequests | None = None,
        clock: Clock | None = None,
        poll_interval: float = 5.0,
        batch_size: int = 20,
        lease: timedelta = timedelta(seconds=60),
        max_attempts: int = 12,
        timeout: float = 10.0,
        base_delay: float = 1.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.engine = engine
        self.outbox = engine.outbox
        self.secret = secret
        self.approvals = approvals or ApprovalRequests(engine)
        self.clock = clock or engine.clock
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self.lease = lease
        self.max_attempts = max_attempts
        self.timeout = timeout
        self.base_delay = base_delay
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._next_retry: datetime | None = None
        self._init_loop()
        self.sent = 0  # deliveries the receiver accepted (for tests and metrics)

    # -- the loop's parts (bot/outbox_consumer.py) ----------------------------------------------
    async def opened(self) -> None:
        self._client = httpx.AsyncClient(
            timeout=self.timeout,
            follow_redirects=False,  # a redirect could carry the signed body elsewhere
            transport=self._transport,
            headers={"User-Agent": USER_AGENT},
        )

    async def closed(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def wants(self, events: Sequence[NewEvent]) -> bool:
        return any(outcome_of(event) for event in events)

    def sleep_for(self) -> float:
        if self._next_retry is None:
            return self.poll_interval
        due_in = (self._next_retry - self.clock.now()).total_seconds()
        return max(0.05, min(self.poll_interval, due_in))

    # -- one round ------------------------------------------------------------------------------
    async def run_once(self) -> int:
        events: list[OutboxEvent] = await asyncio.to_thread(
            self.outbox.claim, CONSUMER, limit=self.batch_size, lease=self.lease
        )
        for event in events:
            await self._handle(event)
        return len(events)

    async def _handle(self, event: OutboxEvent) -> None:
        state = outcome_of(event)
        url = None
        body = b""
        key = ""
        if state is not None:
            try:
                view = await asyncio.to_thread(self.approvals.get, event.execution_id, client=None)
            except (ApprovalRequestNotFound, ExecutionNotFound):
                view = None  # an Approval of an ordinary flow: not ours
            if view is not None and view.record.callback_url:
                url = view.record.callback_url
                approval = view.to_api()
                body = json.dumps(
                    {"type": f"approval.{approval['state'].lower()}", "approval": approval},
                    separators=(",", ":"),
                    ensure_ascii=False,
                ).encode()
                key = f"{view.record.id}:{approval['state']}"
        if url is None:
            await asyncio.to_thread(self.outbox.finish, CONSUMER, event.id)
            return
        attempt = await self._post(url, body, key)
        now = self.clock.now()
        attempts = event.attempts + 1
        if attempt.status == "done":
            self.sent += 1
            await asyncio.to_thread(self.outbox.finish, CONSUMER, event.id)
            log.info("callbacks: delivered %s to the request's callbackUrl", key)
            return
        if attempt.status == "retry" and attempts < self.max_attempts:
            delay = (
                attempt.retry_after
                if attempt.retry_after is not None
                else min(600.0, self.base_delay * 2.0**event.attempts) * (1 + random.random() / 4)
            )
            at = now + timedelta(seconds=delay)
            log.warning("callbacks: %s: %s; retrying in %.1f s", key, attempt.error, delay)
            await asyncio.to_thread(self.outbox.retry, CONSUMER, event.id, at, attempt.error)
            if self._next_retry is None or at < self._next_retry or self._next_retry <= now:
                self._next_retry = at
            return
        log.error(
            "callbacks: giving up on %s after %d attempt(s): %s", key, attempts, attempt.error
        )
        await asyncio.to_thread(self.outbox.fail, CONSUMER, event.id, attempt.error)
        await asyncio.to_thread(
            self.engine.log_on_execution,
            event.execution_id,
            "ERROR",
            f"The callback could not be delivered after {attempts} attempt(s): {attempt.error}",
        )

    async def _post(self, url: str, body: bytes, key: str) -> Attempt:
        assert self._client is not None
        if self.secret is None:
            return Attempt("failed", "PAUSEBOT_CALLBACK_SECRET is not set: nothing to sign with")
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": key,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(self.secret, timestamp, body),
        }
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as error:
            # The URL is the client's own; the error names it without any secret.
            return Attempt("retry", f"{type(error).__name__} calling the callbackUrl")
        status = response.status_code
        if 200 <= status < 300:
            return Attempt("done")
        answered = f"the callbackUrl answered {status}"
        if status in (408, 425, 429) or status >= 500:
            return Attempt("retry", answered, _retry_after(response.headers.get("retry-after")))
        return Attempt("failed", answered)


def _retry_after(value: str | None) -> float | None:
    try:
        return min(600.0, max(0.0, float(value))) if value is not None else None
    except ValueError:
        return None
