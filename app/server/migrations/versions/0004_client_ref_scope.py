"""A create's client_ref is unique within the audience's workspaces, not across the server: the new
`client_scope` (the workspace ids, sorted and comma-separated) joins it in the unique constraint,
so reusing a ref of another workspace's audience makes a new audience and reveals nothing.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen history: the schema is spelled out here rather than imported from app.server.tables.


def _live_name_index() -> None:
    op.create_index(op.f("uq_audiences_live_name"), "audiences", [sa.text("lower(name)")], unique=True,
                    sqlite_where=sa.text("NOT deleted"), postgresql_where=sa.text("NOT deleted"))


def upgrade() -> None:
    op.add_column("audiences", sa.Column("client_scope", sa.Text(), nullable=True))
    connection = op.get_bind()
    scopes: dict[int, list[int]] = defaultdict(list)
    for audience_id, workspace_id in connection.execute(sa.text("SELECT audience_id, workspace_id FROM audience_workspaces")):
        scopes[audience_id].append(workspace_id)
    for audience_id, workspace_ids in scopes.items():
        connection.execute(sa.text("UPDATE audiences SET client_scope = :scope WHERE id = :id"),
                           {"scope": ",".join(str(w) for w in sorted(workspace_ids)), "id": audience_id})
    # SQLite rebuilds the table for a constraint change, and cannot reflect the expression index on
    # names: it is dropped first and made again after.
    op.drop_index(op.f("uq_audiences_live_name"), table_name="audiences")
    with op.batch_alter_table("audiences") as batch:
        batch.drop_constraint(op.f("uq_audiences_client_ref"), type_="unique")
        batch.create_unique_constraint(op.f("uq_audiences_client_ref_client_scope"), ["client_ref", "client_scope"])
    _live_name_index()


def downgrade() -> None:
    op.drop_index(op.f("uq_audiences_live_name"), table_name="audiences")
    with op.batch_alter_table("audiences") as batch:
        batch.drop_constraint(op.f("uq_audiences_client_ref_client_scope"), type_="unique")
        batch.create_unique_constraint(op.f("uq_audiences_client_ref"), ["client_ref"])
        batch.drop_column("client_scope")
    _live_name_index()
