"""Edit history: every saved version of an audience (`audience_versions`), with who saved it, when, and what
it said (docs/insights.md, "Edit history"), and where the pull of each server's versions stands
(`audience_version_cursors`), and whether each synced audience's whole history was fetched once
(`audience_sync.history_pulled`). Each existing audience gets its first version here, as it stands,
saved by its creator at its last change, so the history starts from what users have now.

The version document is built here from frozen rules (format 1 of app/builder/history.py as of this
revision): a migration must not change when the app's code later does.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audience_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audience_id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(), nullable=False),
        sa.Column("saved_by", sa.String(), nullable=False),
        sa.Column("saved_at", sa.DateTime(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(), nullable=True),
        sa.Column("on_server", sa.Boolean(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(["audience_id"], ["audiences.id"], ondelete="CASCADE",
                                name=op.f("fk_audience_versions_audience_id_audiences")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audience_versions")),
        sa.UniqueConstraint("ref", name=op.f("uq_audience_versions_ref")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_audience_versions_audience_id"), "audience_versions", ["audience_id"])
    op.create_table(
        "audience_version_cursors",
        sa.Column("server", sa.String(), nullable=False),
        sa.Column("cursor", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("server", name=op.f("pk_audience_version_cursors")),
    )
    with op.batch_alter_table("audience_sync") as batch:
        batch.add_column(sa.Column("history_pulled", sa.Boolean(), server_default=sa.text("0"), nullable=False))
    _first_versions(op.get_bind())


def _first_versions(connection: sa.Connection) -> None:
    audiences = connection.execute(sa.text(
        "SELECT id, name, external_name, kind, status, criteria, created_by, updated_at FROM audiences ORDER BY id")).all()
    rows = []
    for audience in audiences:
        tags = sorted(connection.execute(sa.text("SELECT tag FROM audience_tags WHERE audience_id = :a"),
                                         {"a": audience.id}).scalars())
        inputs = sorted(connection.execute(sa.text(
            "SELECT i.kind, i.name FROM audience_inputs l JOIN inputs i ON i.id = l.input_id WHERE l.audience_id = :a"),
            {"a": audience.id}).all())
        segment = connection.execute(sa.text(
            "SELECT expiration_days, visibility, cpm_cents, category FROM segment_settings WHERE audience_id = :a"),
            {"a": audience.id}).first()
        criteria = audience.criteria if isinstance(audience.criteria, dict) else json.loads(audience.criteria)
        document = {
            "format": 1, "name": audience.name, "external_name": audience.external_name, "kind": audience.kind,
            "status": audience.status, "tags": tags, "inputs": [{"kind": k, "name": n} for k, n in inputs],
            "segment": {"expiration_days": segment.expiration_days if segment else None,
                        "visibility": segment.visibility if segment else "private",
                        "cpm_cents": segment.cpm_cents if segment else None,
                        "category": segment.category if segment else None},
            "criteria": criteria,
        }
        rows.append({"audience_id": audience.id, "ref": uuid.uuid4().hex, "saved_by": audience.created_by,
                     "saved_at": audience.updated_at, "document": document,
                     "note": "first version (the history starts here)", "on_server": False})
    if rows:
        table = sa.table("audience_versions", sa.column("audience_id"), sa.column("ref"), sa.column("saved_by"),
                         sa.column("saved_at"), sa.column("document", sa.JSON()), sa.column("note"),
                         sa.column("on_server"))
        connection.execute(sa.insert(table), rows)


def downgrade() -> None:
    with op.batch_alter_table("audience_sync") as batch:
        batch.drop_column("history_pulled")
    op.drop_table("audience_version_cursors")
    op.drop_index(op.f("ix_audience_versions_audience_id"), table_name="audience_versions")
    op.drop_table("audience_versions")
