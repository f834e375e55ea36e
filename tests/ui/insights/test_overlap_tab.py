"""The Overlap tab on a real home: the audiences offered, the matrix and the regions the engine counts, a
region's members on click, and unchecking everything."""

from __future__ import annotations

import csv

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from app.engines.insights.overlap import overlap, region_members
from app.engines.insights.subjects import subject
from tests.ui.insights.conftest import TIMEOUT_MS, engine_home


def offered(qtbot, tab) -> list[str]:
    qtbot.waitUntil(lambda: tab.choices.count() > 0, timeout=TIMEOUT_MS)
    return [tab.choices.item(r).text() for r in range(tab.choices.count())]


def test_matrix_regions_and_a_regions_members(qtbot, connection, open_insights):
    window = open_insights("Gold")
    tab = window.overlap
    assert offered(qtbot, tab) == ["Active", "iPhone users", "Nobody"]
    with qtbot.waitSignal(tab.answered, timeout=TIMEOUT_MS) as said:
        tab.check("Active", "iPhone users")
    home = engine_home(connection)
    expected = overlap(home, [subject(home, n) for n in ("Gold", "Active", "iPhone users")])
    assert said.args[0] == expected
    assert [[tab.matrix.item(i, j).text() for j in range(3)] for i in range(3)] == \
        [[f"{v:,}" for v in row] for row in expected.matrix()]
    shown = {tab.regions.item(r, 0).text(): tab.regions.item(r, 1).text() for r in range(tab.regions.rowCount())}
    assert shown == {expected.in_words(m): f"{n:,}" for m, n in expected.regions.items() if n}
    sizes = [int(tab.regions.item(r, 1).text()) for r in range(tab.regions.rowCount())]
    assert sizes == sorted(sizes, reverse=True)  # the largest region first, as an UpSet bar list
    with qtbot.waitSignal(tab.members.loaded, timeout=TIMEOUT_MS):
        tab.regions.selectRow(0)
    mask = tab.regions.item(0, 0).data(Qt.ItemDataRole.UserRole)
    subjects = [subject(home, n) for n in ("Gold", "Active", "iPhone users")]
    assert [int(tab.members.index(r, 0).data()) for r in range(tab.members.rowCount())] == \
        region_members(home, subjects, mask, limit=1000)


def test_unchecking_every_audience_clears_the_answer(qtbot, connection, open_insights):
    tab = open_insights("Gold").overlap
    offered(qtbot, tab)
    with qtbot.waitSignal(tab.answered, timeout=TIMEOUT_MS):
        tab.check("Active")
    tab.check()
    qtbot.waitUntil(lambda: not tab.choice_timer.isActive(), timeout=TIMEOUT_MS)
    assert tab.regions.rowCount() == 0 and tab.region_title.text() == "Check at least one audience to compare."


def test_upset_chart_shows_the_regions_and_a_click_lists_one(qtbot, connection, open_insights):
    window = open_insights("Gold")
    tab = window.overlap
    offered(qtbot, tab)
    with qtbot.waitSignal(tab.answered, timeout=TIMEOUT_MS) as said:
        tab.check("Active", "iPhone users")
    result = said.args[0]
    assert tab.chart.columns == sorted(((m, n) for m, n in result.regions.items() if n), key=lambda r: (-r[1], r[0]))
    assert tab.chart.sizes == [(name, result.size(i)) for i, name in enumerate(result.audiences)]
    assert len(tab.chart.columns) >= 2
    qtbot.waitExposed(tab.chart)
    for column, point in ((1, tab.chart.column_point(1)), (0, tab.chart.bar_point(0))):
        with qtbot.waitSignal(tab.chart.region_clicked, timeout=TIMEOUT_MS) as clicked, \
                qtbot.waitSignal(tab.members.loaded, timeout=TIMEOUT_MS):
            qtbot.mouseClick(tab.chart.view.viewport(), Qt.MouseButton.LeftButton, pos=point)
        mask = tab.chart.columns[column][0]
        assert clicked.args == [mask]
        selected = tab.regions.selectionModel().selectedRows()
        assert [tab.regions.item(i.row(), 0).data(Qt.ItemDataRole.UserRole) for i in selected] == [mask]
        assert tab.region_title.text().startswith(f"{result.regions[mask]:,} profiles in {result.in_words(mask)}")


def test_overlap_exports_the_chart_as_png_and_the_regions_as_csv(qtbot, open_insights, tmp_path):
    tmp_path = tmp_path / "exports"
    tmp_path.mkdir()
    tab = open_insights("Gold").overlap
    offered(qtbot, tab)
    with qtbot.waitSignal(tab.answered, timeout=TIMEOUT_MS) as said:
        tab.check("Active")
    result = said.args[0]
    qtbot.waitExposed(tab.chart)
    with qtbot.waitSignal(tab.export_finished, timeout=TIMEOUT_MS) as done:
        tab.export_to(tmp_path / "overlap.png")
    assert done.args == ["Saved the chart to overlap.png"]
    picture = QImage(str(tmp_path / "overlap.png"))
    assert not picture.isNull() and picture.width() == tab.chart.view.width()
    with qtbot.waitSignal(tab.export_finished, timeout=TIMEOUT_MS) as done:
        tab.export_to(tmp_path / "overlap.csv")
    assert done.args == ["Wrote 3 regions to overlap.csv"]
    with open(tmp_path / "overlap.csv", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["region", "Gold", "Active", "profiles"]
    assert {int(r[0]): (r[1], r[2], int(r[3])) for r in rows[1:]} == {
        m: ("yes" if m & 1 else "no", "yes" if m & 2 else "no", n) for m, n in result.regions.items()}
    with qtbot.waitSignal(tab.export_finished, timeout=TIMEOUT_MS) as done:
        tab.export_to(tmp_path / "no such folder" / "overlap.csv")
    assert "no such folder" in done.args[0] and "cannot be written" in done.args[0]
    assert sorted(tmp_path.iterdir()) == [tmp_path / "overlap.csv", tmp_path / "overlap.png"]  # no half file
