"""This process as a worker: its heartbeat, the sweep of stalled workers' claims
(procrastinate's model) and, on PostgreSQL, the LISTEN connection that wakes it. Started by
``Engine.start_worker()`` (the runner does on start); see docs/architecture.md."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.engine import Engine

log = logging.getLogger(__name__)

HEARTBEAT = {"sqlite": 2.0, "postgresql": 5.0}  # seconds between heartbeats
STALLED_AFTER = 3  # heartbeats missed before a worker counts as stalled
HOUSEKEEPING_EVERY = 300.0  # seconds between applications of the retention settings


class Worker:
    """This process's heartbeat and the sweep of stalled workers (procrastinate's model): on
    start (a restart releases what the dead process held at once) and with every heartbeat.
    On PostgreSQL it also LISTENs for other replicas' wake-ups."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        store = engine.store
        self.interval = HEARTBEAT.get(store.dialect, 2.0)
        self.stalled_after = timedelta(seconds=self.interval * STALLED_AFTER)
        self.listener: Any = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pausebot-heartbeat", daemon=True)

    def start(self) -> None:
        store = self.engine.store
        if store.dialect == "postgresql":
            from engine.store.database import normalise_url
            from engine.store.notify import Listener

            self.listener = Listener(
                normalise_url(store.url),
                store.worker_id,
                store.lock_key,
                self.engine._remote,
                self._on_reconnect,
            )
            self.listener.start()
        store.register_worker(self.engine.clock.now())
        self.beat()
        self._thread.start()

    def _on_reconnect(self) -> None:
        for waker in self.engine._wakers:
            waker("")  # "" = poll: notifications may have been missed

    def beat(self) -> None:
        try:
            stalled, released = self.engine.store.heartbeat(
                self.engine.clock.now(), self.stalled_after
            )
        except Exception:  # the next beat tries again
            log.warning("heartbeat failed", exc_info=True)
            return
        if stalled:
            log.warning(
                "released the claims of stalled workers %s (%d executions)",
                ", ".join(stalled),
                len(released),
            )
            self.engine._released(released)

    def _run(self) -> None:
        next_housekeeping = time.monotonic()
        while not self._stop.wait(self.interval):
            self.beat()
            if time.monotonic() >= next_housekeeping:
                next_housekeeping = time.monotonic() + HOUSEKEEPING_EVERY
                try:
                    done = self.engine.housekeeping()
                except Exception:
                    log.warning("housekeeping (retention) failed", exc_info=True)
                else:
                    if any(done.values()):
                        log.info("retention: pruned %s", done)

    def stop(self) -> None:
        self._stop.set()
        if self.listener is not None:
            self.listener.stop()
        try:
            self.engine.store.unregister_worker()
        except Exception:
            log.debug("could not unregister the worker", exc_info=True)
