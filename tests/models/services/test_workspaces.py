"""Tests for WorkspaceService: creating and finding workspaces, their inputs, attribute type overrides."""

from __future__ import annotations

import dataclasses

import pytest

from app.errors import InvalidInput, NotFound
from app.models.services.workspaces import WorkspaceInfo, WorkspaceService


def _inputs(workspace: WorkspaceInfo) -> list[tuple[str, str]]:
    return [(i.kind, i.name) for i in workspace.inputs]


def test_create_returns_a_frozen_workspace_with_its_inputs(workspaces: WorkspaceService) -> None:
    retail = workspaces.create("  Retail ", [("platform", "iOS"), ("feed", "CRM"), ("platform", "iOS")])
    assert retail.name == "Retail"
    assert retail.realtime_window_days == 30
    assert retail.created_at.tzinfo is not None
    assert _inputs(retail) == [("platform", "iOS"), ("feed", "CRM")]
    assert all(i.workspace_id == retail.id for i in retail.inputs)
    with pytest.raises(dataclasses.FrozenInstanceError):
        retail.name = "Other"  # type: ignore[misc]


def test_create_refuses_a_name_already_used_ignoring_case(workspaces: WorkspaceService, retail) -> None:
    with pytest.raises(InvalidInput, match='A workspace named "Retail" already exists'):
        workspaces.create("RETAIL")
    assert [w.name for w in workspaces.list()] == ["Retail"]


def test_create_refuses_empty_and_too_long_names(workspaces: WorkspaceService) -> None:
    with pytest.raises(InvalidInput, match="needs a name"):
        workspaces.create("   ")
    with pytest.raises(InvalidInput, match="101 characters; names are at most 100"):
        workspaces.create("x" * 101)


def test_create_refuses_an_unknown_input_kind(workspaces: WorkspaceService) -> None:
    with pytest.raises(InvalidInput, match='Input kind "device" is not known; use one of: platform, feed'):
        workspaces.create("Retail", [("device", "iPad")])
    assert workspaces.list() == []


def test_get_finds_by_id_by_digit_string_and_by_name_ignoring_case(workspaces: WorkspaceService, retail) -> None:
    assert workspaces.get(retail.id) == retail
    assert workspaces.get(str(retail.id)) == retail
    assert workspaces.get("retail") == retail


def test_get_by_digits_falls_back_to_a_workspace_named_with_digits(workspaces: WorkspaceService) -> None:
    named_2026 = workspaces.create("2026")
    assert workspaces.get("2026") == named_2026


def test_get_unknown_name_lists_the_workspaces(workspaces: WorkspaceService, retail, travel) -> None:
    with pytest.raises(NotFound, match='no workspace named "Finance". The workspaces are: "Retail", "Travel"'):
        workspaces.get("Finance")
    with pytest.raises(NotFound, match="no workspace with id 999"):
        workspaces.get(999)


def test_list_returns_workspaces_in_creation_order(workspaces: WorkspaceService, retail, travel) -> None:
    assert [w.name for w in workspaces.list()] == ["Retail", "Travel"]


def test_default_is_the_first_workspace(workspaces: WorkspaceService, retail, travel) -> None:
    assert workspaces.default() == retail


def test_default_without_workspaces_tells_the_user_how_to_get_one(workspaces: WorkspaceService) -> None:
    with pytest.raises(NotFound, match="audience-studio demo"):
        workspaces.default()


def test_ensure_inputs_adds_only_new_inputs(workspaces: WorkspaceService, travel, recorded_events) -> None:
    updated = workspaces.ensure_inputs(travel.id, [("platform", "ios"), ("platform", "Android"), ("feed", "CRM")])
    assert _inputs(updated) == [("platform", "iOS"), ("platform", "Web"), ("platform", "Android"), ("feed", "CRM")]
    assert workspaces.ensure_inputs(travel.id, [("platform", "Android")]) == updated
    assert recorded_events == [("workspace_changed", travel.id)]


def test_ensure_inputs_of_a_missing_workspace_is_not_found(workspaces: WorkspaceService) -> None:
    with pytest.raises(NotFound, match="no workspace with id 42"):
        workspaces.ensure_inputs(42, [("platform", "iOS")])


def test_attribute_type_overrides_can_be_set_changed_and_cleared(workspaces: WorkspaceService, retail) -> None:
    workspaces.set_attribute_type(retail.id, "loyalty_tier", "number")
    workspaces.set_attribute_type(retail.id, "loyalty_tier", "string")
    workspaces.set_attribute_type(retail.id, "birthday", "date")
    assert workspaces.attribute_types(retail.id) == {"birthday": "date", "loyalty_tier": "string"}
    workspaces.clear_attribute_type(retail.id, "birthday")
    workspaces.clear_attribute_type(retail.id, "birthday")
    assert workspaces.attribute_types(retail.id) == {"loyalty_tier": "string"}


def test_attribute_types_are_kept_per_workspace(workspaces: WorkspaceService, retail, travel) -> None:
    workspaces.set_attribute_type(retail.id, "tier", "number")
    assert workspaces.attribute_types(travel.id) == {}


def test_unknown_attribute_type_is_refused_with_the_allowed_types(workspaces: WorkspaceService, retail) -> None:
    with pytest.raises(InvalidInput, match='"integer" is not an attribute type; use one of: string, number, date'):
        workspaces.set_attribute_type(retail.id, "tier", "integer")


def test_workspace_writes_emit_workspace_changed(workspaces: WorkspaceService, recorded_events) -> None:
    retail = workspaces.create("Retail")
    workspaces.set_attribute_type(retail.id, "tier", "number")
    workspaces.set_attribute_type(retail.id, "tier", "number")
    workspaces.clear_attribute_type(retail.id, "tier")
    assert recorded_events == [("workspace_changed", retail.id)] * 3


def test_delete_removes_the_workspace_with_its_inputs_and_overrides(workspaces: WorkspaceService, retail) -> None:
    workspaces.set_attribute_type(retail.id, "tier", "number")
    workspaces.delete(retail.id)
    assert workspaces.list() == []
    with pytest.raises(NotFound):
        workspaces.attribute_types(retail.id)


def test_delete_is_refused_while_audiences_use_the_workspace(workspaces: WorkspaceService, audiences, retail) -> None:
    audiences.create("Lapsed buyers", workspace_ids=[retail.id], input_ids=[retail.inputs[0].id])
    with pytest.raises(InvalidInput, match='Workspace "Retail" is used by 1 audience\\(s\\) \\("Lapsed buyers"\\)'):
        workspaces.delete(retail.id)
    assert workspaces.get(retail.id) == retail


def test_realtime_windows_are_set_for_several_workspaces_in_one_go(
    workspaces: WorkspaceService, retail, travel, recorded_events
) -> None:
    assert retail.realtime_window_days == 30
    changed = workspaces.set_realtime_windows({retail.id: 14, travel.id: 30})
    assert [w.realtime_window_days for w in changed] == [14, 30]
    assert workspaces.get(retail.id).realtime_window_days == 14
    # Only the workspace whose window changed is announced.
    assert recorded_events[-1:] == [("workspace_changed", retail.id)]
    assert workspaces.set_realtime_window(travel.id, 90).realtime_window_days == 90


def test_a_window_out_of_range_is_refused_and_nothing_changes(workspaces: WorkspaceService, retail, travel) -> None:
    for days in (0, 366, -3):
        with pytest.raises(InvalidInput, match=f"real-time window is {days} days; it must be between 1 and 365"):
            workspaces.set_realtime_windows({retail.id: 7, travel.id: days})
    with pytest.raises(NotFound):
        workspaces.set_realtime_windows({retail.id: 7, 999: 7})
    assert [w.realtime_window_days for w in workspaces.list()] == [30, 30]


def test_membership_refresh_defaults_to_15_minutes_and_is_kept_per_workspace(
        workspaces: WorkspaceService, retail, travel, recorded_events) -> None:
    assert retail.membership_refresh_minutes == 15
    changed = workspaces.set_membership_refresh(retail.id, 60)
    assert changed.membership_refresh_minutes == 60
    assert workspaces.get(retail.id).membership_refresh_minutes == 60
    assert workspaces.get(travel.id).membership_refresh_minutes == 15
    assert recorded_events == [("workspace_changed", retail.id)]
    workspaces.set_membership_refresh(retail.id, 60)  # unchanged: no event
    assert recorded_events == [("workspace_changed", retail.id)]


@pytest.mark.parametrize("minutes", [0, 1441, 2.5, True, "15"])
def test_membership_refresh_outside_a_minute_to_a_day_is_refused(workspaces: WorkspaceService, retail, minutes) -> None:
    with pytest.raises(InvalidInput, match="membership refresh interval"):
        workspaces.set_membership_refresh(retail.id, minutes)
    assert workspaces.get(retail.id).membership_refresh_minutes == 15


def test_migration_0008_keeps_workspaces_and_gives_them_the_default(store_path, store, retail) -> None:
    import sqlite3
    from contextlib import closing

    from alembic import command

    from app.models.store.db import alembic_config

    store.close()
    config = alembic_config(f"sqlite:///{store_path}")
    command.downgrade(config, "0007")
    with closing(sqlite3.connect(store_path)) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(workspaces)")}
    assert "membership_refresh_minutes" not in columns
    command.upgrade(config, "head")
    with closing(sqlite3.connect(store_path)) as db:
        assert db.execute("SELECT name, membership_refresh_minutes FROM workspaces").fetchall() == [("Retail", 15)]
