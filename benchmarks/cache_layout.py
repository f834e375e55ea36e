"""Measures the cache's layout choices on a demo workspace, side by side in one process.

1. Events rewritten in (workspace, event type, time) order (what `Cache.optimize` does after the
   demo import) against the same events in arrival order.
2. Event attributes as a DuckDB MAP(VARCHAR, VARCHAR) against the same attributes as a JSON string.

Usage: python benchmarks/cache_layout.py [--profiles 200000] [--days 60] [--repeat 7]
Builds a demo home in a temporary folder, prints a table of median times and ratios.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import duckdb

from app.engines.demo import build_demo
from app.paths import Home

END = dt.datetime(2026, 11, 1, 12, tzinfo=dt.timezone.utc)

QUERIES = {
    "installed in the last 72 h": """
        SELECT count(DISTINCT mpid) FROM {events}
        WHERE workspace_id = 1 AND event_type = 'install' AND ts >= TIMESTAMP '2026-11-01 12:00:00' - INTERVAL 72 HOUR""",
    "fewer than 3 sessions in 30 days": """
        SELECT count(*) FROM profiles p LEFT JOIN (
            SELECT mpid, count(*) AS n FROM {events}
            WHERE workspace_id = 1 AND event_type = 'session_start' AND ts >= TIMESTAMP '2026-11-01 12:00:00' - INTERVAL 30 DAY
            GROUP BY mpid) s USING (mpid)
        WHERE p.workspace_id = 1 AND coalesce(s.n, 0) < 3""",
    ">= 2 purchases over 50 in 30 days": """
        SELECT count(*) FROM (SELECT mpid FROM {events}
            WHERE workspace_id = 1 AND event_type = 'commerce_event' AND product_action = 'purchase'
              AND revenue > 50 AND ts >= TIMESTAMP '2026-11-01 12:00:00' - INTERVAL 30 DAY
            GROUP BY mpid HAVING count(*) >= 2)""",
}

ATTRIBUTE_QUERIES = {
    "MAP: searches for 'tent'": """
        SELECT count(DISTINCT mpid) FROM events
        WHERE event_type = 'custom_event' AND event_name = 'Search' AND lower(attributes['query']) LIKE '%tent%'""",
    "JSON: searches for 'tent'": """
        SELECT count(DISTINCT mpid) FROM events_json
        WHERE event_type = 'custom_event' AND event_name = 'Search' AND lower(attributes ->> '$.query') LIKE '%tent%'""",
}


def median_ms(cur: duckdb.DuckDBPyConnection, sql: str, repeat: int) -> float:
    cur.execute(sql).fetchall()  # warm the buffer pool
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        cur.execute(sql).fetchall()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        home = Home(Path(folder))
        summary = build_demo(home, profiles=args.profiles, days=args.days, seed=7, end=END)
        con = duckdb.connect(str(home.cache_path))
        con.execute("CREATE TEMP TABLE events_arrival AS SELECT * FROM events ORDER BY event_id")
        con.execute("CREATE TEMP TABLE events_json AS SELECT * REPLACE (to_json(attributes)::VARCHAR AS attributes) FROM events")

        print(f"Demo workspace: {summary.profiles:,} profiles, {summary.events:,} events")
        print(f"Machine: {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}, DuckDB {duckdb.__version__}")
        print()
        print("| query | sorted (ms) | arrival order (ms) | arrival / sorted |")
        print("|---|---:|---:|---:|")
        for name, sql in QUERIES.items():
            sorted_ms = median_ms(con, sql.format(events="events"), args.repeat)
            arrival_ms = median_ms(con, sql.format(events="events_arrival"), args.repeat)
            print(f"| {name} | {sorted_ms:.1f} | {arrival_ms:.1f} | {arrival_ms / sorted_ms:.2f} |")
        print()
        print("| event attribute lookup | median (ms) |")
        print("|---|---:|")
        results = {name: median_ms(con, sql, args.repeat) for name, sql in ATTRIBUTE_QUERIES.items()}
        for name, ms in results.items():
            print(f"| {name} | {ms:.1f} |")
        map_ms, json_ms = results.values()
        print(f"\nJSON / MAP: {json_ms / map_ms:.2f}")
        con.close()


if __name__ == "__main__":
    main()
