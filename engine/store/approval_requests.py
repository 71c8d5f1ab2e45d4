"""The queries of approval requests (``approval_requests``), each named for what it does.

The row is written in the transaction that creates its execution (``insert_approval_request``),
and its ``state`` in the transaction that decides the execution's Approval
(``record_approval_outcomes``, called by ``Transaction.emit``), so it is never out of step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Connection, Table, func, insert, select, update

from engine.store.models import ApprovalRequestRow

if TYPE_CHECKING:
    from engine.store.store import NewEvent, Store

request_t = cast(Table, ApprovalRequestRow.__table__)

STATES = ("PENDING", "APPROVED", "DENIED", "EXPIRED", "CANCELLED")


@dataclass(frozen=True)
class ApprovalRequestRecord:
    id: str
    client: str
    idempotency_key: str | None
    request_hash: str
    state: str
    title: str
    labels: dict[str, str]
    callback_url: str | None
    created_at: datetime
    decided_at: datetime | None


def labels_text(labels: dict[str, str]) -> str:
    return "\n" + "".join(f"{k}={v}\n" for k, v in sorted(labels.items()))


def _labels(text: str) -> dict[str, str]:
    pairs = (line.partition("=") for line in text.split("\n") if line)
    return {k: v for k, _, v in pairs}


def _record(row: Any) -> ApprovalRequestRecord:
    from engine.store.store import utc

    return ApprovalRequestRecord(
        id=row.id,
        client=row.client,
        idempotency_key=row.idempotency_key,
        request_hash=row.request_hash,
        state=row.state,
        title=row.title,
        labels=_labels(row.labels),
        callback_url=row.callback_url,
        created_at=utc(row.created_at),  # type: ignore[arg-type]
        decided_at=utc(row.decided_at),
    )


def insert_approval_request(connection: Connection, record: ApprovalRequestRecord) -> None:
    """Raises ``IntegrityError`` when ``(client, idempotency_key)`` is taken: the caller's
    transaction (with the execution it was creating) is then rolled back whole."""
    connection.execute(
        insert(request_t).values(
            id=record.id,
            client=record.client,
            idempotency_key=record.idempotency_key,
            request_hash=record.request_hash,
            state=record.state,
            title=record.title,
            labels=labels_text(record.labels),
            callback_url=record.callback_url,
            created_at=record.created_at,
            decided_at=None,
        )
    )


def outcome_of(event: NewEvent | Any) -> str | None:
    """The request state an outbox event of an Approval task run means, or None (a
    ``NewEvent`` or a claimed ``OutboxEvent``: anything with ``kind`` and ``payload``)."""
    if event.payload.get("kind") != "approval" or event.kind not in ("resumed", "killed"):
        return None
    decision = event.payload.get("decision")
    if decision in ("APPROVED", "DENIED", "EXPIRED"):
        return str(decision)
    return "CANCELLED"  # killed, or closed without a decision


def record_approval_outcomes(
    connection: Connection, events: Sequence[NewEvent], now: datetime
) -> None:
    for event in events:
        state = outcome_of(event)
        if state is None:
            continue
        connection.execute(
            update(request_t)
            .where(request_t.c.id == event.execution_id, request_t.c.state == "PENDING")
            .values(state=state, decided_at=now)
        )


class ApprovalRequestQueries:
    """Reads of ``approval_requests`` (the writes ride in engine transactions, above)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def by_id(self, request_id: str) -> ApprovalRequestRecord | None:
        with self.store.engine.connect() as connection:
            row = connection.execute(select(request_t).where(request_t.c.id == request_id)).first()
        return _record(row) if row is not None else None

    def by_key(self, client: str, key: str) -> ApprovalRequestRecord | None:
        with self.store.engine.connect() as connection:
            row = connection.execute(
                select(request_t).where(
                    request_t.c.client == client, request_t.c.idempotency_key == key
                )
            ).first()
        return _record(row) if row is not None else None

    def search(
        self,
        *,
        client: str | None,
        states: Sequence[str] = (),
        labels: dict[str, str] | None = None,
        offset: int = 0,
        limit: int = 25,
    ) -> tuple[list[ApprovalRequestRecord], int]:
        """Newest first. ``client`` None: every client's (an admin token)."""
        conditions = []
        if client is not None:
            conditions.append(request_t.c.client == client)
        if states:
            conditions.append(request_t.c.state.in_(list(states)))
        for key, value in (labels or {}).items():
            needle = _like_literal(f"\n{key}={value}\n")
            conditions.append(request_t.c.labels.like(f"%{needle}%", escape="\\"))
        query = select(request_t).where(*conditions)
        with self.store.engine.connect() as connection:
            total = connection.execute(
                select(func.count()).select_from(request_t).where(*conditions)
            ).scalar_one()
            rows = connection.execute(
                query.order_by(request_t.c.created_at.desc(), request_t.c.id.desc())
                .offset(offset)
                .limit(limit)
            ).all()
        return [_record(row) for row in rows], total


def _like_literal(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
