"""The audiences page on a real home: scope tabs, tag filter, sizes, actions with undo, empty and no-match states."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt

from app.engines.audience_sizes import SizeCalculator
from app.engines.home import OpenHome
from app.paths import Home
from app.ui.audiences.model import COMPUTING, UNANSWERED, Column
from app.ui.audiences.table import HEADER_KEY
from app.ui.main_window import MainWindow
from tests.ui.editor_homes import GOLD, IOS, SESSIONS, document, fill_home, group

TIMEOUT_MS = 30_000

UNKNOWN = {"id": "vip", "type": "user_attribute", "exclude": False, "attribute": "vip_level", "operator": "exists"}


@pytest.fixture
def tagged_home(home_dir: Home) -> Home:
    """Retail (with shoppers in the cache) and Travel; four single-workspace audiences and one multi."""
    ids = fill_home(home_dir, audiences={
        "Gold members": document(GOLD),
        "iOS users": document(IOS),
        "Engaged": document(group("either", SESSIONS, GOLD)),
        "VIPs": document(UNKNOWN),
    })
    with OpenHome.open(home_dir, user="maria") as opened:
        travel = opened.workspaces.create("Travel", [("platform", "Web")])
        audiences = opened.audiences
        audiences.update(ids["Gold members"], tags=["loyalty", "vip"])
        audiences.update(ids["iOS users"], tags=["loyalty", "mobile"])
        audiences.update(ids["Engaged"], tags=["vip"])
        audiences.create("Everyone, both shops", scope="multi", workspace_ids=[ids["workspace"], travel.id],
                         tags=["loyalty", "vip"])
    return home_dir


def shown_names(window: MainWindow) -> list[str]:
    proxy = window.pane("audiences").list.proxy
    return [proxy.index(row, Column.NAME).data() for row in range(proxy.rowCount())]


def row_of(window: MainWindow, name: str) -> int:
    return shown_names(window).index(name)


def choose(window: MainWindow, *names: str) -> None:
    """Select these audiences' rows, as a user would with Ctrl+click."""
    pane = window.pane("audiences").list
    selection = pane.table.selectionModel()
    selection.clear()
    for name in names:
        index = pane.proxy.index(row_of(window, name), Column.NAME)
        selection.setCurrentIndex(index, selection.SelectionFlag.Select | selection.SelectionFlag.Rows)


def wait_sized(qtbot, window: MainWindow) -> None:
    pane = window.pane("audiences").list
    qtbot.waitUntil(lambda: not pane.sizing.is_running()
                    and all(pane.model.size_of(a.id) is not None for a in pane.model.audiences()), timeout=TIMEOUT_MS)


def cell(window: MainWindow, name: str, column: Column, role=Qt.ItemDataRole.DisplayRole):
    return window.pane("audiences").list.proxy.index(row_of(window, name), column).data(role)


# -- tabs, search and tags ---------------------------------------------------------------------------


def test_the_tabs_show_single_and_multi_workspace_audiences_apart(open_window, tagged_home):
    window = open_window(tagged_home)
    pane = window.pane("audiences").list

    assert shown_names(window) == ["Engaged", "Gold members", "iOS users", "VIPs"]
    assert pane.tabs.tabText(0) == "Single Workspace (4)" and pane.tabs.tabText(1) == "Multi Workspace (1)"

    pane.tabs.setCurrentIndex(1)

    assert shown_names(window) == ["Everyone, both shops"]


def test_choosing_two_tags_shows_only_the_audiences_having_both(open_window, tagged_home):
    window = open_window(tagged_home)
    pane = window.pane("audiences").list
    assert pane.tag_filter.available() == {"loyalty", "mobile", "vip", "test"}

    pane.tag_filter.set_chosen({"loyalty", "vip"})

    assert shown_names(window) == ["Gold members"]
    assert pane.tag_filter.text() == "Tags: loyalty + vip"
    assert pane.count.text() == "1 of 4 audiences"
    assert pane.tabs.tabText(1) == "Multi Workspace (1)"  # the multi audience has both too


def test_a_filter_that_hides_everything_says_so_and_clears_with_one_click(open_window, tagged_home):
    window = open_window(tagged_home)
    pane = window.pane("audiences").list
    pane.tag_filter.set_chosen({"mobile", "vip"})

    assert pane.pages.currentWidget() is pane.empty
    assert pane.empty.title.text() == "No audiences match"
    assert "tagged with all of “mobile”, “vip”" in pane.empty.hint.text()

    pane.empty.button.click()

    assert pane.tag_filter.chosen() == frozenset()
    assert pane.pages.currentWidget() is pane.table
    assert len(shown_names(window)) == 4


def test_an_empty_tab_says_what_belongs_there_and_offers_a_new_audience(open_window, home_dir):
    fill_home(home_dir, audiences={"Gold members": document(GOLD)})
    window = open_window(home_dir)
    pane = window.pane("audiences").list

    pane.tabs.setCurrentIndex(1)

    assert pane.pages.currentWidget() is pane.empty
    assert pane.empty.title.text() == "No multi-workspace audiences yet"
    assert pane.empty.button.text() == "New Audience…"


# -- sizes ---------------------------------------------------------------------------------------------


def test_sizes_appear_after_the_list_and_match_the_size_calculator(qtbot, open_window, tagged_home):
    window = open_window(tagged_home)
    pane = window.pane("audiences").list
    wait_sized(qtbot, window)

    expected = SizeCalculator(window.connection.open_home).sizes(pane.model.audiences())
    for tab in (0, 1):
        pane.tabs.setCurrentIndex(tab)
        for name in shown_names(window):
            size = expected[next(a.id for a in pane.model.audiences() if a.name == name)]
            if size.problem is not None:
                assert cell(window, name, Column.SIZE) == UNANSWERED
                continue
            assert [cell(window, name, c) for c in (Column.SIZE, Column.ADDS, Column.DROPS)] == [
                f"{size.size:,}", f"{size.adds:,}", f"{size.drops:,}"]
    assert sum(1 for size in expected.values() if size.size) >= 3  # the home really has members to count


def test_an_audience_the_cache_cannot_answer_shows_a_question_mark_with_the_reason(qtbot, open_window, tagged_home):
    window = open_window(tagged_home)
    wait_sized(qtbot, window)

    assert cell(window, "VIPs", Column.SIZE) == UNANSWERED
    assert "vip_level" in cell(window, "VIPs", Column.SIZE, Qt.ItemDataRole.ToolTipRole)


def test_cells_show_dots_while_sizing_and_a_refresh_cancels_the_running_sizing(qtbot, open_window, tagged_home):
    window = open_window(tagged_home)
    pane = window.pane("audiences").list
    wait_sized(qtbot, window)
    cancelled: list[None] = []
    pane.sizing.cancelled.connect(lambda: cancelled.append(None))

    with qtbot.waitSignal(pane.sized, timeout=TIMEOUT_MS):
        pane.refresh_sizes()
        assert cell(window, "Gold members", Column.SIZE) == COMPUTING
        assert window.status.busy_label.text().startswith("Sizing audiences")
        pane.refresh_sizes()  # the first run is still going: it is cancelled, not waited for

    assert cancelled == [None]
    expected = SizeCalculator(window.connection.open_home).sizes(pane.model.audiences())
    gold = next(a for a in pane.model.audiences() if a.name == "Gold members")
    assert cell(window, "Gold members", Column.SIZE) == f"{expected[gold.id].size:,}"


def test_only_audiences_whose_criteria_changed_are_sized_again(qtbot, open_window, tagged_home):
    window = open_window(tagged_home)
    pane = window.pane("audiences").list
    wait_sized(qtbot, window)
    started: list[list[int]] = []
    pane.sizing.started.connect(started.append)
    services = window.connection.open_home.audiences
    gold = services.get("Gold members")

    with qtbot.waitSignal(pane.sized, timeout=TIMEOUT_MS):
        services.add_tag(gold.id, "spring")  # a tag does not change who is in it: no sizing for that
        services.set_criteria(gold.id, document(IOS))

    assert started == [[gold.id]]


# -- actions -------------------------------------------------------------------------------------------


def test_clone_keeps_the_tags_and_selects_the_copy(qtbot, open_window, tagged_home):
    window = open_window(tagged_home)
    pane = window.pane("audiences").list
    choose(window, "Gold members")

    with qtbot.waitSignal(pane.actions.done, timeout=TIMEOUT_MS):
        pane.actions.clone.trigger()
    qtbot.waitUntil(lambda: "Gold members (copy)" in shown_names(window), timeout=TIMEOUT_MS)

    copy = window.connection.open_home.audiences.get("Gold members (copy)")
    assert copy.tags == ("loyalty", "vip")
    assert [a.name for a in pane.chosen_audiences()] == ["Gold members (copy)"]


def test_rename_refuses_a_taken_name_in_the_dialog_then_renames(qtbot, open_window, tagged_home):
    window = open_window(tagged_home)
    pane = window.pane("audiences").list
    choose(window, "Gold members")
    pane.actions.rename.trigger()
    dialog = pane.actions.rename_dialog
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)

    dialog.field.setText("ios USERS")
    assert not ok.isEnabled() and "“iOS users” already exists" in dialog.hint.text()
    dialog.field.setText("x" * 101)
    assert not ok.isEnabled() and "at most 100 characters" in dialog.hint.text()

    dialog.field.setText("Gold tier")
    with qtbot.waitSignal(pane.loaded, timeout=TIMEOUT_MS):
        ok.click()

    assert "Gold tier" in shown_names(window) and "Gold members" not in shown_names(window)


def test_delete_is_undone_by_edit_undo_while_the_list_is_shown(qtbot, open_window, tagged_home):
    window = open_window(tagged_home)
    pane = window.pane("audiences").list
    before = window.connection.open_home.audiences.get("Gold members")
    choose(window, "Gold members", "iOS users")

    with qtbot.waitSignal(pane.actions.done, timeout=TIMEOUT_MS):
        window.pane("audiences").delete_action.trigger()
    qtbot.waitUntil(lambda: "Gold members" not in shown_names(window), timeout=TIMEOUT_MS)
    assert pane.notice.text.text() == "Deleted 2 audiences" and pane.notice.undo_button.isVisibleTo(pane)
    assert window.pane("audiences").undo_action.isEnabled() and window.pane("audiences").undo_action.text() == "&Undo Delete 2 audiences"

    with qtbot.waitSignal(pane.actions.done, timeout=TIMEOUT_MS):
        window.pane("audiences").undo_action.trigger()
    qtbot.waitUntil(lambda: {"Gold members", "iOS users"} <= set(shown_names(window)), timeout=TIMEOUT_MS)
    assert window.connection.open_home.audiences.get("Gold members") == before

    with qtbot.waitSignal(pane.actions.done, timeout=TIMEOUT_MS):
        window.pane("audiences").redo_action.trigger()
    qtbot.waitUntil(lambda: "Gold members" not in shown_names(window), timeout=TIMEOUT_MS)


def test_an_audience_open_in_a_tab_is_not_deleted(qtbot, open_window, tagged_home):
    window = open_window(tagged_home)
    pane = window.pane("audiences").list
    gold = window.connection.open_home.audiences.get("Gold members")
    editor = window.pane("audiences").editors.open_audience(gold.id)
    editor.ask = lambda _editor: "discard"
    window.pane("audiences").editors.setCurrentIndex(0)
    choose(window, "Gold members")

    with qtbot.waitSignal(pane.actions.failed, timeout=TIMEOUT_MS) as failed:
        pane.actions.delete.trigger()

    assert "open in a tab" in failed.args[0]
    assert window.connection.open_home.audiences.get(gold.id) == gold


def test_activate_and_deactivate_from_the_list(qtbot, open_window, tagged_home):
    window = open_window(tagged_home)
    pane = window.pane("audiences").list
    choose(window, "Gold members")
    assert pane.actions.activate.isEnabled() and not pane.actions.deactivate.isEnabled()

    with qtbot.waitSignal(pane.loaded, timeout=TIMEOUT_MS):
        pane.actions.activate.trigger()
    assert cell(window, "Gold members", Column.STATUS) == "Active"
    choose(window, "Gold members")
    assert pane.actions.deactivate.isEnabled() and not pane.actions.activate.isEnabled()

    with qtbot.waitSignal(pane.loaded, timeout=TIMEOUT_MS):
        pane.actions.deactivate.trigger()
    assert cell(window, "Gold members", Column.STATUS) == "Inactive"


def test_an_audience_the_cache_cannot_count_is_not_activated(qtbot, open_window, tagged_home):
    window = open_window(tagged_home)
    pane = window.pane("audiences").list
    choose(window, "VIPs")

    with qtbot.waitSignal(pane.actions.failed, timeout=TIMEOUT_MS) as failed:
        pane.actions.activate.trigger()

    assert "“VIPs” cannot be activated" in failed.args[0] and "vip_level" in failed.args[0]
    assert window.connection.open_home.audiences.get("VIPs").status == "draft"


def test_tags_are_added_with_the_limit_explained_and_removed_from_the_list(qtbot, open_window, tagged_home):
    window = open_window(tagged_home)
    pane = window.pane("audiences").list
    choose(window, "Engaged")
    pane.actions.add_tag.trigger()
    dialog = pane.actions.tag_dialog
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)

    dialog.field.setText("nineteen-characters")
    assert not ok.isEnabled()
    assert "is 19 characters. Tags are at most 18 characters" in dialog.hint.text()
    dialog.field.setText("spring")
    assert ok.isEnabled() and dialog.hint.text().startswith("6/18 characters")
    with qtbot.waitSignal(pane.loaded, timeout=TIMEOUT_MS):
        ok.click()
    assert cell(window, "Engaged", Column.TAGS) == "spring, vip"

    choose(window, "Engaged")
    with qtbot.waitSignal(pane.loaded, timeout=TIMEOUT_MS):
        pane.actions.remove_tag("vip")
    assert cell(window, "Engaged", Column.TAGS) == "spring"


def test_the_table_remembers_its_sort_and_tab(qtbot, open_window, tagged_home):
    first = open_window(tagged_home)
    first.pane("audiences").list.table.sortByColumn(Column.LAST_UPDATED, Qt.SortOrder.DescendingOrder)
    first.pane("audiences").list.tabs.setCurrentIndex(1)
    first.close()

    second = open_window(tagged_home)

    header = second.pane("audiences").list.table.horizontalHeader()
    assert (header.sortIndicatorSection(), header.sortIndicatorOrder()) == (Column.LAST_UPDATED,
                                                                            Qt.SortOrder.DescendingOrder)
    assert second.pane("audiences").list.tabs.currentIndex() == 1
    assert QSettings().value(HEADER_KEY) is not None


# -- connected outputs ---------------------------------------------------------------------------------


def test_connected_outputs_and_faults_show_in_the_list(qtbot, open_window, tagged_home, tmp_path):
    from app.connectors.outputs.errors import Failure

    with OpenHome.open(tagged_home, user="maria") as opened:
        gold = opened.audiences.get("Gold members")
        exports = [opened.outputs.create(f"Export {n}", "file_export", {"folder": str(tmp_path)}) for n in (1, 2)]
        connections = [opened.connections.connect(gold.id, output.id) for output in exports]
    window = open_window(tagged_home)
    assert cell(window, "Gold members", Column.CONNECTED_OUTPUTS) == "2"
    assert cell(window, "iOS users", Column.CONNECTED_OUTPUTS) == ""
    assert cell(window, "Gold members", Column.CONNECTED_OUTPUTS, Qt.ItemDataRole.DecorationRole) is None

    # A fault the forwarding engine records in the app's home shows at once, with its warning.
    window.connection.open_home.faults.record(connections[0].id, Failure("Authentication", "The token expired", 401, 3))
    qtbot.waitUntil(lambda: cell(window, "Gold members", Column.CONNECTED_OUTPUTS) == "2 (1 faulted)", timeout=TIMEOUT_MS)
    assert cell(window, "Gold members", Column.CONNECTED_OUTPUTS, Qt.ItemDataRole.DecorationRole) is not None
    assert "1 of its 2" in cell(window, "Gold members", Column.CONNECTED_OUTPUTS, Qt.ItemDataRole.ToolTipRole)
