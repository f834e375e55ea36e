"""Insights speed on the demo home: the first page of members, why / why not for one profile, the overlap of
4 audiences and a breakdown by one attribute, each beside the exact count of the same audience.

Usage:
  python benchmarks/insights.py --home DIR [--profiles 50000] [--days 60] [--repeat 5]

Builds the demo workspaces in DIR when DIR holds none, then, for the demo's saved audiences of the US
workspace, prints the median time of each answer (the engine's own functions, as the Insights window and
`audiences members | why | overlap | breakdown` call them, at the demo's end) and its ratio to the median
exact count of that audience (the estimator's exact count, without per-node counts). The overlap's ratio is
to the sum of the four exact counts (it computes the four member sets). One process, one thread.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import time
from pathlib import Path

import duckdb

from app.builder.estimator import Estimator
from app.engines.demo import build_demo, home_has_workspaces
from app.engines.estimates import catalog_for, membership_resolver, scope_for
from app.engines.home import OpenHome
from app.engines.insights.breakdown import breakdown
from app.engines.insights.members_page import members_page
from app.engines.insights.overlap import overlap
from app.engines.insights.subjects import Subject
from app.engines.insights.why import explain, find_profile
from app.paths import Home

END = dt.datetime(2026, 11, 1, 12, tzinfo=dt.timezone.utc)
#: the demo's user attribute with a handful of values (breakdown by it)
BREAKDOWN_BY = "attribute:loyalty_tier"


def median_ms(run, repeat: int) -> tuple[float, object]:
    result = run()  # warm-up
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", required=True, type=Path)
    parser.add_argument("--profiles", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    home = Home(args.home.resolve())
    if not home_has_workspaces(home):
        started = time.perf_counter()
        build_demo(home, profiles=args.profiles, days=args.days, seed=7, end=END)
        print(f"built the demo in {time.perf_counter() - started:.0f} s")
    with OpenHome.open(home) as opened:
        opened.cache.refresh_catalogs()
        cursor = opened.cache.cursor()
        events = cursor.execute("SELECT count(*) FROM events").fetchone()[0]
        profiles = cursor.execute("SELECT count(DISTINCT mpid) FROM profiles").fetchone()[0]
        print(f"Demo home: {profiles:,} profiles, {events:,} events; {os.cpu_count()} cores, {platform.platform()}, "
              f"Python {platform.python_version()}, DuckDB {duckdb.__version__}; median of {args.repeat} after a warm-up")
        us = next(w for w in opened.workspaces.list() if w.name.startswith("US") or "US" in w.name)
        audiences = [a for a in opened.audiences.list() if tuple(a.workspace_ids) == (us.id,)]
        estimator = Estimator(cursor, cache_size=0)  # no result cache: repeats would be answered instantly
        catalog = catalog_for(opened, cursor)
        exact: dict[str, float] = {}

        print()
        print("| audience | members | exact count (ms) | first page of 50 (ms) | × exact | why, one profile (ms) | × exact "
              f"| breakdown by {BREAKDOWN_BY.split(':')[1]} (ms) | × exact |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for audience in audiences:
            subject = Subject.of(audience)
            scope = scope_for(opened, audience.workspace_ids, audience.input_ids)
            count_ms, estimate = median_ms(lambda: estimator.estimate(
                audience.criteria, scope=scope, catalog=catalog, now=END, exact=True, nodes=False,
                memberships=membership_resolver(opened)), args.repeat)
            exact[audience.name] = count_ms
            page_ms, page = median_ms(lambda: members_page(opened, subject, limit=50, now=END), args.repeat)
            if not page.members:
                print(f"| {audience.name} | 0 | {count_ms:.1f} | {page_ms:.1f} | {page_ms / count_ms:.1f} | – | – | – | – |")
                continue
            mpid = page.members[0].mpid
            why_ms, _ = median_ms(lambda: explain(opened, subject, find_profile(opened, subject, "mpid", str(mpid)),
                                                  now=END), args.repeat)
            by_ms, _ = median_ms(lambda: breakdown(opened, subject, BREAKDOWN_BY, now=END), args.repeat)
            print(f"| {audience.name} | {page.total:,} | {count_ms:.1f} | {page_ms:.1f} | {page_ms / count_ms:.1f} "
                  f"| {why_ms:.1f} | {why_ms / count_ms:.1f} | {by_ms:.1f} | {by_ms / count_ms:.1f} |")
            if page.total != estimate.count:
                print(f"  (the members query counts {page.total:,}, the estimate {estimate.count:,})")

        four = audiences[:4]
        overlap_ms, result = median_ms(lambda: overlap(opened, [Subject.of(a) for a in four], now=END), args.repeat)
        summed = sum(exact[a.name] for a in four)
        print()
        print(f"Overlap of 4 ({', '.join(a.name for a in four)}): {overlap_ms:.1f} ms, "
              f"{overlap_ms / summed:.1f} × the sum of their exact counts ({summed:.1f} ms); "
              f"{sum(1 for n in result.regions.values() if n)} non-empty regions of {len(result.regions)}")


if __name__ == "__main__":
    main()
