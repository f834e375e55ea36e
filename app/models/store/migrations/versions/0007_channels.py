"""Channels: each external channel's set-up, and each segment's latest push to each channel (pushed, removed
with the reason, or failed with the error). New tables only; existing data is untouched.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_configurations",
        sa.Column("channel_key", sa.String(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("configured_by", sa.String(), nullable=False),
        sa.Column("configured_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("channel_key", name=op.f("pk_channel_configurations")),
    )
    op.create_table(
        "segment_channel_pushes",
        sa.Column("audience_id", sa.Integer(), nullable=False),
        sa.Column("channel_key", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("taxonomy", sa.String(), nullable=False),
        sa.Column("pushed_at", sa.DateTime(), nullable=False),
        sa.Column("pushed_by", sa.String(), nullable=False),
        sa.Column("removed_at", sa.DateTime(), nullable=True),
        sa.Column("removed_reason", sa.String(), nullable=True),
        sa.Column("error", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["audience_id"], ["audiences.id"], ondelete="CASCADE",
                                name=op.f("fk_segment_channel_pushes_audience_id_audiences")),
        sa.PrimaryKeyConstraint("audience_id", "channel_key", name=op.f("pk_segment_channel_pushes")),
        # Frozen copy of app.models.store.schema.CHANNEL_PUSH_STATES as of this revision.
        sa.CheckConstraint("state IN ('pushed', 'removed', 'failed')", name=op.f("ck_segment_channel_pushes_state")),
    )


def downgrade() -> None:
    op.drop_table("segment_channel_pushes")
    op.drop_table("channel_configurations")
