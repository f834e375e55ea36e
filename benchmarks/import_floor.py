"""The import's floor on this machine: DuckDB's own JSON reader loading the benchmark's files, unchecked.

    .venv/bin/python benchmarks/import_floor.py --keep /work/bench/imp50k [--rounds 3]

A what-if beside benchmarks/import_speed.py and import_ceiling.py. How long would the fastest engine
this stack offers need for the same two files, if it checked nothing? DuckDB parses JSON in C++ on
every core (`read_json` with explicit column types) and writes its own tables, so no Python touches
an event. This script loads both files (the app file as platforms, the CRM file as feed "CRM") into a
fresh cache that way, in one transaction, then refreshes the catalogs as the import does:

- one `read_json` of every field the cache keeps, into a temporary table (reading the file once per
  target table instead was slower);
- events and products inserted from it; each batch's profile state (identities, attributes, consent,
  device, location, attribution, first and last seen) staged from it and merged latest-wins by the
  cache's own merge (`CacheWriter._merge_latest`, `_merge_profiles`); committed; then the catalogs
  and sample, as after every import.

It leaves out, so the figure bounds from below an engine that reads with DuckDB and loads the cache
as it does now:

- every check: a malformed batch is not found, let alone named (the issue asks for file, line and
  field), and DuckDB's casts accept what the mapper refuses (numeric strings as timestamps...);
- exact mapping: platform names are not normalised, event names are the raw fields, install and
  upgrade are not told from other state transitions, purchase revenue is not summed from products;
- ordering: event ids are all 0 and batches carry no sequence, so latest-wins ties fall anywhere
  (numbering rows makes DuckDB's scan single-threaded: it doubled the events' time here).

Each round runs in a fresh child process; figures in docs/performance.md ("Import").
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_STATE = "STRUCT(consented BOOLEAN, timestamp_unixtime_ms BIGINT, document VARCHAR)"
_DEVICE_IDS = {"ios_advertising_id": "ios_idfa", "ios_idfv": "ios_idfv",
               "android_advertising_id": "android_advertising_id", "android_uuid": "android_uuid",
               "push_token": "push_token"}

#: Every field read, typed: DuckDB casts what it can and errors on the rest (never caught here).
COLUMNS = {
    "mpid": "BIGINT",
    "timestamp_unixtime_ms": "BIGINT",
    "events": "STRUCT(event_type VARCHAR, data STRUCT(timestamp_unixtime_ms BIGINT, event_name VARCHAR, "
              "screen_name VARCHAR, currency_code VARCHAR, product_action STRUCT(action VARCHAR, total_amount DOUBLE, "
              "products STRUCT(id VARCHAR, name VARCHAR, brand VARCHAR, category VARCHAR, price DOUBLE, quantity DOUBLE)[]), "
              "custom_attributes MAP(VARCHAR, VARCHAR)))[]",
    "application_info": "STRUCT(os VARCHAR, application_version VARCHAR, application_build_number VARCHAR)",
    "device_info": "STRUCT(platform VARCHAR, os_version VARCHAR, device_model VARCHAR, device_manufacturer VARCHAR, "
                   "network_carrier VARCHAR, " + ", ".join(f"{key} VARCHAR" for key in _DEVICE_IDS) + ")",
    "user_identities": "MAP(VARCHAR, VARCHAR)",
    "user_attributes": "MAP(VARCHAR, JSON)",
    "deleted_user_attributes": "VARCHAR[]",
    "consent_state": f"STRUCT(gdpr MAP(VARCHAR, {_STATE}), ccpa MAP(VARCHAR, {_STATE}))",
    "context": "STRUCT(location STRUCT(city_name VARCHAR, region_code VARCHAR, postal_code VARCHAR, dma_code VARCHAR, "
               "country_code VARCHAR, latitude DOUBLE, longitude DOUBLE))",
    "attribution_info": "STRUCT(service_provider VARCHAR, publisher VARCHAR, campaign VARCHAR)",
}


#: Tables whose row counts are printed, to compare with a real import of the same files.
ROW_COUNTS = ("events", "event_products", "profiles", "identities", "attributes", "consent", "devices", "locations",
              "attribution")


def _reader(path: Path, columns: dict[str, str]) -> str:
    spec = "{" + ", ".join(f"{name}: '{kind}'" for name, kind in columns.items()) + "}"
    return f"read_json('{path}', format = 'newline_delimited', columns = {spec})"


def _stage_state(cur, feed: str | None) -> None:
    """A stage_<table> per state table, from the batches read into `b`."""
    platform = f"'{feed}'" if feed else "application_info.os"
    when = "coalesce(timestamp_unixtime_ms, list_max(list_transform(events, lambda e: e.data.timestamp_unixtime_ms)))"
    common = f"1 AS workspace_id, mpid, {when} AS updated_at, 0::BIGINT AS seq, 0::BIGINT AS pos"
    cur.execute(f"""
        CREATE OR REPLACE TEMP TABLE stage_seen AS
        SELECT 1 AS workspace_id, mpid,
               least({when}, list_min(list_transform(events, lambda e: e.data.timestamp_unixtime_ms))) AS first_seen,
               greatest({when}, list_max(list_transform(events, lambda e: e.data.timestamp_unixtime_ms))) AS last_seen
        FROM b""")
    # The device identities in one pass: a list of (type, value) per batch, unnested.
    device_ids = ("[" + ", ".join(f"{{'t': '{kind}', 'v': device_info.{key}}}" for key, kind in _DEVICE_IDS.items())
                  + "]")
    staged = {
        "identities": f"""
            SELECT {common}, x.key AS identity_type, 'user' AS kind, x.value AS value, false AS deleted
            FROM (SELECT *, unnest(map_entries(user_identities)) AS x FROM b WHERE cardinality(user_identities) > 0)
            UNION ALL
            SELECT {common}, d.t AS identity_type, 'device' AS kind, d.v AS value, false AS deleted
            FROM (SELECT *, unnest(list_filter({device_ids}, lambda x: x.v IS NOT NULL)) AS d
                  FROM b WHERE device_info IS NOT NULL)""",
        "attributes": f"""
            SELECT {common}, x.key AS name,
                   CASE WHEN json_type(x.value) <> 'ARRAY' THEN x.value ->> '$' END AS value,
                   CASE WHEN json_type(x.value) = 'ARRAY' THEN TRY_CAST(x.value AS VARCHAR[]) END AS value_list,
                   CASE json_type(x.value) WHEN 'VARCHAR' THEN 'string' WHEN 'BOOLEAN' THEN 'boolean'
                        WHEN 'ARRAY' THEN 'list' ELSE 'number' END AS json_kind, false AS deleted
            FROM (SELECT *, unnest(map_entries(user_attributes)) AS x FROM b WHERE cardinality(user_attributes) > 0)
            UNION ALL
            SELECT {common}, unnest(deleted_user_attributes), NULL, NULL, 'string', true FROM b
            WHERE deleted_user_attributes IS NOT NULL""",
        "consent": f"""
            SELECT {common}, regulation, x.key AS purpose, x.value.consented AS consented, x.value.document AS document,
                   false AS deleted
            FROM (SELECT *, 'gdpr' AS regulation, unnest(map_entries(consent_state.gdpr)) AS x FROM b
                  WHERE cardinality(consent_state.gdpr) > 0
                  UNION ALL
                  SELECT *, 'ccpa', unnest(map_entries(consent_state.ccpa)) FROM b WHERE cardinality(consent_state.ccpa) > 0)""",
        "devices": f"""
            SELECT {common}, {platform} AS platform, application_info.os AS os, device_info.os_version AS os_version,
                   device_info.device_model AS device_model, device_info.device_manufacturer AS manufacturer,
                   device_info.network_carrier AS carrier, application_info.application_version AS app_version,
                   application_info.application_build_number AS build, false AS deleted
            FROM b WHERE device_info IS NOT NULL OR application_info IS NOT NULL""",
        "locations": f"""
            SELECT {common}, l.city_name AS city, l.region_code AS state, l.postal_code AS zip, l.dma_code AS dma,
                   l.country_code AS country, l.latitude AS latitude, l.longitude AS longitude, false AS deleted
            FROM (SELECT *, context.location AS l FROM b) WHERE l IS NOT NULL""",
        "attribution": f"""
            SELECT {common}, 'install' AS kind, attribution_info.service_provider AS service_provider,
                   attribution_info.publisher AS publisher, attribution_info.campaign AS campaign, false AS deleted
            FROM b WHERE attribution_info IS NOT NULL""",
    }
    for table, query in staged.items():
        cur.execute(f"CREATE OR REPLACE TEMP TABLE stage_{table} AS {query}")


def load_file(writer, path: Path, feed: str | None, times: dict[str, float]) -> int:
    """Everything for one file inside the writer's transaction; returns the events loaded."""
    from app.connectors.cache import _STATE_TABLES

    cur = writer._cur
    input_name = f"'{feed}'" if feed else "coalesce(application_info.os, 'unknown')"

    def timed(name, action):
        start = time.perf_counter()
        action()
        times[name] = times.get(name, 0.0) + time.perf_counter() - start

    before = cur.execute("SELECT count(*) FROM events").fetchone()[0]
    # One read into a temporary table: reading the file once per target table took 1.9 s longer.
    timed("read", lambda: cur.execute(f"CREATE OR REPLACE TEMP TABLE b AS SELECT * FROM {_reader(path, COLUMNS)}"))
    timed("events", lambda: cur.execute(f"""
        INSERT INTO events
        SELECT 0, 1, mpid, epoch_ms(coalesce(e.data.timestamp_unixtime_ms, timestamp_unixtime_ms)), e.event_type,
               coalesce(e.data.event_name, e.data.screen_name), {input_name}, e.data.product_action.action,
               e.data.product_action.total_amount, e.data.currency_code, e.data.custom_attributes
        FROM (SELECT mpid, timestamp_unixtime_ms, application_info, unnest(events) AS e
              FROM b)"""))
    timed("products", lambda: cur.execute("""
        INSERT INTO event_products
        SELECT 0, 1, mpid, epoch_ms(coalesce(e.data.timestamp_unixtime_ms, timestamp_unixtime_ms)), e.data.product_action.action,
               p.id, p.name, p.brand, p.category, p.price, p.quantity
        FROM (SELECT mpid, timestamp_unixtime_ms, e, unnest(e.data.product_action.products) AS p
              FROM (SELECT mpid, timestamp_unixtime_ms, unnest(events) AS e FROM b)
              WHERE len(e.data.product_action.products) > 0)"""))
    timed("state rows", lambda: _stage_state(cur, feed))

    def merge():
        writer._merge_profiles()
        for table in _STATE_TABLES:
            writer._merge_latest(table)
        for table in ("seen", *_STATE_TABLES):
            cur.execute(f"DROP TABLE stage_{table}")
        cur.execute("DROP TABLE b")

    timed("state merge", merge)
    events = cur.execute("SELECT count(*) FROM events").fetchone()[0] - before
    writer.events += events
    writer.batches += 1  # _finish only needs a non-zero count to record the load
    return events


def run(app_path: Path, crm_path: Path) -> dict:
    from app.connectors.cache import Cache

    times: dict[str, float] = {}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with tempfile.TemporaryDirectory() as folder:
        cache = Cache(Path(folder) / "cache.duckdb")
        try:
            begin = time.perf_counter()
            with cache.writing(source="import", description="floor") as writer:
                events = load_file(writer, app_path, None, times)
                events += load_file(writer, crm_path, "CRM", times)
                commit = time.perf_counter()
            times["commit"] = time.perf_counter() - commit
            refresh = time.perf_counter()
            cache.refresh_catalogs()
            times["catalogs"] = time.perf_counter() - refresh
            seconds = time.perf_counter() - begin
            cursor = cache.cursor()
            rows = {table: cursor.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in ROW_COUNTS}
            cursor.close()
        finally:
            cache.close()
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
    return {"events": events, "seconds": seconds, "cpu": cpu, "times": times, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path, required=True, help="the folder of import_speed.py's NDJSON files")
    parser.add_argument("--rounds", type=int, default=3, help="runs, each in a fresh process")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    app_path, crm_path = args.keep / "app.ndjson", args.keep / "crm.ndjson"
    if args.child:
        print(json.dumps(run(app_path, crm_path)))
        return
    if not app_path.is_file() or not crm_path.is_file():
        parser.error(f"{args.keep} lacks app.ndjson or crm.ndjson: run import_speed.py --keep {args.keep} first")
    print(f"load average before: {os.getloadavg()[0]:.2f}; {os.cpu_count()} cpus")
    results = []
    for round_ in range(args.rounds):
        out = subprocess.run([sys.executable, __file__, "--keep", str(args.keep), "--child"],
                             check=True, capture_output=True, text=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        results.append(result)
        parts = ", ".join(f"{name} {seconds:.2f}" for name, seconds in result["times"].items())
        print(f"round {round_ + 1}: {result['events']:,} events in {result['seconds']:.2f} s "
              f"({result['events'] / result['seconds']:,.0f} events/s), {result['cpu']:.1f} CPU-s; {parts}")
    print("rows loaded:", ", ".join(f"{table} {count:,}" for table, count in results[-1]["rows"].items()))
    rates = [r["events"] / r["seconds"] for r in results]
    print(f"floor: {min(rates):,.0f} – {max(rates):,.0f} events/s (median {statistics.median(rates):,.0f}); "
          f"target 200,000")


if __name__ == "__main__":
    main()
