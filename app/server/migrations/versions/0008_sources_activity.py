"""Sources and the activity stream: refused ingest attempts (a disabled source still sending, answered
403) kept so the activity stream and the Sources pane show them, when an input's secret was last rotated,
and an index on batches by input for each source's last data and volume. New table, a nullable column
and an index: existing data is untouched.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen history: the schema is spelled out here rather than imported from app.server.tables.


def upgrade() -> None:
    op.create_table(
        "input_refusals",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("workspace_id", sa.Integer, nullable=False),
        sa.Column("input_id", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.SmallInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_input_refusals")),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], name=op.f("fk_input_refusals_workspace_id_workspaces"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["input_id"], ["inputs.id"], name=op.f("fk_input_refusals_input_id_inputs"), ondelete="CASCADE"),
    )
    op.create_index(op.f("ix_input_refusals_workspace_id_id"), "input_refusals", ["workspace_id", "id"])
    op.create_index(op.f("ix_batches_input_id"), "batches", ["input_id"])
    with op.batch_alter_table("inputs") as batch:
        batch.add_column(sa.Column("secret_rotated_at", sa.DateTime()))


def downgrade() -> None:
    with op.batch_alter_table("inputs") as batch:
        batch.drop_column("secret_rotated_at")
    op.drop_index(op.f("ix_batches_input_id"), "batches")
    op.drop_index(op.f("ix_input_refusals_workspace_id_id"), "input_refusals")
    op.drop_table("input_refusals")
