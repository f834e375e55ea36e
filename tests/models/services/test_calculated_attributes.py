"""Calculated attributes in the store: define, list, delete; refusals; an upgrade from 0001 keeps the work."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory

from app.builder.calculated import CalculatedAttribute
from app.errors import InvalidInput, NotFound
from app.models.services.calculated_attributes import CalculatedAttributeService
from app.models.store.db import Store, alembic_config, open_store
from app.models.services.workspaces import WorkspaceInfo

REVENUE = CalculatedAttribute("Lifetime revenue", "sum", "commerce_event", "purchase", "revenue")


@pytest.fixture
def calculated(store: Store) -> CalculatedAttributeService:
    return CalculatedAttributeService(store, "maria")


def test_define_list_and_delete(calculated: CalculatedAttributeService, retail: WorkspaceInfo) -> None:
    made = calculated.create(retail.id, CalculatedAttribute("  Sessions (7 days) ", "count", "session_start", " ", None, 7))
    calculated.create(retail.id, REVENUE)
    assert made.name == "Sessions (7 days)" and made.definition.event_name is None and made.created_by == "maria"
    assert [i.name for i in calculated.list(retail.id)] == ["Lifetime revenue", "Sessions (7 days)"]
    assert calculated.by_workspace() == {retail.id: {"Lifetime revenue": REVENUE, "Sessions (7 days)": made.definition}}
    assert calculated.get(retail.id, "lifetime REVENUE").definition == REVENUE
    calculated.delete(retail.id, "Lifetime revenue")
    assert [i.name for i in calculated.list()] == ["Sessions (7 days)"]
    with pytest.raises(NotFound, match='no calculated attribute named "Lifetime revenue"'):
        calculated.delete(retail.id, "Lifetime revenue")


def test_refusals_say_what_to_fix(calculated: CalculatedAttributeService, retail: WorkspaceInfo) -> None:
    calculated.create(retail.id, REVENUE)
    with pytest.raises(InvalidInput, match='already has a calculated attribute named "LIFETIME revenue"'):
        calculated.create(retail.id, CalculatedAttribute("LIFETIME revenue", "count", "session_start"))
    with pytest.raises(InvalidInput, match="^Sum needs the event attribute it reads.$"):
        calculated.create(retail.id, CalculatedAttribute("Spend", "sum", "commerce_event"))
    with pytest.raises(NotFound):
        calculated.create(999, CalculatedAttribute("Spend", "count", "commerce_event"))
    assert [i.name for i in calculated.list()] == ["Lifetime revenue"]


def test_store_events_fire_after_commit(store: Store, calculated: CalculatedAttributeService, retail: WorkspaceInfo) -> None:
    seen: list[tuple[str, int]] = []
    unsubscribe = store.events.subscribe(lambda kind, subject: seen.append((kind, subject)))
    calculated.create(retail.id, REVENUE)
    calculated.delete(retail.id, REVENUE.name)
    unsubscribe()
    assert seen == [("workspace_changed", retail.id)] * 2


def test_upgrading_a_0001_store_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "old" / "store.sqlite3"
    path.parent.mkdir()
    command.upgrade(alembic_config(f"sqlite:///{path}"), "0001")
    with sqlite3.connect(path) as old:
        old.execute("INSERT INTO workspaces (id, name, realtime_window_days, created_at) VALUES (1, 'Retail', 30, '2026-01-01 00:00:00')")
    store = open_store(path)
    try:
        service = CalculatedAttributeService(store, "maria")
        service.create(1, REVENUE)
        assert [i.name for i in service.list(1)] == ["Lifetime revenue"]
    finally:
        store.close()
    with sqlite3.connect(path) as upgraded:
        assert upgraded.execute("SELECT name FROM workspaces").fetchall() == [("Retail",)]
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert upgraded.execute("SELECT version_num FROM alembic_version").fetchall() == [(head,)]
