"""Workspace names unique whatever their case, by Unicode case folding, on SQLite and PostgreSQL alike.

SQLite's lower() folds ASCII only, and PostgreSQL's depends on the database's locale, so "Équipe"
and "équipe" could both be created, and a laptop (matching names by case folding) merged them into
one workspace. Each workspace now keeps `name_key`, its name NFKC-normalised and case-folded in
Python, under a unique index.

Existing names that fold to the same key cannot all keep their name: the oldest workspace (lowest
id) keeps it and each later one is renamed with " (2)", " (3)"... appended (cut to 200 characters),
so the upgrade never stops and nothing stored is lost; each rename is logged (docs/server.md).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("app.server.migrations")

# Frozen history: the key is spelled out here rather than imported (app.server.admin.name_key).


def _key(name: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def upgrade() -> None:
    # Only ALTER TABLE ADD COLUMN and CREATE INDEX: a batch operation that rebuilds the table on SQLite
    # would drop the old one, and with foreign keys on that deletes every workspace's inputs, members
    # and batches (ON DELETE CASCADE). Hence NOT NULL with a default, filled in below.
    op.add_column("workspaces", sa.Column("name_key", sa.Text(), server_default=sa.text("''"), nullable=False))
    connection = op.get_bind()
    table = sa.table("workspaces", sa.column("id", sa.Integer()), sa.column("name", sa.String()), sa.column("name_key", sa.Text()))
    rows = list(connection.execute(sa.select(table.c.id, table.c.name).order_by(table.c.id)))
    taken = {_key(name) for _, name in rows}  # every current key: a new name must not take another's
    given: set[str] = set()
    for workspace_id, name in rows:
        key = _key(name)
        if key in given:
            number = 2
            while True:
                suffix = f" ({number})"
                renamed = name[:200 - len(suffix)] + suffix
                if _key(renamed) not in taken:
                    break
                number += 1
            log.warning("workspace %s %r has the name of an older workspace but for case: renamed %r", workspace_id, name, renamed)
            name, key = renamed, _key(renamed)
            taken.add(key)
            connection.execute(sa.update(table).where(table.c.id == workspace_id).values(name=name))
        given.add(key)
        connection.execute(sa.update(table).where(table.c.id == workspace_id).values(name_key=key))
    op.create_index(op.f("ix_workspaces_name_key"), "workspaces", ["name_key"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_workspaces_name_key"), table_name="workspaces")
    op.drop_column("workspaces", "name_key")
