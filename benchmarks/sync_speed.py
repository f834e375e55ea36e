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

Usage: python benchmarks/sync_speed.py [--profiles 20000] [--days 30] [--seed 7] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
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
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        url = f"sqlite:///{folder / 'server.sqlite3'}"
        admin = Admin(open_database(url))
        admin.create_workspace("US")
        inputs = {name: admin.create_input("US", platform=name) for name in ("iOS", "Android", "Web")}
        inputs["CRM"] = admin.create_input("US", feed="CRM")
        admin.create_user("ann", ["US"])
        token = admin.create_token("ann")

        groups: dict[str, list[dict]] = {name: [] for name in inputs}
        events = 0
        for item in generate(profiles=args.profiles, days=args.days, seed=args.seed, end=END):
            os_name = (item.batch.get("application_info") or {}).get("os", "")
            name = "CRM" if item.feed else {"ios": "iOS", "android": "Android"}.get(os_name.lower(), "Web")
            groups[name].append(item.batch)
            events += len(item.batch.get("events") or [])

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

            # -- ingest: two senders, as two app backends would ---------------------------------
            work = [(name, batches[i:i + 100]) for name, batches in groups.items() for i in range(0, len(batches), 100)]
            lock = threading.Lock()

            def send() -> None:
                with requests.Session() as http:
                    while True:
                        with lock:
                            if not work:
                                return
                            name, group = work.pop()
                        new = inputs[name]
                        reply = http.post(base + "/v2/bulkevents", json=group, auth=(new.input.api_key, new.secret), timeout=120)
                        if reply.status_code != 202:
                            raise SystemExit(f"ingest failed: {reply.status_code} {reply.text[:300]}")

            started = time.perf_counter()
            senders = [threading.Thread(target=send) for _ in range(2)]
            for sender in senders:
                sender.start()
            for sender in senders:
                sender.join()
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

            # -- first sync by pages (today's path for a workspace that holds rows) ----------------
            client = PagesOnlyClient(base, token, timeout=900)
            _, remote = client.workspaces()
            workspace = RemoteWorkspace(remote[0].id, remote[0].name, remote[0].last_seq)
            cache = Cache(folder / "by-pages.duckdb")
            started = time.perf_counter()
            report = client.pull(cache, workspace, 1)
            checkpoint(cache)  # the limit's time includes its CHECKPOINT too: compare like with like
            sync_s = time.perf_counter() - started
            server_rss = peak_rss_mb(server.pid)
            rows = cache_rows(cache)

            # The limit's input: the same rows as local Parquet files.
            parquet = folder / "parquet"
            parquet.mkdir()
            cursor = cache.cursor()
            for table in TABLES:
                cursor.execute(f"COPY {table} TO '{parquet / (table + '.parquet')}' (FORMAT parquet)")
            cursor.close()
            cache.close()
            parquet_bytes = sum(p.stat().st_size for p in parquet.iterdir())

            # -- first sync by snapshot (warm), and the limit, in turns: the machine is shared, so
            #    each is run --repeat times and the median kept ------------------------------------
            client = SyncClient(base, token, timeout=900)
            snap_times, limit_times = [], []
            for attempt in range(args.repeat):
                cache = Cache(folder / f"by-snapshot-{attempt}.duckdb")
                started = time.perf_counter()
                snap_report = client.pull(cache, workspace, 1)
                checkpoint(cache)
                snap_times.append(time.perf_counter() - started)
                assert snap_report.snapshot, "the client did not use the snapshot"
                snap_rows = cache_rows(cache)
                cache.close()
                assert rows == snap_rows, f"the two syncs differ: {snap_rows} != {rows}"

                limit = duckdb.connect(str(folder / f"limit-{attempt}.duckdb"))
                started = time.perf_counter()
                for table in TABLES:
                    limit.execute(f"CREATE TABLE {table} AS SELECT * FROM read_parquet('{parquet / (table + '.parquet')}')")
                limit.execute("CHECKPOINT")
                limit_times.append(time.perf_counter() - started)
                limit.close()
            snap_rss = peak_rss_mb(server.pid)
            snap_s, limit_s = statistics.median(snap_times), statistics.median(limit_times)
        finally:
            server.terminate()
            server.wait(10)

    total_rows = sum(rows.values())
    load = os.getloadavg()
    print(f"{os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}, DuckDB {duckdb.__version__}; "
          f"load average after the run {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1 / 5 / 15 min)")
    print(f"{args.profiles:,} profiles, {events:,} events in {sum(len(g) for g in groups.values()):,} batches; "
          f"{total_rows:,} cache rows after the sync\n")
    print("| | seconds | rows/s | MB/s | share of the limit | |")
    print("|---|---:|---:|---:|---:|---|")
    print(f"| ingest (POST /v2/bulkevents, 2 senders) | {ingest_s:.1f} | {events / ingest_s:,.0f} events/s | | | server peak {ingest_rss:,.0f} MB |")
    print(f"| server: snapshot brought up to date and exported | {build_s:.1f} | {total_rows / build_s:,.0f} | | | "
          f"{calls} requests; server peak {build_rss:,.0f} MB |")
    print(f"| first sync by snapshot (warm; Parquet parts) | {snap_s:.1f} | {total_rows / snap_s:,.0f} | "
          f"{snap_report.bytes / 1e6 / snap_s:.1f} | {limit_s / snap_s:.0%} | {snap_report.bytes / 1e6:.1f} MB; "
          f"median of {args.repeat}: {', '.join(f'{t:.1f}' for t in snap_times)} s; server peak {snap_rss:,.0f} MB |")
    print(f"| first sync by pages (Arrow IPC) | {sync_s:.1f} | {total_rows / sync_s:,.0f} | {report.bytes / 1e6 / sync_s:.1f} | "
          f"{limit_s / sync_s:.0%} | {report.bytes / 1e6:.1f} MB; {report.pages} pages; server peak {server_rss:,.0f} MB |")
    print(f"| DuckDB from local Parquet (the limit) | {limit_s:.1f} | {total_rows / limit_s:,.0f} | {parquet_bytes / 1e6 / limit_s:.1f} | 100% | "
          f"{parquet_bytes / 1e6:.1f} MB; median of {args.repeat}: {', '.join(f'{t:.1f}' for t in limit_times)} s |")
    print(f"\nsnapshot sync / limit: {limit_s / snap_s:.0%}; cold first sync (build + snapshot sync) / limit: "
          f"{limit_s / (build_s + snap_s):.0%}; page sync / limit: {limit_s / sync_s:.0%}")


if __name__ == "__main__":
    main()
