"""Peak memory of an audience download at two sizes, side by side: memory must stay bounded as rows grow.

Usage: python benchmarks/download_memory.py [--rows 1000000 4000000] [--chunk 20000] [--slice 500000] [--heap]

For each size, a home is built in a temporary folder with rows/2 profiles of one workspace, each with
an email and an IDFA (so `rows` identity rows), and an audience of all of them (platform is iOS).
The download then runs in a fresh process that only opens the home and downloads, so the process's
peak resident memory (ru_maxrss) is the download's; with --heap, the Python heap's peak is measured
too (tracemalloc, in a second run, since it slows the writing several times). Unix only (the
resource module).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.engines.downloads import CHUNK_ROWS, SLICE_ROWS, Part, download
from app.engines.home import OpenHome
from app.paths import resolve_home

IOS = {"version": 1, "root": {"id": "root", "type": "group", "match": "all", "exclude": False, "children": [
    {"id": "ios", "type": "device", "exclude": False, "field": "platform", "operator": "equals", "value": "iOS"}]}}


def build(root: Path, rows: int) -> None:
    """A home whose cache holds rows/2 iOS profiles with an email and an IDFA each, and the audience "Everyone"."""
    home = resolve_home(root)
    with OpenHome.open(home, user="bench") as opened:
        workspace = opened.workspaces.create("Bench", [("platform", "iOS")])
        opened.audiences.create("Everyone", workspace_ids=[workspace.id], criteria=IOS)
        cache_path = home.cache_path
    profiles = rows // 2
    con = duckdb.connect(str(cache_path))
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"""
        INSERT INTO profiles SELECT {workspace.id}, i, TIMESTAMP '2026-01-01' + to_seconds(i % 86400),
            TIMESTAMP '2026-10-01' + to_seconds(i % 2592000), CAST(i % 10000 AS SMALLINT) FROM range(1, {profiles} + 1) t(i);
        INSERT INTO identities SELECT {workspace.id}, i, 'email', 'user', 'shopper' || i || '@example.com',
            TIMESTAMP '2026-10-01' FROM range(1, {profiles} + 1) t(i);
        INSERT INTO identities SELECT {workspace.id}, i, 'ios_idfa', 'device', upper(CAST(uuid() AS VARCHAR)),
            TIMESTAMP '2026-10-01' FROM range(1, {profiles} + 1) t(i);
        INSERT INTO devices (workspace_id, mpid, platform, updated_at)
            SELECT {workspace.id}, i, 'iOS', TIMESTAMP '2026-10-01' FROM range(1, {profiles} + 1) t(i);
        UPDATE cache_meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) WHERE key = 'data_version';
    """)
    con.close()
    with OpenHome.open(home, user="bench") as opened:
        opened.cache.refresh_catalogs()  # here, so the measured process only downloads


def measure(root: Path, chunk: int, slice_rows: int, trace: bool) -> dict:
    """Runs in a fresh process: one download of the audience; its peak memory and time."""
    home = resolve_home(root)
    with OpenHome.open(home, user="bench") as opened:
        audience = opened.audiences.get("Everyone")
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if trace:
            tracemalloc.start()
        started = time.perf_counter()
        result = download(opened, [Part(audience)], root / "everyone.zip", identity_types=["email", "ios_idfa"],
                          chunk_rows=chunk, slice_rows=slice_rows)
        seconds = time.perf_counter() - started
        heap = tracemalloc.get_traced_memory()[1] if trace else None
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    scale = 1 if platform.system() == "Darwin" else 1024  # ru_maxrss is bytes on macOS, KiB on Linux
    return {"rows": result.total_rows, "seconds": seconds, "rss_before": before * scale, "rss_peak": peak * scale,
            "heap_peak": heap, "zip_bytes": (root / "everyone.zip").stat().st_size}


def run_measure(root: Path, chunk: int, slice_rows: int, trace: bool) -> dict:
    output = subprocess.run([sys.executable, __file__, "--measure", str(root), "--chunk", str(chunk),
                             "--slice", str(slice_rows)]
                            + (["--trace"] if trace else []), check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def mb(n: int | None) -> str:
    return "-" if n is None else f"{n / 2**20:,.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 4_000_000])
    parser.add_argument("--chunk", type=int, default=CHUNK_ROWS, help="rows fetched at a time")
    parser.add_argument("--slice", type=int, default=SLICE_ROWS, help="rows DuckDB sorts at a time")
    parser.add_argument("--heap", action="store_true", help="also measure the Python heap's peak (slow)")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.chunk, args.slice, args.trace)))
        return
    results = []
    with tempfile.TemporaryDirectory(prefix="download-memory-") as folder:
        for rows in args.rows:
            root = Path(folder) / f"home-{rows}"
            build(root, rows)
            plain = run_measure(root, args.chunk, args.slice, trace=False)
            heap = run_measure(root, args.chunk, args.slice, trace=True)["heap_peak"] if args.heap else None
            results.append({**plain, "heap_peak": heap})
    print(f"Python {platform.python_version()}, DuckDB {duckdb.__version__}, {platform.system()} {platform.machine()}, "
          f"{os.cpu_count()} CPUs; chunk {args.chunk:,} rows, slice {args.slice:,} rows\n")
    print("| identity rows | time | rows/s | RSS before | peak RSS | peak - before | Python heap peak | ZIP size |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['rows']:,} | {r['seconds']:.1f} s | {r['rows'] / r['seconds']:,.0f} | {mb(r['rss_before'])} | "
              f"{mb(r['rss_peak'])} | {mb(r['rss_peak'] - r['rss_before'])} | {mb(r['heap_peak'])} | "
              f"{mb(r['zip_bytes'])} |")


if __name__ == "__main__":
    main()
