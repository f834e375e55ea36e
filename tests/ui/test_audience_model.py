"""The audience table model: what each column shows and sorts by, and following a fresh list in place."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from PySide6.QtCore import QItemSelectionModel, QSortFilterProxyModel, Qt
from PySide6.QtWidgets import QTableView

from app.models.services.audiences import AudienceInfo
from app.engines.membership import MembershipStatus
from app.ui.audiences.model import (
    AUDIENCE_ROLE,
    CALCULATING_TEXT,
    COMPUTING,
    FAILED_TEXT,
    NOT_CALCULATED,
    NOT_CALCULATED_TEXT,
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
    assert headers == ["Name", "Size", "Adds", "Drops", "Volatility", "As of", "Outputs",
                       "Created By", "Last Updated", "Status", "Tags", "Actions"]
    assert cell(model, 0, Column.NAME) == "Loyal shoppers"
    assert cell(model, 0, Column.STATUS) == "Active"
    assert cell(model, 0, Column.TAGS) == "high-value, loyalty"
    assert cell(model, 0, Column.CREATED_BY) == "jonas"
    assert "2026" in cell(model, 0, Column.LAST_UPDATED)
    assert cell(model, 0, Column.NAME, AUDIENCE_ROLE).id == 1
    # Never calculated: the size cells say so, not zero.
    assert [cell(model, 0, c) for c in SIZE_COLUMNS] == [NOT_CALCULATED] * 4 + [NOT_CALCULATED_TEXT]


def status(audience_id: int, size: int | None, adds: int = 0, drops: int = 0, state: str = "ok",
           error: str | None = None, as_of: dt.datetime | None = T0) -> MembershipStatus:
    return MembershipStatus(audience_id, 0, state, error, size, as_of if size is not None else None, T0, adds, drops)


def test_size_cells_show_the_engines_numbers_and_as_of_and_say_when_calculating(model):
    model.set_audiences([audience(1, "Loyal shoppers"), audience(2, "Empty")])
    model.set_computing([1, 2])
    assert [cell(model, 0, c) for c in SIZE_COLUMNS] == [COMPUTING] * 4 + [CALCULATING_TEXT]

    model.set_computing(())
    model.set_statuses({1: status(1, 12_345, 300, 45), 2: status(2, 0)})

    assert [cell(model, 0, c) for c in SIZE_COLUMNS][:4] == ["12,345", "300", "45", "2.8%"]
    assert cell(model, 0, Column.AS_OF).endswith("days ago")  # T0 is long past
    assert "2026" in cell(model, 0, Column.AS_OF, Qt.ItemDataRole.ToolTipRole)
    assert cell(model, 1, Column.VOLATILITY) == "—"  # an empty audience has nothing to churn
    assert cell(model, 0, Column.SIZE, SORT_ROLE) == 12_345.0
    assert cell(model, 0, Column.AS_OF, SORT_ROLE) == T0.timestamp()
    assert not model.is_computing(1)
    # A recalculation keeps showing the last numbers, and says it runs.
    model.set_statuses({1: status(1, 12_345, 300, 45, state="calculating")})
    assert cell(model, 0, Column.SIZE) == "12,345" and cell(model, 0, Column.AS_OF) == CALCULATING_TEXT


def test_a_failed_calculation_shows_an_icon_the_reason_and_keeps_the_last_good_numbers(model):
    model.set_audiences([audience(1, "VIPs"), audience(2, "Was fine")])
    reason = "Criterion 'vip': there is no user attribute vip_level"
    model.set_statuses({1: status(1, None, state="failed", error=reason),
                        2: status(2, 70, state="failed", error=reason)})

    assert cell(model, 0, Column.SIZE) == UNANSWERED
    assert cell(model, 0, Column.AS_OF) == FAILED_TEXT
    assert cell(model, 0, Column.AS_OF, Qt.ItemDataRole.DecorationRole) is not None
    assert "vip_level" in cell(model, 0, Column.AS_OF, Qt.ItemDataRole.ToolTipRole)
    assert "vip_level" in cell(model, 0, Column.SIZE, Qt.ItemDataRole.ToolTipRole)
    # Unknown sizes sort below every known one.
    assert cell(model, 0, Column.SIZE, SORT_ROLE) == -1.0
    assert cell(model, 1, Column.SIZE) == "70" and "last good calculation" in cell(
        model, 1, Column.SIZE, Qt.ItemDataRole.ToolTipRole)


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
