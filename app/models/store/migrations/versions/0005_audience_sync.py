"""Offline editing: each audience's sync state with a team server (its server id, base version and the
hash of the definition last agreed, open conflicts), the audience definitions' pull cursor, and the
sync history.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audience_sync",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("server", sa.String(), nullable=False),
        sa.Column("audience_id", sa.Integer(), nullable=True),
        sa.Column("server_id", sa.Integer(), nullable=True),
        sa.Column("client_ref", sa.String(), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("agreed_hash", sa.String(), nullable=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("conflict", sa.String(), nullable=True),
        sa.Column("theirs", sa.JSON(), nullable=True),
        sa.Column("conflict_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audience_sync")),
        sa.UniqueConstraint("audience_id", name=op.f("uq_audience_sync_audience_id")),
        sa.UniqueConstraint("client_ref", name=op.f("uq_audience_sync_client_ref")),
        sa.UniqueConstraint("server", "server_id", name=op.f("uq_audience_sync_server_server_id")),
        sa.CheckConstraint("conflict IS NULL OR conflict IN ('edited_both', 'deleted_there', 'deleted_here', 'same_name')",
                           name=op.f("ck_audience_sync_conflict")),
    )
    op.create_table(
        "audience_sync_cursors",
        sa.Column("server", sa.String(), nullable=False),
        sa.Column("cursor", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("server", name=op.f("pk_audience_sync_cursors")),
    )
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("server", sa.String(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("outcome", sa.String(), server_default="running", nullable=False),
        sa.Column("batches", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("rows", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("bytes", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("audiences_sent", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("audiences_received", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("conflicts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("error", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_runs")),
        sa.CheckConstraint("outcome IN ('running', 'done', 'failed', 'cancelled')", name=op.f("ck_sync_runs_outcome")),
    )


def downgrade() -> None:
    op.drop_table("sync_runs")
    op.drop_table("audience_sync_cursors")
    op.drop_table("audience_sync")
