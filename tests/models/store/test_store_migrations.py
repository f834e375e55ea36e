"""The store's migrations build exactly the tables the ORM classes describe, and 0004 upgrades and downgrades."""

from __future__ import annotations

import sqlite3
import warnings
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.models.store.db import alembic_config, open_store
from app.models.store.schema import Base

# Expression indexes cannot be reflected from SQLite; they are checked by behaviour in the services' tests.
_EXPRESSION_INDEXES = {"uq_audiences_lower_name", "uq_output_configurations_lower_name",
                       "uq_connections_target_configuration"}


def _differences(connection) -> list:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    return [d for d in found
            if not (isinstance(d, tuple) and d[0] in ("add_index", "remove_index") and d[1].name in _EXPRESSION_INDEXES)]


def test_the_migrations_build_the_tables_the_orm_describes(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store.sqlite3")
    try:
        with store.engine.connect() as connection:
            assert _differences(connection) == []
    finally:
        store.close()


def test_0004_upgrades_a_0003_store_keeping_its_connections_and_downgrades_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    config = alembic_config(f"sqlite:///{path}")
    command.upgrade(config, "0003")
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO workspaces (id, name, realtime_window_days, created_at) VALUES (1, 'Retail', 30, '2026-01-01 00:00:00')")
        db.execute("INSERT INTO audiences (id, name, scope, kind, status, criteria, created_by, created_at, updated_at) "
                   "VALUES (7, 'Buyers', 'single', 'realtime', 'active', '{}', 'maria', '2026-01-01 00:00:00', "
                   "'2026-01-01 00:00:00')")
        db.execute("INSERT INTO output_configurations (id, name, partner, settings, keyring_id, created_by, created_at, "
                   "updated_at) VALUES (3, 'Hook', 'webhook', '{}', 'k', 'admin', '2026-01-01 00:00:00', "
                   "'2026-01-01 00:00:00')")
        db.execute("INSERT INTO connections (id, audience_id, configuration_id, settings, status, created_by, created_at, "
                   "updated_at) VALUES (5, 7, 3, '{}', 'sending', 'admin', '2026-01-01 00:00:00', '2026-01-01 00:00:00')")
        db.execute("INSERT INTO forwarding_states (connection_id, next_sequence, batches_sent) VALUES (5, 4, 3)")
        db.execute("INSERT INTO forwarded_identities (connection_id, identity_type, value) VALUES (5, 'email', 'a@b.c')")
    command.upgrade(config, "0004")
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT id, variant_id, shared_attributes FROM connections").fetchall() == [(5, None, "[]")]
        # Rebuilding the connections table must not cascade into what was forwarded.
        assert db.execute("SELECT next_sequence FROM forwarding_states").fetchall() == [(4,)]
        assert db.execute("SELECT value FROM forwarded_identities").fetchall() == [("a@b.c",)]
        # A second whole-audience connection to the same output is refused by the new unique index.
        with pytest.raises(sqlite3.IntegrityError):
            db.execute("INSERT INTO connections (audience_id, configuration_id, settings, status, created_by, "
                       "created_at, updated_at) VALUES (7, 3, '{}', 'sending', 'x', '2026-01-01', '2026-01-01')")
    command.downgrade(config, "0003")
    with sqlite3.connect(path) as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert not tables & {"ab_tests", "ab_variants", "standard_audiences", "credit_ledger", "standard_calculations"}
        assert db.execute("SELECT id FROM connections").fetchall() == [(5,)]
        assert db.execute("SELECT value FROM forwarded_identities").fetchall() == [("a@b.c",)]
