"""Ingest and sync speed of the audience server, beside the limit of this machine.

Starts `audience-studio serve` as a child process on 127.0.0.1 (SQLite in a temporary folder),
sends the demo generator's batches through POST /v2/bulkevents (100 batches a request, as
mParticle's bulk API takes them) and reports events/s; then syncs the workspace into a fresh cache
with the app's own client (`SyncClient.pull`) and reports rows/s and MB/s, side by side in the same
run with DuckDB loading the same rows from local Parquet files into a fresh database (the limit
for a load on this machine). The server's peak memory (VmHWM of its process) is read while it
serves the sync, to show that pages are streamed.

Usage: python benchmarks/sync_speed.py [--profiles 20000] [--days 30] [--seed 7]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import socket
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


class CountingSession(requests.Session):
    """Counts the bytes of every reply body, for MB/s."""

    def __init__(self):
        super().__init__()
        self.received = 0

    def request(self, *args, **kwargs):
        reply = super().request(*args, **kwargs)
        self.received += len(reply.content)
        return reply


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
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

            # -- sync into a fresh cache ---------------------------------------------------------
            session = CountingSession()
            client = SyncClient(base, token, session=session)
            _, remote = client.workspaces()
            cache = Cache(folder / "synced.duckdb")
            started = time.perf_counter()
            report = client.pull(cache, RemoteWorkspace(remote[0].id, remote[0].name, remote[0].last_seq), 1)
            sync_s = time.perf_counter() - started
            server_rss = peak_rss_mb(server.pid)
            cursor = cache.cursor()
            rows = {t: cursor.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in TABLES}

            # -- the limit: DuckDB loading the same rows from local Parquet ----------------------
            parquet = folder / "parquet"
            parquet.mkdir()
            for table in TABLES:
                cursor.execute(f"COPY {table} TO '{parquet / (table + '.parquet')}' (FORMAT parquet)")
            cache.close()
            parquet_bytes = sum(p.stat().st_size for p in parquet.iterdir())
            limit = duckdb.connect(str(folder / "limit.duckdb"))
            started = time.perf_counter()
            for table in TABLES:
                limit.execute(f"CREATE TABLE {table} AS SELECT * FROM read_parquet('{parquet / (table + '.parquet')}')")
            limit.execute("CHECKPOINT")
            limit_s = time.perf_counter() - started
            limit.close()
        finally:
            server.terminate()
            server.wait(10)

    total_rows = sum(rows.values())
    load = os.getloadavg()
    print(f"{os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}, DuckDB {duckdb.__version__}; "
          f"load average {load[0]:.2f}")
    print(f"{args.profiles:,} profiles, {events:,} events in {sum(len(g) for g in groups.values()):,} batches; "
          f"{total_rows:,} cache rows after the sync\n")
    print("| | seconds | rows/s | MB/s | |")
    print("|---|---:|---:|---:|---|")
    print(f"| ingest (POST /v2/bulkevents, 2 senders) | {ingest_s:.1f} | {events / ingest_s:,.0f} events/s | | server peak {ingest_rss:,.0f} MB |")
    print(f"| sync (the app's client, Arrow IPC pages) | {sync_s:.1f} | {total_rows / sync_s:,.0f} | {session.received / 1e6 / sync_s:.1f} | "
          f"{report.pages} pages; server peak {server_rss:,.0f} MB |")
    print(f"| DuckDB from local Parquet (the limit) | {limit_s:.1f} | {total_rows / limit_s:,.0f} | {parquet_bytes / 1e6 / limit_s:.1f} | |")
    print(f"\nsync / limit: {limit_s / sync_s:.0%} of the limit's rows/s")


if __name__ == "__main__":
    main()
