"""Revenue on the server: revenue records, segment member counts and agencies per workspace, each row
numbered by the workspace's revenue change counter (docs/revenue.md, docs/server.md).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen history: the schema is spelled out here rather than imported from app.server.tables.


def _keyed(name: str, *columns: sa.Column) -> None:
    """A revenue table: the workspace, the row's key as canonical JSON, its columns and change number."""
    op.create_table(
        name,
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("record_key", sa.Text(), nullable=False),
        *columns,
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "record_key", name=op.f(f"pk_{name}")),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], name=op.f(f"fk_{name}_workspace_id_workspaces"), ondelete="CASCADE"),
    )
    op.create_index(op.f(f"ix_{name}_workspace_id_change_seq"), name, ["workspace_id", "change_seq"])


def upgrade() -> None:
    with op.batch_alter_table("workspaces") as batch:
        batch.add_column(sa.Column("revenue_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False))
    _keyed(
        "revenue_records",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("segment_key", sa.String(200), nullable=False),
        sa.Column("agency", sa.String(200), nullable=True),
        sa.Column("channel", sa.String(200), nullable=True),
        sa.Column("impressions", sa.BigInteger(), nullable=True),
        sa.Column("revenue", sa.Double(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
    )
    _keyed(
        "segment_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("segment_key", sa.String(200), nullable=False),
        sa.Column("members", sa.BigInteger(), nullable=False),
    )
    _keyed(
        "agencies",
        sa.Column("agency", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("kind", sa.String(200), nullable=True),
        sa.Column("country", sa.String(200), nullable=True),
        sa.Column("contact", sa.String(200), nullable=True),
    )


def downgrade() -> None:
    for table in ("agencies", "segment_counts", "revenue_records"):
        op.drop_table(table)
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_column("revenue_seq")
