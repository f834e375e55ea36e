"""Migration 0003 (outputs, connections, forwarding state, faults) upgrades a 0002 store without losing anything."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory

from app.models.services.audiences import AudienceService
from app.models.services.connections import ConnectionService
from app.models.store.db import alembic_config, open_store
from app.models.store.schema import OutputConfiguration


def test_upgrading_a_0002_store_keeps_everything_and_adds_outputs(tmp_path: Path) -> None:
    path = tmp_path / "old" / "store.sqlite3"
    path.parent.mkdir()
    command.upgrade(alembic_config(f"sqlite:///{path}"), "0002")
    with sqlite3.connect(path) as old:
        old.execute("INSERT INTO workspaces (id, name, realtime_window_days, created_at) VALUES (1, 'Retail', 30, '2026-01-01 00:00:00')")
        old.execute("INSERT INTO audiences (id, name, scope, kind, status, criteria, created_by, created_at, updated_at) "
                    "VALUES (7, 'Lapsed buyers', 'single', 'realtime', 'active', "
                    "'{\"version\": 1, \"root\": {\"id\": \"root\", \"type\": \"group\", \"match\": \"all\", \"children\": []}}', "
                    "'maria', '2026-01-01 00:00:00', '2026-01-01 00:00:00')")
        old.execute("INSERT INTO audience_workspaces (audience_id, workspace_id) VALUES (7, 1)")
        old.execute("INSERT INTO audience_tags (audience_id, tag) VALUES (7, 'winback')")
        old.execute("INSERT INTO calculated_attributes (workspace_id, name, calculation, event_type, created_by, created_at) "
                    "VALUES (1, 'Sessions', 'count', 'session_start', 'maria', '2026-01-01 00:00:00')")
    store = open_store(path)
    try:
        audience = AudienceService(store, "maria").get(7)
        assert (audience.name, audience.status, audience.tags, audience.workspace_ids) == (
            "Lapsed buyers", "active", ("winback",), (1,))
        with store.transaction() as session:
            output = OutputConfiguration(name="Hook", partner="webhook", settings={"url": "https://example.com"},
                                         keyring_id="k-1", created_by="admin")
            session.add(output)
        connection = ConnectionService(store, "admin").connect(7, output.id)
        assert (connection.audience_name, connection.status) == ("Lapsed buyers", "sending")
    finally:
        store.close()
    with sqlite3.connect(path) as upgraded:
        assert upgraded.execute("SELECT name FROM calculated_attributes").fetchall() == [("Sessions",)]
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert upgraded.execute("SELECT version_num FROM alembic_version").fetchall() == [(head,)]


def test_downgrading_0003_removes_only_the_output_tables(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    config = alembic_config(f"sqlite:///{path}")
    command.upgrade(config, "0003")
    command.downgrade(config, "0002")
    with sqlite3.connect(path) as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "connections" not in tables and "faults" not in tables and "audiences" in tables
