"""SQLAlchemy models: the only place the schema is described (Alembic migrations mirror it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
AutoId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class FlowRow(Base):
    __tablename__ = "flows"
    namespace: Mapped[str] = mapped_column(String(255), primary_key=True)
    flow_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    deleted: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ExecutionRow(Base):
    __tablename__ = "executions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    namespace: Mapped[str] = mapped_column(String(255))
    flow_id: Mapped[str] = mapped_column(String(255))
    flow_revision: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    start_date: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The whole Kestra-shaped execution document (task runs, outputs, histories).
    document: Mapped[dict] = mapped_column(JSON)
    # Optimistic concurrency: every write is "UPDATE ... WHERE version = :seen".
    version: Mapped[int] = mapped_column(Integer, default=1)
    # When the runner should next look at it (now: work to do; later: a deadline or a sleep).
    wake_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Which runner is advancing it, and until when that claim holds without a heartbeat.
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # For Kestra's endDate filter and its sort fields state.endDate / state.duration: when the
    # execution ended (or paused, as ``state.endDate`` says), and its duration in seconds as of
    # its last save.
    end_date: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    duration: Mapped[float | None] = mapped_column(Float, nullable=True)

    # Every list is served by an index in its order (start_date DESC, id DESC): no sort, no
    # scan beyond the page (tests/engine/test_query_plans.py checks the plans).
    __table_args__ = (
        Index("ix_executions_state_start", "state", "start_date", "id"),
        Index("ix_executions_flow", "namespace", "flow_id", "start_date", "id"),
        Index("ix_executions_start", "start_date", "id"),
        Index("ix_executions_wake_at", "wake_at"),
    )


class ExecutionLabelRow(Base):
    """One label of an execution, for the ``labels=key:value`` filter. ``digest`` (SHA-256 of
    key NUL value) is what the filter looks up: an index on it works for labels of any length,
    where a B-tree on the text itself has a row-size limit on PostgreSQL."""

    __tablename__ = "execution_labels"
    execution_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(Text)
    value: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_execution_labels_digest", "digest"),)


class ExecutionCountRow(Base):
    """How many executions each (namespace, flow, state) has, kept in the transaction that
    changes them, so a list's total costs a few rows instead of a count over the executions."""

    __tablename__ = "execution_counts"
    namespace: Mapped[str] = mapped_column(String(255), primary_key=True)
    flow_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class LogRow(Base):
    __tablename__ = "execution_logs"
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    execution_id: Mapped[str] = mapped_column(String(64), index=True)
    task_run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    task_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    level: Mapped[str] = mapped_column(String(8))
    message: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OutboxEventRow(Base):
    """Something the outside world must hear about, written with the state change that caused it."""

    __tablename__ = "outbox_events"
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    execution_id: Mapped[str] = mapped_column(String(64), index=True)
    task_run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OutboxConsumerRow(Base):
    """A named consumer of the outbox; it sees events after the one current when it registered."""

    __tablename__ = "outbox_consumers"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    start_after_id: Mapped[int] = mapped_column(BigInteger, default=0)
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OutboxDeliveryRow(Base):
    """One consumer's progress on one event: claimed, retried with back-off, done or failed."""

    __tablename__ = "outbox_deliveries"
    consumer: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # pending | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # The worker (engine/store/workers.py) holding the lease: a stalled worker's claims are
    # released by the sweep, not left to run out.
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_outbox_deliveries_status", "consumer", "status", "next_attempt_at"),
    )


class NoticeRow(Base):
    """Where a consumer delivered a notice about a pause (for Slack: channel and ts), so the
    consumer can update every notice when the pause is decided. Opaque to the engine."""

    __tablename__ = "notices"
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    consumer: Mapped[str] = mapped_column(String(64))
    execution_id: Mapped[str] = mapped_column(String(64), index=True)
    task_run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ref: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UsedTokenRow(Base):
    """Single-use tokens (signed resume links) that were spent."""

    __tablename__ = "used_tokens"
    token_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    execution_id: Mapped[str] = mapped_column(String(64))


class WorkerRow(Base):
    """A live process that claims work (runner, outbox consumer): it heartbeats, and any other
    worker releases its claims once it stops (procrastinate's stalled-worker sweep)."""

    __tablename__ = "workers"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # PostgreSQL: the worker holds pg_advisory_lock(LOCK_CLASS, lock_key) on its listening
    # connection, so its death is seen at once (the lock goes with the connection).
    lock_key: Mapped[int] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class KVEntryRow(Base):
    """One key of a namespace's KV store (Kestra's ``kv.Set`` / ``kv()``): a typed JSON value,
    an optional description and an optional expiry (TTL). Expired keys read as missing."""

    __tablename__ = "kv_entries"
    namespace: Mapped[str] = mapped_column(String(255), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON)  # {"value": <the value>}
    kv_type: Mapped[str] = mapped_column(String(16))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReminderRow(Base):
    """A consumer's durable timer for one paused task run: the next reminder is due at ``due_at``,
    ``remaining`` more may fire, one each ``every_seconds`` (None: no repeat). Fired by
    ``Outbox.fire_due_reminders`` in the transaction that re-reads the execution's state."""

    __tablename__ = "reminders"
    consumer: Mapped[str] = mapped_column(String(64), primary_key=True)
    execution_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    task_run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    every_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    remaining: Mapped[int] = mapped_column(Integer)
    fired: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_reminders_due", "consumer", "due_at"),)


class ApprovalRequestRow(Base):
    """An approval request made through ``POST /api/v1/approvals``: its execution (same id) does
    the work; this row holds what only the request has. ``(client, idempotency_key)`` is unique,
    so two requests racing with one key create one execution. ``state`` follows the execution's
    Approval in the transaction that decides it (``Transaction.emit``)."""

    __tablename__ = "approval_requests"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client: Mapped[str] = mapped_column(String(64))  # the token's name; "" for PAUSEBOT_API_TOKEN
    idempotency_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))  # PENDING APPROVED DENIED EXPIRED CANCELLED
    title: Mapped[str] = mapped_column(Text)
    labels: Mapped[str] = mapped_column(Text)  # "\nkey=value\n..." for LIKE filters
    callback_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (
        UniqueConstraint("client", "idempotency_key", name="uq_approval_requests_key"),
        Index("ix_approval_requests_state", "state", "created_at"),
        Index("ix_approval_requests_client", "client", "created_at"),
    )


class StoredFileRow(Base):
    """A file of the internal storage (``kestra:///…`` URIs) kept in the database, so every
    replica reads the same files; bounded by ``PAUSEBOT_STORAGE_MAX_BYTES`` per file."""

    __tablename__ = "stored_files"
    uri: Mapped[str] = mapped_column(String(1024), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
