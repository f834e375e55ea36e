"""Outputs (configurations of partners), connections of audiences to them, forwarding state and faults.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "output_configurations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("partner", sa.String(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("keyring_id", sa.String(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_output_configurations")),
        sa.UniqueConstraint("keyring_id", name=op.f("uq_output_configurations_keyring_id")),
    )
    op.create_index(op.f("uq_output_configurations_lower_name"), "output_configurations", [sa.text("lower(name)")],
                    unique=True)
    op.create_table(
        "connections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audience_id", sa.Integer(), nullable=False),
        sa.Column("configuration_id", sa.Integer(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(), server_default="sending", nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connections")),
        sa.ForeignKeyConstraint(["audience_id"], ["audiences.id"], name=op.f("fk_connections_audience_id_audiences"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["configuration_id"], ["output_configurations.id"],
                                name=op.f("fk_connections_configuration_id_output_configurations")),
        sa.UniqueConstraint("audience_id", "configuration_id", name=op.f("uq_connections_audience_id_configuration_id")),
        sa.CheckConstraint("status IN ('sending', 'inactive')", name=op.f("ck_connections_status")),
    )
    op.create_index(op.f("ix_connections_audience_id"), "connections", ["audience_id"])
    op.create_index(op.f("ix_connections_configuration_id"), "connections", ["configuration_id"])
    op.create_table(
        "forwarding_states",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("partner_ref", sa.String(), nullable=True),
        sa.Column("next_sequence", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("batches_sent", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_batch_id", sa.String(), nullable=True),
        sa.Column("full_upload_at", sa.DateTime(), nullable=True),
        sa.Column("last_forwarded_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("connection_id", name=op.f("pk_forwarding_states")),
        sa.ForeignKeyConstraint(["connection_id"], ["connections.id"],
                                name=op.f("fk_forwarding_states_connection_id_connections"), ondelete="CASCADE"),
    )
    op.create_table(
        "forwarded_identities",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("identity_type", sa.String(), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("connection_id", "identity_type", "value", name=op.f("pk_forwarded_identities")),
        sa.ForeignKeyConstraint(["connection_id"], ["connections.id"],
                                name=op.f("fk_forwarded_identities_connection_id_connections"), ondelete="CASCADE"),
    )
    op.create_table(
        "forwarding_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.String(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("identities", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forwarding_batches")),
        sa.ForeignKeyConstraint(["connection_id"], ["connections.id"],
                                name=op.f("fk_forwarding_batches_connection_id_connections"), ondelete="CASCADE"),
        sa.UniqueConstraint("batch_id", name=op.f("uq_forwarding_batches_batch_id")),
        sa.CheckConstraint("action IN ('add', 'remove')", name=op.f("ck_forwarding_batches_action")),
    )
    op.create_index(op.f("ix_forwarding_batches_connection_id"), "forwarding_batches", ["connection_id"])
    op.create_table(
        "faults",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("message", sa.String(), nullable=False),
        sa.Column("batch_id", sa.String(), nullable=True),
        sa.Column("retries", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("began_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faults")),
        sa.ForeignKeyConstraint(["connection_id"], ["connections.id"], name=op.f("fk_faults_connection_id_connections"),
                                ondelete="CASCADE"),
        sa.CheckConstraint("category IN ('Authentication', 'Permissions', 'Rate limiting', 'Configuration', 'Other')",
                           name=op.f("ck_faults_category")),
    )
    op.create_index(op.f("ix_faults_connection_id"), "faults", ["connection_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_faults_connection_id"), table_name="faults")
    op.drop_table("faults")
    op.drop_index(op.f("ix_forwarding_batches_connection_id"), table_name="forwarding_batches")
    op.drop_table("forwarding_batches")
    op.drop_table("forwarded_identities")
    op.drop_table("forwarding_states")
    op.drop_index(op.f("ix_connections_configuration_id"), table_name="connections")
    op.drop_index(op.f("ix_connections_audience_id"), table_name="connections")
    op.drop_table("connections")
    op.drop_index(op.f("uq_output_configurations_lower_name"), table_name="output_configurations")
    op.drop_table("output_configurations")
