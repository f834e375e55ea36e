"""The audiences page on a real home: scope tabs, tag filter, sizes, actions with undo, empty and no-match states."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import QSettings, Qt

from app.connectors.importer import SourcedBatch, import_batches
from app.engines import membership
from app.engines.home import OpenHome
from app.paths import Home
from app.ui.audiences.model import (
    CALCULATING_TEXT,
    FAILED_TEXT,
    NOT_CALCULATED,
    NOT_CALCULATED_TEXT,
    UNANSWERED,
    Column,
)
from app.ui.audiences.table import HEADER_KEY, AudienceTable
from app.ui.main_window import MainWindow
from app.ui.kit.times import age, local_time
from tests.ui.editor_homes import GOLD, IOS, SESSIONS, TIERS, document, fill_home, group, shopper

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


def gold_count(profiles: int = 40) -> int:
    """Recounted from the shoppers fill_home writes (tier is TIERS[mpid % 5]), not by the engine."""
    return sum(1 for mpid in range(1, profiles + 1) if TIERS[mpid % 5] == "gold")


def calculated_home(home: Home, *names: str, clone_of: str | None = None) -> Home:
    """Activate these audiences (and a clone of `clone_of`, Active too) and let the engine calculate them."""
    with OpenHome.open(home, user="maria") as opened:
        for name in names:
            opened.audiences.activate(opened.audiences.get(name).id)
        if clone_of is not None:
            copy = opened.audiences.clone(opened.audiences.get(clone_of).id)
            opened.audiences.activate(copy.id)
        membership.refresh(opened)
    return home


def test_the_list_shows_the_engines_membership_and_opening_it_calculates_nothing(qtbot, open_window, tagged_home):
    home = calculated_home(tagged_home, "Gold members", "iOS users", clone_of="Gold members")
    with OpenHome.open(home) as opened:
        before = membership.statuses(opened)
    window = open_window(home)
    pane = window.pane("audiences").list
    opened = window.connection.open_home
    qtbot.waitUntil(lambda: pane.model.status_of(opened.audiences.get("Gold members").id) is not None,
                    timeout=TIMEOUT_MS)

    statuses = membership.statuses(opened)
    assert {key: s.attempted_at for key, s in statuses.items()} == {key: s.attempted_at for key, s in before.items()}
    for name in ("Gold members", "Gold members (copy)", "iOS users"):
        status = statuses[(opened.audiences.get(name).id, membership.WHOLE)]
        assert [cell(window, name, c) for c in (Column.SIZE, Column.ADDS, Column.DROPS)] == [
            f"{status.size:,}", f"{status.adds:,}", f"{status.drops:,}"]
        assert cell(window, name, Column.AS_OF) == age(status.as_of, dt.datetime.now(dt.UTC))  # "just now"
        assert local_time(status.as_of) in cell(window, name, Column.AS_OF, Qt.ItemDataRole.ToolTipRole)
        assert local_time(status.as_of) in cell(window, name, Column.SIZE, Qt.ItemDataRole.ToolTipRole)
    # Identical definitions show identical numbers, and they are the true count.
    assert cell(window, "Gold members", Column.SIZE) == cell(window, "Gold members (copy)", Column.SIZE) == \
        f"{gold_count():,}"
    # A draft is not calculated, and says so.
    assert [cell(window, "Engaged", c) for c in (Column.SIZE, Column.AS_OF)] == [NOT_CALCULATED, NOT_CALCULATED_TEXT]
    assert "Activate" in cell(window, "Engaged", Column.AS_OF, Qt.ItemDataRole.ToolTipRole)


def test_an_audience_whose_calculation_fails_says_why_with_an_icon(qtbot, open_window, tagged_home):
    home = calculated_home(tagged_home, "VIPs")
    window = open_window(home)
    pane = window.pane("audiences").list
    qtbot.waitUntil(lambda: cell(window, "VIPs", Column.AS_OF) == FAILED_TEXT, timeout=TIMEOUT_MS)

    assert cell(window, "VIPs", Column.SIZE) == UNANSWERED
    assert "vip_level" in cell(window, "VIPs", Column.AS_OF, Qt.ItemDataRole.ToolTipRole)
    assert "vip_level" in cell(window, "VIPs", Column.SIZE, Qt.ItemDataRole.ToolTipRole)
    assert cell(window, "VIPs", Column.AS_OF, Qt.ItemDataRole.DecorationRole) is not None
    assert pane.model.status_of(window.connection.open_home.audiences.get("VIPs").id).state == "failed"


def test_new_data_shows_in_the_list_without_a_click_after_the_clock_runs(qtbot, open_window, tagged_home):
    home = calculated_home(tagged_home, "Gold members")
    window = open_window(home)
    pane = window.pane("audiences").list
    opened = window.connection.open_home
    qtbot.waitUntil(lambda: cell(window, "Gold members", Column.SIZE) == f"{gold_count():,}", timeout=TIMEOUT_MS)
    now = dt.datetime.now(dt.timezone.utc)
    workspace = opened.audiences.get("Gold members").workspace_ids[0]
    newcomers = [mpid for mpid in range(41, 61) if TIERS[mpid % 5] == "gold"]
    import_batches(opened.cache, [SourcedBatch(workspace, None, shopper(mpid, now), "test", f"batch {mpid}")
                                  for mpid in newcomers], source="test")  # data only: the engine has not run

    with qtbot.waitSignal(pane.loaded, timeout=TIMEOUT_MS):
        window.membership_clock.tick()

    assert cell(window, "Gold members", Column.SIZE) == f"{gold_count() + len(newcomers):,}"
    assert cell(window, "Gold members", Column.ADDS) == f"{len(newcomers):,}"
    assert cell(window, "Gold members", Column.DROPS) == "0"
    assert cell(window, "Gold members", Column.VOLATILITY) == f"{len(newcomers) / (gold_count() + len(newcomers)):.1%}"


def test_activating_from_the_list_calculates_at_once_with_progress(qtbot, open_window, tagged_home):
    window = open_window(tagged_home)
    pane = window.pane("audiences").list
    choose(window, "Gold members")
    progress: list[tuple[int, int]] = []
    pane.calculation.progressed.connect(lambda done, total: progress.append((done, total)))
    assert cell(window, "Gold members", Column.AS_OF) == NOT_CALCULATED_TEXT

    with qtbot.waitSignal(pane.calculation.started, timeout=TIMEOUT_MS):
        pane.actions.activate.trigger()
    assert cell(window, "Gold members", Column.AS_OF) == CALCULATING_TEXT and pane.busy_bar.is_busy()
    with qtbot.waitSignal(pane.calculated, timeout=TIMEOUT_MS):
        pass

    assert cell(window, "Gold members", Column.SIZE) == f"{gold_count():,}"
    assert cell(window, "Gold members", Column.STATUS) == "Active"
    assert cell(window, "Gold members", Column.AS_OF) not in (NOT_CALCULATED_TEXT, CALCULATING_TEXT)
    assert progress[-1] == (1, 1) and not pane.busy_bar.is_busy()

    choose(window, "Gold members")  # deactivating keeps what was calculated
    with qtbot.waitSignal(pane.loaded, timeout=TIMEOUT_MS):
        pane.actions.deactivate.trigger()
    assert cell(window, "Gold members", Column.SIZE) == f"{gold_count():,}"


def test_recalculate_brings_the_active_audiences_up_to_date(qtbot, open_window, tagged_home):
    home = calculated_home(tagged_home, "Gold members")
    window = open_window(home)
    pane = window.pane("audiences").list
    opened = window.connection.open_home
    gold = opened.audiences.get("Gold members")
    opened.audiences.set_criteria(gold.id, document(IOS))  # the clock has not run: the list shows the old members

    with qtbot.waitSignal(pane.calculated, timeout=TIMEOUT_MS):
        pane.refresh_action.trigger()

    ios_users = sum(1 for mpid in range(1, 41) if mpid % 3 == 0)  # fill_home's platform is iOS when mpid % 3 == 0
    assert cell(window, "Gold members", Column.SIZE) == f"{ios_users:,}"
    assert membership.status(opened, gold.id).size == ios_users


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

    with qtbot.waitSignal(pane.calculated, timeout=TIMEOUT_MS):  # activated, calculated and read again
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
        gold = opened.audiences.activate(opened.audiences.get("Gold members").id)  # Sending is for active audiences
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


def test_the_outputs_column_counts_outputs_not_connections_and_aligns_like_the_numbers(qtbot, open_window,
                                                                                        tagged_home, tmp_path):
    # Issue 23: an audience whose A/B variations went to one output read "3" (its connections), and the
    # column was left-aligned unlike every other number in the table.
    from app.connectors.outputs.errors import Failure
    from app.models.services.ab_tests import DraftVariation

    with OpenHome.open(tagged_home, user="maria") as opened:
        gold = opened.audiences.get("Gold members")
        test = opened.ab_tests.save(gold.id, [DraftVariation(30, "Push"), DraftVariation(30, "Email")], seed="s")
        opened.audiences.activate(gold.id)  # a draft is never Sending
        export = opened.outputs.create("Export", "file_export", {"folder": str(tmp_path)})
        other = opened.outputs.create("Other export", "file_export", {"folder": str(tmp_path)})
        per_variation = [opened.connections.connect(gold.id, export.id, variant_id=v.id) for v in test.variations]
        opened.connections.connect(gold.id, other.id)
        # Two variations' connections to one output stopped: still one faulted output.
        for connection in per_variation[:2]:
            opened.faults.record(connection.id, Failure("Authentication", "The token expired", 401, 3))
    window = open_window(tagged_home)
    assert cell(window, "Gold members", Column.CONNECTED_OUTPUTS) == "2 (1 faulted)"
    assert "1 of its 2" in cell(window, "Gold members", Column.CONNECTED_OUTPUTS, Qt.ItemDataRole.ToolTipRole)
    right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
    for column in (Column.CONNECTED_OUTPUTS, Column.SIZE):
        assert cell(window, "Gold members", column, Qt.ItemDataRole.TextAlignmentRole) == int(right)
        header = window.findChild(AudienceTable).model().headerData(column, Qt.Orientation.Horizontal,
                                                                    Qt.ItemDataRole.TextAlignmentRole)
        assert header == int(right)


def test_activating_from_the_builder_calculates_at_once_with_progress(qtbot, open_window, tagged_home):
    """Activate in the builder calculated the audience only at the membership clock's next tick (a minute on)."""
    window = open_window(tagged_home)
    window.membership_clock.timer.stop()  # only the activation itself may calculate it
    page = window.pane("audiences")
    gold = window.connection.open_home.audiences.get("Gold members")
    page.open_audience(gold.id)
    editor = page.editors.current_editor()
    qtbot.waitUntil(editor.is_loaded, timeout=TIMEOUT_MS)
    qtbot.waitUntil(editor.activate_button.isEnabled, timeout=TIMEOUT_MS)  # the estimate checked the criteria
    progress: list[tuple[int, int]] = []
    page.list.calculation.progressed.connect(lambda done, total: progress.append((done, total)))

    with qtbot.waitSignal(page.list.calculated, timeout=TIMEOUT_MS):
        editor.activate_button.click()

    status = membership.status(window.connection.open_home, gold.id)
    assert (status.state, status.size) == ("ok", gold_count())
    assert cell(window, "Gold members", Column.SIZE) == f"{gold_count():,}"
    assert progress[-1] == (1, 1)
