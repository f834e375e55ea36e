"""Segment settings: each audience's expiration, visibility on the data marketplace, CPM price (in cents) and
taxonomy category. No row means the defaults, so existing audiences need no data change.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of app.models.store.schema.SEGMENT_CHECKS as of this revision: a migration must not change
# when the ORM later does.
_CHECKS = {
    "visibility": "visibility IN ('public', 'private')",
    "private_has_no_price": "visibility = 'public' OR cpm_cents IS NULL",
    "cpm_cents": "cpm_cents IS NULL OR (cpm_cents >= 0 AND cpm_cents <= 100000)",
    "expiration_days": "expiration_days IS NULL OR (expiration_days >= 1 AND expiration_days <= 3650)",
}


def upgrade() -> None:
    op.create_table(
        "segment_settings",
        sa.Column("audience_id", sa.Integer(), nullable=False),
        sa.Column("expiration_days", sa.Integer(), nullable=True),
        sa.Column("visibility", sa.String(), server_default="private", nullable=False),
        sa.Column("cpm_cents", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(), nullable=True),
        sa.Column("updated_by", sa.String(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["audience_id"], ["audiences.id"], ondelete="CASCADE",
                                name=op.f("fk_segment_settings_audience_id_audiences")),
        sa.PrimaryKeyConstraint("audience_id", name=op.f("pk_segment_settings")),
        *(sa.CheckConstraint(sql, name=op.f(f"ck_segment_settings_{name}")) for name, sql in _CHECKS.items()),
    )


def downgrade() -> None:
    op.drop_table("segment_settings")
