"""PostgreSQL LISTEN/NOTIFY between replicas, and the worker's liveness lock.

A write transaction that makes work for someone else (an execution due now, a new deadline, an
outbox event) sends one ``pg_notify`` on the ``pausebot`` channel before it commits
(PostgreSQL delivers it only if the transaction commits). Every process with a runner or an
outbox consumer keeps one extra connection that LISTENs on that channel, so a replica wakes at
once on another's work and polls only as a slow fallback. The same connection holds the
worker's advisory lock (see engine/store/workers.py): when the process dies, the connection
closes and the lock goes, so the others see the death at once.

Payload: ``{"from": <worker id>, "items": [{"k": "run"|"at"|"event", "id": ..., ...}]}``;
a process ignores its own notifications (it already woke itself directly).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.engine import URL

log = logging.getLogger(__name__)

CHANNEL = "pausebot"
LOCK_CLASS = 7462032  # the first key of every worker's advisory lock (the second is its own)
_MAX_PAYLOAD = 7000  # PostgreSQL's limit is 8000 bytes


def send(connection: Connection, sender: str, items: list[dict[str, Any]]) -> None:
    """Queues the notification in the caller's transaction (sent when it commits)."""
    chunks: list[str] = []
    batch: list[dict[str, Any]] = []
    for item in items:
        batch.append(item)
        payload = json.dumps({"from": sender, "items": batch}, separators=(",", ":"))
        if len(payload) > _MAX_PAYLOAD and len(batch) > 1:
            batch.pop()
            chunks.append(json.dumps({"from": sender, "items": batch}, separators=(",", ":")))
            batch = [item]
    if batch:
        chunks.append(json.dumps({"from": sender, "items": batch}, separators=(",", ":")))
    for payload in chunks:
        connection.execute(
            text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": payload}
        )


class Listener:
    """A daemon thread on its own autocommit connection: LISTEN, hold the worker lock, and
    call ``handle(items)`` for every notification another process sent. After a lost
    connection it reconnects and calls ``on_reconnect`` (notifications may have been missed)."""

    def __init__(
        self,
        url: URL,
        worker_id: str,
        lock_key: int,
        handle: Callable[[list[dict[str, Any]]], None],
        on_reconnect: Callable[[], None],
    ) -> None:
        self._conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.worker_id = worker_id
        self.lock_key = lock_key
        self._handle = handle
        self._on_reconnect = on_reconnect
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pausebot-listen", daemon=True)
        self.received = 0  # notifications from other processes (tests count them)

    def start(self, wait: float = 5.0) -> None:
        self._thread.start()
        self._ready.wait(wait)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=3)

    def _run(self) -> None:
        import psycopg

        first = True
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    conn.execute("SELECT pg_advisory_lock(%s, %s)", (LOCK_CLASS, self.lock_key))
                    self._ready.set()
                    if not first:
                        self._on_reconnect()
                    first = False
                    while not self._stop.is_set():
                        for notification in conn.notifies(timeout=0.5):
                            self._dispatch(notification.payload)
            except Exception:
                if self._stop.is_set():
                    return
                log.warning("LISTEN connection lost; reconnecting", exc_info=True)
                self._stop.wait(1.0)

    def _dispatch(self, payload: str) -> None:
        try:
            message = json.loads(payload)
        except ValueError:
            return
        if message.get("from") == self.worker_id:
            return
        self.received += 1
        try:
            self._handle(list(message.get("items") or []))
        except Exception:
            log.exception("handling a notification failed")
