"""Revenue pane redraws: 3 years of daily revenue for 500 segments x 50 agencies x 20 channels.

Usage: python benchmarks/revenue_redraw.py [--lines 20] [--repeat 7] [--cache PATH]
       [--part both|aggregation|pane] [--pictures DIR]

Generates the records into a temporary cache (or PATH, reused when it already holds them) through
CacheWriter.add_revenue, then times what a chart redraw runs after a change of filter, of range
and of granularity: `revenue_view` (total, time series and the three breakdowns in one scan),
the compares and the member-count overlay. Prints the median and the worst of --repeat runs each.

Density: a dense cube (every segment bought by every agency on every channel every day) would be
1095 x 500 x 50 x 20 = 547M rows, which no marketplace sees. Each segment here has --lines buying
lines on average (an agency on a channel: a segment is carried by a few channels and bought by a
handful of agencies, popular segments by many more), and a line reports on ~60 % of days
(campaigns pause), so about 500 x 1095 x lines x 0.6 records: 6.1M for the
default 20 lines, 1.1 % of the cube. Two of the 20 channels never report the agency (NULL).

End to end (`--part pane`; run by default after the aggregations): the cache is copied into a
scratch home (the file given with --cache is never opened by the app) whose new store, made by the
app's own services, holds the 500 segments as audiences, 400 of them public; the real RevenuePane
is opened offscreen on a real HomeConnection and Tasks. Each change is made through the pane's
controls, as a user would, and timed from the change to the tab's new data shown (`shown`) and
painted (`pane.grab()` in that signal's slot: the whole pane painted into a picture, as the
window's next paint would paint it; forced, so it is timed). Its parts: to the data on the GUI
thread (of which the queries on the worker), setting the charts, painting; then the time until
every tab's data is read (`redrawn`). A 5 ms QTimer on the GUI thread gives the longest time the
thread could not react, while the queries ran and in the whole redraw (until 50 ms after every
tab's data, so the window's own paint and the rest of the reading count). Then the cost of
choosing another tab after a redraw. Prints the load average (the figures move with it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.engines import revenue as R
from app.connectors.cache import Cache

SEGMENTS, AGENCIES, CHANNELS, DAYS = 500, 50, 20, 3 * 365
FIRST = dt.date(2023, 11, 1)
LAST = FIRST + dt.timedelta(days=DAYS - 1)
NO_AGENCY_CHANNELS = (18, 19)  # the channels that never report the buyer


def generate(cache: Cache, lines_per_segment: int, seed: int = 11) -> int:
    rng = np.random.default_rng(seed)
    # Popularity is skewed: a few segments have many lines, most have few.
    weights = rng.pareto(1.5, SEGMENTS) + 0.3
    lines = np.maximum(1, np.round(weights / weights.mean() * lines_per_segment)).astype(int)
    segment_of = np.repeat(np.arange(SEGMENTS), lines)
    n_lines = len(segment_of)
    agency_of = rng.integers(0, AGENCIES, n_lines)
    channel_of = rng.integers(0, CHANNELS, n_lines)
    cpm = rng.uniform(0.5, 4.0, n_lines)
    base_impressions = rng.lognormal(9.0, 1.2, n_lines)
    weekday = np.array([1.05, 1.1, 1.1, 1.05, 1.0, 0.75, 0.7])
    segment_names = np.array([f"segment-{i:03d}" for i in range(SEGMENTS)], dtype=object)
    agency_names = np.array([f"agency-{i:02d}" for i in range(AGENCIES)], dtype=object)
    channel_names = np.array([f"channel-{i:02d}" for i in range(CHANNELS)], dtype=object)
    written = 0
    chunk_days = 90
    for first in range(0, DAYS, chunk_days):
        days = np.arange(first, min(DAYS, first + chunk_days))
        day_col = np.repeat(days, n_lines)
        line_col = np.tile(np.arange(n_lines), len(days))
        keep = rng.random(len(day_col)) < 0.6
        day_col, line_col = day_col[keep], line_col[keep]
        dates = np.datetime64(FIRST) + day_col.astype("timedelta64[D]")
        factor = weekday[(day_col + FIRST.weekday()) % 7] * (1 + day_col / DAYS) * rng.lognormal(0, 0.3, len(day_col))
        impressions = np.round(base_impressions[line_col] * factor).astype(np.int64)
        revenue = impressions / 1000.0 * cpm[line_col]
        channel = channel_of[line_col]
        agency = agency_names[agency_of[line_col]].copy()
        agency[np.isin(channel, NO_AGENCY_CHANNELS)] = None
        table = pa.table({
            "workspace_id": pa.array(np.ones(len(day_col), np.int32)),
            "day": pa.array(dates.astype("datetime64[D]")),
            "segment_key": pa.array(segment_names[segment_of[line_col]], pa.string()),
            "agency": pa.array(agency, pa.string()),
            "channel": pa.array(channel_names[channel], pa.string()),
            "impressions": pa.array(impressions),
            "revenue": pa.array(revenue),
            "currency": pa.array(["USD"] * len(day_col), pa.string()),
        })
        with cache.writing(source="benchmark") as writer:
            written += writer.add_revenue(table)
    counts = []
    for segment in range(SEGMENTS):
        size = rng.integers(10_000, 2_000_000)
        growth = rng.uniform(0.0, 0.002)
        counts.append(pa.table({
            "workspace_id": pa.array(np.ones(DAYS, np.int32)),
            "day": pa.array(np.datetime64(FIRST) + np.arange(DAYS).astype("timedelta64[D]")),
            "segment_key": pa.array([segment_names[segment]] * DAYS, pa.string()),
            "members": pa.array(np.round(size * np.exp(growth * np.arange(DAYS))).astype(np.int64)),
        }))
    with cache.writing(source="benchmark") as writer:
        writer.add_segment_counts(pa.concat_tables(counts))
    return written


def timed(repeat: int, fn) -> tuple[float, float]:
    fn()  # the first run reads the table's blocks from disk; a redraw follows an earlier draw
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - started) * 1000)
    return statistics.median(runs), max(runs)


# -- end to end: the real pane ---------------------------------------------------------------------

TICK_MS = 5  # the GUI-thread probe: a QTimer this often; a longer gap is time the thread was busy
AFTER_PAINT_MS = 50  # how long after the paint the probe still watches (a follow-up paint would show)
PUBLIC = tuple(i % 5 != 0 for i in range(SEGMENTS))  # 400 of 500 public, as in the aggregation table


def scratch_home(cache_path: Path):
    """A new home: a copy of the cache where a home keeps it (the original is never opened by the pane)
    and a new store made by the app's services, the segments as audiences, 400 of them public."""
    from app.models.services.audiences import AudienceService
    from app.models.store.db import open_store
    from app.models.services.segments import SegmentSettingsService
    from app.models.services.workspaces import WorkspaceService
    from app.paths import Home

    home = Home(Path(tempfile.mkdtemp(prefix="revenue-pane-bench-")))
    shutil.copy2(cache_path, home.cache_path)
    store = open_store(home.store_path)
    try:
        workspace = WorkspaceService(store).create("Benchmark marketplace")
        audiences, segments = AudienceService(store, "benchmark"), SegmentSettingsService(store, "benchmark")
        for i in range(SEGMENTS):
            audience = audiences.create(f"segment-{i:03d}", workspace_ids=[workspace.id])
            if PUBLIC[i]:
                segments.update(audience.id, visibility="public", cpm="2.00")
    finally:
        store.close()
    return home


class Probe:
    """Ticks of a 5 ms QTimer on the GUI thread; the gaps between them are what a user would feel."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.ticks: list[float] = []
        #: the GUI thread's CPU time at each tick: a long gap with little of it was the thread waiting
        #: (for a core, or for the GIL), not working
        self.cpu: list[float] = []
        self.timer = QTimer(interval=TICK_MS, timeout=self._tick)

    def _tick(self) -> None:
        self.ticks.append(time.perf_counter())
        self.cpu.append(time.thread_time())

    def start(self) -> None:
        self.ticks, self.cpu = [], []
        self._tick()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        self._tick()

    def longest_gap_cpu(self) -> tuple[float, float]:
        """The longest gap (ms) and the GUI thread's CPU time in it (ms)."""
        return max((((b - a) * 1000, (d - c) * 1000) for a, b, c, d
                    in zip(self.ticks, self.ticks[1:], self.cpu, self.cpu[1:])), default=(0.0, 0.0))

    def longest_gap(self, start: float, end: float) -> float:
        """The longest gap (ms) between ticks, counting only what of each gap lies in [start, end]."""
        return max(((min(b, end) - max(a, start)) * 1000 for a, b in zip(self.ticks, self.ticks[1:])), default=0.0)


def run_loop(condition, timeout_s: float = 120.0) -> None:
    """Run the event loop until `condition()` holds (never a busy wait on the GUI thread)."""
    from PySide6.QtCore import QEventLoop, QTimer

    if condition():
        return
    loop = QEventLoop()
    # The times are taken in the signals' slots: the poll only says when to go on.
    poll = QTimer(interval=10, timeout=lambda: condition() and loop.quit())
    deadline = QTimer(singleShot=True, interval=int(timeout_s * 1000), timeout=loop.quit)
    poll.start()
    deadline.start()
    loop.exec()
    poll.stop()
    deadline.stop()
    if not condition():
        raise SystemExit("timed out waiting for the Revenue pane")


def pause(ms: int) -> None:
    started = time.perf_counter()
    run_loop(lambda: (time.perf_counter() - started) * 1000 >= ms)


def pane_changes(pane):
    """(name, tab, prepare, change, undo, unprepare): `change` sets the pane's controls as a user would;
    `prepare` and `unprepare` (None: nothing) lead to it from the first draw (all days, by week) and back,
    `undo` undoes the change for the next run. Each changes at least one control: one redraw each."""
    from app.ui.revenue.controls import RANGES

    def pick(combo, data):
        def set_it() -> None:
            index = combo.findData(data)
            assert index >= 0, (combo.accessibleName(), data)
            combo.setCurrentIndex(index)
        return set_it

    def both(*steps):
        def run() -> None:
            for step in steps:
                step()
        return run

    every_day = [days for _, days in RANGES].index(None)
    all_days = lambda: pane.range.setCurrentIndex(every_day)
    week, day, month = (pick(pane.granularity, g) for g in ("week", "day", "month"))
    three_channels = lambda: pane.channels.set_selected({"channel-01", "channel-02", "channel-19"})
    public = {f"segment-{i:03d}" for i in range(SEGMENTS) if PUBLIC[i]}
    five = {f"segment-{i:03d}" for i in (1, 2, 3, 4, 6)}  # public ones
    return [
        ("filter: 3 channels", 0, None, three_channels, lambda: pane.channels.set_selected(None), None),
        ("filter: 5 agencies + Unknown", 0, None,
         lambda: pane.agencies.set_selected({None, *(f"agency-{i:02d}" for i in range(5))}),
         lambda: pane.agencies.set_selected(None), None),
        ("filter: the 400 public segments ticked", 0, None, lambda: pane.segments.set_selected(public),
         lambda: pane.segments.set_selected(None), None),
        ("filter: 1 segment", 0, None, lambda: pane.segments.set_selected({"segment-007"}),
         lambda: pane.segments.set_selected(None), None),
        ("range: last 90 days, by day", 0, None, both(pick(pane.range, 90), day), both(all_days, week), None),
        ("range: one year, by week", 0, None, pick(pane.range, 365), all_days, None),
        ("granularity: 3 years by day", 0, None, day, week, None),
        ("granularity: 3 years by month", 0, None, month, week, None),
        ("Breakdown tab: filter 3 channels", 1, None, three_channels,
         lambda: pane.channels.set_selected(None), None),
        ("compare 2 agencies, by week", 3, pick(pane.compare_mode, "agency"),
         both(pick(pane.compare_a, "agency-01"), pick(pane.compare_b, "agency-02")),
         both(pick(pane.compare_a, "agency-00"), pick(pane.compare_b, "agency-01")),
         pick(pane.compare_mode, "segment")),
        ("compare 2 years, by month", 3, both(pick(pane.range, 365), month),
         pick(pane.compare_mode, "period"), pick(pane.compare_mode, "segment"), both(all_days, week)),
        ("member counts, 5 segments, by day", 2, day, lambda: pane.segments.set_selected(five),
         lambda: pane.segments.set_selected(None), week),
    ]


def pane_benchmark(cache_path: Path, repeat: int, pictures: Path | None) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from app.ui.home import HomeConnection
    from app.ui.revenue import pane as pane_module
    from app.ui.revenue.pane import RevenuePane
    from app.ui.workers import Tasks

    started = time.perf_counter()
    home = scratch_home(cache_path)
    print(f"\nend to end: scratch home {home.root} ({SEGMENTS} segments, {sum(PUBLIC)} public) "
          f"made in {time.perf_counter() - started:.1f} s")
    tasks = Tasks()
    connection = HomeConnection(home, tasks)
    pane = RevenuePane(connection, tasks)
    pane.resize(1280, 800)
    pane.show()
    marks: dict[str, float] = {}
    failures: list[str] = []
    tasks.error_reported.connect(failures.append)
    grabbing = [False]

    def on_shown() -> None:
        marks.setdefault("shown", time.perf_counter())
        if grabbing[0]:
            # Painted at once, as the window's next paint would paint it (forced, so it is timed;
            # the window's own paint follows, after the clock stopped).
            pane.grab()
            marks.setdefault("painted", time.perf_counter())

    pane.shown.connect(on_shown)
    pane.redrawn.connect(lambda: marks.setdefault("complete", time.perf_counter()))
    on_charts = pane._on_charts

    def on_charts_timed(charts, generation) -> None:  # when the worker's result reaches the GUI thread
        marks.setdefault("gui", time.perf_counter())
        on_charts(charts, generation)

    pane._on_charts = on_charts_timed  # the pane's worker callback looks the method up when it runs
    load_charts = pane_module.load_charts

    def load_charts_timed(*args, **kwargs):  # on the worker: the queries themselves (the first call: the tab's)
        started = time.perf_counter()
        try:
            return load_charts(*args, **kwargs)
        finally:
            marks.setdefault("queries", time.perf_counter() - started)

    pane_module.load_charts = load_charts_timed
    probe = Probe()

    def redraw(change) -> dict[str, float]:
        """Make the change, wait for the tab's new charts, paint them, then wait for the other tabs'
        data; the times in ms."""
        marks.clear()
        probe.start()
        grabbing[0] = True
        t0 = time.perf_counter()
        change()
        run_loop(lambda: "complete" in marks or bool(failures))
        grabbing[0] = False
        painted = marks.get("painted", 0.0)
        if failures:
            raise SystemExit(f"the pane failed: {failures}")
        pause(AFTER_PAINT_MS)
        probe.stop()
        return {"total": (painted - t0) * 1000, "query": (marks["gui"] - t0) * 1000,
                "in worker": marks["queries"] * 1000,
                "update": (marks["shown"] - marks["gui"]) * 1000, "paint": (painted - marks["shown"]) * 1000,
                "complete": (max(marks["complete"], painted) - t0) * 1000,
                "gap_query": probe.longest_gap(t0, marks["gui"]), "gap_all": probe.longest_gap(t0, probe.ticks[-1]),
                "gap_cpu": probe.longest_gap_cpu()[1]}

    first = redraw(connection.start)  # opens the home, reads the controls' choices, draws
    print(f"first draw (open the home, read the choices, draw, paint): {first['total']:.0f} ms; "
          f"{pane.charts.total.records:,} records shown; load average "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if pictures is not None:
        pictures.mkdir(parents=True, exist_ok=True)
        for tab in range(pane.tabs.count()):
            pane.tabs.setCurrentIndex(tab)
            pause(50)
            target = pictures / f"revenue_pane_{tab}.png"
            pane.grab().save(str(target))
            print(f"picture of the {pane.tabs.tabText(tab)!r} tab: {target}")
        pane.tabs.setCurrentIndex(0)

    print(f"{'redraw after a change of':40} {'median ms':>10} {'worst ms':>9}   {'to data':>7} {'queries':>7} "
          f"{'update':>6} {'paint':>6} {'all tabs':>8}   {'gap in query':>12} {'gap in all':>10} {'its CPU':>7}")
    results = []
    for name, tab, prepare, change, undo, unprepare in pane_changes(pane):
        pane.tabs.setCurrentIndex(tab)
        if prepare is not None:
            redraw(prepare)
        runs = []
        for i in range(repeat + 1):  # the first is a warm-up
            result = redraw(change)
            if i:
                runs.append(result)
            redraw(undo)
        if unprepare is not None:
            redraw(unprepare)
        median = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        worst = {key: max(r[key] for r in runs) for key in runs[0]}
        print(f"{name:40} {median['total']:10.1f} {worst['total']:9.1f}   {median['query']:7.1f} "
              f"{median['in worker']:7.1f} {median['update']:6.1f} {median['paint']:6.1f} {median['complete']:8.1f}   "
              f"{worst['gap_query']:12.1f} {worst['gap_all']:10.1f} "
              f"{max(runs, key=lambda r: r['gap_all'])['gap_cpu']:7.1f}")
        results.append((name, median, worst))
    print("Medians of the parts: to data: from the change to the tab's data on the GUI thread, of which queries: "
          "load_charts on the worker; update: the charts and table set; paint: the pane painted; all tabs: to "
          "every tab's data read (`redrawn`). Gaps: the longest the GUI thread could not react (worst of the runs), "
          "while the queries ran and in the whole redraw (to 50 ms after all tabs' data), and the GUI thread's own CPU "
          "time in the latter (the rest of it the thread waited: for a core, or for the GIL).")

    # The other tabs are brought up to date when chosen: the cost of choosing one after a redraw.
    pane.tabs.setCurrentIndex(0)
    print(f"{'choosing a tab after a redraw':40} {'median ms':>10} {'worst ms':>9}")
    for tab in (1, 2, 3):
        runs = []
        for i in range(repeat + 1):
            redraw(pane_changes(pane)[0][3])  # 3 channels: every tab's charts are out of date
            started = time.perf_counter()
            pane.tabs.setCurrentIndex(tab)
            pane.grab()
            if i:
                runs.append((time.perf_counter() - started) * 1000)
            pane.tabs.setCurrentIndex(0)
            redraw(pane_changes(pane)[0][4])
        print(f"{pane.tabs.tabText(tab):40} {statistics.median(runs):10.1f} {max(runs):9.1f}")
    print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    pane.close()
    connection.close()
    app.processEvents()
    shutil.rmtree(home.root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20, help="buying lines per segment on average")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--cache", type=Path, help="a cache file to build or reuse (default: a temporary one); "
                        "the end-to-end part works on a copy of it")
    parser.add_argument("--part", choices=("both", "aggregation", "pane"), default="both",
                        help="the aggregations alone, the real pane end to end, or both (the default)")
    parser.add_argument("--pictures", type=Path, help="save a picture of each of the pane's tabs in this folder")
    args = parser.parse_args()

    folder = tempfile.TemporaryDirectory() if args.cache is None else None
    path = args.cache or Path(folder.name) / "cache.duckdb"
    cache = Cache(path)
    cursor = cache.cursor()
    rows = cursor.execute("SELECT count(*) FROM revenue_records").fetchall()[0][0]
    if not rows:
        started = time.perf_counter()
        rows = generate(cache, args.lines)
        print(f"generated {rows:,} revenue records in {time.perf_counter() - started:.1f} s")
        # Measured as the app opens a synced cache. In the process that wrote the 6M rows, redraws
        # run about twice as slow until the cache is reopened (docs/performance.md).
        cursor.close()
        cache.close()
        cache = Cache(path)
        cursor = cache.cursor()
    size = os.path.getsize(path) / 2**20
    print(f"{rows:,} records ({rows / (DAYS * SEGMENTS * AGENCIES * CHANNELS):.2%} of the dense cube), "
          f"cache {size:,.0f} MB; {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"DuckDB threads {cursor.execute('SELECT current_setting(' + repr('threads') + ')').fetchall()[0][0]}")

    everything = R.RevenueFilter(FIRST, LAST, "USD")
    public = frozenset(f"segment-{i:03d}" for i in range(SEGMENTS) if i % 5)  # 400 of 500 public
    scenarios = [
        ("all, by week (first draw)", lambda: R.revenue_view(cursor, everything, "week")),
        ("filter: 3 channels", lambda: R.revenue_view(
            cursor, R.RevenueFilter(FIRST, LAST, "USD", channels={"channel-01", "channel-02", "channel-19"}), "week")),
        ("filter: 5 agencies + Unknown", lambda: R.revenue_view(cursor, R.RevenueFilter(
            FIRST, LAST, "USD", agencies={None, *(f"agency-{i:02d}" for i in range(5))}), "week")),
        ("filter: 400 public segments", lambda: R.revenue_view(
            cursor, R.RevenueFilter(FIRST, LAST, "USD", public_segments=public), "week")),
        ("filter: 1 segment", lambda: R.revenue_view(
            cursor, R.RevenueFilter(FIRST, LAST, "USD", segments={"segment-007"}), "week")),
        ("range: last 90 days, by day", lambda: R.revenue_view(
            cursor, R.RevenueFilter(LAST - dt.timedelta(days=89), LAST, "USD"), "day")),
        ("range: one year, by week", lambda: R.revenue_view(
            cursor, R.RevenueFilter(LAST - dt.timedelta(days=364), LAST, "USD"), "week")),
        ("granularity: 3 years by day", lambda: R.revenue_view(cursor, everything, "day")),
        ("granularity: 3 years by month", lambda: R.revenue_view(cursor, everything, "month")),
        ("compare 2 agencies, by week", lambda: R.compare(cursor, everything, "week", "agency", "agency-01", "agency-02")),
        ("compare 2 years, by month", lambda: R.compare_periods(
            cursor, R.RevenueFilter(LAST - dt.timedelta(days=364), LAST, "USD"), "month",
            LAST - dt.timedelta(days=729))),
        ("member counts, 5 segments, by day", lambda: R.member_counts(
            cursor, [f"segment-{i:03d}" for i in range(5)], FIRST, LAST, "day")),
    ]
    print(f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.part != "pane":
        print(f"{'aggregations of a redraw':40} {'median ms':>10} {'worst ms':>10}")
        for name, fn in scenarios:
            median, worst = timed(args.repeat, fn)
            print(f"{name:40} {median:10.1f} {worst:10.1f}")
    cursor.close()
    cache.close()
    if args.part != "aggregation":
        pane_benchmark(path, args.repeat, args.pictures)
    if folder is not None:
        folder.cleanup()


if __name__ == "__main__":
    main()
