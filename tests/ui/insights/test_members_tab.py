"""The Insights window's Members tab on a real home: pages read lazily, search as you type (newest wins),
sort by header, copy rows, export CSV in a worker, the empty state, and messages instead of tracebacks."""

from __future__ import annotations

import csv

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QGuiApplication

from app.engines.insights.members_page import members_page
from app.engines.insights.subjects import Subject, subject
from tests.ui.insights.conftest import TIMEOUT_MS, engine_home
from tests.ui.editor_homes import GOLD, document


def loaded(qtbot, tab):
    qtbot.waitUntil(lambda: not tab.requests.is_busy(), timeout=TIMEOUT_MS)
    return tab.model


def column(model, c: int) -> list[str]:
    return [model.index(r, c).data() for r in range(model.rowCount())]


def test_first_page_then_more_pages_as_the_view_scrolls(qtbot, connection, open_insights):
    window = open_insights("Active")
    tab = window.members
    model = loaded(qtbot, tab)
    expected = members_page(engine_home(connection), subject(engine_home(connection), "Active"), limit=1000)
    assert model.total == expected.total > 10
    assert column(model, 0) == [str(m.mpid) for m in expected.members]
    assert tab.count.text() == f"{expected.total} members"
    # Paging: a small page size; the first answer holds one page, scrolling to the end reads the rest.
    model.page_size = 10
    first_rows: list[int] = []
    model.loaded.connect(lambda _total: first_rows.append(model.rowCount()))
    with qtbot.waitSignal(model.loaded, timeout=TIMEOUT_MS):
        tab.reload()
    assert first_rows == [10]

    def scrolled_to_the_end() -> bool:
        tab.table.scrollToBottom()
        return model.rowCount() == expected.total

    qtbot.waitUntil(scrolled_to_the_end, timeout=TIMEOUT_MS)
    assert column(model, 0) == [str(m.mpid) for m in expected.members] and not model.canFetchMore()


def test_search_as_you_type_and_the_newest_search_wins(qtbot, connection, open_insights):
    tab = open_insights("Active").members
    loaded(qtbot, tab)
    with qtbot.waitSignal(tab.model.loaded, timeout=TIMEOUT_MS):
        qtbot.keyClicks(tab.search, "user1")  # every key restarts the pause; one search runs
    qtbot.keyClicks(tab.search, "3@")
    qtbot.waitUntil(lambda: not tab.search_timer.isActive(), timeout=TIMEOUT_MS)
    model = loaded(qtbot, tab)
    expected = members_page(engine_home(connection), subject(engine_home(connection), "Active"), search="user13@")
    assert [int(x) for x in column(model, 0)] == [m.mpid for m in expected.members] == [13]
    assert "user13@gmail.com" in model.index(0, 3).data()
    assert tab.count.text() == "1 member match"


def test_clicking_headers_sorts_and_unsortable_columns_say_so(qtbot, connection, open_insights):
    tab = open_insights("Gold").members
    loaded(qtbot, tab)
    header = tab.table.horizontalHeader()
    header.setSortIndicator(0, Qt.SortOrder.DescendingOrder)
    model = loaded(qtbot, tab)
    mpids = [int(x) for x in column(model, 0)]
    assert mpids == sorted(mpids, reverse=True) and len(mpids) > 1
    header.setSortIndicator(3, Qt.SortOrder.AscendingOrder)  # identities: the engine cannot sort by them
    assert tab.count.text() == "Sort by mpid, first seen or last seen"
    assert header.sortIndicatorSection() == 0 and not tab.requests.is_busy()


def test_copy_selected_rows_with_the_header_line(qtbot, open_insights):
    tab = open_insights("Gold").members
    model = loaded(qtbot, tab)
    tab.table.selectRow(0)
    tab.table.setFocus()
    qtbot.keyClick(tab.table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    lines = QGuiApplication.clipboard().text().splitlines()
    assert lines[0].split("\t")[:4] == ["mpid", "First seen", "Last seen", "Identities"]
    assert lines[1].split("\t")[0] == model.index(0, 0).data() and len(lines) == 2


def test_attribute_columns_and_csv_export_in_a_worker(qtbot, connection, open_insights, tmp_path):
    tab = open_insights("Gold").members
    loaded(qtbot, tab)
    qtbot.waitUntil(lambda: tab.attributes_button.isEnabled(), timeout=TIMEOUT_MS)
    names = [a.text() for a in tab.attributes_menu.actions()]
    assert "tier" in names
    next(a for a in tab.attributes_menu.actions() if a.text() == "tier").setChecked(True)
    model = loaded(qtbot, tab)
    assert model.headers[-1] == "tier" and set(column(model, 4)) == {"gold"}
    target = tmp_path / "gold.csv"
    with qtbot.waitSignal(tab.export_finished, timeout=TIMEOUT_MS) as said:
        tab.export_to(target)
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert said.args == [f"Wrote {len(rows)} members to gold.csv"] and len(rows) == model.total
    assert {r["tier"] for r in rows} == {"gold"} and not (tmp_path / "gold.csv.partial").exists()


def test_an_audience_with_no_members_shows_the_empty_state(qtbot, open_insights):
    tab = open_insights("Nobody").members
    loaded(qtbot, tab)
    assert tab.stack.currentWidget() is tab.empty
    assert tab.empty.title.text() == "No one is in this audience now"
    assert not tab.export_button.isEnabled()


def test_a_user_error_is_a_sentence_not_a_traceback(qtbot, open_insights):
    tab = open_insights(Subject.draft(document(GOLD), [], name="Unscoped draft")).members
    qtbot.waitUntil(lambda: tab.error.isVisible(), timeout=TIMEOUT_MS)
    assert tab.error.text() == 'Audience "Unscoped draft" has no workspace: choose its workspaces first.'


def test_a_draft_lists_its_members_and_closing_stops_every_request(qtbot, connection, open_insights):
    home = engine_home(connection)
    draft = Subject.draft(document(GOLD), subject(home, "Gold").workspace_ids, name="Unsaved gold")
    window = open_insights(draft)
    tab = window.members
    assert tab.requests.is_busy()
    window.close()
    assert not tab.requests.is_busy() and tab.busy_bar.isHidden()
    assert tab.model.rowCount() == 0  # the answer that arrives after closing is not shown
    connection[1].wait()  # the read finishes; its answer is queued to the GUI thread and delivered now
    QCoreApplication.processEvents()
    assert tab.model.rowCount() == 0
