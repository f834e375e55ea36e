"""Continuous activation: each forwarding run of a connection (run history) and the records a partner rejected
on their own (partial failures). Two new tables; nothing existing changes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "forwarding_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("connection_id", sa.Integer(), sa.ForeignKey("connections.id", ondelete="CASCADE",
                                                               name="fk_forwarding_runs_connection_id_connections"),
                  nullable=False),
        sa.Column("trigger", sa.String(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in (
            "adds_planned", "removes_planned", "adds_sent", "removes_sent", "adds_rejected", "removes_rejected",
            "retries", "batches")],
        sa.Column("fault_id", sa.Integer(), nullable=True),
        sa.Column("message", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_forwarding_runs"),
    )
    op.create_index("ix_forwarding_runs_connection_id", "forwarding_runs", ["connection_id"])
    op.create_table(
        "rejected_records",
        sa.Column("connection_id", sa.Integer(), sa.ForeignKey("connections.id", ondelete="CASCADE",
                                                               name="fk_rejected_records_connection_id_connections"),
                  nullable=False),
        sa.Column("identity_type", sa.String(), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("rejected_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("connection_id", "identity_type", "value", name="pk_rejected_records"),
    )


def downgrade() -> None:
    op.drop_table("rejected_records")
    op.drop_index("ix_forwarding_runs_connection_id", "forwarding_runs")
    op.drop_table("forwarding_runs")
