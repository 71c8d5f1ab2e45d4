"""Every query pausebot runs, each named for what it does. Nobody else writes SQL.

State changes happen inside ``Store.transaction()``; the ``Transaction`` object offers the
queries that belong together in one commit (load an execution under a lock, save it with a
compare-and-set on its version, append logs and outbox events).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)

from engine.errors import ExecutionNotFound
from engine.model import Execution
from engine.queries import SORT_FIELDS, DateRange, SortKey
from engine.secret_values import mask_secrets, secret_values
from engine.states import TERMINAL
from engine.store import notify
from engine.store.approval_requests import (
    ApprovalRequestRecord,
    insert_approval_request,
    record_approval_outcomes,
    request_t,
)
from engine.store.database import create_database_engine, upgrade_schema, writer
from engine.store.filters import contains_text, in_namespace
from engine.store.labels import execution_columns, label_digest, label_pairs, label_rows
from engine.store.models import (
    ExecutionCountRow,
    ExecutionLabelRow,
    ExecutionRow,
    FlowRow,
    KVEntryRow,
    LogRow,
    NoticeRow,
    OutboxConsumerRow,
    OutboxDeliveryRow,
    OutboxEventRow,
    ReminderRow,
    StoredFileRow,
    UsedTokenRow,
    WorkerRow,
)

log = logging.getLogger(__name__)

ex_t = cast(Table, ExecutionRow.__table__)
label_t = cast(Table, ExecutionLabelRow.__table__)
flow_t = cast(Table, FlowRow.__table__)
log_t = cast(Table, LogRow.__table__)
event_t = cast(Table, OutboxEventRow.__table__)
consumer_t = cast(Table, OutboxConsumerRow.__table__)
delivery_t = cast(Table, OutboxDeliveryRow.__table__)
notice_t = cast(Table, NoticeRow.__table__)
token_t = cast(Table, UsedTokenRow.__table__)
worker_t = cast(Table, WorkerRow.__table__)
count_t = cast(Table, ExecutionCountRow.__table__)

CountKey = tuple[str, str, str]  # (namespace, flow_id, state)

# The hot path's statements, built once with bound parameters: building a statement per call
# (and its cache key) cost more than running it.
_SAVE_COLUMNS = ("state", "updated_at", "document", "version", "wake_at", "end_date", "duration")
_SAVE = (
    update(ex_t)
    .where(ex_t.c.id == bindparam("b_id"), ex_t.c.version == bindparam("b_version"))
    .values({c: bindparam(c) for c in _SAVE_COLUMNS})
)
_SAVE_LEASED = (
    update(ex_t)
    .where(ex_t.c.id == bindparam("b_id"), ex_t.c.version == bindparam("b_version"))
    .values({c: bindparam(c) for c in (*_SAVE_COLUMNS, "lease_owner", "lease_until")})
)
_INSERT_EVENTS = insert(event_t)
_INSERT_LOGS = insert(log_t)
_INSERT_EXECUTION = insert(ex_t)
_LOAD = select(
    ex_t.c.id,
    ex_t.c.document,
    ex_t.c.version,
    ex_t.c.lease_owner,
    ex_t.c.lease_until,
    ex_t.c.namespace,
    ex_t.c.flow_id,
    ex_t.c.state,
)
_LOAD_ONE = _LOAD.where(ex_t.c.id == bindparam("b_id"))
_LOAD_ONE_LOCKED = _LOAD_ONE.with_for_update()
_GET = select(ex_t.c.document, ex_t.c.version, ex_t.c.lease_owner).where(
    ex_t.c.id == bindparam("b_id")
)
_CLAIM = (
    update(ex_t)
    .where(
        ex_t.c.id == bindparam("b_id"),
        or_(
            ex_t.c.lease_until.is_(None),
            ex_t.c.lease_until < bindparam("b_now"),
            ex_t.c.lease_owner == bindparam("b_owner"),
        ),
    )
    .values(lease_owner=bindparam("b_owner"), lease_until=bindparam("b_until"))
)
_EXTEND = (
    update(ex_t)
    .where(ex_t.c.id == bindparam("b_id"), ex_t.c.lease_owner == bindparam("b_owner"))
    .values(lease_until=bindparam("b_until"))
)
_RELEASE = (
    update(ex_t)
    .where(ex_t.c.id == bindparam("b_id"), ex_t.c.lease_owner == bindparam("b_owner"))
    .values(lease_owner=None, lease_until=None)
)


def _apply_counts(connection: Connection, deltas: dict[CountKey, int]) -> None:
    """Adds ``deltas`` to execution_counts in one statement, rows in a fixed order (so two
    transactions never wait for each other's rows crosswise)."""
    changes = [
        {"namespace": ns, "flow_id": flow, "state": state, "count": delta}
        for (ns, flow, state), delta in sorted(deltas.items())
        if delta
    ]
    if not changes:
        return
    connection.execute(_count_upsert(connection.dialect.name), changes)


_UPSERTS: dict[str, Any] = {}


def _count_upsert(dialect: str) -> Any:
    """The execution_counts upsert, built once per dialect (building it costs more than
    running it)."""
    statement = _UPSERTS.get(dialect)
    if statement is None:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as upsert
        else:
            from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
        base = upsert(count_t)
        statement = _UPSERTS[dialect] = base.on_conflict_do_update(
            index_elements=[count_t.c.namespace, count_t.c.flow_id, count_t.c.state],
            set_={"count": count_t.c.count + base.excluded.count},
        )
    return statement


_SORT_COLUMNS = {
    "id": ex_t.c.id,
    "state.startDate": ex_t.c.start_date,
    "state.endDate": ex_t.c.end_date,
    "state.duration": ex_t.c.duration,
    "namespace": ex_t.c.namespace,
    "flowId": ex_t.c.flow_id,
    "state.current": ex_t.c.state,
}
assert set(_SORT_COLUMNS) == set(SORT_FIELDS)
kv_t = cast(Table, KVEntryRow.__table__)
reminder_t = cast(Table, ReminderRow.__table__)
file_t = cast(Table, StoredFileRow.__table__)


def _text(value: str) -> str:
    """PostgreSQL text cannot hold NUL; a log line that quotes user input may."""
    return value.replace("\x00", "\ufffd")


def utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class LogEntry:
    execution_id: str
    task_run_id: str | None
    task_id: str | None
    level: str
    message: str
    timestamp: datetime

    def to_api(self) -> dict[str, Any]:
        from engine.clock import iso

        return {
            "executionId": self.execution_id,
            "taskRunId": self.task_run_id,
            "taskId": self.task_id,
            "level": self.level,
            "message": self.message,
            "timestamp": iso(self.timestamp),
        }


@dataclass(frozen=True)
class OutboxEvent:
    id: int
    kind: str
    execution_id: str
    task_run_id: str | None
    payload: dict[str, Any]
    created_at: datetime
    attempts: int = 0


@dataclass(frozen=True)
class NewEvent:
    kind: str
    execution_id: str
    task_run_id: str | None
    payload: dict[str, Any]


@dataclass(frozen=True)
class KVRecord:
    namespace: str
    key: str
    value: Any
    kv_type: str
    description: str | None
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class StoredExecution:
    execution: Execution
    version: int
    lease_owner: str | None = None
    lease_until: datetime | None = None

    def lease_free(self, now: datetime) -> bool:
        """No runner holds it (or the one that did let its lease run out)."""
        return self.lease_owner is None or self.lease_until is None or self.lease_until < now


class Transaction:
    """The queries of one commit. Obtain it from ``Store.transaction()``."""

    def __init__(self, connection: Connection, now: datetime) -> None:
        self.connection = connection
        self.now = now
        self.events: list[NewEvent] = []
        # Label digests of the executions loaded in this transaction, so a save rewrites the
        # label rows only when the labels changed (without reading them back).
        self._labels: dict[str, set[str]] = {}
        # What other replicas must hear about when this commits (PostgreSQL NOTIFY).
        self.outgoing: list[dict[str, Any]] = []
        # execution_counts changes, written when this commits; and what each loaded
        # execution counted as.
        self.counts: dict[CountKey, int] = {}
        self._counted: dict[str, CountKey] = {}
        self.writes = 0  # executions saved (a bulk batch checks a refusal came before any)
        self._preloaded: dict[str, Any] = {}

    def preload(self, execution_ids: Sequence[str]) -> None:
        """Loads (and on PostgreSQL locks, in id order) many executions with one query; the
        following ``load_execution`` of each is served from it."""
        query = _LOAD.where(ex_t.c.id.in_(list(execution_ids))).order_by(ex_t.c.id)
        if self.connection.dialect.name == "postgresql":
            query = query.with_for_update()
        for row in self.connection.execute(query).all():
            self._preloaded[row.id] = row

    def _count(self, key: CountKey, delta: int) -> None:
        self.counts[key] = self.counts.get(key, 0) + delta

    def _announce_wake(self, execution_id: str, wake_at: datetime | None, leased: bool) -> None:
        """A runner elsewhere must look at it now ("run") or at ``wake_at`` ("at"); not when
        our own runner took it (a hand-off)."""
        if wake_at is None or leased:
            return
        if wake_at <= self.now:
            self.outgoing.append({"k": "run", "id": execution_id})
        else:
            self.outgoing.append({"k": "at", "id": execution_id, "at": wake_at.isoformat()})

    # -- executions ---------------------------------------------------------------------
    def load_execution(self, execution_id: str, *, lock: bool = True) -> StoredExecution:
        row = self._preloaded.pop(execution_id, None)
        if row is None:
            locked = lock and self.connection.dialect.name == "postgresql"
            query = _LOAD_ONE_LOCKED if locked else _LOAD_ONE
            row = self.connection.execute(query, {"b_id": execution_id}).first()
        if row is None:
            raise ExecutionNotFound(execution_id)
        execution = Execution.model_validate(row.document)
        self._labels[execution_id] = set(label_pairs(execution))
        self._counted[execution_id] = (row.namespace, row.flow_id, row.state)
        return StoredExecution(execution, row.version, row.lease_owner, utc(row.lease_until))

    def _sync_labels(self, execution: Execution) -> None:
        current = label_pairs(execution)
        previous = self._labels.get(execution.id)
        if previous is None:
            previous = set(
                self.connection.execute(
                    select(label_t.c.digest).where(label_t.c.execution_id == execution.id)
                ).scalars()
            )
        if previous == set(current):
            return
        gone = previous - set(current)
        if gone:
            self.connection.execute(
                delete(label_t).where(
                    label_t.c.execution_id == execution.id, label_t.c.digest.in_(gone)
                )
            )
        added = [row for row in label_rows(execution) if row["digest"] not in previous]
        if added:
            self.connection.execute(insert(label_t), added)
        self._labels[execution.id] = set(current)

    def insert_execution(
        self,
        execution: Execution,
        *,
        wake_at: datetime | None,
        lease: tuple[str, datetime] | None = None,
    ) -> None:
        owner, until = lease or (None, None)
        self._announce_wake(execution.id, wake_at, owner is not None)
        key = (execution.namespace, execution.flowId, execution.state.current.value)
        self._count(key, +1)
        self._counted[execution.id] = key
        self.connection.execute(
            _INSERT_EXECUTION,
            {
                "id": execution.id,
                "namespace": execution.namespace,
                "flow_id": execution.flowId,
                "flow_revision": execution.flowRevision,
                "state": execution.state.current.value,
                "start_date": self.now,
                "updated_at": self.now,
                "document": execution.model_dump(mode="json"),
                "version": 1,
                "wake_at": wake_at,
                "lease_owner": owner,
                "lease_until": until,
                **execution_columns(execution, self.now),
            },
        )
        rows = label_rows(execution)
        if rows:
            self.connection.execute(insert(label_t), rows)
        self._labels[execution.id] = {row["digest"] for row in rows}

    def save_execution(
        self,
        execution: Execution,
        seen_version: int,
        *,
        wake_at: datetime | None,
        lease: tuple[str | None, datetime | None] | None = None,
    ) -> bool:
        """Compare-and-set: writes only if nobody saved since ``seen_version``. ``lease``
        (owner, until) sets the runner lease in the same statement ((None, None) releases it)."""
        values: dict[str, Any] = {
            "state": execution.state.current.value,
            "updated_at": self.now,
            "document": execution.model_dump(mode="json"),
            "version": seen_version + 1,
            "wake_at": wake_at,
            **execution_columns(execution, self.now),
        }
        if lease is not None:
            values["lease_owner"], values["lease_until"] = lease
        self._announce_wake(execution.id, wake_at, lease is not None and lease[0] is not None)
        before = self._counted.get(execution.id)
        if before is None:  # saved without loading it in this transaction (not our habit)
            row = self.connection.execute(
                select(ex_t.c.namespace, ex_t.c.flow_id, ex_t.c.state).where(
                    ex_t.c.id == execution.id
                )
            ).first()
            before = (row.namespace, row.flow_id, row.state) if row is not None else None
        result = self.connection.execute(
            _SAVE if lease is None else _SAVE_LEASED,
            {"b_id": execution.id, "b_version": seen_version, **values},
        )
        self.writes += 1
        if result.rowcount != 1:
            return False
        self._sync_labels(execution)
        if before is None:
            return True
        after = (before[0], before[1], values["state"])
        if after != before:
            self._count(before, -1)
            self._count(after, +1)
            self._counted[execution.id] = after
        return True

    # -- flow concurrency (engine/concurrency.py) ----------------------------------------
    def lock_flow_slots(self, namespace: str, flow_id: str) -> None:
        """Serialises admissions and releases of one flow's concurrency slots until commit
        (PostgreSQL: a transaction advisory lock; SQLite's BEGIN IMMEDIATE already does)."""
        if self.connection.dialect.name == "postgresql":
            self.connection.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                {"key": f"pausebot.concurrency:{namespace}:{flow_id}"},
            )

    def count_running(self, namespace: str, flow_id: str) -> int:
        """Executions of the flow holding a slot: every one not ended and not QUEUED."""
        return self.connection.execute(
            select(func.count())
            .select_from(ex_t)
            .where(
                ex_t.c.namespace == namespace,
                ex_t.c.flow_id == flow_id,
                ex_t.c.state.notin_([*(s.value for s in TERMINAL), "QUEUED"]),
            )
        ).scalar_one()

    def oldest_queued(self, namespace: str, flow_id: str) -> StoredExecution | None:
        """The QUEUED execution to start next, locked; one being changed elsewhere is skipped."""
        query = (
            select(ex_t.c.document, ex_t.c.version, ex_t.c.lease_owner)
            .where(
                ex_t.c.namespace == namespace,
                ex_t.c.flow_id == flow_id,
                ex_t.c.state == "QUEUED",
            )
            .order_by(ex_t.c.start_date, ex_t.c.id)
            .limit(1)
        )
        if self.connection.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        row = self.connection.execute(query).first()
        if row is None:
            return None
        return StoredExecution(Execution.model_validate(row.document), row.version, row.lease_owner)

    def put_file(self, uri: str, content: bytes) -> None:
        """A file of the database storage, written with this transaction."""
        values = {"size": len(content), "content": content, "created_at": self.now}
        self.connection.execute(
            _upsert_insert(self.connection, file_t)
            .values(uri=uri, **values)
            .on_conflict_do_update(index_elements=[file_t.c.uri], set_=values)
        )

    def wake_execution(self, execution_id: str) -> None:
        """Makes an execution due now (a parent whose child just ended)."""
        self.connection.execute(
            update(ex_t)
            .where(
                ex_t.c.id == execution_id,
                ex_t.c.state.notin_([s.value for s in TERMINAL]),
                or_(ex_t.c.wake_at.is_(None), ex_t.c.wake_at > self.now),
            )
            .values(wake_at=self.now)
        )

    def claim_execution(self, execution_id: str, owner: str, lease: timedelta) -> bool:
        """Takes the runner lease unless another live runner holds it."""
        result = self.connection.execute(
            _CLAIM,
            {
                "b_id": execution_id,
                "b_now": self.now,
                "b_owner": owner,
                "b_until": self.now + lease,
            },
        )
        return result.rowcount == 1

    def extend_lease(self, execution_id: str, owner: str, lease: timedelta) -> None:
        self.connection.execute(
            _EXTEND, {"b_id": execution_id, "b_owner": owner, "b_until": self.now + lease}
        )

    def release_execution(self, execution_id: str, owner: str) -> None:
        self.connection.execute(_RELEASE, {"b_id": execution_id, "b_owner": owner})

    # -- logs and events ----------------------------------------------------------------
    def append_logs(self, entries: Sequence[LogEntry]) -> None:
        if entries:
            secrets = secret_values()  # a secret's value is never written to a log
            self.connection.execute(
                _INSERT_LOGS,
                [
                    {
                        "execution_id": e.execution_id,
                        "task_run_id": e.task_run_id,
                        "task_id": e.task_id,
                        "level": e.level,
                        "message": _text(mask_secrets(e.message, secrets)),
                        "timestamp": e.timestamp,
                    }
                    for e in entries
                ],
            )

    def emit(self, events: Sequence[NewEvent]) -> None:
        if events:
            self.connection.execute(
                _INSERT_EVENTS,
                [
                    {
                        "kind": e.kind,
                        "execution_id": e.execution_id,
                        "task_run_id": e.task_run_id,
                        "payload": e.payload,
                        "created_at": self.now,
                    }
                    for e in events
                ],
            )
            self.events.extend(events)
            self.outgoing.extend(
                {"k": "event", "id": e.execution_id, "kind": e.kind} for e in events
            )
            # An approval request's state moves with its Approval, in this same commit.
            record_approval_outcomes(self.connection, events, self.now)

    # -- reminder timers (engine/outbox.py decides; these are its queries) ------------------
    def due_reminders(self, consumer: str, limit: int) -> list[Any]:
        """Due timers, soonest first, locked (PostgreSQL: skipping those another replica holds)."""
        query = (
            select(reminder_t)
            .where(reminder_t.c.consumer == consumer, reminder_t.c.due_at <= self.now)
            .order_by(reminder_t.c.due_at)
            .limit(limit)
        )
        if self.connection.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return list(self.connection.execute(query).all())

    def reschedule_reminder(
        self, consumer: str, execution_id: str, task_run_id: str, due_at: datetime
    ) -> None:
        self.connection.execute(
            update(reminder_t)
            .where(
                reminder_t.c.consumer == consumer,
                reminder_t.c.execution_id == execution_id,
                reminder_t.c.task_run_id == task_run_id,
            )
            .values(
                due_at=due_at,
                remaining=reminder_t.c.remaining - 1,
                fired=reminder_t.c.fired + 1,
            )
        )

    def drop_reminder(self, consumer: str, execution_id: str, task_run_id: str) -> None:
        self.connection.execute(
            delete(reminder_t).where(
                reminder_t.c.consumer == consumer,
                reminder_t.c.execution_id == execution_id,
                reminder_t.c.task_run_id == task_run_id,
            )
        )

    def insert_approval_request(self, record: ApprovalRequestRecord) -> None:
        insert_approval_request(self.connection, record)

    def spend_token(self, token_id: str, execution_id: str) -> bool:
        """Marks a single-use token spent; False when it already was."""
        exists = self.connection.execute(
            select(token_t.c.token_id).where(token_t.c.token_id == token_id)
        ).first()
        if exists:
            return False
        self.connection.execute(
            insert(token_t).values(token_id=token_id, used_at=self.now, execution_id=execution_id)
        )
        return True


class Store:
    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        self.engine: Engine = create_database_engine(url)
        self.writer: Engine = writer(self.engine)
        # Reads of one statement need no transaction of their own: on PostgreSQL they run in
        # autocommit (one round trip instead of BEGIN, the query and ROLLBACK).
        self.reader: Engine = (
            self.engine.execution_options(isolation_level="AUTOCOMMIT")
            if self.dialect == "postgresql"
            else self.engine
        )
        # SQLite has one write lock per file. Threads of this process take turns here, in
        # order, instead of racing for it in SQLite's busy handler (which sleeps in growing
        # steps); other processes on the same file still meet the busy timeout.
        self._write_lock: AbstractContextManager[Any] = (
            threading.RLock() if self.dialect == "sqlite" else nullcontext()
        )
        # This process as a worker (engine/store/workers.py): claims it takes carry this id.
        self.worker_id = f"{socket.gethostname()[:24]}-{os.getpid()}-{secrets.token_hex(4)}"
        self.lock_key = secrets.randbelow(2**31 - 1) + 1
        # Whether other workers may need our NOTIFYs: None (unknown: send them) until this
        # process is a worker, then what its last heartbeat saw; a worker that starts says
        # "hello", which sets it at once.
        self.peers: bool | None = None
        self.hellos = 0  # "hello"s heard (a heartbeat's older view never undoes a newer one)
        if migrate:
            upgrade_schema(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction: ``BEGIN IMMEDIATE`` on SQLite, one writer of this process at a time."""
        with self._write_lock, self.writer.begin() as connection:
            yield connection

    @contextmanager
    def transaction(self, now: datetime) -> Iterator[Transaction]:
        with self._write() as connection:
            tx = Transaction(connection, now)
            yield tx
            _apply_counts(connection, tx.counts)
            if tx.outgoing and self.dialect == "postgresql" and self.peers is not False:
                notify.send(connection, self.worker_id, tx.outgoing)

    def ping(self) -> bool:
        try:
            with self.reader.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
            return True
        except Exception:
            log.warning("database ping failed", exc_info=True)
            return False

    # -- flows --------------------------------------------------------------------------
    def latest_flow_revision(
        self, namespace: str, flow_id: str, *, include_deleted: bool = False
    ) -> tuple[int, str, bool] | None:
        with self.reader.connect() as connection:
            row = connection.execute(
                select(flow_t.c.revision, flow_t.c.source, flow_t.c.deleted)
                .where(flow_t.c.namespace == namespace, flow_t.c.flow_id == flow_id)
                .order_by(flow_t.c.revision.desc())
                .limit(1)
            ).first()
        if row is None or (row.deleted and not include_deleted):
            return None
        return row.revision, row.source, row.deleted

    def flow_revision(self, namespace: str, flow_id: str, revision: int) -> str | None:
        with self.reader.connect() as connection:
            return connection.execute(
                select(flow_t.c.source).where(
                    flow_t.c.namespace == namespace,
                    flow_t.c.flow_id == flow_id,
                    flow_t.c.revision == revision,
                )
            ).scalar()

    def save_flow(
        self, namespace: str, flow_id: str, source: str, now: datetime
    ) -> tuple[int, bool]:
        """Stores ``source`` as a new revision unless it equals the latest. Returns (revision, created)."""
        with self._write() as connection:
            row = connection.execute(
                select(flow_t.c.revision, flow_t.c.source, flow_t.c.deleted)
                .where(flow_t.c.namespace == namespace, flow_t.c.flow_id == flow_id)
                .order_by(flow_t.c.revision.desc())
                .limit(1)
            ).first()
            if row is not None and row.source == source and not row.deleted:
                return row.revision, False
            revision = (row.revision + 1) if row is not None else 1
            connection.execute(
                insert(flow_t).values(
                    namespace=namespace,
                    flow_id=flow_id,
                    revision=revision,
                    source=source,
                    deleted=False,
                    created_at=now,
                )
            )
            return revision, True

    def delete_flow(self, namespace: str, flow_id: str, now: datetime) -> bool:
        """Deleting keeps the revisions (executions still need them) and adds a tombstone."""
        with self._write() as connection:
            row = connection.execute(
                select(flow_t.c.revision, flow_t.c.source, flow_t.c.deleted)
                .where(flow_t.c.namespace == namespace, flow_t.c.flow_id == flow_id)
                .order_by(flow_t.c.revision.desc())
                .limit(1)
            ).first()
            if row is None or row.deleted:
                return False
            connection.execute(
                insert(flow_t).values(
                    namespace=namespace,
                    flow_id=flow_id,
                    revision=row.revision + 1,
                    source=row.source,
                    deleted=True,
                    created_at=now,
                )
            )
            return True

    def list_flows(self) -> list[tuple[str, str, int, str]]:
        """(namespace, id, revision, source) of every live flow at its latest revision."""
        latest = (
            select(
                flow_t.c.namespace,
                flow_t.c.flow_id,
                func.max(flow_t.c.revision).label("revision"),
            )
            .group_by(flow_t.c.namespace, flow_t.c.flow_id)
            .subquery()
        )
        with self.reader.connect() as connection:
            rows = connection.execute(
                select(flow_t.c.namespace, flow_t.c.flow_id, flow_t.c.revision, flow_t.c.source)
                .join(
                    latest,
                    and_(
                        flow_t.c.namespace == latest.c.namespace,
                        flow_t.c.flow_id == latest.c.flow_id,
                        flow_t.c.revision == latest.c.revision,
                    ),
                )
                .where(flow_t.c.deleted.is_(False))
                .order_by(flow_t.c.namespace, flow_t.c.flow_id)
            ).all()
        return [(r.namespace, r.flow_id, r.revision, r.source) for r in rows]

    # -- executions (reads) -------------------------------------------------------------
    def get_execution(self, execution_id: str) -> StoredExecution:
        with self.reader.connect() as connection:
            row = connection.execute(_GET, {"b_id": execution_id}).first()
        if row is None:
            raise ExecutionNotFound(execution_id)
        return StoredExecution(Execution.model_validate(row.document), row.version, row.lease_owner)

    def search_executions(
        self,
        *,
        states: Sequence[str] = (),
        namespace: str | None = None,
        flow_id: str | None = None,
        text: str | None = None,
        ids: Sequence[str] | None = None,
        labels: Mapping[str, str] | None = None,
        dates: DateRange | None = None,
        sort: Sequence[SortKey] = (),
        offset: int = 0,
        limit: int = 25,
    ) -> tuple[list[Execution], int]:
        """One page of executions matching every filter given, and how many match in all."""
        page, count = _search_statements(
            states=states,
            namespace=namespace,
            flow_id=flow_id,
            text=text,
            ids=ids,
            labels=labels,
            dates=dates,
            sort=sort,
            offset=offset,
            limit=limit,
        )
        with self.engine.connect() as connection:
            rows = connection.execute(page).all()
            if offset == 0 and len(rows) < limit:
                total = len(rows)  # the whole result is on this page
            else:
                total = int(connection.execute(count).scalar_one())
        return [Execution.model_validate(r.document) for r in rows], total

    def waiting_executions(
        self,
        *,
        namespace: str | None = None,
        flow_id: str | None = None,
        text: str | None = None,
        limit: int = 1000,
        known: Callable[[str, int], Execution | None] | None = None,
    ) -> tuple[list[tuple[Execution, int]], list[tuple[str, str, int]]]:
        """PAUSED executions with their versions, the soonest deadline (``wake_at``) first, then
        the oldest; and the count of every matching one per flow. One read: the counts, the ids
        and versions in order, and the documents of those ``known(id, version)`` does not
        already have parsed (a caller's cache: versions change with every write)."""
        conditions: list[ColumnElement[bool]] = [ex_t.c.state == "PAUSED"]
        if namespace:
            conditions.append(in_namespace(ex_t.c.namespace, namespace))
        if flow_id:
            conditions.append(ex_t.c.flow_id == flow_id)
        if text:  # literally what was typed: engine/store/filters.py escapes LIKE's wildcards
            conditions.append(_matches_text(text))
        where = and_(*conditions)
        with self.engine.connect() as connection:
            counts = connection.execute(
                select(ex_t.c.namespace, ex_t.c.flow_id, func.count())
                .where(where)
                .group_by(ex_t.c.namespace, ex_t.c.flow_id)
            ).all()
            order = connection.execute(
                select(ex_t.c.id, ex_t.c.version)
                .where(where)
                .order_by(ex_t.c.wake_at.is_(None), ex_t.c.wake_at, ex_t.c.start_date, ex_t.c.id)
                .limit(limit)
            ).all()
            found: dict[str, tuple[Execution, int]] = {}
            for row in order:
                cached = known(row.id, row.version) if known is not None else None
                if cached is not None:
                    found[row.id] = (cached, row.version)
            missing = [row.id for row in order if row.id not in found]
            for start in range(0, len(missing), 500):  # bounded IN lists
                for doc in connection.execute(
                    select(ex_t.c.id, ex_t.c.version, ex_t.c.document).where(
                        ex_t.c.id.in_(missing[start : start + 500])
                    )
                ).all():
                    found[doc.id] = (Execution.model_validate(doc.document), doc.version)
        return (
            [found[row.id] for row in order if row.id in found],
            [(ns, fid, int(n)) for ns, fid, n in counts],
        )

    def list_queries(
        self,
        *,
        states: Sequence[str] = (),
        namespace: str | None = None,
        flow_id: str | None = None,
        limit: int = 25,
    ) -> dict[str, Any]:
        """The statements search_executions runs for these filters (for EXPLAIN in tests)."""
        page, count = _search_statements(
            states=states, namespace=namespace, flow_id=flow_id, limit=limit
        )
        return {"page": page, "count": count}

    def count_executions_by_state(self) -> dict[str, int]:
        with self.reader.connect() as connection:
            rows = connection.execute(
                select(count_t.c.state, func.sum(count_t.c.count)).group_by(count_t.c.state)
            ).all()
        return {state: int(count) for state, count in rows if count}

    # -- the runner's claims ------------------------------------------------------------
    def due_execution_ids(self, now: datetime, limit: int) -> list[str]:
        with self.reader.connect() as connection:
            rows = connection.execute(
                select(ex_t.c.id)
                .where(
                    ex_t.c.wake_at <= now,
                    or_(ex_t.c.lease_until.is_(None), ex_t.c.lease_until < now),
                )
                .order_by(ex_t.c.wake_at)
                .limit(limit)
            ).all()
        return [r.id for r in rows]

    def due_and_next(self, now: datetime, limit: int) -> tuple[list[str], datetime | None]:
        """The due executions no live runner holds (oldest first) and, in the same query, when
        the next one falls due: the runner's one query per poll (served by ix_executions_wake_at)."""
        with self.reader.connect() as connection:
            rows = connection.execute(
                select(ex_t.c.id, ex_t.c.wake_at)
                .where(
                    ex_t.c.wake_at.is_not(None),
                    or_(ex_t.c.lease_until.is_(None), ex_t.c.lease_until < now),
                )
                .order_by(ex_t.c.wake_at)
                .limit(limit + 1)
            ).all()
        due = [r.id for r in rows if utc(r.wake_at) <= now][:limit]  # type: ignore[operator]
        if len(due) == limit:
            return due, now  # more may be due: look again at once
        later = [utc(r.wake_at) for r in rows if utc(r.wake_at) > now]  # type: ignore[operator]
        return due, later[0] if later else None

    def next_wake_at(self) -> datetime | None:
        with self.reader.connect() as connection:
            value = connection.execute(select(func.min(ex_t.c.wake_at))).scalar()
        return utc(value)

    def claim_execution(
        self, execution_id: str, owner: str, now: datetime, lease: timedelta
    ) -> bool:
        """Takes the lease unless a live runner holds it. Exactly one claimer wins."""
        with self.transaction(now) as tx:
            return tx.claim_execution(execution_id, owner, lease)

    def postpone_execution(self, execution_id: str, until: datetime) -> None:
        """Moves the next wake-up of an execution the runner failed to advance (back-off)."""
        with self.transaction(until) as tx:
            tx.connection.execute(
                update(ex_t).where(ex_t.c.id == execution_id).values(wake_at=until)
            )
            tx.outgoing.append({"k": "at", "id": execution_id, "at": until.isoformat()})

    def extend_lease(self, execution_id: str, owner: str, now: datetime, lease: timedelta) -> None:
        with self.transaction(now) as tx:
            tx.extend_lease(execution_id, owner, lease)

    def release_execution(self, execution_id: str, owner: str) -> None:
        with self.transaction(datetime.now(UTC)) as tx:
            tx.release_execution(execution_id, owner)

    # -- logs ---------------------------------------------------------------------------
    def list_logs(self, execution_id: str, *, min_level: str | None = None) -> list[LogEntry]:
        from engine.tasks.base import LEVELS

        query = select(log_t).where(log_t.c.execution_id == execution_id).order_by(log_t.c.id)
        if min_level:
            allowed = LEVELS[LEVELS.index(min_level.upper()) :]
            query = query.where(log_t.c.level.in_(allowed))
        with self.reader.connect() as connection:
            rows = connection.execute(query).all()
        return [
            LogEntry(r.execution_id, r.task_run_id, r.task_id, r.level, r.message, utc(r.timestamp))  # type: ignore[arg-type]
            for r in rows
        ]

    # -- outbox -------------------------------------------------------------------------
    def register_consumer(self, name: str, now: datetime, *, from_start: bool = False) -> None:
        """A new consumer sees events from now on (or all of them with ``from_start``)."""
        with self._write() as connection:
            if connection.execute(
                select(consumer_t.c.name).where(consumer_t.c.name == name)
            ).first():
                return
            start = (
                0
                if from_start
                else connection.execute(select(func.max(event_t.c.id))).scalar() or 0
            )
            connection.execute(
                insert(consumer_t).values(name=name, start_after_id=start, registered_at=now)
            )

    def claim_events(
        self,
        consumer: str,
        now: datetime,
        *,
        limit: int = 50,
        lease: timedelta = timedelta(seconds=60),
        owner: str | None = None,
    ) -> list[OutboxEvent]:
        """Events this consumer has not finished, oldest first, leased so replicas don't share.
        The claim carries ``owner`` (default: this process's worker id), so the stalled-worker
        sweep can release it at once when that worker dies."""
        d = delivery_t
        owner = owner or self.worker_id
        with self._write() as connection:
            start = connection.execute(
                select(consumer_t.c.start_after_id).where(consumer_t.c.name == consumer)
            ).scalar()
            if start is None:
                return []
            query = (
                select(event_t, d.c.attempts, d.c.status)
                .select_from(
                    event_t.outerjoin(
                        d, and_(d.c.event_id == event_t.c.id, d.c.consumer == consumer)
                    )
                )
                .where(
                    event_t.c.id > start,
                    or_(
                        d.c.event_id.is_(None),
                        and_(
                            d.c.status == "pending",
                            or_(d.c.next_attempt_at.is_(None), d.c.next_attempt_at <= now),
                            or_(d.c.lease_until.is_(None), d.c.lease_until < now),
                        ),
                    ),
                )
                .order_by(event_t.c.id)
                .limit(limit)
            )
            if connection.dialect.name == "postgresql":
                query = query.with_for_update(of=event_t, skip_locked=True)
            rows = connection.execute(query).all()
            claimed: list[OutboxEvent] = []
            for row in rows:
                if row.status is None:
                    # Safe without ON CONFLICT: the event row is locked (PostgreSQL) or the
                    # whole database is (SQLite's BEGIN IMMEDIATE) until we commit.
                    connection.execute(
                        insert(d).values(
                            consumer=consumer,
                            event_id=row.id,
                            status="pending",
                            attempts=0,
                            lease_until=now + lease,
                            claimed_by=owner,
                            updated_at=now,
                        )
                    )
                    attempts = 0
                else:
                    result = connection.execute(
                        update(d)
                        .where(
                            d.c.consumer == consumer,
                            d.c.event_id == row.id,
                            d.c.status == "pending",
                            or_(d.c.lease_until.is_(None), d.c.lease_until < now),
                        )
                        .values(lease_until=now + lease, claimed_by=owner, updated_at=now)
                    )
                    if result.rowcount != 1:
                        continue
                    attempts = row.attempts
                claimed.append(
                    OutboxEvent(
                        row.id,
                        row.kind,
                        row.execution_id,
                        row.task_run_id,
                        row.payload,
                        utc(row.created_at),  # type: ignore[arg-type]
                        attempts,
                    )
                )
            return claimed

    def finish_delivery(self, consumer: str, event_id: int, now: datetime) -> None:
        self._set_delivery(consumer, event_id, now, status="done", lease_until=None)

    def retry_delivery(
        self, consumer: str, event_id: int, now: datetime, at: datetime, error: str
    ) -> None:
        self._set_delivery(
            consumer,
            event_id,
            now,
            status="pending",
            next_attempt_at=at,
            lease_until=None,
            last_error=error[:2000],
            bump=True,
        )

    def fail_delivery(self, consumer: str, event_id: int, now: datetime, error: str) -> None:
        self._set_delivery(
            consumer,
            event_id,
            now,
            status="failed",
            lease_until=None,
            last_error=error[:2000],
            bump=True,
        )

    def _set_delivery(
        self, consumer: str, event_id: int, now: datetime, *, bump: bool = False, **values: Any
    ) -> None:
        d = delivery_t
        if bump:
            values["attempts"] = d.c.attempts + 1
        values["claimed_by"] = None
        with self._write() as connection:
            connection.execute(
                update(d)
                .where(d.c.consumer == consumer, d.c.event_id == event_id)
                .values(updated_at=now, **values)
            )

    def outbox_backlog(self, consumer: str) -> int:
        """Events not yet delivered (pending or never claimed) for this consumer."""
        d = delivery_t
        with self.engine.connect() as connection:
            start = connection.execute(
                select(consumer_t.c.start_after_id).where(consumer_t.c.name == consumer)
            ).scalar()
            if start is None:
                return 0
            return connection.execute(
                select(func.count())
                .select_from(
                    event_t.outerjoin(
                        d, and_(d.c.event_id == event_t.c.id, d.c.consumer == consumer)
                    )
                )
                .where(event_t.c.id > start, or_(d.c.status.is_(None), d.c.status == "pending"))
            ).scalar_one()

    def failed_deliveries(self, consumer: str) -> int:
        with self.reader.connect() as connection:
            return connection.execute(
                select(func.count())
                .select_from(delivery_t)
                .where(delivery_t.c.consumer == consumer, delivery_t.c.status == "failed")
            ).scalar_one()

    def events_for(self, execution_id: str) -> list[OutboxEvent]:
        with self.reader.connect() as connection:
            rows = connection.execute(
                select(event_t).where(event_t.c.execution_id == execution_id).order_by(event_t.c.id)
            ).all()
        return [
            OutboxEvent(r.id, r.kind, r.execution_id, r.task_run_id, r.payload, utc(r.created_at))  # type: ignore[arg-type]
            for r in rows
        ]

    # -- notices (where a consumer told people about a pause) ---------------------------
    def add_notice(
        self,
        consumer: str,
        execution_id: str,
        task_run_id: str | None,
        ref: dict[str, Any],
        now: datetime,
    ) -> None:
        with self._write() as connection:
            connection.execute(
                insert(notice_t).values(
                    consumer=consumer,
                    execution_id=execution_id,
                    task_run_id=task_run_id,
                    ref=ref,
                    created_at=now,
                )
            )

    def notices(self, consumer: str, execution_id: str) -> list[tuple[str | None, dict[str, Any]]]:
        with self.reader.connect() as connection:
            rows = connection.execute(
                select(notice_t.c.task_run_id, notice_t.c.ref)
                .where(notice_t.c.consumer == consumer, notice_t.c.execution_id == execution_id)
                .order_by(notice_t.c.id)
            ).all()
        return [(r.task_run_id, r.ref) for r in rows]

    def delete_notices(self, consumer: str, execution_id: str) -> None:
        with self._write() as connection:
            connection.execute(
                delete(notice_t).where(
                    notice_t.c.consumer == consumer, notice_t.c.execution_id == execution_id
                )
            )

    # -- retention ------------------------------------------------------------------------
    def purge_executions(
        self,
        *,
        end_date: datetime,
        start_date: datetime | None = None,
        namespace: str | None = None,
        flow_id: str | None = None,
        states: Sequence[str] = (),
        purge_execution: bool = True,
        purge_log: bool = True,
        batch_size: int = 100,
        keep: Sequence[str] = (),
    ) -> tuple[int, int]:
        """Deletes executions (and everything about them: outbox events and their deliveries,
        notices, spent tokens, files in the database storage) and/or their logs, in transactions of ``batch_size``
        executions. Matched as Kestra's PurgeExecutions does: started at or after
        ``start_date``, ended (last changed) before ``end_date``, in ``namespace`` (a prefix
        without ``flow_id``) and ``states``. Returns (executions deleted, logs deleted)."""
        conditions: list[ColumnElement[bool]] = [ex_t.c.updated_at < end_date]
        if start_date is not None:
            conditions.append(ex_t.c.start_date >= start_date)
        if namespace and flow_id:
            conditions += [ex_t.c.namespace == namespace, ex_t.c.flow_id == flow_id]
        elif namespace:
            conditions.append(in_namespace(ex_t.c.namespace, namespace))
        elif flow_id:
            conditions.append(ex_t.c.flow_id == flow_id)
        if states:
            conditions.append(ex_t.c.state.in_(list(states)))
        if keep:
            conditions.append(ex_t.c.id.not_in(list(keep)))
        executions = logs = 0
        after = ""
        batch_size = max(1, batch_size)
        while True:
            with self._write() as connection:
                ids = [
                    r.id
                    for r in connection.execute(
                        select(ex_t.c.id)
                        .where(*conditions, ex_t.c.id > after)
                        .order_by(ex_t.c.id)
                        .limit(batch_size)
                    ).all()
                ]
                if not ids:
                    return executions, logs
                after = ids[-1]
                if purge_log:
                    logs += connection.execute(
                        delete(log_t).where(log_t.c.execution_id.in_(ids))
                    ).rowcount
                if purge_execution:
                    gone = connection.execute(
                        select(ex_t.c.namespace, ex_t.c.flow_id, ex_t.c.state, func.count())
                        .where(ex_t.c.id.in_(ids))
                        .group_by(ex_t.c.namespace, ex_t.c.flow_id, ex_t.c.state)
                    ).all()
                    _apply_counts(connection, {(r[0], r[1], r[2]): -r[3] for r in gone})
                    events = select(event_t.c.id).where(event_t.c.execution_id.in_(ids))
                    connection.execute(delete(delivery_t).where(delivery_t.c.event_id.in_(events)))
                    connection.execute(delete(event_t).where(event_t.c.execution_id.in_(ids)))
                    connection.execute(delete(notice_t).where(notice_t.c.execution_id.in_(ids)))
                    connection.execute(delete(token_t).where(token_t.c.execution_id.in_(ids)))
                    connection.execute(delete(reminder_t).where(reminder_t.c.execution_id.in_(ids)))
                    connection.execute(delete(request_t).where(request_t.c.id.in_(ids)))
                    # their files in the database storage (kestra:///…/executions/<id>/…)
                    connection.execute(
                        delete(file_t).where(
                            or_(
                                *(
                                    file_t.c.uri.contains(f"/executions/{i}/", autoescape=True)
                                    for i in ids
                                )
                            )
                        )
                    )
                    executions += connection.execute(
                        delete(ex_t).where(ex_t.c.id.in_(ids))
                    ).rowcount

    def prune_outbox(self, before: datetime, *, batch_size: int = 1000) -> tuple[int, int]:
        """Deletes outbox events created before ``before`` that every registered consumer has
        settled (done or failed, or registered after them), with their deliveries. An event
        a consumer still owes is kept whatever its age. Returns (events, deliveries) deleted."""
        settled = (
            select(delivery_t.c.event_id)
            .where(
                delivery_t.c.consumer == consumer_t.c.name,
                delivery_t.c.event_id == event_t.c.id,
                delivery_t.c.status.in_(("done", "failed")),
            )
            .correlate(consumer_t, event_t)
            .exists()
        )
        owed = (
            select(consumer_t.c.name)
            .where(consumer_t.c.start_after_id < event_t.c.id, ~settled)
            .exists()
        )
        events = deliveries = 0
        while True:
            with self._write() as connection:
                ids = [
                    r.id
                    for r in connection.execute(
                        select(event_t.c.id)
                        .where(event_t.c.created_at < before, ~owed)
                        .order_by(event_t.c.id)
                        .limit(batch_size)
                    ).all()
                ]
                if not ids:
                    return events, deliveries
                deliveries += connection.execute(
                    delete(delivery_t).where(delivery_t.c.event_id.in_(ids))
                ).rowcount
                events += connection.execute(delete(event_t).where(event_t.c.id.in_(ids))).rowcount
            if len(ids) < batch_size:
                return events, deliveries

    def database_size(self) -> int:
        """Bytes the database takes (SQLite: pages in use; PostgreSQL: pg_database_size)."""
        with self.reader.connect() as connection:
            if self.dialect == "postgresql":
                return int(
                    connection.exec_driver_sql(
                        "SELECT pg_database_size(current_database())"
                    ).scalar()
                )
            pages = connection.exec_driver_sql("PRAGMA page_count").scalar()
            free = connection.exec_driver_sql("PRAGMA freelist_count").scalar()
            size = connection.exec_driver_sql("PRAGMA page_size").scalar()
            return int((pages - free) * size)

    # -- workers: heartbeats and the stalled-worker sweep ---------------------------------
    def register_worker(self, now: datetime) -> None:
        with self._write() as connection:
            connection.execute(delete(worker_t).where(worker_t.c.id == self.worker_id))
            connection.execute(
                insert(worker_t).values(
                    id=self.worker_id,
                    lock_key=self.lock_key,
                    host=socket.gethostname()[:255],
                    pid=os.getpid(),
                    started_at=now,
                    heartbeat_at=now,
                )
            )
            if self.dialect == "postgresql":
                notify.send(connection, self.worker_id, [{"k": "hello"}])

    def unregister_worker(self) -> None:
        with self._write() as connection:
            connection.execute(delete(worker_t).where(worker_t.c.id == self.worker_id))

    def heartbeat(self, now: datetime, stalled_after: timedelta) -> tuple[list[str], list[str]]:
        """One transaction: our heartbeat, then the sweep. A worker is stalled when its
        heartbeat is older than ``stalled_after``, or at once when it is seen dead: on
        PostgreSQL its advisory lock is gone (its connection closed), on this host its pid no
        longer exists. Its execution leases and outbox claims are released (the executions
        made due now) and its row removed. Returns (stalled workers, released executions)."""
        hellos = self.hellos
        with self.transaction(now) as tx:
            connection = tx.connection
            connection.execute(
                update(worker_t).where(worker_t.c.id == self.worker_id).values(heartbeat_at=now)
            )
            rows = connection.execute(select(worker_t).where(worker_t.c.id != self.worker_id)).all()
            if not rows:
                self.peers = self.hellos != hellos
                return [], []
            held: set[int] | None = None
            if self.dialect == "postgresql":
                held = {
                    int(key)
                    for (key,) in connection.exec_driver_sql(
                        "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                        f"AND classid = {notify.LOCK_CLASS} AND objsubid = 2"
                    )
                }
            host = socket.gethostname()[:255]
            dead = []
            for row in rows:
                beat = utc(row.heartbeat_at)
                assert beat is not None
                if beat < now - stalled_after:
                    dead.append(row.id)
                elif held is not None and row.lock_key not in held:
                    if utc(row.started_at) < now - timedelta(seconds=5):  # type: ignore[operator]
                        dead.append(row.id)  # (a worker just started may not hold it yet)
                elif held is None and row.host == host and not _pid_alive(row.pid):
                    dead.append(row.id)
            self.peers = len(dead) < len(rows) or self.hellos != hellos
            if not dead:
                return [], []
            owned = or_(*(ex_t.c.lease_owner.like(f"{w}/%") for w in dead))
            released = [r.id for r in connection.execute(select(ex_t.c.id).where(owned)).all()]
            if released:
                connection.execute(
                    update(ex_t)
                    .where(ex_t.c.id.in_(released))
                    .values(lease_owner=None, lease_until=None, wake_at=now)
                )
                tx.outgoing.extend({"k": "run", "id": eid} for eid in released)
            connection.execute(
                update(delivery_t)
                .where(delivery_t.c.claimed_by.in_(dead), delivery_t.c.status == "pending")
                .values(lease_until=None, claimed_by=None, updated_at=now)
            )
            connection.execute(delete(worker_t).where(worker_t.c.id.in_(dead)))
            tx.outgoing.append({"k": "event", "id": "", "kind": "released"})
            if not self.peers and self.dialect == "postgresql":
                # Store.transaction sends nothing for a lone worker: the sweep's releases go out
                # all the same (a replica may be starting).
                notify.send(connection, self.worker_id, tx.outgoing)
                tx.outgoing = []
            return dead, released

    def workers(self) -> list[dict[str, Any]]:
        with self.reader.connect() as connection:
            rows = connection.execute(select(worker_t).order_by(worker_t.c.started_at)).all()
        return [dict(r._mapping) for r in rows]

    # -- reminder timers ----------------------------------------------------------------
    def schedule_reminder(
        self,
        consumer: str,
        execution_id: str,
        task_run_id: str,
        *,
        due_at: datetime,
        every_seconds: float | None,
        remaining: int,
        now: datetime,
    ) -> bool:
        """Creates the task run's timer unless it has one (then keeps it). True when created."""
        r = reminder_t
        with self._write() as connection:
            exists = connection.execute(
                select(r.c.consumer).where(
                    r.c.consumer == consumer,
                    r.c.execution_id == execution_id,
                    r.c.task_run_id == task_run_id,
                )
            ).first()
            if exists:
                return False
            connection.execute(
                insert(r).values(
                    consumer=consumer,
                    execution_id=execution_id,
                    task_run_id=task_run_id,
                    due_at=due_at,
                    every_seconds=every_seconds,
                    remaining=remaining,
                    fired=0,
                    created_at=now,
                )
            )
            return True

    def next_reminder_at(self, consumer: str) -> datetime | None:
        with self.engine.connect() as connection:
            value = connection.execute(
                select(func.min(reminder_t.c.due_at)).where(reminder_t.c.consumer == consumer)
            ).scalar()
        return utc(value)

    def reminders_of(self, consumer: str, execution_id: str) -> list[dict[str, Any]]:
        r = reminder_t
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(r)
                .where(r.c.consumer == consumer, r.c.execution_id == execution_id)
                .order_by(r.c.task_run_id)
            ).all()
        return [
            {
                "task_run_id": row.task_run_id,
                "due_at": utc(row.due_at),
                "every_seconds": row.every_seconds,
                "remaining": row.remaining,
                "fired": row.fired,
            }
            for row in rows
        ]

    # -- for the HTTP service's /metrics (bot/metrics.py) ---------------------------------
    def outbox_consumers(self) -> list[str]:
        """Names of the registered outbox consumers (the Slack notifier, ...)."""
        with self.reader.connect() as connection:
            rows = connection.execute(select(consumer_t.c.name).order_by(consumer_t.c.name)).all()
        return [r.name for r in rows]

    # -- the KV store (engine/kv.py gives it Kestra's rules) ------------------------------
    def kv_put(
        self,
        namespace: str,
        key: str,
        value: Any,
        kv_type: str,
        *,
        description: str | None,
        expires_at: datetime | None,
        overwrite: bool,
        now: datetime,
    ) -> bool:
        """Sets a key in one transaction. False (nothing written) when it exists, is not
        expired, and ``overwrite`` is false."""
        live = or_(kv_t.c.expires_at.is_(None), kv_t.c.expires_at > now)
        values = {
            "value": {"value": value},
            "kv_type": kv_type,
            "description": description,
            "expires_at": expires_at,
            "updated_at": now,
        }
        with self._write() as connection:
            query = select(kv_t.c.expires_at).where(
                kv_t.c.namespace == namespace, kv_t.c.key == key
            )
            if connection.dialect.name == "postgresql":
                query = query.with_for_update()
            existing = connection.execute(query).first()
            if existing is None:
                insert_row = _upsert_insert(connection, kv_t).values(
                    namespace=namespace, key=key, created_at=now, **values
                )
                # Two first writers at once: the later one overwrites (or, without overwrite,
                # loses), as if it had come second.
                if overwrite:
                    insert_row = insert_row.on_conflict_do_update(
                        index_elements=[kv_t.c.namespace, kv_t.c.key], set_=values
                    )
                    connection.execute(insert_row)
                    return True
                # rowcount is not reliable for ON CONFLICT with every driver; RETURNING is.
                inserted = connection.execute(
                    insert_row.on_conflict_do_nothing().returning(kv_t.c.key)
                ).first()
                return inserted is not None
            expired = existing.expires_at is not None and utc(existing.expires_at) <= now  # type: ignore[operator]
            if not overwrite and not expired:
                return False
            update_query = update(kv_t).where(kv_t.c.namespace == namespace, kv_t.c.key == key)
            if not overwrite:
                update_query = update_query.where(~live)
            connection.execute(
                update_query.values(**values, **({"created_at": now} if expired else {}))
            )
            return True

    def kv_get(self, namespace: str, key: str, now: datetime) -> KVRecord | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(kv_t).where(
                    kv_t.c.namespace == namespace,
                    kv_t.c.key == key,
                    or_(kv_t.c.expires_at.is_(None), kv_t.c.expires_at > now),
                )
            ).first()
        return _kv_record(row) if row is not None else None

    def kv_list(self, namespace: str, now: datetime, prefix: str | None = None) -> list[KVRecord]:
        """Live keys of a namespace, by key."""
        query = select(kv_t).where(
            kv_t.c.namespace == namespace,
            or_(kv_t.c.expires_at.is_(None), kv_t.c.expires_at > now),
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query.order_by(kv_t.c.key)).all()
        records = [_kv_record(row) for row in rows]
        return [r for r in records if prefix is None or r.key.startswith(prefix)]

    def kv_delete(self, namespace: str, key: str, now: datetime) -> bool:
        """Deletes a key; True when a live value was there (an expired one is removed too)."""
        with self._write() as connection:
            live = connection.execute(
                select(kv_t.c.key).where(
                    kv_t.c.namespace == namespace,
                    kv_t.c.key == key,
                    or_(kv_t.c.expires_at.is_(None), kv_t.c.expires_at > now),
                )
            ).first()
            connection.execute(delete(kv_t).where(kv_t.c.namespace == namespace, kv_t.c.key == key))
            return live is not None

    # -- the internal file storage's database backend (engine/storage.py) --------------------
    def put_file(self, uri: str, content: bytes, now: datetime) -> None:
        """Stores (or replaces) the file at ``uri``."""
        with self.transaction(now) as tx:
            tx.put_file(uri, content)

    def get_file(self, uri: str) -> bytes | None:
        with self.engine.connect() as connection:
            content = connection.execute(
                select(file_t.c.content).where(file_t.c.uri == uri)
            ).scalar()
        return bytes(content) if content is not None else None

    def file_size(self, uri: str) -> int | None:
        with self.engine.connect() as connection:
            return connection.execute(select(file_t.c.size).where(file_t.c.uri == uri)).scalar()

    def list_files(self, prefix: str) -> list[str]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(file_t.c.uri)
                .where(file_t.c.uri.startswith(prefix, autoescape=True))
                .order_by(file_t.c.uri)
            ).all()
        return [r.uri for r in rows]


def _search_statements(
    *,
    states: Sequence[str] = (),
    namespace: str | None = None,
    flow_id: str | None = None,
    text: str | None = None,
    ids: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    dates: DateRange | None = None,
    sort: Sequence[SortKey] = (),
    offset: int = 0,
    limit: int = 25,
) -> tuple[Any, Any]:
    """The page and count statements of ``Store.search_executions`` (and of ``list_queries``,
    so the EXPLAIN tests check the very statements the lists run)."""
    conditions: list[ColumnElement[bool]] = []
    if states:
        conditions.append(ex_t.c.state.in_(list(states)))
    if namespace:
        # Kestra matches a namespace and its children (company.team matches company.team.x).
        conditions.append(in_namespace(ex_t.c.namespace, namespace))
    if flow_id:
        conditions.append(ex_t.c.flow_id == flow_id)
    if ids is not None:
        conditions.append(ex_t.c.id.in_(list(ids)))
    if text:
        conditions.append(_matches_text(text))
    for key, value in (labels or {}).items():
        conditions.append(
            ex_t.c.id.in_(
                select(label_t.c.execution_id).where(label_t.c.digest == label_digest(key, value))
            )
        )
    if dates is not None and dates.start_after is not None:
        conditions.append(ex_t.c.start_date >= dates.start_after)
    if dates is not None and dates.end_before is not None:
        conditions.append(ex_t.c.end_date <= dates.end_before)
    where = and_(*conditions) if conditions else and_(True)
    # Served by the list indexes in their own order (start_date DESC, id DESC).
    order = [
        (
            _SORT_COLUMNS[key.field].desc() if key.descending else _SORT_COLUMNS[key.field].asc()
        ).nulls_last()
        for key in sort
    ] or [ex_t.c.start_date.desc(), ex_t.c.id.desc()]
    page = (
        select(ex_t.c.document)
        .where(where)
        .order_by(*order, *([ex_t.c.id] if sort else []))
        .offset(offset)
        .limit(limit)
    )
    if text or ids is not None or labels or dates is not None:  # no counter: count them
        count = select(func.count()).select_from(ex_t).where(where)
    else:  # a handful of counter rows, never a count over the executions
        count = select(func.coalesce(func.sum(count_t.c.count), 0)).where(
            *_count_conditions(states, namespace, flow_id)
        )
    return page, count


def _matches_text(text: str) -> ColumnElement[bool]:
    """An execution whose id, namespace or flow contains ``text`` literally."""
    return or_(
        contains_text(ex_t.c.id, text),
        contains_text(ex_t.c.namespace, text),
        contains_text(ex_t.c.flow_id, text),
    )


def _count_conditions(
    states: Sequence[str], namespace: str | None, flow_id: str | None
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if states:
        conditions.append(count_t.c.state.in_(list(states)))
    if namespace:
        conditions.append(in_namespace(count_t.c.namespace, namespace))
    if flow_id:
        conditions.append(count_t.c.flow_id == flow_id)
    return conditions


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _upsert_insert(connection: Connection, table: Table) -> Any:
    """INSERT with ON CONFLICT support in the connection's dialect."""
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def _kv_record(row: Any) -> KVRecord:
    return KVRecord(
        namespace=row.namespace,
        key=row.key,
        value=(row.value or {}).get("value"),
        kv_type=row.kv_type,
        description=row.description,
        expires_at=utc(row.expires_at),
        created_at=utc(row.created_at),  # type: ignore[arg-type]
        updated_at=utc(row.updated_at),  # type: ignore[arg-type]
    )
