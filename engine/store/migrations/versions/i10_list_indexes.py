"""list indexes in the lists' order, and execution_counts (totals without a count scan)

Revision ID: i10_list_indexes
Revises: i10_workers
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "i10_list_indexes"
down_revision = "i14_approval_requests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_index("ix_executions_state_start")
        batch_op.drop_index("ix_executions_flow")
        batch_op.create_index(
            "ix_executions_state_start", ["state", "start_date", "id"], unique=False
        )
        batch_op.create_index(
            "ix_executions_flow", ["namespace", "flow_id", "start_date", "id"], unique=False
        )
        batch_op.create_index("ix_executions_start", ["start_date", "id"], unique=False)
    op.create_table(
        "execution_counts",
        sa.Column("namespace", sa.String(length=255), nullable=False),
        sa.Column("flow_id", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("namespace", "flow_id", "state"),
    )
    op.execute(
        "INSERT INTO execution_counts (namespace, flow_id, state, count) "
        "SELECT namespace, flow_id, state, count(*) FROM executions "
        "GROUP BY namespace, flow_id, state"
    )


def downgrade() -> None:
    op.drop_table("execution_counts")
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_index("ix_executions_start")
        batch_op.drop_index("ix_executions_flow")
        batch_op.drop_index("ix_executions_state_start")
        batch_op.create_index("ix_executions_state_start", ["state", "start_date"], unique=False)
        batch_op.create_index("ix_executions_flow", ["namespace", "flow_id"], unique=False)
