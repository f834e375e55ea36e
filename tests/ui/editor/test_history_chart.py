"""The size-over-time chart beside the live estimate: the membership engine's daily history of the saved
audience, with adds and drops, a hover readout, a range, export as PNG and CSV, and an empty state."""

from __future__ import annotations

import csv
import datetime as dt

from PySide6.QtGui import QImage

from app.connectors.importer import SourcedBatch, import_batches
from app.engines import membership
from app.engines.home import OpenHome
from app.paths import Home
from app.ui.editor.history_chart import NEVER_CALCULATED
from app.ui.revenue.charts import epoch
from tests.ui.editor.support import TIMEOUT_MS
from tests.ui.editor_homes import GOLD, TIERS, document, fill_home, shopper

UTC = dt.UTC
NAME = "Gold members"


def gold_newcomers(first: int, last: int) -> list[int]:
    return [mpid for mpid in range(first, last + 1) if TIERS[mpid % 5] == "gold"]


def home_with_history(home: Home) -> tuple[Home, int, list]:
    """An Active audience calculated 200, 20 and 5 days ago and today, with new gold shoppers in between."""
    ids = fill_home(home, audiences={NAME: document(GOLD), "Draft": document(GOLD)})
    today = dt.datetime.now(UTC)
    with OpenHome.open(home, user="maria") as opened:
        opened.audiences.activate(ids[NAME])
        membership.refresh(opened, today - dt.timedelta(days=200))
        for days_ago, (first, last) in ((20, (41, 50)), (5, (51, 70)), (0, (71, 75))):
            moment = today - dt.timedelta(days=days_ago)
            import_batches(opened.cache, [SourcedBatch(ids["workspace"], None, shopper(m, moment), "test", f"b{m}")
                                          for m in gold_newcomers(first, last)], source="test")
            membership.refresh(opened, moment)
        days = membership.history(opened, ids[NAME])
    return home, ids, days


def open_chart(qtbot, window, audience_id):
    editor = window.pane("audiences").editors.open_audience(audience_id)
    editor.ask = lambda _editor: "discard"
    qtbot.waitUntil(editor.is_loaded, timeout=TIMEOUT_MS)
    chart = editor.content.history_chart
    qtbot.waitUntil(lambda: chart.history is not None, timeout=TIMEOUT_MS)
    return chart


def test_the_chart_shows_the_daily_history_with_a_range_hover_and_exports(qtbot, open_window, home_dir, tmp_path):
    home, ids, days = home_with_history(home_dir)
    assert len(days) == 4 and days[-1].adds == len(gold_newcomers(71, 75))
    window = open_window(home)
    chart = open_chart(qtbot, window, ids[NAME])

    # 30 days: the three recent days; 13 months: the first calculation too.
    assert chart.rows == days[1:]
    assert chart.pages.currentWidget() is chart._plot and chart.export_button.isEnabled()
    chart.range.setCurrentIndex(2)
    assert chart.rows == days
    five_days_ago = days[2]
    text = chart.hover_at(epoch(five_days_ago.day) + 3_600)
    assert text == chart.readout.text() == (f"{five_days_ago.day.isoformat()}: {five_days_ago.size:,} members, "
                                            f"{five_days_ago.adds:,} entered, {five_days_ago.drops:,} left")
    assert five_days_ago.adds == len(gold_newcomers(51, 70))

    with qtbot.waitSignal(chart.exported, timeout=TIMEOUT_MS):
        chart.export_csv(tmp_path / "size.csv")
    with open(tmp_path / "size.csv", newline="", encoding="utf-8") as file:
        assert list(csv.reader(file)) == [["day", "size", "adds", "drops"]] + [
            [d.day.isoformat(), str(d.size), str(d.adds), str(d.drops)] for d in days]
    with qtbot.waitSignal(chart.exported, timeout=TIMEOUT_MS):
        chart.export_png(tmp_path / "size.png")
    image = QImage(str(tmp_path / "size.png"))
    assert not image.isNull() and image.width() > 100


def test_an_audience_never_calculated_says_why_there_is_no_history(qtbot, open_window, home_dir):
    home, ids, _days = home_with_history(home_dir)
    window = open_window(home)
    chart = open_chart(qtbot, window, ids["Draft"])

    assert chart.pages.currentWidget() is chart.empty and chart.empty.text() == NEVER_CALCULATED
    assert not chart.export_button.isEnabled() and chart.rows == []


def test_a_read_answering_after_the_editor_closed_is_dropped(qtbot, open_window, home_dir, monkeypatch):
    """Closing the editor while the chart's history read is on its way: the answer reaches no deleted widget
    (it raised "Internal C++ object already deleted" in the Qt event loop)."""
    import threading

    from shiboken6 import isValid

    from app.ui.editor import history_chart

    home, ids, _days = home_with_history(home_dir)
    window = open_window(home)
    chart = open_chart(qtbot, window, ids[NAME])
    release, started = threading.Event(), threading.Event()
    real = history_chart.read_history

    def held(*args):
        started.set()
        release.wait(TIMEOUT_MS / 1000)
        return real(*args)

    monkeypatch.setattr(history_chart, "read_history", held)
    chart.reload()
    assert started.wait(TIMEOUT_MS / 1000)
    assert window.pane("audiences").editors.close_current()
    qtbot.waitUntil(lambda: not isValid(chart), timeout=TIMEOUT_MS)
    release.set()
    qtbot.wait(500)  # the answer arrives and is dropped; an exception here fails the test in teardown


def test_one_day_of_history_reads_in_whole_members_over_dates(qtbot, open_window, home_dir):
    # Seen in the app: a freshly activated audience's one point showed "466.4 … 465.6" members, "-0.4 … 0.4"
    # entered and left, and a time of day ("00:00:00") where dates belong.
    ids = fill_home(home_dir, audiences={NAME: document(GOLD)})
    with OpenHome.open(home_dir, user="maria") as opened:
        opened.audiences.activate(ids[NAME])
        membership.refresh(opened)
    window = open_window(home_dir)
    chart = open_chart(qtbot, window, ids[NAME])
    qtbot.waitUntil(lambda: chart.pages.currentWidget() is chart._plot, timeout=TIMEOUT_MS)
    assert len(chart.rows) == 1
    for plot in (chart._size_plot, chart._change_plot):
        spacing = plot.getAxis("left")._tickSpacing
        assert spacing is not None and all(float(step).is_integer() and step >= 1 for step, _offset in spacing)
    (left, right), _ = chart._size_plot.viewRange()
    assert right - left >= 6 * 86_400
