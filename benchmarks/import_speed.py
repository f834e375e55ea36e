"""Measures `audience-studio import` speed on realistic mParticle batch files from the demo generator.

The requirement (Foundation issue): at least 200,000 events/s on the reference machine's 2 cores.

Writes the demo world's batches as NDJSON to a temporary folder (app-platform batches in one file,
the CRM feed's batches in another), then imports both into a fresh cache (the CRM file with
feed="CRM", as `audience-studio import --feed CRM` would), once with the in-process path forced and
once as `import` does by default ("auto": worker processes for large files), each run in its own
child process so peak memory is its own. Prints a table. The machine may be shared: the load average
before the runs and the CPU seconds used are printed with the times.

Usage: python benchmarks/import_speed.py [--profiles 50000] [--days 60] [--seed 7]
                                         [--mode both|in-process|auto|parallel] [--workers N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

END = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
ROOT = Path(__file__).resolve().parents[1]


def write_files(folder: Path, profiles: int, days: int, seed: int) -> tuple[Path, Path]:
    import orjson

    from app.connectors.demo_data import generate

    app_path, crm_path = folder / "app.ndjson", folder / "crm.ndjson"
    with open(app_path, "wb") as app, open(crm_path, "wb") as crm:
        for item in generate(profiles=profiles, days=days, seed=seed, end=END):
            (crm if item.feed else app).write(orjson.dumps(item.batch) + b"\n")
    return app_path, crm_path


def run_import(app_path: Path, crm_path: Path, parallel: bool | None, workers: int | None) -> dict:
    """One measured import of both files into a fresh cache (called in a child process)."""
    logging.disable(logging.WARNING)
    from app.connectors.cache import Cache
    from app.connectors.importer import import_files

    with tempfile.TemporaryDirectory() as folder:
        cache = Cache(Path(folder) / "cache.duckdb")
        result: dict = {"files": []}
        started = time.perf_counter()
        for path, feed in ((app_path, None), (crm_path, "CRM")):
            t0 = time.perf_counter()
            report = import_files(cache, [path], workspace_id=1, feed=feed, parallel=parallel, workers=workers)
            result["files"].append({"file": path.name, "feed": feed, "batches": report.batches, "events": report.events,
                                    "bad": len(report.bad), "seconds": time.perf_counter() - t0,
                                    "bytes": path.stat().st_size})
        result["seconds"] = time.perf_counter() - started
        cache.close()
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    result["peak_rss_mb"] = own.ru_maxrss / 1024  # Linux reports KiB
    result["worker_peak_rss_mb"] = children.ru_maxrss / 1024
    result["cpu_seconds"] = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    return result


def machine() -> list[tuple[str, str]]:
    import duckdb
    import pyarrow

    return [
        ("cpus", str(os.cpu_count())),
        ("platform", platform.platform()),
        ("python", platform.python_version()),
        ("duckdb", duckdb.__version__),
        ("pyarrow", pyarrow.__version__),
        ("load average (1 min) before", f"{os.getloadavg()[0]:.2f}"),
    ]


def table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mode", choices=("both", "in-process", "auto", "parallel"), default="both",
                        help="in-process forces the single-process path; auto is what `audience-studio import` does "
                             "(worker processes for files over importer.PARALLEL_MIN_BYTES); parallel forces workers "
                             "for every file; both runs in-process and auto side by side (the default)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes for the parallel path (default: one per core)")
    parser.add_argument("--keep", type=Path, default=None, help="write (or reuse) the NDJSON files in this folder")
    parser.add_argument("--child", nargs=4, metavar=("APP", "CRM", "MODE", "WORKERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:  # one measured run, in a fresh process
        app_path, crm_path, mode, workers = args.child
        parallel = {"in-process": False, "auto": None, "parallel": True}[mode]
        result = run_import(Path(app_path), Path(crm_path), parallel, int(workers) or None)
        print(json.dumps(result))
        return

    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        app_path, crm_path = folder / "app.ndjson", folder / "crm.ndjson"
        if not (app_path.exists() and crm_path.exists()):
            print(f"generating {args.profiles:,} profiles over {args.days} days (seed {args.seed}) ...", flush=True)
            t0 = time.perf_counter()
            app_path, crm_path = write_files(folder, args.profiles, args.days, args.seed)
            print(f"  done in {time.perf_counter() - t0:.0f} s: {app_path.stat().st_size / 1e6:,.0f} MB app, "
                  f"{crm_path.stat().st_size / 1e6:,.0f} MB CRM", flush=True)
        about = machine()
        modes = ["in-process", "auto"] if args.mode == "both" else [args.mode]
        results = {}
        for mode in modes:
            print(f"importing ({mode}) ...", flush=True)
            child = subprocess.run(
                [sys.executable, __file__, "--child", str(app_path), str(crm_path), mode, str(args.workers or 0)],
                cwd=ROOT, capture_output=True, text=True, check=False,
                env={**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")},
            )
            if child.returncode:
                sys.exit(f"the {mode} run failed:\n{child.stderr}")
            results[mode] = json.loads(child.stdout.strip().splitlines()[-1])

    rows = [["", *modes]]

    def add(label: str, value) -> None:
        rows.append([label, *(value(results[m]) for m in modes)])

    events = lambda r: sum(f["events"] for f in r["files"])  # noqa: E731
    megabytes = lambda r: sum(f["bytes"] for f in r["files"]) / 1e6  # noqa: E731
    add("batches", lambda r: f"{sum(f['batches'] for f in r['files']):,}")
    add("events", lambda r: f"{events(r):,}")
    add("MB of NDJSON", lambda r: f"{megabytes(r):,.0f}")
    add("bad batches", lambda r: f"{sum(f['bad'] for f in r['files'])}")
    add("seconds", lambda r: f"{r['seconds']:.2f}")
    add("events/s", lambda r: f"{events(r) / r['seconds']:,.0f}")
    add("MB/s", lambda r: f"{megabytes(r) / r['seconds']:,.1f}")
    for i, name in enumerate(("app file", "CRM file (feed)")):
        add(f"  {name} events/s", lambda r, i=i: f"{r['files'][i]['events'] / r['files'][i]['seconds']:,.0f}")
    add("CPU seconds (all processes)", lambda r: f"{r['cpu_seconds']:.1f}")
    add("peak RSS, importing process (MB)", lambda r: f"{r['peak_rss_mb']:,.0f}")
    add("peak RSS, largest worker (MB)", lambda r: f"{r['worker_peak_rss_mb']:,.0f}" if r["worker_peak_rss_mb"] else "-")
    print()
    print(table(rows))
    print()
    print(table([["machine", ""], *[[k, v] for k, v in about]]))
    target = 200_000
    best = max(events(r) / r["seconds"] for r in results.values())
    print(f"\ntarget {target:,} events/s: {'met' if best >= target else 'NOT met'} (best {best:,.0f})")


if __name__ == "__main__":
    main()
