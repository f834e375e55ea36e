"""Estimate speed: the compiled queries (sample and exact) beside hand-written DuckDB SQL, in one process.

Usage:
  python benchmarks/estimates.py --home DIR [--profiles 2000000] [--days 31] [--activity 1.78] [--repeat 7]

Builds the demo workspace in DIR when DIR holds none (2M profiles is ~40M events: a long build,
done once), then prints, for each question of the benchmark set, the median sample estimate, the
median exact count, the median of the fastest SQL we could write by hand for the same question,
the ratio exact / hand-written, and the process's peak memory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import statistics
import time
from pathlib import Path

import duckdb

from app.builder.compiler import Scope, compile_count
from app.builder.estimator import Estimator
from app.engines.demo import build_demo, home_has_workspaces
from app.engines.estimates import catalog_for
from app.engines.home import OpenHome
from app.paths import Home

END = dt.datetime(2026, 11, 1, 12, tzinfo=dt.timezone.utc)
NOW = END.replace(tzinfo=None)
WINDOW_START = NOW - dt.timedelta(days=30)


def within(amount: int, unit: str) -> dict:
    return {"type": "within", "amount": amount, "unit": unit}


def document(*children, match="all") -> dict:
    return {"version": 1, "root": {"id": "root", "type": "group", "match": match, "children": list(children)}}


INSTALLED_72H = {"id": "installed", "type": "event", "event_type": "install", "window": within(72, "hours")}
FEW_SESSIONS = {"id": "few-sessions", "type": "event", "event_type": "session_start", "frequency": {"operator": "lt", "value": 3}, "window": within(30, "days")}
PURCHASES = {"id": "purchases", "type": "event", "event_type": "commerce_event", "product_action": "purchase",
             "conditions": [{"attribute": "revenue", "operator": "gt", "value": 50}], "frequency": {"operator": "ge", "value": 2}, "window": within(30, "days")}
IN_US = {"id": "us", "type": "location", "field": "country", "operator": "equals", "value": "US"}
GMAIL = {"id": "gmail", "type": "identity", "identity_type": "email", "operator": "contains", "value": "gmail"}
NEAR_DENVER = {"id": "denver", "type": "location", "operator": "within", "latitude": 39.7392, "longitude": -104.9903, "radius": 50, "unit": "km"}
CAMPING = {"id": "camping", "type": "user_attribute", "attribute": "favorite_categories", "operator": "list_contains", "value": "camping"}

BENCHMARKS: list[tuple[str, dict, str]] = [
    (
        "installed in 72 h and < 3 sessions",
        document(INSTALLED_72H, FEW_SESSIONS),
        """
        SELECT count(*) FROM (
            SELECT DISTINCT mpid FROM events WHERE workspace_id = 1 AND event_type = 'install'
               AND ts >= $now - INTERVAL 72 HOUR AND ts <= $now AND ts >= $start) i
        WHERE NOT EXISTS (
            SELECT 1 FROM events s WHERE s.workspace_id = 1 AND s.event_type = 'session_start' AND s.mpid = i.mpid
               AND s.ts >= $start AND s.ts <= $now
            GROUP BY s.mpid HAVING count(*) >= 3)""",
    ),
    (
        ">= 2 purchases > 50, US, gmail",
        document(PURCHASES, IN_US, GMAIL),
        """
        SELECT count(*) FROM (
            SELECT mpid FROM events WHERE workspace_id = 1 AND event_type = 'commerce_event' AND product_action = 'purchase'
               AND revenue > 50 AND ts >= $start AND ts <= $now GROUP BY mpid HAVING count(*) >= 2) p
        SEMI JOIN (SELECT mpid FROM locations WHERE workspace_id = 1 AND lower(country) = 'us') l USING (mpid)
        SEMI JOIN (SELECT mpid FROM identities WHERE workspace_id = 1 AND identity_type = 'email' AND contains(lower(value), 'gmail')) g USING (mpid)""",
    ),
    (
        "nested and/or/exclude tree (7 criteria)",
        document(
            {"id": "mobile", "type": "group", "match": "any", "children": [
                {"id": "ios", "type": "device", "field": "platform", "operator": "equals", "value": "iOS"},
                {"id": "android", "type": "device", "field": "platform", "operator": "equals", "value": "Android"}]},
            {"id": "engaged", "type": "group", "match": "all", "children": [
                {"id": "sessions", "type": "event", "event_type": "session_start", "frequency": {"operator": "ge", "value": 5}, "window": within(30, "days")},
                {"id": "no-recent-purchase", "type": "group", "match": "any", "exclude": True, "children": [
                    {"id": "bought", "type": "event", "event_type": "commerce_event", "product_action": "purchase", "window": within(14, "days")},
                    {"id": "crashed", "type": "event", "event_type": "crash_report", "window": within(7, "days")}]}]},
            IN_US, CAMPING),
        """
        SELECT count(*) FROM (
            (SELECT mpid FROM devices WHERE workspace_id = 1 AND lower(platform) IN ('ios', 'android')
             INTERSECT
             SELECT mpid FROM events WHERE workspace_id = 1 AND event_type = 'session_start' AND ts >= $start AND ts <= $now
                 GROUP BY mpid HAVING count(*) >= 5)
            EXCEPT
            SELECT mpid FROM events WHERE workspace_id = 1 AND ts <= $now AND (
                (event_type = 'commerce_event' AND product_action = 'purchase' AND ts >= $now - INTERVAL 14 DAY)
                OR (event_type = 'crash_report' AND ts >= $now - INTERVAL 7 DAY))
        ) x
        SEMI JOIN (SELECT mpid FROM locations WHERE workspace_id = 1 AND lower(country) = 'us') l USING (mpid)
        SEMI JOIN (SELECT mpid FROM attributes WHERE workspace_id = 1 AND name = 'favorite_categories'
                   AND list_contains(list_transform(value_list, lambda x: lower(x)), 'camping')) c USING (mpid)"""
    ),
    (
        "within 50 km of Denver",
        document(NEAR_DENVER),
        """
        SELECT count(DISTINCT mpid) FROM locations WHERE workspace_id = 1
           AND latitude BETWEEN 39.29 AND 40.19
           AND 2 * 6371.0088 * asin(sqrt(pow(sin(radians(latitude - 39.7392) / 2), 2)
               + cos(radians(39.7392)) * cos(radians(latitude)) * pow(sin(radians(longitude + 104.9903) / 2), 2))) <= 50""",
    ),
    (
        "list attribute contains 'camping'",
        document(CAMPING),
        """
        SELECT count(DISTINCT mpid) FROM attributes WHERE workspace_id = 1 AND name = 'favorite_categories'
           AND list_contains(list_transform(value_list, lambda x: lower(x)), 'camping')""",
    ),
]


def median_ms(run, repeat: int) -> tuple[float, object]:
    result = run()  # warm-up
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def side_by_side(first, second, repeat: int) -> tuple[float, float, object]:
    """Medians of two queries run alternately (so a busy moment of the machine hits both), and the second's result."""
    first(), second()  # warm-up
    times_a, times_b = [], []
    result = None
    for index in range(repeat):
        # Which one goes first alternates too: the second of a pair finds the caches warmer.
        for run, times in ((first, times_a), (second, times_b))[:: 1 if index % 2 else -1]:
            started = time.perf_counter()
            outcome = run()
            times.append((time.perf_counter() - started) * 1000)
            if run is second:
                result = outcome
    return statistics.median(times_a), statistics.median(times_b), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", required=True, type=Path)
    parser.add_argument("--profiles", type=int, default=2_000_000)
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--activity", type=float, default=1.78,
                        help="session-rate multiplier of the generator (1.78: about 40M events for 2M profiles over 31 days)")
    args = parser.parse_args()

    home = Home(args.home.resolve())
    if not home_has_workspaces(home):
        started = time.perf_counter()
        build_demo(home, profiles=args.profiles, days=args.days, seed=7, end=END, activity=args.activity)
        print(f"built the workspace in {time.perf_counter() - started:.0f} s")
    with OpenHome.open(home) as opened:
        opened.cache.refresh_catalogs()
        cursor = opened.cache.cursor()
        events = cursor.execute("SELECT count(*) FROM events").fetchall()[0][0]
        profiles = cursor.execute("SELECT count(DISTINCT mpid) FROM profiles").fetchall()[0][0]
        catalog = catalog_for(opened, cursor)
        scope = Scope((1,), realtime_days=30)
        print(f"Workspace: {profiles:,} profiles, {events:,} events; {os.cpu_count()} cores, {platform.platform()}, "
              f"Python {platform.python_version()}, DuckDB {duckdb.__version__}")
        print()
        print("| question | sample (ms) | exact count (ms) | exact with node counts (ms) | compiled query (ms) "
              "| hand-written (ms) | compiled / hand | count | sample estimate |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        hand_cursor = opened.cache.cursor()
        # No result cache (it would answer repeats instantly); the universe's size stays cached, as in the app.
        estimator = Estimator(cursor, cache_size=0)
        for name, doc, sql in BENCHMARKS:
            def run(exact: bool, nodes: bool = False):
                return estimator.estimate(doc, scope=scope, catalog=catalog, now=END, exact=exact, nodes=nodes)
            sample_ms, sample = median_ms(lambda: run(False), args.repeat)
            exact_ms, exact = median_ms(lambda: run(True), args.repeat)
            nodes_ms, _ = median_ms(lambda: run(True, True), args.repeat)
            compiled = compile_count(doc, scope=scope, catalog=catalog, now=END)
            query = sql.replace("$now", "?").replace("$start", "?")
            params = [NOW if token.startswith("$now") else WINDOW_START for token in sql.split() if token.startswith("$")]
            compiled_ms, hand_ms, hand = side_by_side(
                lambda: cursor.execute(compiled.sql, compiled.params).fetchall()[0][0],
                lambda: hand_cursor.execute(query, params).fetchall()[0][0], args.repeat)
            mark = "" if hand == exact.count else f" (hand-written: {hand:,})"
            print(f"| {name} | {sample_ms:.1f} | {exact_ms:.1f} | {nodes_ms:.1f} | {compiled_ms:.1f} | {hand_ms:.1f} "
                  f"| {compiled_ms / hand_ms:.2f} | {exact.count:,}{mark} | {sample.count:,} |")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"\nPeak memory of the process: {peak:,.0f} MB")


if __name__ == "__main__":
    main()
