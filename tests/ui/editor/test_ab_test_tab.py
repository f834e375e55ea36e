"""The A/B Test tab on a real home: Control arithmetic, refused shares, the limit, live sizes, saving for good,
connecting variations, deleting with the connections named first; the % mark in the audiences list; the
connect dialog's Send choice."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QApplication

from app.models.services.ab_tests import DraftVariation
from app.engines import variant_sizes
from app.engines.home import OpenHome
from app.paths import Home
from app.ui.audiences.model import AB_TEST_TIP, AudienceTableModel, Column
from app.ui.editor.ab_test import ABTestTab
from app.ui.editor.editor import AudienceEditor
from app.ui.connections.connect_dialog import ConnectDialog
from app.ui.home import HomeConnection
from app.ui.workers import Tasks
from tests.ui.editor_homes import GOLD, SESSIONS, document, fill_home

TIMEOUT_MS = 30_000
NAME = "Active shoppers"


class Answers(list):
    """Stands in for the confirmation box: records what was asked and answers as told."""

    def __init__(self, answer: bool = True):
        super().__init__()
        self.answer = answer

    def __call__(self, _parent, title, text, informative, accept) -> bool:
        self.append((title, text, informative, accept))
        return self.answer


@pytest.fixture
def world(qtbot, home_dir: Home) -> Iterator[tuple[HomeConnection, Tasks, dict[str, int]]]:
    ids = fill_home(home_dir, profiles=60, audiences={NAME: document(SESSIONS), "Gold": document(GOLD)})
    tasks = Tasks()
    connection = HomeConnection(home_dir, tasks)
    with qtbot.waitSignal(connection.opened, timeout=TIMEOUT_MS):
        connection.start()
    yield connection, tasks, ids
    tasks.wait()
    connection.close()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


@pytest.fixture
def open_tab(qtbot, world) -> Iterator[Callable[..., ABTestTab]]:
    connection, tasks, ids = world
    tabs: list[ABTestTab] = []

    def open_(name: str = NAME, answers: Answers | None = None) -> ABTestTab:
        tab = ABTestTab(connection, tasks, ids[name], confirm=answers if answers is not None else Answers())
        tab.resize(760, 520)
        qtbot.addWidget(tab)
        tabs.append(tab)
        with qtbot.waitSignal(tab.loaded, timeout=TIMEOUT_MS):
            tab.show()
        return tab

    yield open_
    for tab in tabs:
        tab.shutdown()


def home_of(tab: ABTestTab) -> OpenHome:
    return tab.connection.open_home


def audience_size(tab: ABTestTab) -> int:
    return variant_sizes.draft_sizes(home_of(tab), tab.audience_id, [], tab.draft.seed)[0]


def wait_sizes(qtbot, tab: ABTestTab, action: Callable[[], object]) -> list[int]:
    with qtbot.waitSignal(tab.sizes_shown, timeout=TIMEOUT_MS) as shown:
        action()
    return shown.args[0]


def test_with_no_test_control_holds_everyone_and_takes_what_variations_leave(qtbot, open_tab):
    tab = open_tab()
    assert tab.pages.currentWidget() is tab.draft_scroll
    assert tab.draft.control_percent.text() == "100 %"
    assert not tab.draft.save_button.isEnabled()
    qtbot.waitUntil(lambda: tab.draft.control_size.text() != "…", timeout=TIMEOUT_MS)
    total = audience_size(tab)
    assert total > 0 and tab.draft.control_size.text() == f"{total:,} users"

    wait_sizes(qtbot, tab, tab.draft.add_variation)
    assert tab.draft.rows[0].percent.value() == 10 and tab.draft.control_percent.text() == "90 %"
    sizes = wait_sizes(qtbot, tab, lambda: tab.draft.set_percent(0, 30))
    assert tab.draft.control_percent.text() == "70 %"
    assert tab.draft.total.text() == "Variations 30 % · Control 70 % · total 100 %"
    # The sizes shown are those of this draft's seed, and they add up to the audience.
    assert sizes == variant_sizes.draft_sizes(home_of(tab), tab.audience_id, [30], tab.draft.seed)
    assert sum(sizes) == total
    assert [tab.draft.control_size.text(), tab.draft.rows[0].size.text()] == [f"{sizes[0]:,} users", f"{sizes[1]:,} users"]
    assert tab.draft.save_button.isEnabled()


def test_a_share_that_would_push_the_total_past_100_is_refused_with_a_message(qtbot, open_tab):
    tab = open_tab()
    tab.draft.add_variation(60)
    tab.draft.add_variation(30)
    tab.draft.set_percent(1, 50)
    assert tab.draft.rows[1].percent.value() == 30  # refused: back to the share last accepted
    assert tab.draft.message.isVisible()
    assert "50 % for “Variation B” would take the total past 100 %" in tab.draft.message.text()
    assert tab.draft.control_percent.text() == "10 %"
    assert not tab.draft.add_variation(20)
    assert "would take the total past 100 %" in tab.draft.message.text() and len(tab.draft.rows) == 2
    tab.draft.set_percent(1, 39)
    assert tab.draft.control_percent.text() == "1 %" and not tab.draft.message.isVisible()
    assert not tab.draft.add_button.isEnabled() and "No share left" in tab.draft.add_button.toolTip()


def test_at_most_five_variations_then_add_is_disabled_and_removing_gives_the_share_back(qtbot, open_tab):
    tab = open_tab()
    for _ in range(5):
        assert tab.draft.add_variation()
    assert tab.draft.control_percent.text() == "50 %"
    assert not tab.draft.add_button.isEnabled() and "At most 5 variations" in tab.draft.add_button.toolTip()
    assert not tab.draft.add_variation()
    assert "at most 5 variations besides Control" in tab.draft.message.text()
    assert [row.name.placeholderText() for row in tab.draft.rows] == [f"Variation {c}" for c in "ABCDE"]
    tab.draft.rows[1].remove.click()
    assert len(tab.draft.rows) == 4 and tab.draft.control_percent.text() == "60 %" and tab.draft.add_button.isEnabled()
    assert [row.name.placeholderText() for row in tab.draft.rows] == [f"Variation {c}" for c in "ABCD"]


def test_duplicate_names_are_explained_and_block_saving(qtbot, open_tab):
    tab = open_tab()
    tab.draft.add_variation(20, "Push")
    tab.draft.add_variation(20, "push")
    assert "Two variations are named “push”" in tab.draft.message.text()
    assert not tab.draft.save_button.isEnabled()
    tab.draft.rows[1].name.setText("Email")
    assert not tab.draft.message.isVisible() and tab.draft.save_button.isEnabled()


def test_save_asks_first_then_fixes_the_variations_with_the_sizes_shown_before(qtbot, open_tab):
    answers = Answers(answer=False)
    tab = open_tab(answers=answers)
    tab.draft.add_variation(20, "Push")
    shown = wait_sizes(qtbot, tab, lambda: tab.draft.add_variation(30))
    assert not tab.save()  # the user said Cancel
    (_title, text, informative, accept) = answers[0]
    assert text == "Save the A/B test (Control 50 %, Push 20 %, Variation B 30 %)?"
    assert "cannot be edited" in informative and accept == "Save Test"
    assert home_of(tab).ab_tests.get(tab.audience_id) is None

    answers.answer = True
    with qtbot.waitSignal(tab.saved, timeout=TIMEOUT_MS) as saved:
        assert tab.save()
    test = saved.args[0]
    assert [(v.name, v.percent) for v in test.variations] == [("Control", 50), ("Push", 20), ("Variation B", 30)]
    assert test.seed == tab.draft.seed
    with qtbot.waitSignal(tab.sizes_shown, timeout=TIMEOUT_MS) as sizes:
        pass
    assert sizes.args[0] == shown  # the sizes shown before saving are the saved test's sizes
    assert tab.pages.currentWidget() is tab.saved_scroll
    assert [tab.saved_view.size_labels[v.id].text() for v in test.variations] == [f"{n:,} users" for n in shown]
    assert tab.saved_view.size_labels[None].text() == f"{sum(shown):,} users"
    assert set(tab.saved_view.connect_buttons) == {v.id for v in test.variations} | {None}
    assert "The variations are fixed" in tab.saved_view.summary.text()


def test_connect_a_variation_then_delete_the_test_naming_the_connections_that_go(qtbot, open_tab, tmp_path):
    answers = Answers()
    tab = open_tab(answers=answers)
    home = home_of(tab)
    export = home.outputs.create("Export", "file_export", {"folder": str(tmp_path)})
    home.audiences.activate(tab.audience_id)  # Sending connections are for active audiences
    test = home.ab_tests.save(tab.audience_id, [DraftVariation(40, "Push")], seed="ui")
    qtbot.waitUntil(lambda: tab.pages.currentWidget() is tab.saved_scroll and bool(tab.saved_view.connect_buttons), timeout=TIMEOUT_MS)
    push = test.variations[1]

    dialog = tab.saved_view.open_connect(push.id)
    assert dialog.windowTitle() == "Connect “Push”"
    qtbot.waitUntil(lambda: dialog.connect_button.isEnabled(), timeout=TIMEOUT_MS)
    dialog.choose_output(export.id)
    with qtbot.waitSignal(dialog.connected, timeout=TIMEOUT_MS) as connected:
        dialog.connect_button.click()
    info = connected.args[0]
    assert (info.variant_id, info.variant_name, info.output_name) == (push.id, "Push", "Export")
    whole = home.connections.connect(tab.audience_id, export.id)
    qtbot.waitUntil(lambda: len(tab.connections) == 2, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: tab.saved_view.saved_grid.itemAtPosition(2, 3) is not None
                    and tab.saved_view.saved_grid.itemAtPosition(2, 3).widget().text() == "Export", timeout=TIMEOUT_MS)

    with qtbot.waitSignal(tab.deleted, timeout=TIMEOUT_MS):
        tab.saved_view.delete_button.click()
    title, text, informative, accept = answers[-1]
    assert (title, accept) == ("Delete the A/B test", "Delete Test")
    assert text == "Delete the A/B test and its variations (Control, Push)?"
    assert "1 connection made for the variations go with it:\n• Push → Export" in informative
    assert home.ab_tests.get(tab.audience_id) is None
    assert [c.id for c in home.connections.list(audience_id=tab.audience_id)] == [whole.id]
    assert tab.pages.currentWidget() is tab.draft_scroll and tab.draft.rows == []
    assert tab.draft.seed != "ui"  # a new draft gets a new split


def test_declining_the_delete_keeps_the_test(qtbot, open_tab):
    answers = Answers(answer=False)
    tab = open_tab(answers=answers)
    home_of(tab).ab_tests.save(tab.audience_id, [DraftVariation(50)], seed="keep")
    qtbot.waitUntil(lambda: tab.pages.currentWidget() is tab.saved_scroll, timeout=TIMEOUT_MS)
    tab.delete_test()
    qtbot.waitUntil(lambda: len(answers) == 1, timeout=TIMEOUT_MS)
    assert "No connections were made for the variations" in answers[0][2]
    assert home_of(tab).ab_tests.get(tab.audience_id) is not None
    assert tab.pages.currentWidget() is tab.saved_scroll


def test_the_editor_shows_criteria_and_ab_test_tabs_and_reads_the_test_only_when_shown(qtbot, world):
    connection, tasks, ids = world
    editor = AudienceEditor(connection, tasks, ids[NAME], ask=lambda _editor: "discard")
    qtbot.addWidget(editor)
    editor.show()
    qtbot.waitUntil(editor.is_loaded, timeout=TIMEOUT_MS)
    assert [editor.tabs.tabText(i) for i in range(editor.tabs.count())] == ["Criteria", "A/B Test", "Segment", "Connect"]
    assert editor.tabs.currentWidget() is editor.splitter and not editor.ab_test.is_loaded()
    assert not editor.segment.is_loaded()
    with qtbot.waitSignal(editor.ab_test.loaded, timeout=TIMEOUT_MS):
        editor.tabs.setCurrentWidget(editor.ab_test)
    assert editor.ab_test.draft.control_percent.text() == "100 %"
    editor.shutdown()


def test_the_audiences_list_marks_audiences_with_a_test_with_percent(qtbot, world):
    connection, _tasks, ids = world
    home = connection.open_home
    model = AudienceTableModel()
    model.set_audiences(home.audiences.list())
    home.ab_tests.save(ids["Gold"], [DraftVariation(50)], seed="s")
    model.set_ab_tests(home.ab_tests.audience_ids())
    rows = {model.audience(r).name: r for r in range(model.rowCount())}
    gold, active = model.index(rows["Gold"], Column.NAME), model.index(rows[NAME], Column.NAME)
    assert model.data(gold, Qt.ItemDataRole.DecorationRole) is not None
    assert AB_TEST_TIP in model.data(gold, Qt.ItemDataRole.ToolTipRole)
    assert model.data(gold, Qt.ItemDataRole.AccessibleTextRole) == "Gold, with an A/B test"
    assert model.data(gold) == "Gold"  # the name itself is unchanged (sorting, searching)
    assert model.data(active, Qt.ItemDataRole.DecorationRole) is None
    assert AB_TEST_TIP not in model.data(active, Qt.ItemDataRole.ToolTipRole)


def test_the_connect_dialog_offers_the_variations_of_one_audience_with_a_test(qtbot, world, tmp_path):
    connection, tasks, ids = world
    home = connection.open_home
    export = home.outputs.create("Export", "file_export", {"folder": str(tmp_path)})
    for name in ("Gold", NAME):  # Sending connections are for active audiences
        home.audiences.activate(ids[name])
    test = home.ab_tests.save(ids["Gold"], [DraftVariation(30, "Push")], seed="s")
    dialog = ConnectDialog(home, tasks, export, [(ids["Gold"], "Gold"), (ids[NAME], NAME)])
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.choose([ids["Gold"]])
    qtbot.waitUntil(lambda: dialog.target.count() == 3, timeout=TIMEOUT_MS)
    assert [dialog.target.itemText(i) for i in range(3)] == [
        "The whole audience", "Variation “Control” (70 %)", "Variation “Push” (30 %)"]
    dialog.send_target(test.variations[1].id)
    with qtbot.waitSignal(dialog.connected, timeout=TIMEOUT_MS) as connected:
        dialog.connect_chosen()
    assert connected.args[0].results[0].connected
    (made,) = home.connections.list(audience_id=ids["Gold"])
    assert (made.variant_id, made.variant_name) == (test.variations[1].id, "Push")

    # Both ticked: a bulk connect, which refuses the audience with a test.
    bulk = ConnectDialog(home, tasks, export, [(ids["Gold"], "Gold"), (ids[NAME], NAME)])
    qtbot.addWidget(bulk)
    bulk.choose([ids["Gold"], ids[NAME]])
    assert not bulk.target.isVisible()
    with qtbot.waitSignal(bulk.connected, timeout=TIMEOUT_MS) as connected:
        bulk.connect_chosen()
    report = connected.args[0]
    assert [(r.audience_name, r.connected) for r in report.results] == [("Gold", False), (NAME, True)]
    assert "A/B test" in report.refused[0].reason


def test_a_size_counted_for_an_older_split_is_never_shown(qtbot, open_tab):
    """The draft's sizes go through NewestWins: an answer for a split changed since is dropped."""
    tab = open_tab()
    with qtbot.waitSignal(tab.sizes_shown, timeout=TIMEOUT_MS):
        assert tab.draft.add_variation(20)
    total = audience_size(tab)
    shown: list[list[int]] = []
    tab.sizes_shown.connect(shown.append)

    with qtbot.waitSignal(tab.sizes_shown, timeout=TIMEOUT_MS) as newest:
        tab.draft.set_percent(0, 30)  # counts again; any answer of the 20 % split on its way is stale
        tab.draft.set_percent(0, 40)
    assert shown == [newest.args[0]]
    assert sum(newest.args[0]) == total and tab.draft.control_percent.text() == "60 %"
    assert tab.draft.control_size.text() == f"{newest.args[0][0]:,} users"
