"""The audience table model: what each column shows and sorts by, and following a fresh list in place."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from PySide6.QtCore import QItemSelectionModel, QSortFilterProxyModel, Qt
from PySide6.QtWidgets import QTableView

from app.models.services.audiences import AudienceInfo
from app.engines.audience_sizes import AudienceSize
from app.ui.audiences.model import (
    AUDIENCE_ROLE,
    COMPUTING,
    SIZE_COLUMNS,
    SORT_ROLE,
    UNANSWERED,
    AudienceTableModel,
    Column,
)

T0 = dt.datetime(2026, 9, 1, 8, 0, tzinfo=dt.UTC)


def audience(id: int, name: str, **changes) -> AudienceInfo:
    values = dict(
        id=id, name=name, external_name=None, effective_external_name=name, scope="single", kind="standard",
        status="draft", criteria={"version": 1, "root": {}}, workspace_ids=(1,), input_ids=(), tags=(),
        created_by="maria", created_at=T0, updated_at=T0,
    )
    values.update(changes)
    if values["external_name"]:
        values["effective_external_name"] = values["external_name"]
    return AudienceInfo(**values)


@pytest.fixture
def model(qapp) -> AudienceTableModel:
    return AudienceTableModel()


def cell(model, row: int, column: Column, role=Qt.ItemDataRole.DisplayRole):
    return model.index(row, column).data(role)


def test_columns_show_name_sizes_creator_last_update_status_tags_and_actions(model):
    model.set_audiences([audience(1, "Loyal shoppers", status="active", scope="multi", workspace_ids=(1, 2),
                                  tags=("high-value", "loyalty"), created_by="jonas")])

    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in Column]
    assert headers == ["Name", "Size", "Adds (24 h)", "Drops (24 h)", "Volatility", "Connected Outputs", "Created By", "Last Updated",
                       "Status", "Tags", "Actions"]
    assert cell(model, 0, Column.NAME) == "Loyal shoppers"
    assert cell(model, 0, Column.STATUS) == "Active"
    assert cell(model, 0, Column.TAGS) == "high-value, loyalty"
    assert cell(model, 0, Column.CREATED_BY) == "jonas"
    assert "2026" in cell(model, 0, Column.LAST_UPDATED)
    assert cell(model, 0, Column.NAME, AUDIENCE_ROLE).id == 1
    # Not sized yet: the size cells are blank, not zero.
    assert [cell(model, 0, c) for c in SIZE_COLUMNS] == ["", "", "", ""]


def test_size_cells_show_dots_while_counting_then_the_numbers(model):
    model.set_audiences([audience(1, "Loyal shoppers"), audience(2, "Empty")])
    model.set_computing([1, 2])
    assert [cell(model, 0, c) for c in SIZE_COLUMNS] == [COMPUTING] * 4

    model.set_size(AudienceSize(1, 12_345, 300, 45))
    model.set_size(AudienceSize(2, 0, 0, 0))

    assert [cell(model, 0, c) for c in SIZE_COLUMNS] == ["12,345", "300", "45", "2.8%"]
    assert cell(model, 1, Column.VOLATILITY) == "—"  # an empty audience has nothing to churn
    assert cell(model, 0, Column.SIZE, SORT_ROLE) == 12_345.0
    assert not model.is_computing(1)


def test_criteria_the_cache_cannot_answer_show_a_question_mark_and_say_why(model):
    model.set_audiences([audience(1, "VIPs")])
    model.set_size(AudienceSize(1, None, None, None, "Criterion 'vip': there is no user attribute vip_level"))

    assert cell(model, 0, Column.SIZE) == UNANSWERED
    assert "vip_level" in cell(model, 0, Column.SIZE, Qt.ItemDataRole.ToolTipRole)
    # Unknown sizes sort below every known one.
    assert cell(model, 0, Column.SIZE, SORT_ROLE) == -1.0


def test_the_tooltip_gives_the_external_name_and_tags(model):
    model.set_audiences([audience(1, "Lapsed buyers", external_name="lapsed_90d", tags=("retention",))])

    tooltip = cell(model, 0, Column.NAME, Qt.ItemDataRole.ToolTipRole)
    assert "lapsed_90d" in tooltip
    assert "retention" in tooltip


def test_last_updated_sorts_by_the_moment_not_by_the_text(model):
    # 9 a.m. on the 10th displays before 8 p.m. on the 2nd in many formats; the instant decides.
    model.set_audiences([
        audience(1, "Older", updated_at=dt.datetime(2026, 9, 2, 20, 0, tzinfo=dt.UTC)),
        audience(2, "Newer", updated_at=dt.datetime(2026, 9, 10, 9, 0, tzinfo=dt.UTC)),
        audience(3, "Oldest", updated_at=dt.datetime(2025, 12, 31, 23, 0, tzinfo=dt.UTC)),
    ])
    proxy = QSortFilterProxyModel()
    proxy.setSourceModel(model)
    proxy.setSortRole(SORT_ROLE)

    proxy.sort(Column.LAST_UPDATED, Qt.SortOrder.DescendingOrder)

    assert [proxy.index(r, Column.NAME).data() for r in range(3)] == ["Newer", "Older", "Oldest"]


def test_names_sort_ignoring_case(model):
    model.set_audiences([audience(1, "beta"), audience(2, "Alpha"), audience(3, "Gamma")])
    proxy = QSortFilterProxyModel()
    proxy.setSourceModel(model)
    proxy.setSortRole(SORT_ROLE)

    proxy.sort(Column.NAME)

    assert [proxy.index(r, Column.NAME).data() for r in range(3)] == ["Alpha", "beta", "Gamma"]


def test_a_fresh_list_updates_removes_and_appends_rows_without_a_reset(qtbot, model):
    lapsed, loyal, churn = audience(1, "Lapsed"), audience(2, "Loyal"), audience(3, "Churn risk")
    model.set_audiences([lapsed, loyal])
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.selectionModel().select(model.index(1, 0), QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)
    resets: list[None] = []
    model.modelReset.connect(lambda: resets.append(None))

    model.set_audiences([dataclasses.replace(loyal, name="Loyal shoppers"), churn])

    assert [a.name for a in model.audiences()] == ["Loyal shoppers", "Churn risk"]
    assert resets == []
    [selected] = view.selectionModel().selectedRows()
    assert selected.data() == "Loyal shoppers"


def test_an_unchanged_list_changes_nothing(qtbot, model):
    model.set_audiences([audience(1, "Lapsed"), audience(2, "Loyal")])
    changes: list[object] = []
    for signal in (model.dataChanged, model.rowsInserted, model.rowsRemoved, model.modelReset):
        signal.connect(lambda *args: changes.append(args))

    model.set_audiences([audience(1, "Lapsed"), audience(2, "Loyal")])

    assert changes == []
