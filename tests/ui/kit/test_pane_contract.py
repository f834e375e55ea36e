"""The pane contract (app/ui/kit/pane.py) on a real home: every pane of the registry says who it is,
has an empty state, reads again after a store event with its busy bar moving meanwhile, and the
main window builds from the registry alone: its navigation, badges and cross-pane requests."""

from __future__ import annotations

from app.connectors.outputs.errors import AUTHENTICATION, Failure
from app.engines.home import OpenHome
from app.ui.audiences_page import AudiencesPage
from app.ui.faults.pane import FaultsPane
from app.ui.kit.empty_state import EmptyState
from app.ui.kit.pane import Pane
from app.ui.main_window import MainWindow
from app.ui.panes import PANES
from app.ui.standard.pane import StandardAudiencesPane
from app.ui.workers import Tasks
from app.ui.home import HomeConnection

from tests.ui.conftest import LOAD_TIMEOUT_MS


def test_every_pane_of_the_registry_says_who_it_is_and_has_an_empty_state(open_window, retail_home):
    window = open_window(retail_home)

    assert [type(pane) for pane in window.pane_list] == list(PANES)
    assert len({pane.key for pane in window.pane_list}) == len(PANES)
    for row, pane in enumerate(window.pane_list):
        assert isinstance(pane, Pane)
        assert pane.title and pane.tooltip and not pane.pane_icon().isNull(), pane.key
        assert isinstance(pane.empty, EmptyState), pane.key
        assert window.pane(pane.key) is pane
        item = window.navigation.item(row)
        assert (item.text(), item.toolTip()) == (pane.title, pane.tooltip)
        assert not item.icon().isNull()
        assert window.panes.widget(row) is pane


def test_every_pane_reads_again_after_a_store_event_with_its_busy_bar_moving_meanwhile(qtbot, open_window,
                                                                                         retail_home):
    window = open_window(retail_home)
    qtbot.waitUntil(lambda: not window.tasks.is_busy(), timeout=LOAD_TIMEOUT_MS)  # the first reads are over
    # Every pane that shows audiences (the team server's Sources and Activity show none: an audience's change
    # does not make them read again).
    showing = [pane for pane in window.pane_list if pane.key not in ("sources", "activity")]
    assert not any(pane.wants_refresh("audience_changed") for pane in window.pane_list if pane not in showing)
    seen: dict[str, list[tuple[bool, bool]]] = {pane.key: [] for pane in showing}
    for pane in showing:
        assert not pane.is_busy()
        pane.busy_changed.connect(lambda busy, p=pane: seen[p.key].append((busy, p.is_busy())))

    services = window.connection.open_home.audiences
    services.rename(services.get("Lapsed buyers").id, "Win-back targets")  # audience_changed: every pane shows it

    qtbot.waitUntil(lambda: all(len(events) >= 2 for events in seen.values()), timeout=LOAD_TIMEOUT_MS)
    for key, events in seen.items():
        # Busy while reading (the bar and is_busy agree), idle once the answer is shown.
        assert events[:2] == [(True, True), (False, False)], key
    qtbot.waitUntil(lambda: not window.tasks.is_busy(), timeout=LOAD_TIMEOUT_MS)
    assert "Win-back targets" in window.pane("audiences").list.audience_names()


def test_a_panes_badge_is_shown_after_its_title_in_the_navigation(open_window, retail_home):
    window = open_window(retail_home)

    for row, pane in enumerate(window.pane_list):
        pane.set_badge(3)
        assert window.navigation.item(row).text() == f"{pane.title} (3)"
        pane.set_badge(0)
        assert window.navigation.item(row).text() == pane.title


def test_the_faults_badge_counts_the_open_faults(qtbot, open_window, home_dir, tmp_path):
    with OpenHome.open(home_dir, user="admin") as home:
        retail = home.workspaces.create("Retail")
        audience = home.audiences.activate(home.audiences.create("Gold members", workspace_ids=[retail.id]).id)
        output = home.outputs.create("Export", "file_export", {"folder": str(tmp_path)})
        link = home.connections.connect(audience.id, output.id)
    window = open_window(home_dir)
    faults = window.pane("faults")
    qtbot.waitUntil(lambda: not faults.is_busy(), timeout=LOAD_TIMEOUT_MS)
    row = window.pane_list.index(faults)
    assert window.navigation.item(row).text() == "Faults"

    with qtbot.waitSignal(faults.badge_changed, timeout=LOAD_TIMEOUT_MS):
        window.connection.open_home.faults.record(link.id, Failure(AUTHENTICATION, "The partner said 401", 401, 0))

    assert window.navigation.item(row).text() == "Faults (1)"


def test_the_window_builds_its_navigation_from_the_list_it_is_given(qtbot, retail_home):
    tasks = Tasks()
    connection = HomeConnection(retail_home, tasks)
    window = MainWindow(connection, tasks, panes=(FaultsPane, AudiencesPage))
    qtbot.addWidget(window)
    try:
        assert [window.navigation.item(row).text() for row in range(window.navigation.count())] == [
            "Faults", "Audiences"]
        assert [pane.key for pane in window.pane_list] == ["faults", "audiences"]
        assert window.panes.currentWidget() is window.pane("faults")
        assert [action.text() for action in window.menuBar().actions()] == ["&File", "&Edit", "&Audience", "&Help"]
    finally:
        window.close()
        tasks.wait()


def test_a_pane_asking_to_open_an_audience_shows_it_in_the_builder(qtbot, open_window, retail_home):
    window = open_window(retail_home)
    page = window.pane("audiences")
    window.navigation.setCurrentRow(window.pane_list.index(window.pane("standard")))
    audience_id = window.connection.open_home.audiences.get("Loyal shoppers").id

    window.bus.open_audience.emit(audience_id)  # what the Standard audiences pane does for a draft

    assert window.panes.currentWidget() is page
    assert page.editors.current_editor().audience_id == audience_id
    assert isinstance(window.pane("standard"), StandardAudiencesPane)


def test_every_title_fits_the_navigation_whole_with_a_large_font_and_a_badge(open_window, retail_home):
    """A desktop with a larger font (or a GTK theme's) and a three-digit badge never cut a pane's title."""
    from PySide6.QtGui import QFont, QFontMetrics

    window = open_window(retail_home)
    font = QFont(window.navigation.font())
    font.setPointSizeF(font.pointSizeF() * 1.5)
    window.navigation.setFont(font)
    for pane in window.pane_list:
        pane.set_badge(123)
    metrics = QFontMetrics(font)
    room = window.navigation.viewport().width()
    for row in range(window.navigation.count()):
        item = window.navigation.item(row)
        assert item.text().endswith("(123)")
        needed = metrics.horizontalAdvance(item.text()) + window.navigation.iconSize().width()
        assert needed < room, (item.text(), needed, room)
