"""The main window on a real home: the audiences it shows, its empty states, status bar and layout memory."""

from __future__ import annotations

import threading

import duckdb
from PySide6.QtCore import QSettings, QSize, Qt, QTimer

from app.engines.home import OpenHome
from app.ui.about import AboutDialog
from app.ui.audiences.model import Column
from app.ui.home import HomeConnection
from app.ui.main_window import MainWindow
from app.ui.workers import Tasks

from tests.ui.conftest import LOAD_TIMEOUT_MS


def shown_names(window: MainWindow) -> list[str]:
    proxy = window.pane("audiences").list.proxy
    return [proxy.index(row, Column.NAME).data() for row in range(proxy.rowCount())]


def test_the_window_shows_the_homes_audiences_once_loaded(open_window, retail_home):
    window = open_window(retail_home)

    pane = window.pane("audiences").list
    assert shown_names(window) == ["Lapsed buyers", "Loyal shoppers"]
    assert pane.pages.currentWidget() is pane.table
    assert pane.count.text() == "2 audiences"
    assert [window.navigation.item(row).text() for row in range(window.navigation.count())] == [
        "Audiences", "Standard audiences", "Connections", "Faults", "Revenue", "Sources", "Activity", "Sync"]


def test_searching_shows_only_audiences_whose_name_contains_the_text_ignoring_case(open_window, retail_home):
    window = open_window(retail_home)
    pane = window.pane("audiences").list

    pane.search.setText("LOYAL")

    assert shown_names(window) == ["Loyal shoppers"]
    assert pane.count.text() == "1 of 2 audiences"


def test_a_search_that_hides_everything_says_nothing_matches(open_window, retail_home):
    window = open_window(retail_home)
    pane = window.pane("audiences").list

    pane.search.setText("churn")

    assert pane.pages.currentWidget() is pane.empty
    assert pane.empty.title.text() == "No audiences match"
    assert "named with “churn”" in pane.empty.hint.text()
    assert pane.empty.button.text() == "Clear Filters"
    pane.search.clear()
    assert pane.pages.currentWidget() is pane.table


def test_an_empty_home_explains_how_to_create_an_audience(open_window, home_dir):
    window = open_window(home_dir)
    pane = window.pane("audiences").list

    assert pane.pages.currentWidget() is pane.empty
    assert pane.empty.title.text() == "No audiences yet"
    assert "audience-studio demo" in pane.empty.hint.text()
    assert not pane.search.isVisibleTo(pane)


def test_a_new_workspace_without_audiences_offers_a_new_audience_button(open_window, home_dir):
    with OpenHome.open(home_dir) as opened:
        opened.workspaces.create("Retail")

    window = open_window(home_dir)

    empty = window.pane("audiences").list.empty
    assert empty.title.text() == "No audiences yet"
    assert "drag criteria" in empty.hint.text()
    assert empty.button.isVisibleTo(empty) and empty.button.text() == "New Audience…"


def test_the_table_follows_a_rename_made_through_the_service(qtbot, open_window, retail_home):
    window = open_window(retail_home)
    pane = window.pane("audiences").list
    services = window.connection.open_home.audiences
    lapsed = services.get("Lapsed buyers")
    pane.table.selectRow(0)

    with qtbot.waitSignal(pane.loaded, timeout=LOAD_TIMEOUT_MS):
        services.rename(lapsed.id, "Win-back targets")

    assert shown_names(window) == ["Loyal shoppers", "Win-back targets"]
    # Updated in place, not reset: the renamed audience is still the selected one.
    [selected] = pane.table.selectionModel().selectedRows(Column.NAME)
    assert selected.data() == "Win-back targets"


def test_a_burst_of_changes_is_shown_after_one_reload(qtbot, open_window, retail_home):
    window = open_window(retail_home)
    pane = window.pane("audiences").list
    services = window.connection.open_home.audiences
    workspace_id = services.get("Lapsed buyers").workspace_ids[0]
    loads: list[int] = []
    pane.loaded.connect(loads.append)

    with qtbot.waitSignal(pane.loaded, timeout=LOAD_TIMEOUT_MS):
        for number in range(5):
            services.create(f"Segment {number}", workspace_ids=[workspace_id])
    qtbot.wait(300)  # time enough for a second, needless reload to show up

    assert loads == [7]
    assert pane.count.text() == "7 audiences"


def test_a_home_that_cannot_be_opened_says_why(qtbot, home_dir):
    home_dir.root.mkdir(parents=True)
    home_dir.store_path.write_bytes(b"this is not a database" * 100)
    tasks = Tasks()
    connection = HomeConnection(home_dir, tasks)
    window = MainWindow(connection, tasks)
    qtbot.addWidget(window)

    with qtbot.waitSignal(connection.open_failed, timeout=LOAD_TIMEOUT_MS):
        connection.start()

    pane = window.pane("audiences").list
    assert pane.empty.title.text() == "The home could not be opened"
    assert "is not an Audience Studio store" in pane.empty.hint.text()
    connection.close()


def test_the_status_bar_names_the_workspace_and_the_cache_freshness(open_window, retail_home):
    window = open_window(retail_home)
    status = window.status

    assert status.workspaces.text() == "Workspace: Retail"
    assert status.freshness.text() == "empty cache"


def test_the_busy_indicator_shows_while_work_runs_and_hides_after(qtbot, open_window, retail_home):
    window = open_window(retail_home)
    status = window.status
    qtbot.waitUntil(lambda: not window.tasks.is_busy(), timeout=LOAD_TIMEOUT_MS)
    assert not status.busy.isVisibleTo(status)

    with qtbot.waitSignal(window.pane("audiences").list.loaded, timeout=LOAD_TIMEOUT_MS):
        window.pane("audiences").list.reload()
        assert status.busy.isVisibleTo(status)
        assert status.busy_label.text() == "Loading audiences…"

    qtbot.waitUntil(lambda: not status.busy.isVisibleTo(status), timeout=LOAD_TIMEOUT_MS)


def test_the_busy_bar_fills_as_work_reports_how_far_it_is(qtbot, open_window, retail_home):
    window = open_window(retail_home)
    status = window.status
    qtbot.waitUntil(lambda: not window.tasks.is_busy(), timeout=LOAD_TIMEOUT_MS)
    halfway, finish = threading.Event(), threading.Event()

    def work(report) -> None:
        report(3, 8)
        halfway.set()
        finish.wait(10)

    window.tasks.run_reporting(work, label="Counting things")
    assert halfway.wait(10)
    # The bar follows on a turn of its own (setValue repaints at once), not in the turn that reported.
    qtbot.waitUntil(lambda: (status.busy.maximum(), status.busy.value()) == (8, 3), timeout=LOAD_TIMEOUT_MS)
    assert status.busy_label.text() == "Counting things (3 of 8)…"
    finish.set()
    qtbot.waitUntil(lambda: not status.busy.isVisibleTo(status), timeout=LOAD_TIMEOUT_MS)


def test_ctrl_f_puts_the_cursor_in_the_search_field(qtbot, open_window, retail_home):
    window = open_window(retail_home)
    window.activateWindow()
    qtbot.waitActive(window)
    window.navigation.setFocus()

    qtbot.keyClick(window.navigation, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)

    assert window.pane("audiences").list.search.hasFocus()


def test_the_about_box_lists_the_duckdb_version_and_where_the_home_is(qapp, retail_home):
    dialog = AboutDialog(retail_home)

    text = dialog.text()
    assert f"DuckDB {duckdb.__version__}" in text
    assert duckdb.__version__ in dialog.label.text()
    assert f"Home: {retail_home.root}" in text
    dialog.deleteLater()


def test_the_window_comes_back_at_the_size_it_was_closed_at(qtbot, open_window, retail_home):
    first = open_window(retail_home)
    first.resize(QSize(720, 530))
    first.close()
    assert QSettings().value("main_window/geometry") is not None

    second = open_window(retail_home)

    assert second.size() == QSize(720, 530)


def test_every_column_fits_a_small_laptops_first_window_until_the_user_sizes_one(qtbot, open_window, retail_home):
    window = open_window(retail_home)
    pane, table = window.pane("audiences").list, window.pane("audiences").list.table
    header = table.horizontalHeader()
    window.resize(QSize(1229, 691))  # the first window on a 1366 x 768 screen
    qtbot.waitUntil(lambda: header.width() > 0 and table.horizontalScrollBar().maximum() == 0, timeout=LOAD_TIMEOUT_MS)
    assert header.length() <= header.width()  # Status, Tags and Actions on screen, no sideways scrolling
    assert header.sectionSize(Column.ACTIONS) == pane.table.preferred_widths[Column.ACTIONS]  # the button is never cut
    assert header.sectionSize(Column.NAME) >= 200
    window.resize(QSize(1600, 900))
    qtbot.waitUntil(lambda: header.sectionSize(Column.TAGS) == pane.table.preferred_widths[Column.TAGS], timeout=LOAD_TIMEOUT_MS)

    header.resizeSection(Column.TAGS, 300)  # as a drag on the header does
    window.resize(QSize(1229, 691))
    qtbot.waitUntil(lambda: header.width() < 1100, timeout=LOAD_TIMEOUT_MS)
    assert header.sectionSize(Column.TAGS) == 300  # the user's width stays; the table scrolls instead
    window.close()
    assert QSettings().value("audiences/columns_sized_by_hand") in (True, "true")


def test_run_app_shows_the_window_and_closes_the_home_when_the_window_closes(qapp, retail_home):
    from app.ui.application import run_app

    seen: dict[str, object] = {}

    def close_once_loaded() -> None:
        [window] = [w for w in qapp.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        seen["window"] = window
        # Armed on the loop's first turn; opening the home (migrations) takes far longer than that.
        window.pane("audiences").list.loaded.connect(lambda count: (seen.update(count=count), window.close()))

    QTimer.singleShot(0, close_once_loaded)
    QTimer.singleShot(LOAD_TIMEOUT_MS, qapp.quit)  # never hang the suite

    assert run_app(retail_home, []) == 0
    assert seen["count"] == 2
    assert seen["window"].connection.open_home is None
    seen["window"].deleteLater()


def test_ctrl_f_in_an_editor_goes_to_the_palettes_find(qtbot, open_window, home_dir):
    from tests.ui.editor_homes import GOLD, document, fill_home

    ids = fill_home(home_dir, audiences={"Gold": document(GOLD)})
    window = open_window(home_dir)
    window.activateWindow()
    qtbot.waitActive(window)
    editor = window.pane("audiences").editors.open_audience(ids["Gold"])
    editor.ask = lambda _editor: "discard"
    qtbot.waitUntil(editor.is_loaded, timeout=LOAD_TIMEOUT_MS)

    window.pane("audiences").find_action.trigger()
    assert editor.palette_panel.search.hasFocus()

    window.pane("audiences").editors.setCurrentIndex(0)
    window.pane("audiences").find_action.trigger()
    assert window.pane("audiences").list.search.hasFocus()


def test_the_menus_offer_new_find_delete_preferences_and_the_audience_actions(open_window, retail_home):
    window = open_window(retail_home)

    assert window.pane("audiences").new_action.shortcut().toString() == "Ctrl+N"
    assert window.pane("audiences").find_action.shortcut().toString() == "Ctrl+F"
    assert window.preferences_action.shortcut().toString() == "Ctrl+,"
    assert window.pane("audiences").delete_action.text() == "&Delete Audience"
    texts = [action.text() for action in window.pane("audiences").audience_menu.actions() if not action.isSeparator()]
    assert texts[:6] == ["&Open", "&Insights…", "Edit &History…", "&Clone", "&Rename…", "Add &Tag…"]
    assert "&Recalculate Live Audiences" in texts


def test_the_audience_shortcuts_never_act_on_the_audiences_pane_out_of_sight(qtbot, open_window, retail_home):
    window = open_window(retail_home)
    window.activateWindow()
    qtbot.waitActive(window)
    window.pane("audiences").list.table.selectRow(0)
    chosen = shown_names(window)[0]

    window.navigation.setCurrentRow(2)  # Connections
    window.pane("connections").setFocus()
    qtbot.keyClick(window.pane("connections"), Qt.Key.Key_Delete)
    qtbot.keyClick(window.pane("connections"), Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert not any(a.isEnabled() for a in (window.pane("audiences").delete_action, window.pane("audiences").find_action, window.pane("audiences").download_action))
    assert not window.pane("audiences").list.search.hasFocus()
    assert chosen in shown_names(window) and window.pane("audiences").list.notice.isHidden()

    window.navigation.setCurrentRow(0)
    assert all(a.isEnabled() for a in (window.pane("audiences").delete_action, window.pane("audiences").find_action, window.pane("audiences").download_action))


def test_undo_acts_only_on_the_audience_shown(qtbot, open_window, home_dir):
    from tests.ui.editor_homes import GOLD, document, fill_home

    ids = fill_home(home_dir, audiences={"Gold": document(GOLD)})
    window = open_window(home_dir)
    editor = window.pane("audiences").editors.open_audience(ids["Gold"])
    editor.ask = lambda _editor: "discard"
    qtbot.waitUntil(editor.is_loaded, timeout=LOAD_TIMEOUT_MS)
    node = next(i for i in editor.canvas.frames if i != "root")
    editor.edits.run_command("remove", node)
    assert window.pane("audiences").undo_action.isEnabled()

    window.navigation.setCurrentRow(4)  # Revenue: Ctrl+Z there must not change the hidden audience
    assert not window.pane("audiences").undo_action.isEnabled() and not window.pane("audiences").save_action.isEnabled()
    window.navigation.setCurrentRow(0)
    assert window.pane("audiences").undo_action.isEnabled() and window.pane("audiences").save_action.isEnabled()
    window.pane("audiences").undo_action.trigger()
    assert node in editor.canvas.frames


def test_new_audience_from_another_pane_shows_the_audiences_pane(open_window, retail_home):
    window = open_window(retail_home)
    window.navigation.setCurrentRow(4)
    window.pane("audiences").list.new_audience = lambda: None  # the dialog itself is tested in test_new_audience.py
    window.pane("audiences").new_action.trigger()
    assert window.panes.currentWidget() is window.pane("audiences") and window.pane("audiences").editors.currentIndex() == 0


def test_every_key_of_the_platforms_redo_and_close_works_as_the_tooltips_say(open_window, retail_home):
    window = open_window(retail_home)
    redo = [k.toString() for k in window.pane("audiences").redo_action.shortcuts()]
    close = [k.toString() for k in window.pane("audiences").close_audience_action.shortcuts()]
    assert "Ctrl+Shift+Z" in redo and "Ctrl+W" in close
