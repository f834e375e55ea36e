"""How fast could `import` go if mapping a batch cost nothing? A what-if beside benchmarks/import_speed.py.

    .venv/bin/python benchmarks/import_ceiling.py --keep /work/bench/imp50k [--rounds 3]

Takes the app-platform file that import_speed.py writes (`--keep` folder; generated there if missing)
and imports it into fresh caches the way `audience-studio import` does (worker processes, loading,
merging, catalogs), alternating two runs:

- real: the import as it is;
- free mapping: each worker still reads its chunk and parses every line with orjson, but instead of
  mapping the batches it hands back the chunk's tables as the real mapper made them beforehand
  (mapped once, untimed, and kept on disk). Everything after the mapping, in the workers and in
  the importing process, is the real code.

The second run is the ceiling that a faster mapper (native code, say) could reach with the rest
of the import as it is. Each run is a fresh child process; figures in docs/performance.md
("Import").
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: where the precomputed chunk results live (set for the child and inherited by its workers)
CHUNKS_VARIABLE = "AUDIENCE_STUDIO_CEILING_CHUNKS"


def free_map_lines(task):
    """A worker's job with the mapping taken out: read and parse the chunk, return the stored result."""
    import orjson

    loads = orjson.loads
    for line in task.lines().split(b"\n"):
        if line.strip():
            loads(line)
    with open(Path(os.environ[CHUNKS_VARIABLE]) / f"{task.first_seq}.pickle", "rb") as handle:
        return pickle.load(handle)


def precompute(app_path: Path, folder: Path) -> int:
    """Map every chunk of the file with the real mapper, as the import would cut it; keep the results."""
    from app.connectors import importer
    from app.connectors.import_worker import map_lines

    chunks = 0
    for task in importer._line_tasks([app_path], workspace_id=1, feed=None, skip_bad=False):
        with open(folder / f"{task.first_seq}.pickle", "wb") as handle:
            pickle.dump(map_lines(task), handle, protocol=pickle.HIGHEST_PROTOCOL)
        chunks += 1
    return chunks


def run(app_path: Path, free: bool) -> dict:
    """One measured import (in a child process)."""
    import logging
    import resource

    logging.disable(logging.WARNING)
    from app.connectors import importer
    from app.connectors.cache import Cache

    if free:
        # The pool pickles the function by name: workers import this module (sys.path travels with spawn).
        importer.map_lines = free_map_lines
    with tempfile.TemporaryDirectory() as folder:
        cache = Cache(Path(folder) / "cache.duckdb")
        started = time.perf_counter()
        report = importer.import_files(cache, [app_path], workspace_id=1, feed=None)
        seconds = time.perf_counter() - started
        cache.close()
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"events": report.events, "seconds": seconds, "events_per_s": report.events / seconds,
            "cpu_seconds": own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path, help="the folder of import_speed.py's NDJSON files (required)")
    parser.add_argument("--rounds", type=int, default=3, help="pairs of runs (real, free mapping), alternating")
    parser.add_argument("--child", nargs=2, metavar=("APP", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(run(Path(args.child[0]), args.child[1] == "free")))
        return

    if args.keep is None:
        parser.error("--keep FOLDER is required")
    app_path = args.keep / "app.ndjson"
    if not app_path.exists():
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "import_speed.py"), "--mode", "auto",
                        "--keep", str(args.keep)], check=True)
    with tempfile.TemporaryDirectory() as chunks:
        print("mapping every chunk once with the real mapper (not timed) ...", flush=True)
        print(f"  {precompute(app_path, Path(chunks))} chunks", flush=True)
        env = {**os.environ, CHUNKS_VARIABLE: chunks,
               "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "benchmarks"), os.environ.get("PYTHONPATH", "")])}
        results: dict[str, list[dict]] = {"real": [], "free": []}
        for _ in range(args.rounds):
            for mode in ("real", "free"):
                child = subprocess.run([sys.executable, __file__, "--child", str(app_path), mode], cwd=ROOT, env=env,
                                       capture_output=True, text=True, check=False)
                if child.returncode:
                    sys.exit(f"the {mode} run failed:\n{child.stderr}")
                results[mode].append(json.loads(child.stdout.strip().splitlines()[-1]))
                print(f"  {mode:5} {results[mode][-1]['events_per_s']:>9,.0f} events/s  "
                      f"{results[mode][-1]['seconds']:.2f} s  {results[mode][-1]['cpu_seconds']:.1f} CPU-s", flush=True)
    print(f"\nload average before the last run: {os.getloadavg()[0]:.2f}; {os.cpu_count()} cpus")
    for mode, label in (("real", "real import"), ("free", "mapping free (parse kept)")):
        rates = [r["events_per_s"] for r in results[mode]]
        print(f"{label:28} events/s best {max(rates):,.0f}, median {statistics.median(rates):,.0f}; "
              f"CPU-s median {statistics.median(r['cpu_seconds'] for r in results[mode]):.1f}")
    best = max(r["events_per_s"] for r in results["free"]) / max(r["events_per_s"] for r in results["real"])
    print(f"free mapping / real: {best:.2f}x (best runs); target 200,000 events/s")


if __name__ == "__main__":
    main()
