"""Long-polling for approval requests (``GET /api/v1/approvals/{id}?wait=PT30S``), driven by the
engine's commit listener rather than a poll loop: a decision committed by this process wakes
every request waiting on it at once.

A decision committed by another replica is not seen by this process's listener, so a waiter also
looks again every ``recheck`` seconds (5 by default): slower there, never wrong.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

from engine.approvals import NewEvent, outcome_of
from engine.engine import Engine


class ApprovalWaits:
    def __init__(self, engine: Engine, *, recheck: float = 5.0) -> None:
        self.recheck = recheck
        self._lock = threading.Lock()
        self._waiting: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
        engine.add_listener(self._on_commit)

    def _on_commit(self, execution_id: str, events: Sequence[NewEvent]) -> None:
        if not any(outcome_of(event) for event in events):
            return
        with self._lock:
            waiters = list(self._waiting.get(execution_id, ()))
        for loop, event in waiters:
            loop.call_soon_threadsafe(event.set)

    def register(self, request_id: str) -> asyncio.Event:
        """Register before reading the state, so a decision in between is not missed."""
        event = asyncio.Event()
        with self._lock:
            self._waiting.setdefault(request_id, set()).add((asyncio.get_running_loop(), event))
        return event

    def unregister(self, request_id: str, event: asyncio.Event) -> None:
        with self._lock:
            waiters = self._waiting.get(request_id)
            if waiters is None:
                return
            waiters.discard((asyncio.get_running_loop(), event))
            if not waiters:
                del self._waiting[request_id]

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        """True when woken (look again), False when ``seconds`` passed."""
        try:
            await asyncio.wait_for(event.wait(), timeout=max(0.0, seconds))
        except TimeoutError:
            return False
        event.clear()
        return True

    @property
    def waiting_count(self) -> int:
        with self._lock:
            return sum(len(w) for w in self._waiting.values())
