"""Calculated attributes of a workspace.

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


def upgrade() -> None:
    op.create_table(
        "calculated_attributes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("calculation", sa.String(), nullable=False),
        sa.Column("event_type", sa.String(), nullable=False),
        sa.Column("event_name", sa.String(), nullable=True),
        sa.Column("attribute", sa.String(), nullable=True),
        sa.Column("window_days", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calculated_attributes")),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_calculated_attributes_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_calculated_attributes_workspace_id_name")),
        sa.CheckConstraint(
            "calculation IN ('count', 'sum', 'average', 'min', 'max', 'first_value', 'last_value', "
            "'most_frequent', 'unique_values', 'first_time', 'last_time')",
            name=op.f("ck_calculated_attributes_calculation"),
        ),
        sa.CheckConstraint(
            "window_days IS NULL OR window_days > 0", name=op.f("ck_calculated_attributes_window_days")
        ),
    )
    op.create_index(op.f("ix_calculated_attributes_workspace_id"), "calculated_attributes", ["workspace_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_calculated_attributes_workspace_id"), table_name="calculated_attributes")
    op.drop_table("calculated_attributes")
