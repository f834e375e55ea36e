"""Initial store: workspaces and their inputs, audiences with workspaces, inputs and tags, attribute type overrides.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Migrations are frozen history: they spell the schema out rather than import the ORM, which moves on.
# op.f() marks names as final so the ORM's naming convention is not applied to them a second time.


def upgrade() -> None:
    op.create_table(
        "workspaces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("realtime_window_days", sa.Integer(), server_default=sa.text("30"), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
        sa.UniqueConstraint("name", name=op.f("uq_workspaces_name")),
    )
    op.create_table(
        "inputs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inputs")),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_inputs_workspace_id_workspaces"), ondelete="CASCADE"
        ),
        sa.UniqueConstraint("workspace_id", "kind", "name", name=op.f("uq_inputs_workspace_id_kind_name")),
        sa.CheckConstraint("kind IN ('platform', 'feed')", name=op.f("ck_inputs_kind")),
    )
    op.create_table(
        "audiences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("external_name", sa.String(), nullable=True),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), server_default="realtime", nullable=False),
        sa.Column("status", sa.String(), server_default="draft", nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audiences")),
        sa.CheckConstraint("scope IN ('single', 'multi')", name=op.f("ck_audiences_scope")),
        sa.CheckConstraint("kind IN ('realtime', 'standard')", name=op.f("ck_audiences_kind")),
        sa.CheckConstraint("status IN ('draft', 'active', 'inactive')", name=op.f("ck_audiences_status")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("uq_audiences_lower_name"), "audiences", [sa.text("lower(name)")], unique=True)
    op.create_table(
        "audience_workspaces",
        sa.Column("audience_id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("audience_id", "workspace_id", name=op.f("pk_audience_workspaces")),
        sa.ForeignKeyConstraint(
            ["audience_id"],
            ["audiences.id"],
            name=op.f("fk_audience_workspaces_audience_id_audiences"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_audience_workspaces_workspace_id_workspaces")
        ),
    )
    op.create_index(op.f("ix_audience_workspaces_workspace_id"), "audience_workspaces", ["workspace_id"])
    op.create_table(
        "audience_inputs",
        sa.Column("audience_id", sa.Integer(), nullable=False),
        sa.Column("input_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("audience_id", "input_id", name=op.f("pk_audience_inputs")),
        sa.ForeignKeyConstraint(
            ["audience_id"], ["audiences.id"], name=op.f("fk_audience_inputs_audience_id_audiences"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["input_id"], ["inputs.id"], name=op.f("fk_audience_inputs_input_id_inputs")),
    )
    op.create_index(op.f("ix_audience_inputs_input_id"), "audience_inputs", ["input_id"])
    op.create_table(
        "audience_tags",
        sa.Column("audience_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("audience_id", "tag", name=op.f("pk_audience_tags")),
        sa.ForeignKeyConstraint(
            ["audience_id"], ["audiences.id"], name=op.f("fk_audience_tags_audience_id_audiences"), ondelete="CASCADE"
        ),
    )
    op.create_index(op.f("ix_audience_tags_tag"), "audience_tags", ["tag"])
    op.create_table(
        "attribute_type_overrides",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("attribute_name", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "attribute_name", name=op.f("pk_attribute_type_overrides")),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_attribute_type_overrides_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "type IN ('string', 'number', 'date', 'boolean', 'list')", name=op.f("ck_attribute_type_overrides_type")
        ),
    )


def downgrade() -> None:
    op.drop_table("attribute_type_overrides")
    op.drop_index(op.f("ix_audience_tags_tag"), table_name="audience_tags")
    op.drop_table("audience_tags")
    op.drop_index(op.f("ix_audience_inputs_input_id"), table_name="audience_inputs")
    op.drop_table("audience_inputs")
    op.drop_index(op.f("ix_audience_workspaces_workspace_id"), table_name="audience_workspaces")
    op.drop_table("audience_workspaces")
    op.drop_index(op.f("uq_audiences_lower_name"), table_name="audiences")
    op.drop_table("audiences")
    op.drop_table("inputs")
    op.drop_table("workspaces")
