"""The local DuckDB cache: its schema, loading mapped batches into it, and what it can say about itself.

The cache holds what was synced or imported and can always be rebuilt, so a schema change simply
recreates it. All times are naive TIMESTAMPs in UTC (the connection's TimeZone is pinned to UTC).

Profile state (identities, attributes, consent, device, location, attribution) is "latest wins" per
key; events are appended. There are no primary keys: DuckDB's ART indexes cost memory and slow bulk
loads, and every write goes through `CacheWriter`, which merges keys itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import duckdb
import pyarrow as pa

from app.connectors.batches import Rows

log = logging.getLogger(__name__)

#: Bump when the tables change: an older cache is dropped and rebuilt (it holds nothing users made).
SCHEMA_VERSION = 1

#: Profiles are bucketed 0..9999 by a hash of the mpid; bucket < SAMPLE_BUCKETS is the estimate sample.
BUCKETS = 10_000
SAMPLE_BUCKETS = 100  # 1 % of profiles

_SCHEMA = """
CREATE TABLE cache_meta (key VARCHAR NOT NULL, value VARCHAR);
CREATE TABLE profiles (
    workspace_id INTEGER NOT NULL, mpid BIGINT NOT NULL,
    first_seen TIMESTAMP NOT NULL, last_seen TIMESTAMP NOT NULL,
    bucket SMALLINT NOT NULL);
CREATE TABLE identities (
    workspace_id INTEGER NOT NULL, mpid BIGINT NOT NULL, identity_type VARCHAR NOT NULL,
    kind VARCHAR NOT NULL, value VARCHAR NOT NULL, updated_at TIMESTAMP NOT NULL);
CREATE TABLE attributes (
    workspace_id INTEGER NOT NULL, mpid BIGINT NOT NULL, name VARCHAR NOT NULL,
    value VARCHAR, value_list VARCHAR[], json_kind VARCHAR NOT NULL,
    value_number DOUBLE, value_date TIMESTAMP, value_bool BOOLEAN, updated_at TIMESTAMP NOT NULL);
CREATE TABLE consent (
    workspace_id INTEGER NOT NULL, mpid BIGINT NOT NULL, regulation VARCHAR NOT NULL,
    purpose VARCHAR NOT NULL, consented BOOLEAN NOT NULL, document VARCHAR, updated_at TIMESTAMP NOT NULL);
CREATE TABLE devices (
    workspace_id INTEGER NOT NULL, mpid BIGINT NOT NULL, platform VARCHAR, os VARCHAR, os_version VARCHAR,
    device_model VARCHAR, manufacturer VARCHAR, carrier VARCHAR, app_version VARCHAR, build VARCHAR,
    updated_at TIMESTAMP NOT NULL);
CREATE TABLE locations (
    workspace_id INTEGER NOT NULL, mpid BIGINT NOT NULL, city VARCHAR, state VARCHAR, zip VARCHAR,
    dma VARCHAR, country VARCHAR, latitude DOUBLE, longitude DOUBLE, updated_at TIMESTAMP NOT NULL);
CREATE TABLE attribution (
    workspace_id INTEGER NOT NULL, mpid BIGINT NOT NULL, kind VARCHAR NOT NULL, service_provider VARCHAR,
    publisher VARCHAR, campaign VARCHAR, updated_at TIMESTAMP NOT NULL);
CREATE TABLE events (
    event_id BIGINT NOT NULL, workspace_id INTEGER NOT NULL, mpid BIGINT NOT NULL, ts TIMESTAMP NOT NULL,
    event_type VARCHAR NOT NULL, event_name VARCHAR, input VARCHAR NOT NULL, product_action VARCHAR,
    revenue DOUBLE, currency VARCHAR, attributes MAP(VARCHAR, VARCHAR));
CREATE TABLE event_products (
    event_id BIGINT NOT NULL, workspace_id INTEGER NOT NULL, mpid BIGINT NOT NULL, ts TIMESTAMP NOT NULL,
    product_action VARCHAR, product_id VARCHAR, name VARCHAR, brand VARCHAR, category VARCHAR,
    price DOUBLE, quantity DOUBLE);
CREATE TABLE attribute_catalog (
    workspace_id INTEGER NOT NULL, name VARCHAR NOT NULL, detected_type VARCHAR NOT NULL,
    profiles BIGINT NOT NULL);
CREATE TABLE event_catalog (
    workspace_id INTEGER NOT NULL, event_type VARCHAR NOT NULL, event_name VARCHAR,
    events BIGINT NOT NULL, last_at TIMESTAMP);
CREATE TABLE event_attribute_catalog (
    workspace_id INTEGER NOT NULL, event_type VARCHAR NOT NULL, event_name VARCHAR,
    attribute VARCHAR NOT NULL, detected_type VARCHAR NOT NULL);
CREATE TABLE loads (
    loaded_at TIMESTAMP NOT NULL, source VARCHAR NOT NULL, description VARCHAR,
    batches BIGINT NOT NULL, events BIGINT NOT NULL);
"""

# (table, key columns, value columns, arrow types of the staged rows in Rows' tuple order)
_STATE_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "identities": (("workspace_id", "mpid", "identity_type"), ("kind", "value")),
    "attributes": (("workspace_id", "mpid", "name"), ("value", "value_list", "json_kind")),
    "consent": (("workspace_id", "mpid", "regulation", "purpose"), ("consented", "document")),
    "devices": (("workspace_id", "mpid", "platform"), ("os", "os_version", "device_model", "manufacturer", "carrier", "app_version", "build")),
    "locations": (("workspace_id", "mpid"), ("city", "state", "zip", "dma", "country", "latitude", "longitude")),
    "attribution": (("workspace_id", "mpid", "kind"), ("service_provider", "publisher", "campaign")),
}

_STAGE_TYPES: dict[str, list[tuple[str, pa.DataType]]] = {
    "identities": [("workspace_id", pa.int32()), ("mpid", pa.int64()), ("identity_type", pa.string()), ("kind", pa.string()), ("value", pa.string())],
    "attributes": [("workspace_id", pa.int32()), ("mpid", pa.int64()), ("name", pa.string()), ("value", pa.string()), ("value_list", pa.list_(pa.string())), ("json_kind", pa.string()), ("deleted", pa.bool_())],
    "consent": [("workspace_id", pa.int32()), ("mpid", pa.int64()), ("regulation", pa.string()), ("purpose", pa.string()), ("consented", pa.bool_()), ("document", pa.string())],
    "devices": [("workspace_id", pa.int32()), ("mpid", pa.int64()), ("platform", pa.string()), ("os", pa.string()), ("os_version", pa.string()), ("device_model", pa.string()), ("manufacturer", pa.string()), ("carrier", pa.string()), ("app_version", pa.string()), ("build", pa.string())],
    "locations": [("workspace_id", pa.int32()), ("mpid", pa.int64()), ("city", pa.string()), ("state", pa.string()), ("zip", pa.string()), ("dma", pa.string()), ("country", pa.string()), ("latitude", pa.float64()), ("longitude", pa.float64())],
    "attribution": [("workspace_id", pa.int32()), ("mpid", pa.int64()), ("kind", pa.string()), ("service_provider", pa.string()), ("publisher", pa.string()), ("campaign", pa.string())],
}

# Typed views of an attribute's value, derived once at load so queries never parse strings.
_ATTRIBUTE_TYPED = """
    CASE WHEN json_kind IN ('number', 'string') THEN TRY_CAST(value AS DOUBLE) END AS value_number,
    CASE WHEN json_kind = 'string' AND length(value) >= 10 AND value[5] = '-'
         THEN TRY_CAST(TRY_CAST(value AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP) END AS value_date,
    CASE lower(value) WHEN 'true' THEN true WHEN 'false' THEN false END AS value_bool
"""


def first_row(cursor: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> tuple | None:
    """The first row of a query, with the result read to its end (DuckDB refuses new work on a
    cursor whose last result was left half-read)."""
    rows = cursor.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def sample_bucket(mpid: int) -> int:
    """The profile's bucket, the same as the cache computes (md5 of the decimal mpid, low 64 bits LE)."""
    digest = hashlib.md5(str(mpid).encode()).digest()
    return int.from_bytes(digest[8:], "little") % BUCKETS


@dataclass(frozen=True)
class CacheCounts:
    profiles: int
    identities: int
    events: int


class Cache:
    """One DuckDB connection per process; each thread works on its own `cursor()`."""

    def __init__(self, path: Path | str, *, read_only: bool = False):
        self.path = Path(path) if path != ":memory:" else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._con = duckdb.connect(str(path), read_only=read_only)
        self._con.execute("SET TimeZone = 'UTC'")
        self._write_lock = threading.Lock()
        if not read_only:
            self._ensure_schema()

    # -- plumbing -------------------------------------------------------------------------------

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for the calling thread (DuckDB connections are not shared between threads)."""
        cursor = self._con.cursor()
        cursor.execute("SET TimeZone = 'UTC'")
        return cursor

    def close(self) -> None:
        self._con.close()

    def _ensure_schema(self) -> None:
        con = self._con
        tables = {row[0] for row in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
        if "cache_meta" in tables:
            version = first_row(con, "SELECT value FROM cache_meta WHERE key = 'schema_version'")
            if version and int(version[0]) == SCHEMA_VERSION:
                return
            log.warning("cache schema %s is not %s: rebuilding the cache", version and version[0], SCHEMA_VERSION)
            con.execute("BEGIN")
            for table in tables:
                con.execute(f'DROP TABLE "{table}"')
            con.execute("COMMIT")
        con.execute("BEGIN")
        con.execute(_SCHEMA)
        con.executemany("INSERT INTO cache_meta VALUES (?, ?)", [
            ("schema_version", str(SCHEMA_VERSION)), ("data_version", "0"), ("next_event_id", "1"), ("source", "empty"),
        ])
        con.execute("COMMIT")

    # -- facts about the cache ------------------------------------------------------------------

    def meta(self, key: str, cursor: duckdb.DuckDBPyConnection | None = None) -> str | None:
        row = first_row(cursor or self.cursor(), "SELECT value FROM cache_meta WHERE key = ?", [key])
        return row[0] if row else None

    @property
    def data_version(self) -> int:
        """Grows with every load; estimates cached under an older version are stale."""
        return int(self.meta("data_version") or 0)

    # -- writing --------------------------------------------------------------------------------

    @contextmanager
    def writing(self, *, source: str, description: str = "") -> Iterator["CacheWriter"]:
        """One transaction: everything added commits together, or nothing does."""
        with self._write_lock:
            cursor = self.cursor()
            cursor.execute("BEGIN TRANSACTION")
            writer = CacheWriter(cursor)
            try:
                yield writer
                writer._finish(source, description)
                cursor.execute("COMMIT")
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            finally:
                cursor.close()

    def refresh_catalogs(self) -> None:
        """Rebuild the event and attribute catalogs if a load changed the data since they were built.

        Kept out of each load's transaction: an import of many files rebuilds them once at the end,
        and a load interrupted before this point is caught up the next time it is called.
        """
        with self._write_lock:
            cursor = self.cursor()
            try:
                data_version = self.meta("data_version", cursor)
                if self.meta("catalog_version", cursor) == data_version:
                    return
                cursor.execute("BEGIN TRANSACTION")
                _refresh_catalogs(cursor)
                cursor.execute("DELETE FROM cache_meta WHERE key = 'catalog_version'")
                cursor.execute("INSERT INTO cache_meta VALUES ('catalog_version', ?)", [data_version])
                cursor.execute("COMMIT")
            except BaseException:
                try:
                    cursor.execute("ROLLBACK")
                except duckdb.Error:  # the failure came before BEGIN: nothing to roll back
                    pass
                raise
            finally:
                cursor.close()

    def optimize(self) -> None:
        """Rewrite events in (workspace, type, time) order so zone maps skip most row groups."""
        with self._write_lock:
            cursor = self.cursor()
            cursor.execute("BEGIN TRANSACTION")
            try:
                for table, order in (("events", "workspace_id, event_type, ts"), ("event_products", "workspace_id, ts")):
                    cursor.execute(f"CREATE TABLE {table}_sorted AS SELECT * FROM {table} ORDER BY {order}")
                    cursor.execute(f"DROP TABLE {table}")
                    cursor.execute(f"ALTER TABLE {table}_sorted RENAME TO {table}")
                cursor.execute("COMMIT")
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            finally:
                cursor.close()
            self._con.execute("CHECKPOINT")


class CacheWriter:
    """Adds mapped rows inside `Cache.writing()`'s transaction."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection):
        self._cur = cursor
        self._next_event_id = int(first_row(cursor, "SELECT value FROM cache_meta WHERE key = 'next_event_id'")[0])
        self.batches = 0
        self.events = 0
        self.workspaces: set[int] = set()

    def add(self, rows: Rows, batches: int) -> None:
        cur = self._cur
        base = self._next_event_id
        n = rows.event_count
        if n:
            events = pa.table({
                "event_id": pa.array(range(base, base + n), pa.int64()),
                "workspace_id": pa.array(rows.ev_workspace, pa.int32()),
                "mpid": pa.array(rows.ev_mpid, pa.int64()),
                "ts": pa.array(rows.ev_ts, pa.int64()).cast(pa.timestamp("ms")),
                "event_type": pa.array(rows.ev_type, pa.string()),
                "event_name": pa.array(rows.ev_name, pa.string()),
                "input": pa.array(rows.ev_input, pa.string()),
                "product_action": pa.array(rows.ev_action, pa.string()),
                "revenue": pa.array(rows.ev_revenue, pa.float64()),
                "currency": pa.array(rows.ev_currency, pa.string()),
                "attributes": pa.MapArray.from_arrays(
                    pa.array(rows.ev_attr_offsets, pa.int32()),
                    pa.array(rows.ev_attr_keys, pa.string()),
                    pa.array(rows.ev_attr_values, pa.string()),
                ),
            })
            cur.register("stage_events", events)
            cur.execute("INSERT INTO events SELECT * FROM stage_events")
            cur.unregister("stage_events")
        if rows.pr_event:
            products = pa.table({
                "event_id": pa.array([base + i for i in rows.pr_event], pa.int64()),
                "name": pa.array(rows.pr_name, pa.string()),
                "product_id": pa.array(rows.pr_id, pa.string()),
                "brand": pa.array(rows.pr_brand, pa.string()),
                "category": pa.array(rows.pr_category, pa.string()),
                "price": pa.array(rows.pr_price, pa.float64()),
                "quantity": pa.array(rows.pr_quantity, pa.float64()),
            })
            cur.register("stage_products", products)
            cur.execute("""
                INSERT INTO event_products
                SELECT p.event_id, e.workspace_id, e.mpid, e.ts, e.product_action, p.product_id, p.name,
                       p.brand, p.category, p.price, p.quantity
                FROM stage_products p JOIN events e ON e.event_id = p.event_id
                WHERE e.event_id >= ?""", [base])
            cur.unregister("stage_products")
        self._next_event_id = base + n
        self.events += n
        self.batches += batches

        if rows.seen:
            self._merge_profiles(rows.seen)
        for table in _STATE_TABLES:
            staged = getattr(rows, table)
            if staged:
                self._merge_latest(table, staged)
        self.workspaces.update(ws for ws, *_ in rows.seen)

    def _merge_profiles(self, seen: list[tuple[int, int, int, int]]) -> None:
        cur = self._cur
        ws, mpid, first, last = zip(*seen)
        stage = pa.table({
            "workspace_id": pa.array(ws, pa.int32()),
            "mpid": pa.array(mpid, pa.int64()),
            "first_seen": pa.array(first, pa.int64()).cast(pa.timestamp("ms")),
            "last_seen": pa.array(last, pa.int64()).cast(pa.timestamp("ms")),
        })
        cur.register("stage_seen", stage)
        cur.execute("""
            CREATE OR REPLACE TEMP TABLE merged_profiles AS
            SELECT workspace_id, mpid, min(first_seen) AS first_seen, max(last_seen) AS last_seen
            FROM (SELECT workspace_id, mpid, first_seen, last_seen FROM profiles SEMI JOIN stage_seen USING (workspace_id, mpid)
                  UNION ALL SELECT workspace_id, mpid, first_seen, last_seen FROM stage_seen)
            GROUP BY workspace_id, mpid""")
        cur.execute("DELETE FROM profiles USING merged_profiles m WHERE profiles.workspace_id = m.workspace_id AND profiles.mpid = m.mpid")
        cur.execute(f"""
            INSERT INTO profiles
            SELECT workspace_id, mpid, first_seen, last_seen, (md5_number_lower(mpid::VARCHAR) % {BUCKETS})::SMALLINT
            FROM merged_profiles""")
        cur.execute("DROP TABLE merged_profiles")
        cur.unregister("stage_seen")

    def _merge_latest(self, table: str, staged: list[tuple]) -> None:
        """Keep, per key, the newest of what the table has and what was staged (ties go to the staged)."""
        cur = self._cur
        keys, values = _STATE_TABLES[table]
        fields = _STAGE_TYPES[table]
        columns = list(zip(*staged))
        arrays = {name: pa.array(columns[i], kind) for i, (name, kind) in enumerate(fields)}
        arrays["updated_at"] = pa.array(columns[len(fields)], pa.int64()).cast(pa.timestamp("ms"))
        arrays["seq"] = pa.array(columns[len(fields) + 1], pa.int64())
        if "deleted" not in arrays:
            arrays["deleted"] = pa.array([False] * len(staged), pa.bool_())
        cur.register("stage_state", pa.table(arrays))

        key_list = ", ".join(keys)
        value_list = ", ".join(values)
        cur.execute(f"""
            CREATE OR REPLACE TEMP TABLE merged_state AS
            SELECT * FROM (
                SELECT {key_list}, {value_list}, updated_at, -1 AS seq, false AS deleted
                FROM {table} SEMI JOIN stage_state USING ({key_list})
                UNION ALL
                SELECT {key_list}, {value_list}, updated_at, seq, deleted FROM stage_state)
            QUALIFY row_number() OVER (PARTITION BY {key_list} ORDER BY updated_at DESC, seq DESC) = 1""")
        match = " AND ".join(f"{table}.{k} IS NOT DISTINCT FROM m.{k}" for k in keys)
        cur.execute(f"DELETE FROM {table} USING merged_state m WHERE {match}")
        if table == "attributes":
            cur.execute(f"""
                INSERT INTO attributes
                SELECT {key_list}, value, value_list, json_kind, {_ATTRIBUTE_TYPED}, updated_at
                FROM merged_state WHERE NOT deleted""")
        else:
            cur.execute(f"INSERT INTO {table} SELECT {key_list}, {value_list}, updated_at FROM merged_state WHERE NOT deleted")
        cur.execute("DROP TABLE merged_state")
        cur.unregister("stage_state")

    def _finish(self, source: str, description: str) -> None:
        cur = self._cur
        if self.batches:
            cur.execute("UPDATE cache_meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) WHERE key = 'data_version'")
            cur.execute("UPDATE cache_meta SET value = ? WHERE key = 'next_event_id'", [str(self._next_event_id)])
            cur.execute("UPDATE cache_meta SET value = ? WHERE key = 'source'", [source])
            cur.execute(
                "INSERT INTO loads VALUES (?, ?, ?, ?, ?)",
                [dt.datetime.now(dt.timezone.utc).replace(tzinfo=None), source, description, self.batches, self.events],
            )


def _refresh_catalogs(cur: duckdb.DuckDBPyConnection) -> None:
    """Rebuild the catalogs that the builder's pickers and the compiler's identifiers come from."""
    cur.execute("DELETE FROM attribute_catalog")
    cur.execute("""
        INSERT INTO attribute_catalog
        SELECT workspace_id, name,
               CASE WHEN bool_or(json_kind = 'list') THEN 'list'
                    WHEN bool_and(value_bool IS NOT NULL) THEN 'boolean'
                    WHEN bool_and(value_number IS NOT NULL) THEN 'number'
                    WHEN bool_and(value_date IS NOT NULL) THEN 'date'
                    ELSE 'string' END,
               count(*)
        FROM attributes GROUP BY workspace_id, name""")
    cur.execute("DELETE FROM event_catalog")
    cur.execute("""
        INSERT INTO event_catalog
        SELECT workspace_id, event_type, event_name, count(*), max(ts)
        FROM events GROUP BY workspace_id, event_type, event_name""")
    cur.execute("DELETE FROM event_attribute_catalog")
    cur.execute("""
        INSERT INTO event_attribute_catalog
        SELECT workspace_id, event_type, event_name, key,
               CASE WHEN bool_and(TRY_CAST(v AS DOUBLE) IS NOT NULL) THEN 'number'
                    WHEN bool_and(lower(v) IN ('true', 'false')) THEN 'boolean'
                    WHEN bool_and(length(v) >= 10 AND v[5] = '-' AND TRY_CAST(v AS TIMESTAMPTZ) IS NOT NULL) THEN 'date'
                    ELSE 'string' END
        FROM (SELECT workspace_id, event_type, event_name, unnest(map_keys(attributes)) AS key,
                     unnest(map_values(attributes)) AS v
              FROM events WHERE cardinality(attributes) > 0)
        GROUP BY workspace_id, event_type, event_name, key""")
