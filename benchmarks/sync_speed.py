"""Ingest and sync speed of the audience server, beside the limit of this machine.

Starts `audience-studio serve` as a child process on 127.0.0.1 (SQLite in a temporary folder),
sends the demo generator's batches through POST /v2/bulkevents (100 batches a request, as
mParticle's bulk API takes them) and reports events/s. Then, in the same run, a first sync of the
workspace into a fresh cache with the app's own client (`SyncClient.pull`) two ways:

- by snapshot (what the client does for an empty workspace): the server's snapshot is warmed first
  (GET /snapshot until it holds the newest batch; that build time is reported on its own line),
  then the timed sync downloads its Parquet parts and loads them in one transaction;
- by pages (the path before snapshots, and still the one for a workspace that holds rows already);

beside DuckDB loading the same rows from local Parquet files into a fresh database (the limit for
a load on this machine); rows/s, MB/s and the ratio to the limit. Every timed load ends with a
CHECKPOINT (the rows written to the database file, not only to DuckDB's log), and the snapshot
sync and the limit run --repeat times in turns (the machine is shared; the median is shown).
MB/s counts the parts' bytes as received. The server's peak memory (VmHWM of its process) is read
after each phase.

Usage: python benchmarks/sync_speed.py [--profiles 20000] [--days 30] [--seed 7] [--repeat 3] [--no-pages] [--folder DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import queue
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import duckdb
import requests

from app.connectors.cache import Cache
from app.connectors.demo_data import generate
from app.connectors.sync_client import RemoteWorkspace, SyncClient
from app.server.admin import Admin
from app.server.database import open_database

END = dt.datetime(2026, 11, 1, 12, tzinfo=dt.timezone.utc)
TABLES = ("profiles", "identities", "attributes", "consent", "devices", "locations", "attribution", "events", "event_products")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class PagesOnlyClient(SyncClient):
    """The app's client with the snapshot step left out: today's page-by-page first sync."""

    def _pull_snapshot(self, *args, **kwargs) -> None:
        return None


def write_parquet(cache: Cache, parquet: Path) -> None:
    cursor = cache.cursor()
    try:
        for table in TABLES:
            cursor.execute(f"COPY {table} TO '{parquet / (table + '.parquet')}' (FORMAT parquet)")
    finally:
        cursor.close()


def checkpoint(cache: Cache) -> None:
    """Write the load from DuckDB's write-ahead log into the database file, as the limit's load does."""
    cursor = cache.cursor()
    try:
        cursor.execute("CHECKPOINT")
    finally:
        cursor.close()


def cache_rows(cache: Cache) -> dict[str, int]:
    cursor = cache.cursor()
    try:
        return {t: cursor.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in TABLES}
    finally:
        cursor.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="runs of the snapshot sync and of the limit (the median is shown)")
    parser.add_argument("--no-pages", action="store_true",
                        help="leave out the page-by-page first sync (hours at 2M profiles; the limit's Parquet then comes "
                             "from the first snapshot sync)")
    parser.add_argument("--folder", type=Path, default=None,
                        help="work in this folder (kept) instead of a temporary one: the server's database and "
                             "snapshot of a 2M-profile workspace take tens of GB")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        if args.folder is not None:
            args.folder.mkdir(parents=True, exist_ok=False)
            folder = args.folder
        else:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        url = f"sqlite:///{folder / 'server.sqlite3'}"
        admin = Admin(open_database(url))
        admin.create_workspace("US")
        inputs = {name: admin.create_input("US", platform=name) for name in ("iOS", "Android", "Web")}
        inputs["CRM"] = admin.create_input("US", feed="CRM")
        admin.create_user("ann", ["US"])
        token = admin.create_token("ann")

        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", str(port), "--database", url,
                                   "--snapshot-dir", str(folder / "snapshots"),
                                   "--rate", "100000", "--burst", "100000", "--max-body-bytes", "64000000"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    requests.get(base + "/openapi.json", timeout=1)
                    break
                except requests.RequestException:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit(f"the server did not start: {server.stderr.read().decode() if server.stderr else ''}")
                    time.sleep(0.2)

            # -- ingest: two senders, as two app backends would. The batches are generated while they
            #    are sent (a bounded queue of 100-batch requests), so a 2M-profile workspace never has
            #    to fit in memory; generation shares the two cores with the server, as a real sender's
            #    own work would --------------------------------------------------------------------
            work: queue.Queue = queue.Queue(maxsize=64)
            counted = {"events": 0, "batches": 0}
            failures: list[str] = []

            def produce() -> None:
                pending: dict[str, list[dict]] = {name: [] for name in inputs}
                for item in generate(profiles=args.profiles, days=args.days, seed=args.seed, end=END):
                    os_name = (item.batch.get("application_info") or {}).get("os", "")
                    name = "CRM" if item.feed else {"ios": "iOS", "android": "Android"}.get(os_name.lower(), "Web")
                    pending[name].append(item.batch)
                    counted["events"] += len(item.batch.get("events") or [])
                    counted["batches"] += 1
                    if len(pending[name]) == 100:
                        work.put((name, pending[name]))
                        pending[name] = []
                    if counted["batches"] % 500_000 == 0:
                        print(f"  … {counted['batches']:,} batches, {counted['events']:,} events sent "
                              f"({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
                for name, group in pending.items():
                    if group:
                        work.put((name, group))
                for _ in range(2):
                    work.put(None)

            def send() -> None:
                with requests.Session() as http:
                    while (job := work.get()) is not None:
                        if failures:
                            continue  # drain, so the producer is never left blocked on a full queue
                        name, group = job
                        new = inputs[name]
                        reply = http.post(base + "/v2/bulkevents", json=group, auth=(new.input.api_key, new.secret), timeout=300)
                        if reply.status_code != 202:
                            failures.append(f"ingest failed: {reply.status_code} {reply.text[:300]}")

            started = time.perf_counter()
            threads = [threading.Thread(target=produce)] + [threading.Thread(target=send) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            if failures:
                raise SystemExit(failures[0])
            events, batches = counted["events"], counted["batches"]
            ingest_s = time.perf_counter() - started
            ingest_rss = peak_rss_mb(server.pid)

            # -- the server's snapshot, brought up to date (what "warm" means below) --------------
            with requests.Session() as http:
                http.headers["Authorization"] = f"Bearer {token}"
                me = http.get(base + "/v1/me", timeout=60).json()["workspaces"][0]
                last_seq = me["last_seq"]
                started = time.perf_counter()
                calls = 0
                while True:  # each request brings it up to date for at most 20 s, then serves what it has
                    calls += 1
                    listing = http.get(base + f"/v1/workspaces/{me['id']}/snapshot", timeout=900).json()
                    if listing["through"] >= last_seq:
                        break
                build_s = time.perf_counter() - started
            build_rss = peak_rss_mb(server.pid)

            client = SyncClient(base, token, timeout=900)
            _, remote = client.workspaces()
            workspace = RemoteWorkspace(remote[0].id, remote[0].name, remote[0].last_seq)
            parquet = folder / "parquet"
            parquet.mkdir()
            report = rows = None
            if not args.no_pages:
                # -- first sync by pages (today's path for a workspace that holds rows) ------------
                cache = Cache(folder / "by-pages.duckdb")
                started = time.perf_counter()
                report = PagesOnlyClient(base, token, timeout=900).pull(cache, workspace, 1)
                checkpoint(cache)  # the limit's time includes its CHECKPOINT too: compare like with like
                sync_s = time.perf_counter() - started
                server_rss = peak_rss_mb(server.pid)
                rows = cache_rows(cache)
                write_parquet(cache, parquet)  # the limit's input: the same rows as local Parquet files
                cache.close()

            # -- first sync by snapshot (warm), and the limit, in turns: the machine is shared, so
            #    each is run --repeat times and the median kept ------------------------------------
            snap_times, limit_times = [], []
            for attempt in range(args.repeat):
                cache = Cache(folder / f"by-snapshot-{attempt}.duckdb")
                started = time.perf_counter()
                snap_report = client.pull(cache, workspace, 1)
                checkpoint(cache)
                snap_times.append(time.perf_counter() - started)
                assert snap_report.snapshot, "the client did not use the snapshot"
                snap_rows = cache_rows(cache)
                if rows is None:  # no page sync: the first snapshot sync's rows are the limit's input
                    rows = snap_rows
                    write_parquet(cache, parquet)
                cache.close()
                (folder / f"by-snapshot-{attempt}.duckdb").unlink()
                assert rows == snap_rows, f"the two syncs differ: {snap_rows} != {rows}"

                limit = duckdb.connect(str(folder / f"limit-{attempt}.duckdb"))
                started = time.perf_counter()
                for table in TABLES:
                    limit.execute(f"CREATE TABLE {table} AS SELECT * FROM read_parquet('{parquet / (table + '.parquet')}')")
                limit.execute("CHECKPOINT")
                limit_times.append(time.perf_counter() - started)
                limit.close()
                (folder / f"limit-{attempt}.duckdb").unlink()  # at 2M profiles each copy is gigabytes
            snap_rss = peak_rss_mb(server.pid)
            parquet_bytes = sum(p.stat().st_size for p in parquet.iterdir())
            snap_s, limit_s = statistics.median(snap_times), statistics.median(limit_times)
        finally:
            server.terminate()
            server.wait(10)

    total_rows = sum(rows.values())
    load = os.getloadavg()
    print(f"{os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}, DuckDB {duckdb.__version__}; "
          f"load average after the run {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1 / 5 / 15 min)")
    print(f"{args.profiles:,} profiles, {events:,} events in {batches:,} batches; "
          f"{total_rows:,} cache rows after the sync\n")
    print("| | seconds | rows/s | MB/s | share of the limit | |")
    print("|---|---:|---:|---:|---:|---|")
    print(f"| ingest (POST /v2/bulkevents, 2 senders) | {ingest_s:.1f} | {events / ingest_s:,.0f} events/s | | | server peak {ingest_rss:,.0f} MB |")
    print(f"| server: snapshot brought up to date and exported | {build_s:.1f} | {total_rows / build_s:,.0f} | | | "
          f"{calls} requests; server peak {build_rss:,.0f} MB |")
    print(f"| first sync by snapshot (warm; Parquet parts) | {snap_s:.1f} | {total_rows / snap_s:,.0f} | "
          f"{snap_report.bytes / 1e6 / snap_s:.1f} | {limit_s / snap_s:.0%} | {snap_report.bytes / 1e6:.1f} MB; "
          f"median of {args.repeat}: {', '.join(f'{t:.1f}' for t in snap_times)} s; server peak {snap_rss:,.0f} MB |")
    if report is not None:
        print(f"| first sync by pages (Arrow IPC) | {sync_s:.1f} | {total_rows / sync_s:,.0f} | {report.bytes / 1e6 / sync_s:.1f} | "
              f"{limit_s / sync_s:.0%} | {report.bytes / 1e6:.1f} MB; {report.pages} pages; server peak {server_rss:,.0f} MB |")
    print(f"| DuckDB from local Parquet (the limit) | {limit_s:.1f} | {total_rows / limit_s:,.0f} | {parquet_bytes / 1e6 / limit_s:.1f} | 100% | "
          f"{parquet_bytes / 1e6:.1f} MB; median of {args.repeat}: {', '.join(f'{t:.1f}' for t in limit_times)} s |")
    print(f"\nsnapshot sync / limit: {limit_s / snap_s:.0%}; cold first sync (build + snapshot sync) / limit: "
          f"{limit_s / (build_s + snap_s):.0%}" + (f"; page sync / limit: {limit_s / sync_s:.0%}" if report else ""))


if __name__ == "__main__":
    main()
