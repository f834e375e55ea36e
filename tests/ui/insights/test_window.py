"""The Insights window opened from the Audiences page: the Audience menu's and context menu's "Insights…"
(Ctrl+I while the list has focus), for one chosen audience."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.ui.insights.conftest import TIMEOUT_MS
from tests.ui.test_download_dialog import select_rows


def test_insights_opens_from_the_audience_menu_with_ctrl_i(qtbot, shop, open_window):
    window = open_window(shop[0])
    actions = window.pane("audiences").list.actions
    select_rows(window, ["Gold", "Active"])
    actions.update_enabled()
    assert not actions.insights.isEnabled()  # one audience at a time
    select_rows(window, ["Gold"])
    actions.update_enabled()
    assert actions.insights.isEnabled() and actions.insights.shortcut().toString() == "Ctrl+I"
    assert actions.insights in window.pane("audiences").audience_menu.actions()
    table = window.pane("audiences").list.table
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: getattr(actions, "insights_window", None) is not None, timeout=TIMEOUT_MS)
    insights = actions.insights_window
    assert insights.windowTitle() == "Insights — Gold" and insights.isVisible()
    qtbot.waitUntil(lambda: insights.members.model.total > 0, timeout=TIMEOUT_MS)
    insights.close()
