"""The runner: a thread that wakes executions when they are due and advances them on a small
pool of worker threads. A start or a resume hands it the step it decided in its own
transaction (or wakes it for that one execution), and a sleep or a deadline decided here is
remembered, so none of that polls; the poll (one query) only catches work committed by other
processes (on PostgreSQL their NOTIFY wakes it first, see engine/store/notify.py)."""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from sqlalchemy.exc import OperationalError

from engine.engine import Engine
from engine.model import Execution, TaskRun, new_id

log = logging.getLogger(__name__)

_RECHECK = "\x00"  # queue item: a deadline was added, recompute the sleep
BACKOFF = 0.5  # seconds before the first retry of an execution that failed to advance
MAX_BACKOFF = 60.0
LISTENING_POLL = 30.0  # seconds between fallback polls when PostgreSQL NOTIFY wakes us
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
        # The lease owner names this process's worker, so the stalled-worker sweep can release
        # our leases at once if this process dies.
        self.owner = owner or f"{engine.store.worker_id}/r{new_id()[:6]}"
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
        self._handoffs: dict[str, tuple[Execution, list[TaskRun]]] = {}
        self._deadline: datetime | None = None  # the earliest wake-up we know of
        self.polls = 0  # how many times the runner queried for due work (tests count them)
        engine.add_waker(self.wake)
        engine.add_scheduler(self._schedule)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            worker = self.engine.start_worker()
            if worker.listener is not None:
                # Other replicas NOTIFY us; the poll is only a fallback for a lost notification.
                self.poll_interval = max(self.poll_interval, LISTENING_POLL)
            self.engine.set_dispatcher(self.owner, self._hand_off)
            self._thread = threading.Thread(target=self._loop, name="pausebot-runner", daemon=True)
            self._thread.start()

    def stop(self, *, drain_timeout: float = 30.0) -> None:
        """Stops taking new work and waits for in-flight executions to reach a safe point."""
        self.engine.set_dispatcher(None)
        self._stopping.set()
        self._wakeups.put(None)
        if self._thread is not None:
            self._thread.join(timeout=drain_timeout)
        self.wait_idle(drain_timeout)
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- waking -----------------------------------------------------------------------------
    def wake(self, execution_id: str | None = None) -> None:
        """Look at this execution now ("" or None: poll for every due one)."""
        self._wakeups.put(execution_id or "")

    def _schedule(self, when: datetime) -> None:
        with self._lock:
            if self._deadline is not None and self._deadline <= when:
                return
            self._deadline = when
        self._wakeups.put(_RECHECK)

    def _hand_off(self, execution_id: str, execution: Execution, runs: list[TaskRun]) -> None:
        """Start or resume decided the next step and leased it to us: execute it now."""
        with self._lock:
            self._handoffs[execution_id] = (execution, runs)
        self._submit(execution_id)

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
            until = self.engine.clock.now() + timedelta(seconds=delay)
            self.engine.store.postpone_execution(execution_id, until)
            self._schedule(until)
        except Exception:
            log.exception("could not record the failure of execution %s", execution_id)
            with contextlib.suppress(Exception):  # at least stop spinning on it
                until = self.engine.clock.now() + timedelta(seconds=MAX_BACKOFF)
                self.engine.store.postpone_execution(execution_id, until)

    def _loop(self) -> None:
        next_poll = 0.0  # monotonic; poll at once on start
        while not self._stopping.is_set():
            timeout = max(0.0, min(next_poll - time.monotonic(), self._until_deadline()))
            try:
                item = self._wakeups.get(timeout=timeout)
            except queue.Empty:
                item = ""
            if item is None or self._stopping.is_set():
                break
            if item == _RECHECK:
                continue
            if item:
                self._submit(item)
                continue
            try:
                self.tick()
            except Exception:
                log.exception("runner tick failed")
            next_poll = time.monotonic() + self.poll_interval

    def _until_deadline(self) -> float:
        with self._lock:
            deadline = self._deadline
        if deadline is None:
            return self.poll_interval
        return (deadline - self.engine.clock.now()).total_seconds()

    def tick(self) -> int:
        """Submits every due execution (one query, which also tells the next wake-up);
        returns how many were submitted."""
        self.polls += 1
        now = self.engine.clock.now()
        due, next_at = self.engine.store.due_and_next(now, limit=100)
        with self._lock:
            self._deadline = next_at
        submitted = 0
        for execution_id in due:
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
                with self._lock:
                    handoff = self._handoffs.pop(execution_id, None)
                try:
                    self.engine.advance(execution_id, self.owner, handoff=handoff)
                    self._failures.pop(execution_id, None)
                except Exception as error:
                    log.exception("advancing execution %s failed", execution_id)
                    self._after_failure(execution_id, error)
                with self._lock:
                    again = execution_id in self._again or execution_id in self._handoffs
                    if again and not self._stopping.is_set():
                        self._again.discard(execution_id)
                        continue
                    break
        finally:
            with self._idle:
                self._in_flight.discard(execution_id)
                self._idle.notify_all()
