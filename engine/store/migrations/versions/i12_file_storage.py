"""internal file storage in the database (kestra:/// URIs)

Revision ID: i12_file_storage
Revises: i12_kv_store
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "i12_file_storage"
down_revision = "i10_list_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stored_files",
        sa.Column("uri", sa.String(length=1024), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("uri"),
    )


def downgrade() -> None:
    op.drop_table("stored_files")
