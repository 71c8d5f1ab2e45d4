"""Every query pausebot runs, each named for what it does. Nobody else writes SQL.

State changes happen inside ``Store.transaction()``; the ``Transaction`` object offers the
queries that belong together in one commit (load an execution under a lock, save it with a
compare-and-set on its version, append logs and outbox events).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
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
from engine.states import TERMINAL
from engine.store.database import create_database_engine, upgrade_schema, writer
from engine.store.models import (
    ExecutionRow,
    FlowRow,
    KVEntryRow,
    LogRow,
    NoticeRow,
    OutboxConsumerRow,
    OutboxDeliveryRow,
    OutboxEventRow,
    StoredFileRow,
    UsedTokenRow,
)

log = logging.getLogger(__name__)

ex_t = cast(Table, ExecutionRow.__table__)
flow_t = cast(Table, FlowRow.__table__)
log_t = cast(Table, LogRow.__table__)
event_t = cast(Table, OutboxEventRow.__table__)
consumer_t = cast(Table, OutboxConsumerRow.__table__)
delivery_t = cast(Table, OutboxDeliveryRow.__table__)
notice_t = cast(Table, NoticeRow.__table__)
token_t = cast(Table, UsedTokenRow.__table__)
kv_t = cast(Table, KVEntryRow.__table__)
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


class Transaction:
    """The queries of one commit. Obtain it from ``Store.transaction()``."""

    def __init__(self, connection: Connection, now: datetime) -> None:
        self.connection = connection
        self.now = now
        self.events: list[NewEvent] = []

    # -- executions ---------------------------------------------------------------------
    def load_execution(self, execution_id: str, *, lock: bool = True) -> StoredExecution:
        query = select(ex_t.c.document, ex_t.c.version, ex_t.c.lease_owner).where(
            ex_t.c.id == execution_id
        )
        if lock and self.connection.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self.connection.execute(query).first()
        if row is None:
            raise ExecutionNotFound(execution_id)
        return StoredExecution(Execution.model_validate(row.document), row.version, row.lease_owner)

    def insert_execution(self, execution: Execution, *, wake_at: datetime | None) -> None:
        self.connection.execute(
            insert(ex_t).values(
                id=execution.id,
                namespace=execution.namespace,
                flow_id=execution.flowId,
                flow_revision=execution.flowRevision,
                state=execution.state.current.value,
                start_date=self.now,
                updated_at=self.now,
                document=execution.model_dump(mode="json"),
                version=1,
                wake_at=wake_at,
            )
        )

    def save_execution(
        self, execution: Execution, seen_version: int, *, wake_at: datetime | None
    ) -> bool:
        """Compare-and-set: writes only if nobody saved since ``seen_version``."""
        result = self.connection.execute(
            update(ex_t)
            .where(ex_t.c.id == execution.id, ex_t.c.version == seen_version)
            .values(
                state=execution.state.current.value,
                updated_at=self.now,
                document=execution.model_dump(mode="json"),
                version=seen_version + 1,
                wake_at=wake_at,
            )
        )
        return result.rowcount == 1

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
            update(ex_t)
            .where(
                ex_t.c.id == execution_id,
                or_(
                    ex_t.c.lease_until.is_(None),
                    ex_t.c.lease_until < self.now,
                    ex_t.c.lease_owner == owner,
                ),
            )
            .values(lease_owner=owner, lease_until=self.now + lease)
        )
        return result.rowcount == 1

    def extend_lease(self, execution_id: str, owner: str, lease: timedelta) -> None:
        self.connection.execute(
            update(ex_t)
            .where(ex_t.c.id == execution_id, ex_t.c.lease_owner == owner)
            .values(lease_until=self.now + lease)
        )

    def release_execution(self, execution_id: str, owner: str) -> None:
        self.connection.execute(
            update(ex_t)
            .where(ex_t.c.id == execution_id, ex_t.c.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
        )

    # -- logs and events ----------------------------------------------------------------
    def append_logs(self, entries: Sequence[LogEntry]) -> None:
        if entries:
            self.connection.execute(
                insert(log_t),
                [
                    {
                        "execution_id": e.execution_id,
                        "task_run_id": e.task_run_id,
                        "task_id": e.task_id,
                        "level": e.level,
                        "message": _text(e.message),
                        "timestamp": e.timestamp,
                    }
                    for e in entries
                ],
            )

    def emit(self, events: Sequence[NewEvent]) -> None:
        if events:
            self.connection.execute(
                insert(event_t),
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
        # SQLite has one write lock per file. Threads of this process take turns here, in
        # order, instead of racing for it in SQLite's busy handler (which sleeps in growing
        # steps); other processes on the same file still meet the busy timeout.
        self._write_lock: AbstractContextManager[Any] = (
            threading.RLock() if self.dialect == "sqlite" else nullcontext()
        )
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
            yield Transaction(connection, now)

    def ping(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
            return True
        except Exception:
            log.warning("database ping failed", exc_info=True)
            return False

    # -- flows --------------------------------------------------------------------------
    def latest_flow_revision(
        self, namespace: str, flow_id: str, *, include_deleted: bool = False
    ) -> tuple[int, str, bool] | None:
        with self.engine.connect() as connection:
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
        with self.engine.connect() as connection:
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
        with self.engine.connect() as connection:
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
        with self.engine.connect() as connection:
            row = connection.execute(
                select(ex_t.c.document, ex_t.c.version, ex_t.c.lease_owner).where(
                    ex_t.c.id == execution_id
                )
            ).first()
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
        offset: int = 0,
        limit: int = 25,
    ) -> tuple[list[Execution], int]:
        conditions: list[ColumnElement[bool]] = []
        if states:
            conditions.append(ex_t.c.state.in_(list(states)))
        if namespace:
            # Kestra matches a namespace and its children (company.team matches company.team.x).
            conditions.append(
                or_(ex_t.c.namespace == namespace, ex_t.c.namespace.like(f"{namespace}.%"))
            )
        if flow_id:
            conditions.append(ex_t.c.flow_id == flow_id)
        if ids is not None:
            conditions.append(ex_t.c.id.in_(list(ids)))
        if text:
            pattern = f"%{text.lower()}%"
            conditions.append(
                or_(
                    func.lower(ex_t.c.id).like(pattern),
                    func.lower(ex_t.c.namespace).like(pattern),
                    func.lower(ex_t.c.flow_id).like(pattern),
                )
            )
        where = and_(*conditions) if conditions else and_(True)
        with self.engine.connect() as connection:
            total = connection.execute(
                select(func.count()).select_from(ex_t).where(where)
            ).scalar_one()
            rows = connection.execute(
                select(ex_t.c.document)
                .where(where)
                .order_by(ex_t.c.start_date.desc(), ex_t.c.id)
                .offset(offset)
                .limit(limit)
            ).all()
        return [Execution.model_validate(r.document) for r in rows], total

    def count_executions_by_state(self) -> dict[str, int]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(ex_t.c.state, func.count()).group_by(ex_t.c.state)
            ).all()
        return {state: count for state, count in rows}

    # -- the runner's claims ------------------------------------------------------------
    def due_execution_ids(self, now: datetime, limit: int) -> list[str]:
        with self.engine.connect() as connection:
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

    def next_wake_at(self) -> datetime | None:
        with self.engine.connect() as connection:
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
        with self.engine.connect() as connection:
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
    ) -> list[OutboxEvent]:
        """Events this consumer has not finished, oldest first, leased so replicas don't share."""
        d = delivery_t
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
                        .values(lease_until=now + lease, updated_at=now)
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
        with self.engine.connect() as connection:
            return connection.execute(
                select(func.count())
                .select_from(delivery_t)
                .where(delivery_t.c.consumer == consumer, delivery_t.c.status == "failed")
            ).scalar_one()

    def events_for(self, execution_id: str) -> list[OutboxEvent]:
        with self.engine.connect() as connection:
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
        with self.engine.connect() as connection:
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

    # -- for the HTTP service's /metrics (bot/metrics.py) ---------------------------------
    def outbox_consumers(self) -> list[str]:
        """Names of the registered outbox consumers (the Slack notifier, ...)."""
        with self.engine.connect() as connection:
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
        with self._write() as connection:
            values = {"size": len(content), "content": content, "created_at": now}
            connection.execute(
                _upsert_insert(connection, file_t)
                .values(uri=uri, **values)
                .on_conflict_do_update(index_elements=[file_t.c.uri], set_=values)
            )

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
