"""The runner: a thread that wakes executions when they are due and advances them on a small
pool of worker threads. A resume or a start wakes it directly (no polling on that path); the
poll only catches deadlines, sleeps and work committed by other replicas."""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy.exc import OperationalError

from engine.engine import Engine
from engine.model import new_id
from engine.store.store import NewEvent

log = logging.getLogger(__name__)

_WAKING_EVENTS = {"created", "resumed", "killed"}
BACKOFF = 0.5  # seconds before the first retry of an execution that failed to advance
MAX_BACKOFF = 60.0
MAX_ATTEMPTS = 3  # then an execution that keeps failing (not the database) is failed


class Runner:
    def __init__(
        self,
        engine: Engine,
        *,
        workers: int = 4,
        poll_interval: float = 1.0,
        owner: str | None = None,
    ) -> None:
        self.engine = engine
        self.owner = owner or f"runner-{new_id()[:10]}"
        self.poll_interval = poll_interval
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pausebot-worker")
        self._wakeups: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._in_flight: set[str] = set()
        self._again: set[str] = set()
        self._failures: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._idle = threading.Condition(self._lock)
        engine.add_listener(self._on_commit)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="pausebot-runner", daemon=True)
            self._thread.start()

    def stop(self, *, drain_timeout: float = 30.0) -> None:
        """Stops taking new work and waits for in-flight executions to reach a safe point."""
        self._stopping.set()
        self._wakeups.put(None)
        if self._thread is not None:
            self._thread.join(timeout=drain_timeout)
        self.wait_idle(drain_timeout)
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- waking -----------------------------------------------------------------------------
    def wake(self, execution_id: str | None = None) -> None:
        self._wakeups.put(execution_id or "")

    def _on_commit(self, execution_id: str, events: Sequence[NewEvent]) -> None:
        if not events or any(event.kind in _WAKING_EVENTS for event in events):
            self.wake(execution_id)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """For tests and shutdown: waits until no execution is being advanced."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._in_flight, timeout=timeout)

    # -- the loop -------------------------------------------------------------------------
    def _after_failure(self, execution_id: str, error: Exception) -> None:
        """Backs off, so a failing execution doesn't spin the runner; an error that is not the
        database being unavailable fails the execution after a few attempts."""
        count = self._failures.get(execution_id, 0) + 1
        self._failures[execution_id] = count
        try:
            if not isinstance(error, OperationalError) and count >= MAX_ATTEMPTS:
                self._failures.pop(execution_id, None)
                self.engine.fail_execution(execution_id, f"{type(error).__name__}: {error}")
                return
            delay = min(MAX_BACKOFF, BACKOFF * 2 ** (count - 1))
            self.engine.store.postpone_execution(
                execution_id, self.engine.clock.now() + timedelta(seconds=delay)
            )
        except Exception:
            log.exception("could not record the failure of execution %s", execution_id)
            with contextlib.suppress(Exception):  # at least stop spinning on it
                until = self.engine.clock.now() + timedelta(seconds=MAX_BACKOFF)
                self.engine.store.postpone_execution(execution_id, until)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                item = self._wakeups.get(timeout=self._next_timeout())
            except queue.Empty:
                item = ""
            if item is None or self._stopping.is_set():
                break
            if item:
                self._submit(item)
            try:
                self.tick()
            except Exception:
                log.exception("runner tick failed")

    def _next_timeout(self) -> float:
        try:
            next_at = self.engine.store.next_wake_at()
        except Exception:  # noqa: BLE001
            return self.poll_interval
        if next_at is None:
            return self.poll_interval
        delay = (next_at - self.engine.clock.now()).total_seconds()
        return max(0.0, min(self.poll_interval, delay))

    def tick(self) -> int:
        """Submits every due execution; returns how many were submitted."""
        submitted = 0
        for execution_id in self.engine.due_executions():
            submitted += self._submit(execution_id)
        return submitted

    def _submit(self, execution_id: str) -> int:
        with self._lock:
            if execution_id in self._in_flight:
                self._again.add(execution_id)  # it changed while being advanced: look again
                return 0
            self._in_flight.add(execution_id)
        try:
            self._pool.submit(self._advance, execution_id)
        except RuntimeError:  # pool shut down
            with self._idle:
                self._in_flight.discard(execution_id)
                self._idle.notify_all()
            return 0
        return 1

    def _advance(self, execution_id: str) -> None:
        try:
            while True:
                try:
                    self.engine.advance(execution_id, self.owner)
                    self._failures.pop(execution_id, None)
                except Exception as error:
                    log.exception("advancing execution %s failed", execution_id)
                    self._after_failure(execution_id, error)
                with self._lock:
                    if execution_id in self._again and not self._stopping.is_set():
                        self._again.discard(execution_id)
                        continue
                    break
        finally:
            with self._idle:
                self._in_flight.discard(execution_id)
                self._idle.notify_all()
