"""The delivery loop every outbox consumer runs (the Slack notifier, approval-request callbacks):
register once, then rounds of ``run_once`` until cancelled, woken at once by this process's
commits (``wants``) and by other replicas' events or released claims (PostgreSQL NOTIFY), else
after ``sleep_for``. A subclass says what a round does and what wakes it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from engine.engine import Engine, NewEvent

log = logging.getLogger(__name__)


class OutboxConsumer:
    consumer: str  # the name its deliveries are recorded under
    label: str  # for the log and the task's name
    engine: Engine
    outbox: Any
    batch_size: int
    poll_interval: float

    def _init_loop(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listening = False

    # -- what a subclass provides --------------------------------------------------------------
    async def run_once(self) -> int:
        """One round: deliver what is due; returns how many events it claimed."""
        raise NotImplementedError

    def wants(self, events: Sequence[NewEvent]) -> bool:
        """Whether this process's commit of ``events`` is worth a round now."""
        raise NotImplementedError

    def sleep_for(self) -> float:
        return self.poll_interval

    async def opened(self) -> None:
        """Called by ``start`` before the first round (open clients)."""

    async def closed(self) -> None:
        """Called by ``stop`` after the last round."""

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        await self.opened()
        await asyncio.to_thread(self.outbox.register, self.consumer)
        if not self._listening:
            self.engine.add_listener(self._on_commit)
            # Another replica's event (PostgreSQL NOTIFY) or a dead worker's released claims:
            # look now rather than at the next poll.
            self.engine.add_outbox_waker(lambda _kind, _execution_id: self.wake())
            self._listening = True
        self._task = asyncio.create_task(self._run(), name=f"pausebot-{self.label}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        await self.closed()

    def wake(self) -> None:
        """Look at the outbox now (thread-safe)."""
        if self._loop is not None and self._wake is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def _on_commit(self, execution_id: str, events: Sequence[NewEvent]) -> None:
        if self.wants(events):
            self.wake()

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            self._wake.clear()
            try:
                handled = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s: delivery round failed; trying again shortly", self.label)
                handled = 0
            if handled >= self.batch_size:
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.sleep_for())
            except TimeoutError:
                pass
