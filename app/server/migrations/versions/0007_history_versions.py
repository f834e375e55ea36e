"""Edit history: every saved version of an audience as the laptops sent them (`audience_versions`), numbered by
the new "audience_versions" counter so clients can ask for the versions after the last they saw.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen history: the schema is spelled out here rather than imported from app.server.tables.


def upgrade() -> None:
    op.create_table(
        "audience_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audience_id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(100), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("saved_by", sa.String(200), nullable=False),
        sa.Column("saved_at", sa.DateTime(), nullable=False),
        sa.Column("note", sa.String(200), nullable=True),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("sent_by", sa.String(200), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audience_versions")),
        sa.ForeignKeyConstraint(["audience_id"], ["audiences.id"], name=op.f("fk_audience_versions_audience_id_audiences"),
                                ondelete="CASCADE"),
        sa.UniqueConstraint("ref", name=op.f("uq_audience_versions_ref")),
    )
    op.create_index(op.f("ix_audience_versions_audience_id"), "audience_versions", ["audience_id"])
    op.create_index(op.f("ix_audience_versions_seq"), "audience_versions", ["seq"])
    counters = sa.table("counters", sa.column("name", sa.String), sa.column("value", sa.BigInteger))
    op.bulk_insert(counters, [{"name": "audience_versions", "value": 0}])


def downgrade() -> None:
    op.execute("DELETE FROM counters WHERE name = 'audience_versions'")
    op.drop_index(op.f("ix_audience_versions_seq"), table_name="audience_versions")
    op.drop_index(op.f("ix_audience_versions_audience_id"), table_name="audience_versions")
    op.drop_table("audience_versions")
