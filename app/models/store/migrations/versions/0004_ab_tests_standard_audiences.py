"""A/B tests and their variations, connections per variation and shared user attributes, standard
(historical) audiences, their calculations and the calculation-credit ledger.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ab_tests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audience_id", sa.Integer(), nullable=False),
        sa.Column("seed", sa.String(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ab_tests")),
        sa.ForeignKeyConstraint(["audience_id"], ["audiences.id"], name=op.f("fk_ab_tests_audience_id_audiences"),
                                ondelete="CASCADE"),
        sa.UniqueConstraint("audience_id", name=op.f("uq_ab_tests_audience_id")),
    )
    op.create_table(
        "ab_variants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("test_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ab_variants")),
        sa.ForeignKeyConstraint(["test_id"], ["ab_tests.id"], name=op.f("fk_ab_variants_test_id_ab_tests"),
                                ondelete="CASCADE"),
        sa.UniqueConstraint("test_id", "position", name=op.f("uq_ab_variants_test_id_position")),
        sa.CheckConstraint("percent > 0 AND percent <= 100", name=op.f("ck_ab_variants_percent")),
        sa.CheckConstraint("position >= 0 AND position <= 5", name=op.f("ck_ab_variants_position")),
    )
    op.create_index(op.f("ix_ab_variants_test_id"), "ab_variants", ["test_id"])

    with op.batch_alter_table("connections", recreate="always") as batch:
        batch.add_column(sa.Column("variant_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("shared_attributes", sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch.add_column(sa.Column("send_requested_at", sa.DateTime(), nullable=True))
        batch.drop_constraint("uq_connections_audience_id_configuration_id", type_="unique")
        batch.create_foreign_key(op.f("fk_connections_variant_id_ab_variants"), "ab_variants", ["variant_id"], ["id"],
                                 ondelete="CASCADE")
        batch.create_index(op.f("ix_connections_variant_id"), ["variant_id"])
    op.create_index("uq_connections_target_configuration", "connections",
                    ["audience_id", sa.text("coalesce(variant_id, 0)"), "configuration_id"], unique=True)

    op.create_table(
        "standard_calculations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(), server_default="running", nullable=False),
        sa.Column("days_scanned", sa.Integer(), nullable=False),
        sa.Column("credits", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(), nullable=True),
        sa.Column("started_by", sa.String(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standard_calculations")),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"],
                                name=op.f("fk_standard_calculations_workspace_id_workspaces"), ondelete="CASCADE"),
        sa.CheckConstraint("state IN ('running', 'done', 'cancelled', 'failed')",
                           name=op.f("ck_standard_calculations_state")),
    )
    op.create_index(op.f("ix_standard_calculations_workspace_id"), "standard_calculations", ["workspace_id"])
    op.create_table(
        "standard_audiences",
        sa.Column("audience_id", sa.Integer(), nullable=False),
        sa.Column("range_start", sa.Date(), nullable=True),
        sa.Column("range_end", sa.Date(), nullable=True),
        sa.Column("state", sa.String(), server_default="draft", nullable=False),
        sa.Column("calculation_id", sa.Integer(), nullable=True),
        sa.Column("calculated_at", sa.DateTime(), nullable=True),
        sa.Column("scanned_start", sa.Date(), nullable=True),
        sa.Column("scanned_end", sa.Date(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("members_file", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("audience_id", name=op.f("pk_standard_audiences")),
        sa.ForeignKeyConstraint(["audience_id"], ["audiences.id"],
                                name=op.f("fk_standard_audiences_audience_id_audiences"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["calculation_id"], ["standard_calculations.id"],
                                name=op.f("fk_standard_audiences_calculation_id_standard_calculations")),
        sa.CheckConstraint("state IN ('draft', 'calculating', 'ready')", name=op.f("ck_standard_audiences_state")),
        sa.CheckConstraint("(range_start IS NULL) = (range_end IS NULL)", name=op.f("ck_standard_audiences_range_both")),
        sa.CheckConstraint("range_start IS NULL OR range_start <= range_end",
                           name=op.f("ck_standard_audiences_range_order")),
    )
    op.create_index(op.f("ix_standard_audiences_calculation_id"), "standard_audiences", ["calculation_id"])
    op.create_table(
        "credit_ledger",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("change", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("calculation_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_ledger")),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], name=op.f("fk_credit_ledger_workspace_id_workspaces"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["calculation_id"], ["standard_calculations.id"],
                                name=op.f("fk_credit_ledger_calculation_id_standard_calculations")),
        sa.CheckConstraint("change <> 0", name=op.f("ck_credit_ledger_change")),
    )
    op.create_index(op.f("ix_credit_ledger_workspace_id"), "credit_ledger", ["workspace_id"])
    op.add_column("forwarded_identities", sa.Column("attributes_hash", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("forwarded_identities") as batch:
        batch.drop_column("attributes_hash")
    op.drop_index(op.f("ix_credit_ledger_workspace_id"), table_name="credit_ledger")
    op.drop_table("credit_ledger")
    op.drop_index(op.f("ix_standard_audiences_calculation_id"), table_name="standard_audiences")
    op.drop_table("standard_audiences")
    op.drop_index(op.f("ix_standard_calculations_workspace_id"), table_name="standard_calculations")
    op.drop_table("standard_calculations")
    op.drop_index("uq_connections_target_configuration", table_name="connections")
    # Variation connections have no place in the older schema (and would break its unique constraint).
    op.execute("DELETE FROM connections WHERE variant_id IS NOT NULL")
    with op.batch_alter_table("connections", recreate="always") as batch:
        batch.drop_index(op.f("ix_connections_variant_id"))
        batch.drop_constraint(op.f("fk_connections_variant_id_ab_variants"), type_="foreignkey")
        batch.drop_column("send_requested_at")
        batch.drop_column("shared_attributes")
        batch.drop_column("variant_id")
        batch.create_unique_constraint(op.f("uq_connections_audience_id_configuration_id"),
                                       ["audience_id", "configuration_id"])
    op.drop_index(op.f("ix_ab_variants_test_id"), table_name="ab_variants")
    op.drop_table("ab_variants")
    op.drop_table("ab_tests")
