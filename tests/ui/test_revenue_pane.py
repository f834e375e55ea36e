"""The Revenue pane on a real demo home (a year of revenue in a real DuckDB cache): what it plots
equals app/builder/revenue.py's result for the same filters; compare, Unknown parts, export of PNG
and CSV, the empty state, and a segment made private leaving the sellable revenue."""

from __future__ import annotations

import csv
import math
import shutil
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage

from app import cli
from app.builder import revenue as R
from app.paths import resolve_home
from app.ui.home import HomeConnection
from app.ui.revenue.pane import RevenuePane
from app.ui.workers import Tasks

TIMEOUT = 20_000


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("revenue") / "home"
    assert cli.main(["--home", str(root), "demo", "--profiles", "2000", "--days", "14"]) == 0
    return root


@pytest.fixture
def open_pane(qtbot):
    opened: list[tuple[RevenuePane, HomeConnection]] = []

    def open_on(root: Path, *, signal: str = "redrawn") -> RevenuePane:
        tasks = Tasks()
        connection = HomeConnection(resolve_home(root), tasks)
        pane = RevenuePane(connection, tasks)
        pane.resize(1200, 720)
        qtbot.addWidget(pane)
        pane.show()
        opened.append((pane, connection))
        with qtbot.waitSignal(getattr(pane, signal), timeout=TIMEOUT):
            connection.start()
        return pane

    yield open_on
    for pane, connection in opened:
        pane.close()
        connection.close()


@pytest.fixture
def pane(open_pane, demo_home) -> RevenuePane:
    return open_pane(demo_home)


def close(a, b) -> bool:
    return len(a) == len(b) and all(math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9) for x, y in zip(a, b))


def plotted(chart) -> list[list[float]]:
    return [list(curve.getData()[1]) for curve in chart.curves]


def test_the_pane_loads_and_shows_the_total_series_of_the_public_segments(pane):
    f = pane.charts.request.filter
    cursor = pane.home.cache.cursor()
    expected = R.revenue_series(cursor, f, "week")
    assert pane.charts.request.granularity == "week"
    assert close(plotted(pane.time_chart)[0], expected.values)
    # Only public segments earn: the demo keeps two example audiences private, and they have revenue.
    assert f.public_segments and "EU marketing consent" not in f.public_segments
    assert pane.private_note.text() == "2 private segments are not sold"
    assert "EU marketing consent" not in {p.key for p in pane.charts.view.by_segment.parts}
    total = R.revenue_total(cursor, f)
    assert f"{total.revenue:,.2f} {f.currency}" in pane.summary.text()
    # Hovering names the bucket and its value.
    x = pane.time_chart._x[3]
    assert pane.time_chart.hover_at(x) == f"Revenue · {expected.buckets[3].isoformat()}: {expected.values[3]:,.2f} {f.currency}"


def test_changing_granularity_range_and_filters_redraws_with_the_aggregations_result(pane, qtbot):
    with qtbot.waitSignal(pane.redrawn, timeout=TIMEOUT):
        pane.granularity.setCurrentIndex(pane.granularity.findData("month"))
    with qtbot.waitSignal(pane.redrawn, timeout=TIMEOUT):
        pane.range.setCurrentIndex(pane.range.findData(90))
    f = pane.charts.request.filter
    assert (f.end - f.start).days == 89 and pane.charts.request.granularity == "month"
    cursor = pane.home.cache.cursor()
    assert close(plotted(pane.time_chart)[0], R.revenue_series(cursor, f, "month").values)

    with qtbot.waitSignal(pane.redrawn, timeout=TIMEOUT):
        pane.channels.set_selected({"Meta", None})
    f = pane.charts.request.filter
    assert f.channels == frozenset({"Meta", None}) and pane.channels.text() == "Channels: 2 of 9"
    assert close(plotted(pane.time_chart)[0], R.revenue_series(cursor, f, "month").values)
    assert {p.key for p in pane.charts.view.by_channel.parts} == {"Meta", None}


def test_compare_two_segments_and_two_periods_overlays_two_curves(pane, qtbot):
    pane.tabs.setCurrentIndex(3)
    assert pane.compare_mode.currentData() == "segment"  # the default
    with qtbot.waitSignal(pane.redrawn, timeout=TIMEOUT):
        pane.compare_b.setCurrentIndex(pane.compare_b.findData("HP - Onboarding nudge"))
    a, b = pane.compare_a.currentData(), pane.compare_b.currentData()
    assert a != b
    expected = R.compare(pane.home.cache.cursor(), pane.charts.request.filter, "week", "segment", a, b)
    assert [c.name() for c in pane.compare_chart.curves] == [a, b]
    assert plotted(pane.compare_chart) == [expected.a.values, expected.b.values]
    assert sum(expected.a.values) > 0 and sum(expected.b.values) > 0

    with qtbot.waitSignal(pane.redrawn, timeout=TIMEOUT):
        pane.compare_mode.setCurrentIndex(pane.compare_mode.findData("period"))
    f = pane.charts.request.filter
    periods = R.compare_periods(pane.home.cache.cursor(), f, "week", pane.charts.request.compare_other_start)
    assert len(pane.compare_chart.curves) == 2
    assert plotted(pane.compare_chart) == [periods.a.values, periods.b.values]
    # The second period is drawn at the first's days, aligned bucket by bucket.
    assert list(pane.compare_chart.curves[1].getData()[0]) == list(pane.compare_chart.curves[0].getData()[0])[
        :len(periods.b.values)]


def test_breakdowns_show_unknown_as_such_never_as_zero(pane, qtbot):
    pane.tabs.setCurrentIndex(1)
    pane.dimension.setCurrentIndex(pane.dimension.findData("channel"))
    breakdown = pane.bar_chart.breakdown
    unknown = breakdown.part(None)
    assert breakdown.dimension == "channel" and unknown is not None and unknown.label == "Unknown"
    assert unknown.revenue > 0
    labels = [label for _y, label in pane.bar_chart.plot.getAxis("left")._tickLevels[0]]
    assert "Unknown" in labels
    rows = [pane.parts_table.item(r, 0).text() for r in range(pane.parts_table.rowCount())]
    assert "Unknown" in rows

    # Meta and Google Ads never name the agency: their revenue is the agency breakdown's Unknown part.
    pane.dimension.setCurrentIndex(pane.dimension.findData("agency"))
    agency = pane.bar_chart.breakdown
    assert agency.part(None).revenue > 0
    known = next(p for p in agency.parts if not p.unknown)
    assert known.details is not None and known.details.kind
    tip = pane.bar_chart.tooltip_of(known)
    assert known.label in tip and f"{known.share:.1%}" in tip and known.details.kind in tip
    headers = [pane.parts_table.horizontalHeaderItem(c).text() for c in range(pane.parts_table.columnCount())]
    assert headers[-3:] == ["Kind", "Country", "Contact"]


def test_export_csv_writes_the_shown_charts_data(pane, qtbot, tmp_path):
    with qtbot.waitSignal(pane.exported, timeout=TIMEOUT) as blocker:
        pane.export_csv(tmp_path / "series.csv")
    assert blocker.args == [str(tmp_path / "series.csv")]
    with open(tmp_path / "series.csv", newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    expected = R.series_table([R.revenue_series(pane.home.cache.cursor(), pane.charts.request.filter, "week")])
    assert rows == [[str(cell) for cell in row] for row in expected]

    pane.tabs.setCurrentIndex(1)
    pane.dimension.setCurrentIndex(pane.dimension.findData("channel"))
    with qtbot.waitSignal(pane.exported, timeout=TIMEOUT):
        pane.export_csv(tmp_path / "channels.csv")
    with open(tmp_path / "channels.csv", newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    expected = R.breakdown_table(R.breakdown(pane.home.cache.cursor(), pane.charts.request.filter, "channel"))
    assert rows[0] == ["channel", "revenue", "share", "impressions"]
    assert [r[0] for r in rows[1:]] == [r[0] for r in expected[1:]] and "Unknown" in [r[0] for r in rows]
    assert all(math.isclose(float(a[1]), b[1]) for a, b in zip(rows[1:], expected[1:], strict=True))
    assert not list(tmp_path.glob(".*.tmp"))


def test_export_png_writes_a_picture_of_the_chart(pane, qtbot, tmp_path):
    with qtbot.waitSignal(pane.exported, timeout=TIMEOUT):
        pane.export_png(tmp_path / "revenue.png")
    image = QImage(str(tmp_path / "revenue.png"))
    assert not image.isNull() and image.width() > 400 and image.height() > 300
    background = QColor(image.pixel(image.width() - 3, image.height() // 2))
    # The plot area (the middle of the picture) holds the line: pixels of another colour than the background.
    inked = sum(1 for x in range(image.width() // 4, 3 * image.width() // 4, 2)
                for y in range(image.height() // 4, 3 * image.height() // 4, 2)
                if QColor(image.pixel(x, y)) != background)
    assert inked > 200


def test_a_segment_made_private_is_no_longer_sold(open_pane, demo_home, tmp_path, qtbot):
    root = tmp_path / "home"
    shutil.copytree(demo_home, root)
    pane = open_pane(root)
    assert "Campers near Denver" in {p.key for p in pane.charts.view.by_segment.parts}
    before = pane.charts.view.total.revenue
    campers = next(a for a in pane.home.audiences.list() if a.name == "Campers near Denver")
    with qtbot.waitSignal(pane.redrawn, timeout=TIMEOUT):
        pane.home.segments.update(campers.id, visibility="private", cpm=None)
    assert "Campers near Denver" not in pane.charts.request.filter.public_segments
    assert "Campers near Denver" not in {p.key for p in pane.charts.view.by_segment.parts}
    assert pane.charts.view.total.revenue < before
    assert pane.private_note.text() == "3 private segments are not sold"
    assert "Campers near Denver (private)" in [pane.segments.list.item(i).text() for i in range(pane.segments.list.count())]


def test_a_home_without_revenue_shows_the_empty_state(open_pane, tmp_path):
    pane = open_pane(tmp_path / "empty", signal="loaded")
    assert pane.stack.currentWidget() is pane.empty
    assert pane.empty.title.text() == "No revenue yet"
    assert pane.time_chart is None  # no chart built, pyqtgraph not needed


def test_compare_side_by_side_shows_each_line_in_its_own_chart_and_exports_both(pane, qtbot, tmp_path):
    pane.tabs.setCurrentIndex(3)
    pane.side_by_side.setChecked(True)
    comparison = pane.charts.comparison
    assert pane.compare_chart_b.isVisible()
    assert plotted(pane.compare_chart) == [comparison.a.values]
    assert plotted(pane.compare_chart_b) == [comparison.b.values]
    with qtbot.waitSignal(pane.exported, timeout=TIMEOUT):
        pane.export_csv(tmp_path / "compare.csv")
    with open(tmp_path / "compare.csv", newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["bucket", comparison.a.label, comparison.b.label]
    with qtbot.waitSignal(pane.exported, timeout=TIMEOUT):
        pane.export_png(tmp_path / "compare.png")
    image = QImage(str(tmp_path / "compare.png"))
    assert image.width() == pane.compare_area.width()  # both charts in one picture

    pane.side_by_side.setChecked(False)
    assert not pane.compare_chart_b.isVisible() and len(pane.compare_chart.curves) == 2


def test_the_main_window_draws_revenue_only_once_the_pane_is_shown(open_window, demo_home, qtbot):
    window = open_window(resolve_home(demo_home))
    qtbot.waitUntil(lambda: window.revenue.setup is not None, timeout=TIMEOUT)
    assert window.revenue.charts is None and window.revenue.time_chart is None  # hidden: nothing drawn yet
    row = next(r for r in range(window.navigation.count()) if window.navigation.item(r).text() == "Revenue")
    with qtbot.waitSignal(window.revenue.redrawn, timeout=TIMEOUT):
        window.navigation.setCurrentRow(row)
    assert window.revenue.charts.view.total.revenue > 0
