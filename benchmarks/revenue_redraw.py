"""Revenue pane redraws: 3 years of daily revenue for 500 segments x 50 agencies x 20 channels.

Usage: python benchmarks/revenue_redraw.py [--lines 20] [--repeat 7] [--cache PATH]

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
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
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

from app.builder import revenue as R
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20, help="buying lines per segment on average")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--cache", type=Path, help="a cache file to build or reuse (default: a temporary one)")
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
    print(f"{'redraw':40} {'median ms':>10} {'worst ms':>10}")
    for name, fn in scenarios:
        median, worst = timed(args.repeat, fn)
        print(f"{name:40} {median:10.1f} {worst:10.1f}")
    cursor.close()
    cache.close()
    if folder is not None:
        folder.cleanup()


if __name__ == "__main__":
    main()
