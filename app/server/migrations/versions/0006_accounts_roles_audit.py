"""Accounts, roles and the audit log: the company (its name is what channel taxonomy pushes carry),
users' e-mail and password hash, invitations (activation links, kept only as SHA-256 hashes), a role
on each workspace grant (existing grants become `editor`: what they could do before), and the audit
log of who changed what.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen history: the schema is spelled out here rather than imported from app.server.tables.


def upgrade() -> None:
    op.create_table(
        "company",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_company")),
    )
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email", sa.String(320)))
        batch.add_column(sa.Column("password_hash", sa.String(200)))
        batch.create_unique_constraint(op.f("uq_users_email"), ["email"])
    with op.batch_alter_table("memberships") as batch:
        batch.add_column(sa.Column("role", sa.String(16), nullable=False, server_default=sa.text("'editor'")))
    op.create_table(
        "invitations",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("invited_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime()),
        sa.Column("send_error", sa.Text),
        sa.Column("used_at", sa.DateTime()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_invitations_user_id_users"), ondelete="CASCADE"),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invitations_token_hash")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("target", sa.String(400), nullable=False),
        sa.Column("workspace_id", sa.Integer),
        sa.Column("details", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_log_at"), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("invitations")
    with op.batch_alter_table("memberships") as batch:
        batch.drop_column("role")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("uq_users_email"), type_="unique")
        batch.drop_column("password_hash")
        batch.drop_column("email")
    op.drop_table("company")
