"""The audience's Connect tab on a real home: its connections (variations included) with status, last run and
fault, the chosen connection's run history, and Connect Output… making a new connection."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

from app.connectors.outputs.errors import Failure
from app.engines.forwarding import ForwardingEngine
from tests.ui.editor.support import NAME, TIMEOUT_MS


def cells(model) -> list[list[str]]:
    return [[model.item(r, c).text() for c in range(model.columnCount())] for r in range(model.rowCount())]


def test_the_connect_tab_lists_connections_with_last_run_and_fault_and_connects_an_output(qtbot, open_editor, tmp_path):
    home = open_editor.connection.open_home
    audience_id = open_editor.ids[NAME]
    home.audiences.activate(audience_id)
    (tmp_path / "out").mkdir()
    export = home.outputs.create("Nightly export", "file_export", {"folder": str(tmp_path / "out")})
    spare = home.outputs.create("Spare export", "file_export", {"folder": str(tmp_path / "out")})
    connection = home.connections.connect(audience_id, export.id)
    report = ForwardingEngine(home).forward_one(connection.id)
    assert report.added > 0
    home.faults.record(connection.id, Failure("Permissions", "The folder is read-only", None, 0))

    editor = open_editor(NAME, wait_estimate=False)
    tab = editor.connect
    with qtbot.waitSignal(tab.loaded, timeout=TIMEOUT_MS):
        editor.tabs.setCurrentWidget(tab)
    assert editor.tabs.tabText(editor.tabs.indexOf(tab)) == "Connect"
    [row] = cells(tab.model)
    assert row[:3] == ["Nightly export", "Whole audience", "Sending"]
    assert f"sent: {report.added:,} adds, 0 removes" in row[3]
    assert row[4] == "⚠ Permissions: The folder is read-only"
    [run] = cells(tab.runs_model)
    assert run[2:5] == ["manual", "sent", f"{report.added:,} / {report.added:,} / 0"]

    tab.connect_output()
    dialog = tab.dialog
    qtbot.waitUntil(lambda: dialog.output.count() == 2, timeout=TIMEOUT_MS)
    dialog.choose_output(spare.id)
    dialog.status.setCurrentIndex(dialog.status.findData("inactive"))
    with qtbot.waitSignal(tab.loaded, timeout=TIMEOUT_MS):
        dialog.connect_output()
    qtbot.waitUntil(lambda: tab.model.rowCount() == 2, timeout=TIMEOUT_MS)
    assert [r[:3] for r in cells(tab.model)] == [["Nightly export", "Whole audience", "Sending"],
                                                 ["Spare export", "Whole audience", "Inactive"]]
    assert cells(tab.model)[1][3] == "No run yet"



def test_every_column_title_of_the_connect_tab_shows_whole(open_editor, monkeypatch):
    # Seen at 1280x800: "Removes planned/sent/rejected" was cut to "…rejectec" (the desktop's font is wider than
    # the test platform's: the test makes the application's font half as large again, as at 150 %).
    app = QApplication.instance()
    font = app.font()
    larger = QFont(font)
    larger.setPointSizeF(font.pointSizeF() * 1.5)
    app.setFont(larger)
    try:
        tab = open_editor(NAME, wait_estimate=False).connect
    finally:
        app.setFont(font)
    for view in (tab.view, tab.runs_view):
        header, model = view.header(), view.model()
        for column in range(model.columnCount()):
            title = model.headerData(column, Qt.Orientation.Horizontal)
            assert header.sectionSize(column) >= header.fontMetrics().horizontalAdvance(title), title
