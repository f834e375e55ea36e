"""The Revenue pane on a real demo home (a year of revenue in a real DuckDB cache): what it plots
equals app/engines/revenue.py's result for the same filters; compare, Unknown parts, export of PNG
and CSV, the empty state, and a segment made private leaving the sellable revenue."""

from __future__ import annotations

import csv
import datetime as dt
import math
import shutil
import threading
import warnings
from pathlib import Path

import pyarrow as pa
import pytest
from PySide6.QtCore import QDate, QPoint, QRect, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QWidget

from app.cli import main as cli
from app.connectors.cache import REVENUE_TABLES
from app.engines import membership
from app.engines import revenue as R
from app.engines.home import OpenHome
from app.models.services.channels import CHANNELS
from app.ui.audiences.model import Column
from app.engines.revenue_channels import label_channels
from app.paths import resolve_home
from app.ui.home import HomeConnection
from app.ui.revenue.charts import epoch
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
    """Each line's values as drawn: on its solid line, or at its partial buckets' markers, which are drawn
    at the whole bucket's rate (covered days of length): taken back to the bucket's sum here."""
    result = []
    for i, s in enumerate(chart.series):
        drawn = chart.drawn_values(i)
        result.append([v * p[0] / p[1] if (p := s.partial(k)) else v for k, v in enumerate(drawn)])
    return result


def all_close(lines, expected) -> bool:
    return len(lines) == len(expected) and all(close(a, b) for a, b in zip(lines, expected))


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
    assert all_close(plotted(pane.compare_chart), [expected.a.values, expected.b.values])
    assert sum(expected.a.values) > 0 and sum(expected.b.values) > 0

    with qtbot.waitSignal(pane.redrawn, timeout=TIMEOUT):
        pane.compare_mode.setCurrentIndex(pane.compare_mode.findData("period"))
    f = pane.charts.request.filter
    periods = R.compare_periods(pane.home.cache.cursor(), f, "week", pane.charts.request.compare_other_start)
    assert len(pane.compare_chart.curves) == 2
    assert all_close(plotted(pane.compare_chart), [periods.a.values, periods.b.values])
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
    # Labelled as in the pane: the app's own channels by name, other sources marked (revenue_channels).
    expected = R.breakdown_table(label_channels(R.breakdown(pane.home.cache.cursor(), pane.charts.request.filter,
                                                            "channel"), pane.charts.request.channel_sources))
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
    assert all_close(plotted(pane.compare_chart), [comparison.a.values])
    assert all_close(plotted(pane.compare_chart_b), [comparison.b.values])
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
    qtbot.waitUntil(lambda: window.pane("revenue").setup is not None, timeout=TIMEOUT)
    assert window.pane("revenue").charts is None and window.pane("revenue").time_chart is None  # hidden: nothing drawn yet
    row = next(r for r in range(window.navigation.count()) if window.navigation.item(r).text() == "Revenue")
    with qtbot.waitSignal(window.pane("revenue").redrawn, timeout=TIMEOUT):
        window.navigation.setCurrentRow(row)
    assert window.pane("revenue").charts.view.total.revenue > 0


def test_a_compared_period_with_one_bucket_more_is_drawn_past_the_first(pane, qtbot):
    # Weeks are calendar weeks: 4 weeks from a Monday are 4 buckets, the same 28 days from a Sunday 5.
    last = pane.setup.days[1]
    monday = last - dt.timedelta(days=60 + (last - dt.timedelta(days=60)).weekday())
    sunday = monday - dt.timedelta(days=8)
    pane.tabs.setCurrentIndex(3)
    with qtbot.waitSignal(pane.redrawn, timeout=TIMEOUT):
        pane.range.setCurrentIndex(pane.range.findData(0))
        for edit, day in ((pane.start, monday), (pane.end, monday + dt.timedelta(days=27))):
            edit.setDate(QDate(day.year, day.month, day.day))
        pane.compare_mode.setCurrentIndex(pane.compare_mode.findData("period"))
        pane.other_start.setDate(QDate(sunday.year, sunday.month, sunday.day))
    comparison, currency = pane.charts.comparison, pane.charts.request.filter.currency
    assert (len(comparison.a.values), len(comparison.b.values)) == (4, 5)
    assert comparison == R.compare_periods(pane.home.cache.cursor(), pane.charts.request.filter, "week", sunday)
    assert all_close(plotted(pane.compare_chart), [comparison.a.values, comparison.b.values])
    first, second = (list(curve.getData()[0]) for curve in pane.compare_chart.curves)
    assert second[:4] == first and second[4] - first[3] == 7 * 86400  # aligned; the extra week one week on
    hover = pane.compare_chart.hover_at(second[4]).split("\n")
    assert hover[0].endswith(f"{comparison.b.values[4]:,.2f} {currency}")
    assert hover[1].strip().startswith("partial week, 6 of 7 days")  # the Sunday's period ends on a Saturday


def test_a_redraw_draws_the_tab_in_view_first_and_the_other_tabs_when_chosen(pane, qtbot):
    # Only the tab in view is drawn at once (shown); the other tabs' data follows (redrawn) and
    # their charts are drawn when chosen.
    with qtbot.waitSignal(pane.shown, timeout=TIMEOUT):
        pane.channels.set_selected({"Meta", None})
    assert pane.charts.request.filter.channels == frozenset({"Meta", None})
    assert pane.charts.series is not None and pane.charts.view is None
    assert all_close(plotted(pane.time_chart), [pane.charts.series.values])
    with qtbot.waitSignal(pane.redrawn, timeout=TIMEOUT):
        pass
    assert pane.charts.view is not None and pane.charts.members is not None and pane.charts.comparison is not None
    assert pane.bar_chart.breakdown is None  # the Breakdown tab was never in view: not drawn
    pane.tabs.setCurrentIndex(1)
    assert pane.bar_chart.breakdown == pane.charts.view.by_segment
    assert math.isclose(pane.bar_chart.breakdown.total, pane.charts.total.revenue)

    # On the Breakdown tab, the breakdown shown is read first, the other two with the rest.
    pane.dimension.setCurrentIndex(pane.dimension.findData("agency"))
    with qtbot.waitSignal(pane.shown, timeout=TIMEOUT):
        pane.channels.set_selected(None)
    f = pane.charts.request.filter
    assert f.channels is None and set(pane.charts.breakdowns) == {"agency"}
    expected = R.breakdown(pane.home.cache.cursor(), f, "agency")
    assert [p.key for p in pane.bar_chart.breakdown.parts] == [p.key for p in expected.parts]
    assert close([p.revenue for p in pane.bar_chart.breakdown.parts], [p.revenue for p in expected.parts])
    assert pane.parts_table.rowCount() == len(pane.bar_chart.breakdown.parts)
    with qtbot.waitSignal(pane.redrawn, timeout=TIMEOUT):
        pass
    assert pane.charts.view.by_agency is pane.bar_chart.breakdown  # the one shown is kept


def test_a_breakdown_of_many_parts_draws_the_biggest_and_keeps_unknown(pane, qtbot):
    from app.ui.revenue.charts import MAX_BARS

    revenues = [1000.0 - i for i in range(MAX_BARS + 15)]
    parts = [R.Part(f"segment-{i:03d}", f"segment-{i:03d}", r, r / sum(revenues), None) for i, r in enumerate(revenues)]
    parts[-1] = R.Part(None, R.UNKNOWN, revenues[-1], revenues[-1] / sum(revenues), None)  # the smallest
    breakdown = R.Breakdown("segment", parts, sum(revenues))
    pane.tabs.setCurrentIndex(1)
    pane.bar_chart.show_breakdown(breakdown, "USD")
    drawn = pane.bar_chart.parts
    assert len(drawn) == MAX_BARS and drawn[:-1] == parts[:MAX_BARS - 1] and drawn[-1].unknown
    labels = [label for _y, label in pane.bar_chart.plot.getAxis("left")._tickLevels[0]]
    assert labels == [p.label for p in drawn] and "Unknown" in labels
    assert f"the biggest {MAX_BARS} of {len(parts)} shown" in pane.bar_chart.plot.getPlotItem().titleLabel.text
    assert pane.bar_chart.table() == R.breakdown_table(breakdown)  # the CSV has every part


def test_value_axes_read_in_thousands_millions_and_billions(pane):
    from app.ui.revenue.charts import compact_ticks

    assert compact_ticks([0, 5e5, 1e6, 1.5e6], 5e5) == ["0", "0.5M", "1.0M", "1.5M"]
    assert compact_ticks([2e9, 4e9], 2e9) == ["2B", "4B"] and compact_ticks([250, 500], 250) == ["250", "500"]
    assert pane.time_chart.plot.getAxis("left").tickStrings([2.5e3, 5e3], 1.0, 2.5e3) == ["2.5k", "5.0k"]
    assert pane.bar_chart.plot.getAxis("bottom").tickStrings([1e6, 2e6], 1.0, 1e6) == ["1M", "2M"]


def test_unticking_a_channel_in_the_filter_list_redraws_without_it(pane, qtbot):
    from app.ui.revenue.controls import KEY_ROLE

    item = next(pane.channels.list.item(i) for i in range(pane.channels.list.count())
                if pane.channels.list.item(i).data(KEY_ROLE) == "Meta")
    with qtbot.waitSignal(pane.redrawn, timeout=TIMEOUT):
        item.setCheckState(Qt.CheckState.Unchecked)  # as a click in the popup does
    channels = pane.charts.request.filter.channels
    assert channels is not None and "Meta" not in channels and None in channels
    assert pane.channels.text() == f"Channels: {len(channels)} of {pane.channels.list.count()}"
    assert "Meta" not in {p.key for p in pane.charts.view.by_channel.parts}


def test_a_breakdown_with_no_revenue_left_by_the_filters_says_so(pane, qtbot):
    pane.tabs.setCurrentIndex(1)
    for i in range(pane.segments.list.count()):  # every segment unticked, as in the filter's popup
        pane.segments.list.item(i).setCheckState(Qt.CheckState.Unchecked)
    # pytest-qt fails the test on an exception in the event loop: pyqtgraph raised one for zero bars.
    qtbot.waitUntil(lambda: pane.bar_chart.breakdown is not None and pane.bar_chart.breakdown.parts == [],
                    timeout=TIMEOUT)
    assert pane.bar_chart.bars is None
    assert pane.bar_chart.plot.plotItem.titleLabel.text.endswith("none for these choices")
    assert pane.parts_table.rowCount() == 0 and pane.parts_table.columnCount() == 4
    for i in range(pane.segments.list.count()):
        pane.segments.list.item(i).setCheckState(Qt.CheckState.Checked)
    qtbot.waitUntil(lambda: pane.bar_chart.bars is not None, timeout=TIMEOUT)


class HeldTasks(Tasks):
    """The real task pool, except that the next revenue read waits for `release` before it reads: an
    older answer that comes back last, on purpose."""

    def __init__(self) -> None:
        super().__init__()
        self.hold_next = False
        self.released = threading.Event()

    def run(self, fn, *, label, **kwargs):
        if self.hold_next and label == "Adding up revenue":
            self.hold_next = False
            released = self.released

            def held():
                released.wait(TIMEOUT / 1000)
                return fn()

            return super().run(held, label=label, **kwargs)
        return super().run(fn, label=label, **kwargs)


def test_a_slow_answer_to_older_controls_never_replaces_the_newer_charts(qtbot, demo_home):
    tasks = HeldTasks()
    connection = HomeConnection(resolve_home(demo_home), tasks)
    pane = RevenuePane(connection, tasks)
    qtbot.addWidget(pane)
    pane.show()
    try:
        with qtbot.waitSignal(pane.redrawn, timeout=TIMEOUT):
            connection.start()
        tasks.hold_next = True
        pane.granularity.setCurrentIndex(pane.granularity.findData("month"))  # the older request: held
        qtbot.waitUntil(lambda: not tasks.hold_next, timeout=TIMEOUT)
        with qtbot.waitSignal(pane.redrawn, timeout=TIMEOUT):
            pane.granularity.setCurrentIndex(pane.granularity.findData("day"))  # the newer one: answered first
        assert pane.charts.request.granularity == "day"

        tasks.released.set()  # now the older answer comes back
        qtbot.waitUntil(lambda: not tasks.is_busy(), timeout=TIMEOUT)

        assert pane.charts.request.granularity == "day"
        assert pane.granularity.currentData() == "day"
    finally:
        tasks.released.set()
        pane.close()
        connection.close()


# -- member counts agree with the Audiences list (issue 20) -----------------------------------------------

OTHER_HOME_SEGMENT = "Outdoor enthusiasts (another home)"


@pytest.fixture
def calculated_home(demo_home, tmp_path) -> Path:
    """A copy of the demo home after the membership engine ran (as the app's clock does), plus member counts
    the server reported for a segment this home does not have."""
    root = tmp_path / "calculated"
    shutil.copytree(demo_home, root)
    with OpenHome.open(resolve_home(root)) as opened:
        membership.refresh(opened)
        day = R.revenue_days(opened.cache.cursor())[1]
        counts = pa.table({"workspace_id": [1], "day": [day], "segment_key": [OTHER_HOME_SEGMENT],
                           "members": [4_321]}, schema=REVENUE_TABLES["segment_counts"][0])
        with opened.cache.writing(source="test") as writer:
            writer.add_segment_counts(counts)
    return root


def list_size(window, name: str) -> str:
    proxy = window.pane("audiences").list.proxy
    row = next(r for r in range(proxy.rowCount()) if proxy.index(r, Column.NAME).data() == name)
    return proxy.index(row, Column.SIZE).data()


def test_member_counts_of_the_homes_audiences_end_at_the_size_the_audiences_list_shows(open_window, calculated_home,
                                                                                         qtbot):
    window = open_window(resolve_home(calculated_home))
    pane = window.pane("revenue")
    qtbot.waitUntil(lambda: pane.setup is not None, timeout=TIMEOUT)
    pane.tabs.setCurrentIndex(2)  # Member counts
    row = next(r for r in range(window.navigation.count()) if window.navigation.item(r).text() == "Revenue")
    with qtbot.waitSignal(pane.redrawn, timeout=TIMEOUT):
        window.navigation.setCurrentRow(row)
    labels = [s.label for s in pane.member_chart.series]
    for name, key in (("New installers, under 3 sessions", "HP - Onboarding nudge"),
                      ("High-value Gmail shoppers (US)", "High-value Gmail shoppers (US)")):
        i = labels.index(key)
        assert pane.member_chart.series[i].source == R.FROM_MEMBERSHIP
        assert f"{pane.member_chart.drawn_values(i)[-1]:,.0f}" == list_size(window, name)
    # A draft's line is not the server's invented count: it is not calculated, and the legend says so.
    assert "Campers near Denver · not calculated" in labels
    assert "Campers near Denver · not calculated" in pane.member_chart.legend.text()


def test_member_counts_the_server_reported_are_labelled_as_such(open_pane, calculated_home, qtbot, tmp_path):
    pane = open_pane(calculated_home)
    pane.tabs.setCurrentIndex(2)
    with qtbot.waitSignal(pane.redrawn, timeout=TIMEOUT):
        pane.segments.set_selected({OTHER_HOME_SEGMENT, "HP - Onboarding nudge"})
    by_label = {s.label: s for s in pane.member_chart.series}
    server = by_label[f"{OTHER_HOME_SEGMENT} · reported by the server"]
    assert server.source == R.FROM_SERVER and server.values[-1] == 4_321
    assert by_label["HP - Onboarding nudge"].source == R.FROM_MEMBERSHIP
    assert f"{OTHER_HOME_SEGMENT} · reported by the server" in pane.member_chart.legend.text()
    pane.member_chart.hover_at(epoch(server.buckets[-1]))  # the server's last report (the home's run to today)
    assert f"{OTHER_HOME_SEGMENT} · reported by the server ·" in pane.member_chart.hover_text
    assert "membership engine" in pane.members_note.text() and "reported by the server" in pane.members_note.text()
    with qtbot.waitSignal(pane.exported, timeout=TIMEOUT):
        pane.export_csv(tmp_path / "members.csv")
    with open(tmp_path / "members.csv", newline="", encoding="utf-8") as file:
        header = next(csv.reader(file))
    assert f"{OTHER_HOME_SEGMENT} · reported by the server" in header


# -- charts that do not mislead (issue 23) -----------------------------------------------------------------


def test_a_partial_first_week_is_marked_not_drawn_as_a_fall(pane, qtbot):
    """The range "All" starts on a Sunday in the demo (a year back from its last day): its first week holds one
    day of seven, and the solid line fell to it. Now the solid line holds whole weeks only, the partial week
    hangs off a dashed line, and the hover and legend say partial."""
    assert pane.range.currentData() is None  # "All", the default
    f = pane.charts.request.filter
    series = pane.time_chart.series[0]
    partial = [i for i in range(len(series.buckets)) if series.partial(i)]
    # A year is never whole weeks (365 = 52 × 7 + 1): its first or its last week is partial, whichever the
    # weekday of today makes it.
    assert partial and set(partial) <= {0, len(series.buckets) - 1}
    solid = list(pane.time_chart.curves[0].getData()[1])
    assert all(math.isnan(solid[i]) for i in partial)
    assert all(not math.isnan(solid[i]) for i in range(len(solid)) if i not in partial)
    assert pane.time_chart.partial_curves[0] is not None
    first = partial[0]
    start = max(series.buckets[first], f.start)
    end = min(R.next_bucket(series.buckets[first], "week"), f.end + dt.timedelta(days=1))
    covered = (end - start).days
    # Drawn at its rate for a whole week, level with its neighbours; the hover gives the real sum too.
    rate = series.values[first] * 7 / covered
    assert math.isclose(pane.time_chart.drawn_values(0)[first], rate)
    assert pane.time_chart.hover_at(pane.time_chart._x[first]) == (
        f"Revenue · {series.buckets[first].isoformat()}: {series.values[first]:,.2f} {f.currency}\n"
        f"    partial week, {covered} of 7 days: drawn at {rate:,.2f} {f.currency}, its rate for a whole week")
    assert "partial week" in pane.time_chart.legend.text()
    # A range of whole weeks has nothing partial, and nothing dashed.
    monday = f.end - dt.timedelta(days=f.end.weekday() + 7 * 8)
    sunday = monday + dt.timedelta(days=7 * 4 - 1)
    with qtbot.waitSignal(pane.redrawn, timeout=TIMEOUT):
        pane.range.setCurrentIndex(pane.range.findData(0))
        pane.start.setDate(QDate(monday.year, monday.month, monday.day))
        pane.end.setDate(QDate(sunday.year, sunday.month, sunday.day))
    assert pane.time_chart.partial_curves == [None]
    assert "partial" not in pane.time_chart.legend.text()


def data_area(chart) -> QRect:
    """The plot's data area (its view box) in the chart widget's coordinates."""
    box = chart.plot.getViewBox()
    rect = chart.plot.mapFromScene(box.sceneBoundingRect()).boundingRect()
    return QRect(chart.plot.mapTo(chart, rect.topLeft()), rect.size())


def legend_area(chart) -> QRect:
    legend = chart.legend
    if isinstance(legend, QWidget):
        return QRect(legend.mapTo(chart, QPoint(0, 0)), legend.size())
    rect = chart.plot.mapFromScene(legend.sceneBoundingRect()).boundingRect()  # a legend drawn in the plot
    return QRect(chart.plot.mapTo(chart, rect.topLeft()), rect.size())


def test_a_legend_never_covers_the_lines(pane, qtbot):
    pane.tabs.setCurrentIndex(3)
    with qtbot.waitSignal(pane.redrawn, timeout=TIMEOUT):
        pane.compare_mode.setCurrentIndex(pane.compare_mode.findData("period"))
    chart = pane.compare_chart
    qtbot.waitUntil(lambda: chart.isVisible() and chart.legend.isVisible(), timeout=TIMEOUT)
    legend, data = legend_area(chart), data_area(chart)
    assert not legend.isEmpty() and not data.isEmpty()
    assert not legend.intersects(data)
    for s in chart.series:
        assert s.label in chart.legend.text()
    # Many long entries in a narrow chart wrap between entries, each whole and inside the legend.
    pane.tabs.setCurrentIndex(2)
    pane.resize(700, 720)
    member_legend = pane.member_chart.legend
    qtbot.waitUntil(lambda: member_legend.isVisible() and len(member_legend.entries) > 3, timeout=TIMEOUT)
    qtbot.wait(50)
    rows = {entry.y() for entry in member_legend.entries}
    assert len(rows) > 1
    for entry in member_legend.entries:
        assert member_legend.rect().contains(entry.geometry()), entry.text()
        assert entry.height() == entry.label.sizeHint().height()  # one line
    assert not legend_area(pane.member_chart).intersects(data_area(pane.member_chart))


def test_revenue_by_channel_names_the_apps_own_channels_and_labels_other_sources(pane, qtbot):
    pane.tabs.setCurrentIndex(1)
    pane.dimension.setCurrentIndex(pane.dimension.findData("channel"))
    qtbot.waitUntil(lambda: pane.bar_chart.breakdown is not None
                    and pane.bar_chart.breakdown.dimension == "channel", timeout=TIMEOUT)
    app_names = {c.name for c in CHANNELS}
    parts = pane.bar_chart.breakdown.parts
    own = [p for p in parts if p.label in app_names]
    others = [p for p in parts if not p.unknown and p.label not in app_names]
    assert own and sum(p.revenue for p in own) > 0  # the app's channels earn
    assert others and all(p.label == f"{p.key} (other source)" for p in others)
    assert {p.label for p in others} == {"LiveRamp (other source)", "Meta (other source)", "Google Ads (other source)"}
    assert pane.parts_table.horizontalHeaderItem(4).text() == "Source"
    sources = {pane.parts_table.item(r, 0).text(): pane.parts_table.item(r, 4).text()
               for r in range(pane.parts_table.rowCount())}
    assert sources["Meta (other source)"] == "Other source"
    assert sources["Harbor Data Marketplace"] == "App channel, not set up"
    assert sources["Unknown"] == "Not reported"
    assert "another source" in pane.bar_chart.tooltip_of(next(p for p in parts if p.key == "Meta"))
    # Other sources' bars are paler than the app's channels'.
    drawn = pane.bar_chart.parts
    brushes = pane.bar_chart.bars.opts["brushes"]
    colour = {p.label: brushes[i].color().name() for i, p in enumerate(drawn)}
    assert colour["Meta (other source)"] == colour["LiveRamp (other source)"] != colour["Harbor Data Marketplace"]
    # The channel filter offers the app's channels first, then other sources, then Unknown.
    labels = [pane.channels.list.item(i).text() for i in range(pane.channels.list.count())]
    assert labels[-1] == "Unknown" and labels.index("Meta (other source)") > labels.index("Segment Directory")


def test_a_channel_switched_on_in_the_app_is_said_to_be_set_up(open_pane, demo_home, tmp_path, qtbot):
    root = tmp_path / "home"
    shutil.copytree(demo_home, root)
    with OpenHome.open(resolve_home(root)) as opened:
        opened.channels.enable("harbor")
    pane = open_pane(root)
    pane.tabs.setCurrentIndex(1)
    pane.dimension.setCurrentIndex(pane.dimension.findData("channel"))
    qtbot.waitUntil(lambda: pane.parts_table.columnCount() == 5, timeout=TIMEOUT)
    sources = {pane.parts_table.item(r, 0).text(): pane.parts_table.item(r, 4).text()
               for r in range(pane.parts_table.rowCount())}
    assert sources["Harbor Data Marketplace"] == "App channel, set up"
    assert sources["OpenAudience Exchange"] == "App channel, not set up"


def test_every_tab_fits_a_laptop_window_without_scrolling(pane, qtbot):
    """The pane in a 1280×800 window (the navigation beside it): the legends under the charts wrap within
    the pane's height, rather than push the bottom edge out of view."""
    pane.resize(1000, 680)
    scroll = pane.stack.widget(1)
    for index in range(pane.tabs.count()):
        pane.tabs.setCurrentIndex(index)
        qtbot.waitUntil(lambda: index not in pane._stale, timeout=TIMEOUT)
        qtbot.wait(50)  # the layout settles
        assert scroll.verticalScrollBar().maximum() == 0, pane.tabs.tabText(index)


def test_member_counts_follow_the_membership_clock_without_a_click(open_pane, demo_home, tmp_path, qtbot):
    """The clock calculates the Active audiences while the pane is open, then says the cache changed: the
    member counts read again (before, the pane kept "not calculated" until it was reopened)."""
    root = tmp_path / "home"
    shutil.copytree(demo_home, root)
    # The demo calculates its Active audiences; a draft activated now waits for the clock.
    with OpenHome.open(resolve_home(root)) as opened:
        opened.audiences.activate(opened.audiences.get("Cart abandoners, last 7 days").id)
    pane = open_pane(root)
    pane.tabs.setCurrentIndex(2)
    qtbot.waitUntil(lambda: 2 not in pane._stale, timeout=TIMEOUT)
    assert "HP - Cart reminder · not calculated" in [s.label for s in pane.member_chart.series]
    membership.refresh(pane.home)  # what the clock's worker runs
    with qtbot.waitSignal(pane.redrawn, timeout=TIMEOUT):
        pane.bus.cache_changed.emit()  # what the clock then emits
    labels = [s.label for s in pane.member_chart.series]
    i = labels.index("HP - Cart reminder")
    audience = pane.home.audiences.get("Cart abandoners, last 7 days")
    assert pane.member_chart.drawn_values(i)[-1] == membership.status(pane.home, audience.id).size


def test_the_biggest_bars_share_label_stays_inside_a_narrow_chart(pane, qtbot):
    pane.tabs.setCurrentIndex(1)
    pane.dimension.setCurrentIndex(pane.dimension.findData("channel"))
    qtbot.waitUntil(lambda: pane.bar_chart.breakdown is not None, timeout=TIMEOUT)

    def labels_inside() -> bool:
        box = pane.bar_chart.plot.getViewBox().sceneBoundingRect()
        shown = [label for label in pane.bar_chart.labels if label.isVisible()]
        return bool(shown) and all(label.sceneBoundingRect().right() <= box.right() + 1 for label in shown)

    for width in (1200, 760):
        pane.resize(width, 720)
        qtbot.waitUntil(labels_inside, timeout=5_000)


def test_a_range_inside_one_week_is_one_partial_marker_without_warnings(pane, qtbot):
    last = pane.setup.days[1]
    tuesday = last - dt.timedelta(days=last.weekday() + 6)  # a Tuesday before the last day
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with qtbot.waitSignal(pane.redrawn, timeout=TIMEOUT):
            pane.range.setCurrentIndex(pane.range.findData(0))
            pane.start.setDate(QDate(tuesday.year, tuesday.month, tuesday.day))
            thursday = tuesday + dt.timedelta(days=2)
            pane.end.setDate(QDate(thursday.year, thursday.month, thursday.day))
    series = pane.time_chart.series[0]
    assert series.partial(0) == (3, 7) and len(series.values) == 1
    assert all_close(plotted(pane.time_chart), [series.values])
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]  # numpy's "All-NaN slice"
