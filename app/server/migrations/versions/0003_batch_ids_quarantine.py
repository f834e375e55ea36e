"""Ingest deduplication and quarantine: each batch's own id (hashed) kept beside it, unique per
workspace, and the table of quarantined batches that pages and snapshots leave out (docs/server.md).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen history: the schema is spelled out here rather than imported from app.server.tables.


def upgrade() -> None:
    with op.batch_alter_table("batches") as batch:
        batch.add_column(sa.Column("batch_key", sa.String(64), nullable=True))
    op.create_index(op.f("ix_batches_workspace_id_batch_key"), "batches", ["workspace_id", "batch_key"], unique=True)
    op.create_table(
        "quarantined_batches",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("quarantined_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "seq", name=op.f("pk_quarantined_batches")),
        sa.ForeignKeyConstraint(["workspace_id", "seq"], ["batches.workspace_id", "batches.seq"],
                                name=op.f("fk_quarantined_batches_workspace_id_batches"), ondelete="CASCADE"),
    )


def downgrade() -> None:
    op.drop_table("quarantined_batches")
    op.drop_index(op.f("ix_batches_workspace_id_batch_key"), table_name="batches")
    with op.batch_alter_table("batches") as batch:
        batch.drop_column("batch_key")
