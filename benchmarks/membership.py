"""What the membership engine (app.engines.membership) costs per audience: a full recalculation of every live
audience against the incremental runs the app makes.

Builds a demo home in a temporary folder, makes N Active audiences of the demo's kinds (its real-time
audiences, cloned in turn), then times:
1. the first calculation of all of them (the baseline: every member enters);
2. after an import of new events for 1 % of the profiles: the incremental run the import hook makes
   (`after_load`: only the profiles the import touched are calculated again; recency windows wait for the
   clock's interval) and, on the same data, a full recalculation (`refresh(full=True)`) for comparison, with
   their ratio; the audiences the incremental run found current now are checked to hold what the full
   recalculation finds;
3. the clock 15 minutes later (`run_due`): audiences whose windows slid are recalculated, the others not;
4. nothing changed (`refresh` again): only the checks;
and the storage 13 months of daily rows take (synthetic rows for the same audiences, in a copy of the cache).

Usage: python benchmarks/membership.py [--profiles 50000] [--days 30] [--audiences 50]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from app.connectors.importer import SourcedBatch, import_batches
from app.engines import membership
from app.engines.demo import build_demo
from app.engines.home import OpenHome
from app.paths import Home

END = dt.datetime(2026, 11, 1, 12, tzinfo=dt.timezone.utc)


def _ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def new_events(opened: OpenHome, fraction: float, at: dt.datetime) -> list[SourcedBatch]:
    """A session and a purchase for `fraction` of each workspace's profiles, at `at`."""
    rows = opened.cache.cursor().execute(
        "SELECT workspace_id, mpid FROM profiles WHERE bucket < ?", [int(10_000 * fraction)]).fetchall()
    out = []
    for workspace_id, mpid in rows:
        batch = {"mpid": mpid, "timestamp_unixtime_ms": _ms(at), "environment": "production",
                 "application_info": {"os": "IOS"}, "device_info": {"platform": "iOS"},
                 "events": [{"event_type": "session_start", "data": {"timestamp_unixtime_ms": _ms(at) - 60_000}},
                            {"event_type": "commerce_event", "data": {
                                "timestamp_unixtime_ms": _ms(at), "currency_code": "USD",
                                "product_action": {"action": "purchase", "total_amount": 80.0, "transaction_id": f"b-{mpid}",
                                                   "products": [{"id": "p1", "name": "Tent", "category": "camping",
                                                                 "price": 80.0, "quantity": 1}]}}}]}
        out.append(SourcedBatch(workspace_id, None, batch, "benchmark", f"mpid {mpid}"))
    return out


def timed(label: str, run) -> tuple[str, float, membership.RunReport]:
    started = time.perf_counter()
    report = run()
    return label, time.perf_counter() - started, report


def history_bytes(cache_path: Path, audiences: int, days: int) -> tuple[int, int]:
    """(cache bytes, bytes added by `days` daily rows per audience) in a copy of the cache."""
    copy = cache_path.with_name("history-copy.duckdb")
    shutil.copy(cache_path, copy)
    con = duckdb.connect(str(copy))
    con.execute("CHECKPOINT")
    before = copy.stat().st_size
    con.execute(f"""
        INSERT INTO membership_daily
        SELECT 100000 + a, 0, DATE '2025-10-01' + CAST(d AS INTEGER), 50000 + d * 7, d % 500, d % 300
        FROM range({audiences}) t(a), range({days}) u(d)""")
    con.execute("CHECKPOINT")
    con.close()
    after = copy.stat().st_size
    copy.unlink()
    return before, after - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--audiences", type=int, default=50)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="membership-bench-"))
    try:
        home = Home(folder / "home")
        started = time.perf_counter()
        summary = build_demo(home, profiles=args.profiles, days=args.days, seed=7, end=END)
        print(f"demo: {summary.profiles:,} profiles, {summary.events:,} events in {time.perf_counter() - started:.0f} s")
        with OpenHome.open(home, user="bench") as opened:
            kinds = [a for a in opened.audiences.list(kind="realtime")]
            for audience in kinds:
                if audience.status == "active":
                    opened.audiences.deactivate(audience.id)
            live = []
            for n in range(args.audiences):
                copy = opened.audiences.clone(kinds[n % len(kinds)].id)
                live.append(opened.audiences.activate(copy.id))
            now = END
            results = [timed("first calculation (baseline)", lambda: membership.refresh(opened, now))]
            later = now + dt.timedelta(minutes=5)
            batches = new_events(opened, 0.01, later)
            started = time.perf_counter()
            import_batches(opened.cache, batches, source="benchmark")
            imported = time.perf_counter() - started
            incremental = timed(f"after an import of {len(batches):,} batches: incremental (the hook)",
                                lambda: membership.after_load(opened, later))
            results.append(incremental)
            exact = [a for a, v in incremental[2].incremental
                     if v == membership.WHOLE and membership.status(opened, a, later).as_of == later]
            check = opened.cache.cursor()
            check.execute("CREATE TEMP TABLE bench_incremental AS SELECT audience_id, mpid FROM audience_members "
                          "WHERE variant_id = 0 AND list_contains(?, audience_id)", [exact])
            full = timed("same data: full recalculation", lambda: membership.refresh(opened, later, full=True))
            results.append(full)
            differ = check.execute("""
                SELECT count(*) FROM (
                    (SELECT audience_id, mpid FROM bench_incremental
                     EXCEPT SELECT audience_id, mpid FROM audience_members
                            WHERE variant_id = 0 AND list_contains(?, audience_id))
                    UNION ALL
                    (SELECT audience_id, mpid FROM audience_members WHERE variant_id = 0 AND list_contains(?, audience_id)
                     EXCEPT SELECT audience_id, mpid FROM bench_incremental))""", [exact, exact]).fetchone()[0]
            check.close()
            tick = later + dt.timedelta(minutes=15)
            results.append(timed("clock, 15 min later (run_due)", lambda: membership.run_due(opened, tick)))
            results.append(timed("nothing changed (refresh)", lambda: membership.refresh(opened, tick)))
            sizes = membership.statuses(opened, tick)
            failed = [key for key, status in sizes.items() if status.state != "ok"]
            cache_path = opened.home.cache_path
        print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs; import of the new events: {imported:.1f} s")
        print(f"{args.audiences} Active audiences cloned from the demo's {len(kinds)} real-time kinds; "
              f"failed: {len(failed)}; mean size {sum(s.size or 0 for s in sizes.values()) / max(len(sizes), 1):,.0f}")
        print()
        print("| run | seconds | calculated | left as they were | ms per calculated audience |")
        print("|---|---:|---:|---:|---:|")
        for label, seconds, report in results:
            count = len(report.calculated)
            per = f"{1000 * seconds / count:.0f}" if count else "–"
            print(f"| {label} | {seconds:.2f} | {count} | {len(report.unchanged)} | {per} |")
        print()
        print(f"full / incremental after the import: {full[1] / incremental[1]:.1f}× "
              f"({full[1]:.2f} s against {incremental[1]:.2f} s); "
              f"incremental calculated {len(incremental[2].incremental)} audiences for the touched profiles only, "
              f"{len(exact)} of them exact now; members differing from the full recalculation: {differ}")
        print(f"load average when done: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
        before, added = history_bytes(cache_path, args.audiences, 400)
        print()
        print(f"cache: {before / 2**20:.1f} MiB; 400 days of daily rows for {args.audiences} audiences add "
              f"{added / 2**20:.2f} MiB ({100 * added / before:.2f} % of the cache)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
