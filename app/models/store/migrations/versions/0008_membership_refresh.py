"""Live audiences: how often each workspace's real-time audiences are recalculated on the clock while the
app runs (the membership engine, docs/membership.md). A new column with a default, so existing workspaces
get 15 minutes and nothing else changes.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workspaces") as batch:
        batch.add_column(sa.Column("membership_refresh_minutes", sa.Integer(), server_default=sa.text("15"),
                                   nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_column("membership_refresh_minutes")
