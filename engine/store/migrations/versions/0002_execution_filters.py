"""execution filters: labels table, end date and duration columns

Kestra's search filters ``labels=key:value``, ``endDate`` and the sort fields ``state.endDate``
and ``state.duration`` need columns; existing executions are filled in from their documents.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "execution_labels",
        sa.Column("execution_id", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("execution_id", "digest"),
    )
    with op.batch_alter_table("execution_labels", schema=None) as batch_op:
        batch_op.create_index("ix_execution_labels_digest", ["digest"], unique=False)
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("end_date", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("duration", sa.Float(), nullable=True))
    _backfill()


def _backfill() -> None:
    from engine.model import Execution
    from engine.store.labels import execution_columns, label_rows

    connection = op.get_bind()
    executions = sa.table(
        "executions",
        sa.column("id"),
        sa.column("document", sa.JSON()),
        sa.column("end_date", sa.DateTime(timezone=True)),
        sa.column("duration", sa.Float()),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    labels = sa.table(
        "execution_labels",
        sa.column("execution_id"),
        sa.column("digest"),
        sa.column("key"),
        sa.column("value"),
    )
    rows = connection.execute(
        sa.select(executions.c.id, executions.c.document, executions.c.updated_at)
    ).all()
    for row in rows:
        execution = Execution.model_validate(row.document)
        connection.execute(
            sa.update(executions)
            .where(executions.c.id == row.id)
            .values(**execution_columns(execution, row.updated_at))
        )
        found = label_rows(execution)
        if found:
            connection.execute(sa.insert(labels), found)


def downgrade() -> None:
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_column("duration")
        batch_op.drop_column("end_date")
    with op.batch_alter_table("execution_labels", schema=None) as batch_op:
        batch_op.drop_index("ix_execution_labels_digest")
    op.drop_table("execution_labels")
