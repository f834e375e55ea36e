"""The local DuckDB cache: its schema, loading mapped batches into it, and what it can say about itself.

The cache holds what was synced or imported and can always be rebuilt, so a schema change simply
recreates it. All times are naive TIMESTAMPs in UTC (the connection's TimeZone is pinned to UTC).

Profile state (identities, attributes, consent, device, location, attribution) is "latest wins" per
key; events are appended. The revenue tables (revenue records, segment member counts, agencies) come
from the server's sync and are added where missing when a cache is opened (`_REVENUE_SCHEMA`), so
a new release does not throw away what was synced. There are no primary keys: DuckDB's ART indexes
cost memory and slow bulk loads, and every write goes through `CacheWriter`, which merges keys itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from app.connectors.batches import Rows
from app.connectors.staging import tables_of
from app.errors import InvalidInput, UserError

log = logging.getLogger(__name__)

#: Bump when the tables change: an older cache is dropped and rebuilt (it holds nothing users made).
#: New tables need no bump: they are created where missing on open, like the revenue tables.
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

#: The membership engine's tables (app.engines.membership, docs/membership.md), keyed by audience and variation
#: (variant_id 0: the whole audience): the current members with when they entered, the change log of the
#: real-time window, one row per audience and day (13 months), and each audience's last calculation. They hold
#: no workspace_id, so forgetting a workspace leaves the history (the next calculation records the drops).
#: load_profiles: the (workspace, mpid) pairs each load (data_version) touched, so the engine recalculates only
#: those profiles: a row with mpid NULL is a whole workspace (a snapshot), one with both NULL marks a load as
#: recorded. A data_version without rows (forget_workspaces, a load before the table) means "recalculate all".
_MEMBERSHIP_SCHEMA = """
CREATE TABLE IF NOT EXISTS audience_members (
    audience_id INTEGER NOT NULL, variant_id INTEGER NOT NULL, mpid BIGINT NOT NULL, entered_at TIMESTAMP NOT NULL);
CREATE TABLE IF NOT EXISTS membership_changes (
    audience_id INTEGER NOT NULL, variant_id INTEGER NOT NULL, mpid BIGINT NOT NULL, changed_at TIMESTAMP NOT NULL,
    entered BOOLEAN NOT NULL);
CREATE TABLE IF NOT EXISTS membership_daily (
    audience_id INTEGER NOT NULL, variant_id INTEGER NOT NULL, day DATE NOT NULL,
    size BIGINT NOT NULL, adds BIGINT NOT NULL, drops BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS membership_status (
    audience_id INTEGER NOT NULL, variant_id INTEGER NOT NULL, state VARCHAR NOT NULL, error VARCHAR,
    size BIGINT, as_of TIMESTAMP, attempted_at TIMESTAMP NOT NULL, inputs_key VARCHAR, data_version BIGINT);
CREATE TABLE IF NOT EXISTS load_profiles (data_version BIGINT NOT NULL, workspace_id INTEGER, mpid BIGINT);
"""

#: The revenue analytics' tables (docs/revenue.md). CREATE ... IF NOT EXISTS, run on every open: they
#: were added after SCHEMA_VERSION 1, and adding tables needs no rebuild of what users already synced.
#: A NULL agency or channel means the channel did not report that breakdown ("Unknown", never zero).
#: Tables added after the SCHEMA_VERSION schema, created in place when an older cache is opened.
#: attribute_deletions: when each attribute was last deleted, so that an older value arriving in a
#: later load (a later sync page, another file) does not bring a deleted attribute back.
#: pending_sample_profiles: the sampled profiles whose state a load changed since the sample was last
#: refreshed, so the refresh copies only theirs (`_refresh_sample`).
_ADDED_SCHEMA = """
CREATE TABLE IF NOT EXISTS attribute_deletions (
    workspace_id INTEGER NOT NULL, mpid BIGINT NOT NULL, name VARCHAR NOT NULL, updated_at TIMESTAMP NOT NULL);
CREATE TABLE IF NOT EXISTS pending_sample_profiles (mpid BIGINT NOT NULL);
""" + _MEMBERSHIP_SCHEMA
MEMBERSHIP_TABLES = ("audience_members", "membership_changes", "membership_daily", "membership_status", "load_profiles")
ADDED_TABLES = ("attribute_deletions", "pending_sample_profiles", *MEMBERSHIP_TABLES)

_REVENUE_SCHEMA = """
CREATE TABLE IF NOT EXISTS revenue_records (
    workspace_id INTEGER NOT NULL, day DATE NOT NULL, segment_key VARCHAR NOT NULL,
    agency VARCHAR, channel VARCHAR, impressions BIGINT, revenue DOUBLE NOT NULL, currency VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS segment_counts (
    workspace_id INTEGER NOT NULL, day DATE NOT NULL, segment_key VARCHAR NOT NULL, members BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS agencies (
    workspace_id INTEGER NOT NULL, agency VARCHAR NOT NULL, name VARCHAR, kind VARCHAR, country VARCHAR,
    contact VARCHAR);
CREATE TABLE IF NOT EXISTS revenue_daily_segments (
    workspace_id INTEGER NOT NULL, day DATE NOT NULL, currency VARCHAR NOT NULL, segment_key VARCHAR NOT NULL,
    revenue DOUBLE NOT NULL, impressions BIGINT, records BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS revenue_weekly (
    workspace_id INTEGER NOT NULL, week DATE NOT NULL, currency VARCHAR NOT NULL, segment_key VARCHAR NOT NULL,
    agency VARCHAR, channel VARCHAR, revenue DOUBLE NOT NULL, impressions BIGINT, records BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS revenue_monthly (
    workspace_id INTEGER NOT NULL, month DATE NOT NULL, currency VARCHAR NOT NULL, segment_key VARCHAR NOT NULL,
    agency VARCHAR, channel VARCHAR, revenue DOUBLE NOT NULL, impressions BIGINT, records BIGINT NOT NULL);
"""

#: Sums of revenue_records kept beside it by CacheWriter.add_revenue, so a chart redraw reads
#: thousands of rows instead of millions (benchmarks/revenue_redraw.py): per day and segment (time
#: series without an agency or channel filter), and per ISO week and per month with every breakdown
#: (a range's whole weeks or months; the days around them come from the records).
REVENUE_ROLLUPS = ("revenue_daily_segments", "revenue_weekly", "revenue_monthly")

#: The revenue tables' Arrow schemas, which CacheWriter.add_revenue & co. accept (columns in this order),
#: and their keys: a row whose key is already cached replaces it (a corrected report from a channel).
REVENUE_TABLES: dict[str, tuple[pa.Schema, tuple[str, ...]]] = {
    "revenue_records": (pa.schema([
        pa.field("workspace_id", pa.int32(), nullable=False), pa.field("day", pa.date32(), nullable=False),
        pa.field("segment_key", pa.string(), nullable=False), ("agency", pa.string()), ("channel", pa.string()),
        ("impressions", pa.int64()), pa.field("revenue", pa.float64(), nullable=False),
        pa.field("currency", pa.string(), nullable=False),
    ]), ("workspace_id", "day", "segment_key", "agency", "channel", "currency")),
    "segment_counts": (pa.schema([
        pa.field("workspace_id", pa.int32(), nullable=False), pa.field("day", pa.date32(), nullable=False),
        pa.field("segment_key", pa.string(), nullable=False), pa.field("members", pa.int64(), nullable=False),
    ]), ("workspace_id", "day", "segment_key")),
    "agencies": (pa.schema([
        pa.field("workspace_id", pa.int32(), nullable=False), pa.field("agency", pa.string(), nullable=False),
        ("name", pa.string()), ("kind", pa.string()), ("country", pa.string()), ("contact", pa.string()),
    ]), ("workspace_id", "agency")),
}

# (table, key columns, value columns, arrow types of the staged rows in Rows' tuple order)
_STATE_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "identities": (("workspace_id", "mpid", "identity_type"), ("kind", "value")),
    "attributes": (("workspace_id", "mpid", "name"), ("value", "value_list", "json_kind")),
    "consent": (("workspace_id", "mpid", "regulation", "purpose"), ("consented", "document")),
    "devices": (("workspace_id", "mpid", "platform"), ("os", "os_version", "device_model", "manufacturer", "carrier", "app_version", "build")),
    "locations": (("workspace_id", "mpid"), ("city", "state", "zip", "dma", "country", "latitude", "longitude")),
    "attribution": (("workspace_id", "mpid", "kind"), ("service_provider", "publisher", "campaign")),
}

#: The columns of load_profiles' staged rows.
_TOUCHED = pa.schema([("workspace_id", pa.int32()), ("mpid", pa.int64())])

# Typed views of an attribute's value, derived once at load so queries never parse strings.
_ATTRIBUTE_TYPED = """
    CASE WHEN json_kind IN ('number', 'string') THEN TRY_CAST(value AS DOUBLE) END AS value_number,
    CASE WHEN json_kind = 'string' AND length(value) >= 10 AND value[5] = '-'
         THEN TRY_CAST(TRY_CAST(value AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP) END AS value_date,
    CASE lower(value) WHEN 'true' THEN true WHEN 'false' THEN false END AS value_bool
"""


def memory_limit() -> str:
    """DuckDB's memory budget: a third of physical memory, at most 6 GB.

    DuckDB's default (80 %) lets one big import crowd out everything else on a laptop; above the
    budget it spills to a temporary folder beside the cache instead.
    """
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not exposed on this OS: a laptop-sized guess
        physical = 8 * 2**30
    return f"{max(512, min(6 * 1024, physical // 3 // 2**20))}MB"


def first_row(cursor: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> tuple | None:
    """The first row of a query, with the result read to its end (DuckDB refuses new work on a
    cursor whose last result was left half-read)."""
    rows = cursor.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def _remove(folder: Path | None) -> None:
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def _copy_unchanged(source: Path, target: Path) -> bool:
    """Copy the cache file and its write-ahead log (when there is one) to `target`; False if either changed
    meanwhile (DuckDB writes them in place, so a copy made while it wrote could mix two states)."""
    files = [(source, target), (source.with_name(source.name + ".wal"), target.with_name(target.name + ".wal"))]

    def state() -> list[tuple[int, int] | None]:
        found = []
        for path, _ in files:
            try:
                info = path.stat()
            except FileNotFoundError:
                found.append(None)
            else:
                found.append((info.st_size, info.st_mtime_ns))
        return found

    before = state()
    for (path, copy), seen in zip(files, before):
        if seen is not None:
            try:
                shutil.copyfile(path, copy)
            except FileNotFoundError:  # the log was checkpointed into the file and removed meanwhile
                return False
    return state() == before


def sample_bucket(mpid: int) -> int:
    """The profile's bucket, the same as the cache computes (md5 of the decimal mpid, low 64 bits LE)."""
    digest = hashlib.md5(str(mpid).encode()).digest()
    return int.from_bytes(digest[8:], "little") % BUCKETS


@dataclass(frozen=True)
class CacheCounts:
    profiles: int
    identities: int
    events: int


class CacheInUse(UserError):
    """Another process (the desktop app, usually) holds the cache open for writing."""


#: How often a snapshot is tried again when the cache changed while it was being copied.
SNAPSHOT_ATTEMPTS = 5


class Cache:
    """One DuckDB connection per process; each thread works on its own `cursor()`."""

    def __init__(self, path: Path | str, *, read_only: bool = False):
        self.path = Path(path) if path != ":memory:" else None
        #: The folder of the snapshot this cache reads (see `for_reading`), removed on close; None: the file itself.
        self.snapshot_dir: Path | None = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(str(path), read_only=read_only, config={"memory_limit": memory_limit()})
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                # DuckDB lets one process write a database file: say so instead of a raw IO error.
                raise CacheInUse(
                    f"The cache {path} is in use by another Audience Studio (or another program). "
                    "Close it, or choose another --home."
                ) from None
            raise UserError(f"The cache {path} cannot be opened: {exc}") from None
        self._con.execute("SET TimeZone = 'UTC'")
        self._write_lock = threading.Lock()
        try:
            if not read_only:
                self._ensure_schema()
            else:
                self._refuse_unreadable(self.meta("schema_version"))
        except BaseException:
            self._con.close()
            raise

    @classmethod
    def for_reading(cls, path: Path | str) -> Cache:
        """The cache for a command that only reads it. DuckDB lets one process at a time open a file for
        writing, and no other process may then open it at all, even read-only; so while the desktop app
        has the cache open, this reads a snapshot: a copy of the cache file and its write-ahead log (the
        commits not yet in the file) taken beside it, opened read-only and removed on `close()`.

        The copy is kept only if neither file changed while it was made (size and modification time
        before and after), so it holds exactly what was committed at one moment; a cache that keeps
        changing (an import running) is tried SNAPSHOT_ATTEMPTS times, then refused with a message."""
        try:
            return cls(path)
        except CacheInUse:
            pass
        source = Path(path)
        for attempt in range(SNAPSHOT_ATTEMPTS):
            folder: Path | None = None
            try:
                folder = Path(tempfile.mkdtemp(prefix=".cache-snapshot-", dir=source.parent))
                if _copy_unchanged(source, folder / source.name):
                    opened = cls(folder / source.name, read_only=True)
                    opened.snapshot_dir = folder
                    log.info("reading a snapshot of the cache %s (it is open for writing elsewhere)", source)
                    return opened
            except OSError as exc:  # no room for the copy, or the file cannot be read while it is open
                _remove(folder)
                raise CacheInUse(f"The cache {source} is in use by another Audience Studio, and a snapshot of it "
                                 f"could not be made to read ({exc.strerror or exc}). Close the app, or free "
                                 f"space in {source.parent}.") from None
            except BaseException:
                _remove(folder)
                raise
            _remove(folder)
            time.sleep(0.2 * (attempt + 1))
        raise CacheInUse(f"The cache {source} is being written by another Audience Studio (an import or sync?) and "
                         "kept changing while it was copied to be read; try again when it has finished.")

    # -- plumbing -------------------------------------------------------------------------------

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for the calling thread (DuckDB connections are not shared between threads)."""
        cursor = self._con.cursor()
        cursor.execute("SET TimeZone = 'UTC'")
        return cursor

    def close(self) -> None:
        self._con.close()
        if self.snapshot_dir is not None:
            shutil.rmtree(self.snapshot_dir, ignore_errors=True)

    def _ensure_schema(self) -> None:
        con = self._con
        tables = {row[0] for row in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
        if "cache_meta" in tables:
            version = first_row(con, "SELECT value FROM cache_meta WHERE key = 'schema_version'")
            stored = None if version is None else str(version[0])
            self._refuse_unreadable(stored)
            if stored is not None and int(stored) == SCHEMA_VERSION:
                if {*REVENUE_TABLES, *REVENUE_ROLLUPS, *ADDED_TABLES} - tables:  # made before these tables existed
                    log.info("adding the tables %s to the cache", ", ".join(sorted({*REVENUE_TABLES, *REVENUE_ROLLUPS, *ADDED_TABLES} - tables)))
                    con.execute("BEGIN")
                    con.execute(_ADDED_SCHEMA)
                    con.execute(_REVENUE_SCHEMA)
                    if "pending_sample_profiles" not in tables:
                        # Loads before it recorded no changed profiles: the next refresh rebuilds whole.
                        con.execute("DELETE FROM cache_meta WHERE key = 'catalog_event_id'")
                    if set(REVENUE_ROLLUPS) - tables and "revenue_records" in tables:  # a rollup came later
                        _refresh_revenue_rollups(con, "SELECT DISTINCT workspace_id, day FROM revenue_records")
                    con.execute("COMMIT")
                return
            log.warning("cache schema %s is not %s: rebuilding the cache", version and version[0], SCHEMA_VERSION)
            con.execute("BEGIN")
            for table in tables:
                con.execute(f'DROP TABLE "{table}"')
            con.execute("COMMIT")
        con.execute("BEGIN")
        con.execute(_SCHEMA)
        con.execute(_ADDED_SCHEMA)
        con.execute(_REVENUE_SCHEMA)
        _refresh_sample(con)  # empty, so estimates on a new cache answer 0 instead of failing
        con.executemany("INSERT INTO cache_meta VALUES (?, ?)", [
            ("schema_version", str(SCHEMA_VERSION)), ("data_version", "0"), ("next_event_id", "1"), ("source", "empty"),
        ])
        con.execute("COMMIT")

    def _refuse_unreadable(self, stored: str | None) -> None:
        """Never rebuild over a newer app's cache (or one the app did not make): it holds data this
        version cannot read, and dropping it would lose every import without a word."""
        if stored is None:
            return
        if not stored.isdigit():
            raise UserError(f"The cache {self.path} has a schema version Audience Studio never writes ({stored!r}); "
                            "move the file away to start an empty cache.")
        if int(stored) > SCHEMA_VERSION:
            raise UserError(f"The cache {self.path} was made by a newer version of Audience Studio (cache schema "
                            f"{stored}); update the app to open it.")

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
        with self._transaction() as cursor:
            writer = CacheWriter(cursor)
            yield writer
            writer._finish(source, description)

    @contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor inside one write transaction: committed on success, rolled back on anything else."""
        with self._write_lock:
            cursor = self.cursor()
            cursor.execute("BEGIN TRANSACTION")
            try:
                yield cursor
                cursor.execute("COMMIT")
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            finally:
                cursor.close()

    @contextmanager
    def deriving(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A write transaction for what the cache works out from its data (audience membership): committed
        whole or not at all, and leaving data_version alone, since the data did not change."""
        with self._transaction() as cursor:
            yield cursor

    def _catalogs_current(self) -> bool:
        cursor = self.cursor()
        try:
            return self.meta("catalog_version", cursor) == self.meta("data_version", cursor)
        finally:
            cursor.close()

    def attribute_names(self, workspace_id: int) -> list[str]:
        """The user attribute names held for a workspace (its attribute catalog, brought up to date), sorted."""
        self.refresh_catalogs()
        cursor = self.cursor()
        try:
            return [name for (name,) in cursor.execute(
                "SELECT name FROM attribute_catalog WHERE workspace_id = ? ORDER BY lower(name), name",
                [workspace_id]).fetchall()]
        finally:
            cursor.close()

    def refresh_catalogs(self) -> None:
        """Bring the catalogs and the 1 % sample up to date if a load changed the data since they were.

        Kept out of each load's transaction: an import of many files refreshes them once at the end,
        and a load interrupted before this point is caught up the next time it is called.

        Events are only ever appended, numbered upwards (`next_event_id`), so the event catalogs and
        the sample's events take in just the events numbered from `catalog_event_id` (where the
        last refresh stopped): on a 40M-event cache, rebuilding them took 7 s after every small
        import or sync. Profile state is replaced as it changes: the sample takes in the rows of
        the sampled profiles that loads changed (pending_sample_profiles), and the attribute
        catalog is rebuilt. Without `catalog_event_id` (a cache from before it, or after
        `forget_workspaces`) everything is rebuilt.
        """
        if self._catalogs_current():  # the common case, answered without a write transaction
            return
        with self._transaction() as cursor:
            data_version = self.meta("data_version", cursor)
            if self.meta("catalog_version", cursor) == data_version:  # another thread just did it
                return
            next_event_id = self.meta("next_event_id", cursor)
            since = self.meta("catalog_event_id", cursor)
            since_event_id = None if since is None else int(since)
            _refresh_catalogs(cursor, since_event_id=since_event_id)
            _refresh_sample(cursor, since_event_id=since_event_id)
            cursor.execute("DELETE FROM cache_meta WHERE key IN ('catalog_version', 'catalog_event_id')")
            cursor.execute("INSERT INTO cache_meta VALUES ('catalog_version', ?), ('catalog_event_id', ?)",
                           [data_version, next_event_id])

    def forget_workspaces(self, workspace_ids: list[int]) -> None:
        """Delete every row of these workspaces, in one transaction; the catalogs and sample follow."""
        if not workspace_ids:
            return
        with self._transaction() as cursor:
            tables = [row[0] for row in cursor.execute(
                "SELECT table_name FROM information_schema.columns WHERE table_schema = 'main' "
                "AND column_name = 'workspace_id' AND table_name NOT LIKE 'sample_%'").fetchall()]
            placeholders = ", ".join("?" for _ in workspace_ids)
            for table in tables:
                cursor.execute(f'DELETE FROM "{table}" WHERE workspace_id IN ({placeholders})', list(workspace_ids))
            cursor.execute("UPDATE cache_meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) "
                           "WHERE key = 'data_version'")
            # Events were deleted: the sample's events are rebuilt whole, not added to.
            cursor.execute("DELETE FROM cache_meta WHERE key = 'catalog_event_id'")
        self.refresh_catalogs()

    def optimize(self) -> None:
        """Rewrite events in (workspace, type, time) order so zone maps skip most row groups."""
        with self._transaction() as cursor:
            for table, order in (("events", "workspace_id, event_type, ts"), ("event_products", "workspace_id, ts")):
                cursor.execute(f"CREATE TABLE {table}_sorted AS SELECT * FROM {table} ORDER BY {order}")
                cursor.execute(f"DROP TABLE {table}")
                cursor.execute(f"ALTER TABLE {table}_sorted RENAME TO {table}")
        with self._write_lock:
            self._con.execute("CHECKPOINT")


class CacheWriter:
    """Adds mapped rows inside `Cache.writing()`'s transaction.

    Events and products are appended as they come. Profile state is staged and
    merged latest-wins once at the end (or whenever `STATE_FLUSH_ROWS` rows are staged), so an import
    merges each key once instead of once per chunk. Staged rows stay Arrow tables until then.
    """

    #: Staged state rows that trigger a merge before the end, to keep memory bounded on huge imports.
    STATE_FLUSH_ROWS = 2_000_000

    def __init__(self, cursor: duckdb.DuckDBPyConnection):
        self._cur = cursor
        self._next_event_id = int(first_row(cursor, "SELECT value FROM cache_meta WHERE key = 'next_event_id'")[0])
        self.batches = 0
        self.events = 0
        self.workspaces: set[int] = set()
        self._staged: dict[str, list[pa.Table]] = {}  # state rows waiting to be merged, by table
        self._staged_rows = 0  # how many, which is also the next staged row's position
        self.revenue_rows = 0  # rows written to the revenue tables
        # (workspace_id, mpid) of every row this load adds, for load_profiles (the membership engine).
        self._touched: list[pa.Table] = []
        self._whole_workspaces: set[int] = set()

    def add(self, rows: Rows, batches: int) -> None:
        self.add_tables(tables_of(rows), batches)

    def set_meta(self, key: str, value: str) -> None:
        """Keep `key` = `value` in cache_meta in this load's transaction (a sync keeps its cursor so)."""
        self._cur.execute("DELETE FROM cache_meta WHERE key = ?", [key])
        self._cur.execute("INSERT INTO cache_meta VALUES (?, ?)", [key, value])

    def meta_value(self, key: str) -> str | None:
        """cache_meta's `key` as this transaction sees it."""
        row = first_row(self._cur, "SELECT value FROM cache_meta WHERE key = ?", [key])
        return row[0] if row else None

    def add_tables(self, tables: dict[str, pa.Table], batches: int) -> None:
        """Load one chunk made by `staging.tables_of` (event indices local to the chunk)."""
        cur = self._cur
        base = self._next_event_id
        events = tables.get("events")
        n = events.num_rows if events is not None else 0
        if n:
            events = events.add_column(0, "event_id", pa.array(range(base, base + n), pa.int64()))
            cur.register("stage_events", events)
            cur.execute("INSERT INTO events SELECT * FROM stage_events")
            cur.unregister("stage_events")
            products = tables.get("products")
            if products is not None and products.num_rows:
                products = products.set_column(0, "event_id", pc.add(products["event_index"], pa.scalar(base, pa.int64())))
                cur.register("stage_products", products)
                cur.execute("INSERT INTO event_products SELECT * FROM stage_products")
                cur.unregister("stage_products")
        self._next_event_id = base + n
        self.events += n
        self.batches += batches

        for name in ("events", "seen", *_STATE_TABLES):
            part = tables.get(name)
            if part is not None and part.num_rows:
                self._touched.append(part.select(["workspace_id", "mpid"]).cast(_TOUCHED))
        seen = tables.get("seen")
        if seen is not None and seen.num_rows:
            self._stage("seen", seen)
            self.workspaces.update(pc.unique(seen["workspace_id"]).to_pylist())
        for table in _STATE_TABLES:
            staged = tables.get(table)
            if staged is not None and staged.num_rows:
                self._stage(table, staged)
        if self._staged_rows >= self.STATE_FLUSH_ROWS:
            self._merge_staged()

    def load_snapshot(self, parts: dict[str, Path], *, workspace_id: int, batches: int) -> int:
        """Load a server snapshot (one Parquet file per table of SNAPSHOT_PARTS, the cache's own columns)
        into `workspace_id`, which must hold no rows yet; returns the rows loaded.

        Rows are relabelled to `workspace_id` and the files' event ids (1..n) move after the cache's,
        and the load counts `batches` batches: what `add_tables` of the same pages would leave.
        """
        cur = self._cur
        missing = [table for table in SNAPSHOT_PARTS if table not in parts]
        if missing:
            raise InvalidInput(f"the snapshot has no {', '.join(missing)} part")
        for table in SNAPSHOT_PARTS:
            if first_row(cur, f"SELECT 1 FROM {table} WHERE workspace_id = ? LIMIT 1", [workspace_id]):
                raise InvalidInput(f"workspace {workspace_id} already holds {table} rows: a snapshot loads only into an empty workspace")
        sources = {table: sql_literal(str(parts[table])) for table in SNAPSHOT_PARTS}
        for table in SNAPSHOT_PARTS:
            columns = [row[0] for row in cur.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' AND table_name = ? "
                "ORDER BY ordinal_position", [table]).fetchall()]
            found = [row[0] for row in cur.execute(f"DESCRIBE SELECT * FROM read_parquet({sources[table]})").fetchall()]
            if found != columns:
                raise InvalidInput(f"snapshot part {table}: its columns {found} are not the cache's {columns}")
        events, low, high = first_row(cur, f"SELECT count(*), min(event_id), max(event_id) FROM read_parquet({sources['events']})")
        if events and (low != 1 or high != events):
            raise InvalidInput(f"snapshot part events: its event ids run {low}..{high}, not 1..{events}")
        low, high = first_row(cur, f"SELECT min(event_id), max(event_id) FROM read_parquet({sources['event_products']})")
        if low is not None and (low < 1 or high > events):
            raise InvalidInput(f"snapshot part event_products: event ids {low}..{high} point outside the snapshot's events")
        offset = self._next_event_id - 1
        loaded = 0
        for table in SNAPSHOT_PARTS:
            columns = [row[0] for row in cur.execute(f"DESCRIBE SELECT * FROM read_parquet({sources[table]})").fetchall()]
            chosen = ", ".join(f"event_id + {offset:d}" if name == "event_id"
                               else f"CAST({workspace_id:d} AS INTEGER)" if name == "workspace_id" else f'"{name}"'
                               for name in columns)
            loaded += first_row(cur, f"INSERT INTO {table} SELECT {chosen} FROM read_parquet({sources[table]})")[0]
        cur.execute(f"INSERT INTO pending_sample_profiles SELECT DISTINCT mpid FROM profiles "
                    f"WHERE workspace_id = ? AND bucket < {SAMPLE_BUCKETS}", [workspace_id])
        self._next_event_id += events
        self.events += events
        self.batches += batches
        self.workspaces.add(workspace_id)
        self._whole_workspaces.add(workspace_id)
        return loaded

    # -- revenue analytics (docs/revenue.md) ------------------------------------------------------

    def add_revenue(self, records: pa.Table) -> int:
        """Add revenue records (columns of REVENUE_TABLES["revenue_records"]); a record whose
        (workspace, day, segment, agency, channel, currency) is cached already replaces it.
        NULL agency or channel: the channel did not report it. Returns the rows written."""
        return self._put_revenue("revenue_records", records)

    def add_segment_counts(self, counts: pa.Table) -> int:
        """Add segments' daily member counts; a (workspace, day, segment) cached already is replaced."""
        return self._put_revenue("segment_counts", counts)

    def add_agencies(self, agencies: pa.Table) -> int:
        """Add or update the agencies (data buyers) and their details, keyed by (workspace, agency)."""
        return self._put_revenue("agencies", agencies)

    def _put_revenue(self, table: str, rows: pa.Table) -> int:
        schema, keys = REVENUE_TABLES[table]
        missing = [name for name in schema.names if name not in rows.column_names]
        if missing:
            raise InvalidInput(f"{table}: the rows have no column {', '.join(missing)} "
                               f"(expected {', '.join(schema.names)})")
        for field in schema:
            if not field.nullable and rows[field.name].null_count:
                raise InvalidInput(f"{table}: {rows[field.name].null_count} rows have no {field.name}")
        try:
            rows = rows.select(schema.names).cast(schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, ValueError) as exc:
            raise InvalidInput(f"{table}: the rows do not fit the columns {', '.join(schema.names)}: {exc}") from None
        if rows.num_rows == 0:
            return 0
        cur = self._cur
        key_list = ", ".join(keys)
        cur.register("stage_revenue", rows.append_column("pos", pa.array(range(rows.num_rows), pa.int64())))
        try:
            # Latest wins inside the rows too: a page may correct a record it also holds.
            cur.execute(f"""
                CREATE OR REPLACE TEMP TABLE merged_revenue AS
                SELECT * EXCLUDE (pos) FROM stage_revenue
                QUALIFY row_number() OVER (PARTITION BY {key_list} ORDER BY pos DESC) = 1""")
        finally:
            cur.unregister("stage_revenue")
        same_key = " AND ".join(f"{table}.{k} IS NOT DISTINCT FROM m.{k}" for k in keys)
        cur.execute(f"DELETE FROM {table} USING merged_revenue m WHERE {same_key}")
        written = first_row(cur, "SELECT count(*) FROM merged_revenue")[0]
        order = " ORDER BY day" if "day" in keys else ""  # zone maps then skip the days a chart does not show
        cur.execute(f"INSERT INTO {table} SELECT * FROM merged_revenue{order}")
        if table == "revenue_records":
            _refresh_revenue_rollups(cur, "SELECT DISTINCT workspace_id, day FROM merged_revenue")
        cur.execute("DROP TABLE merged_revenue")
        self.revenue_rows += written
        return written


    def _stage(self, table: str, rows: pa.Table) -> None:
        start = self._staged_rows
        rows = rows.append_column("pos", pa.array(range(start, start + rows.num_rows), pa.int64()))
        self._staged_rows += rows.num_rows
        self._staged.setdefault(table, []).append(rows)

    def _merge_staged(self) -> None:
        cur = self._cur
        for table in ["seen", *_STATE_TABLES]:
            parts = self._staged.get(table)
            if not parts:
                continue
            cur.register(f"stage_{table}", pa.concat_tables(parts))
            try:
                if table == "seen":
                    self._merge_profiles()
                else:
                    self._merge_latest(table)
            finally:
                cur.unregister(f"stage_{table}")
        self._staged.clear()
        self._staged_rows = 0

    def _merge_profiles(self) -> None:
        cur = self._cur
        cur.execute(f"""
            CREATE OR REPLACE TEMP TABLE merged_profiles AS
            SELECT *, (md5_number_lower(mpid::VARCHAR) % {BUCKETS})::SMALLINT AS bucket FROM (
                SELECT workspace_id, mpid, min(first_seen) AS first_seen, max(last_seen) AS last_seen
                FROM (SELECT workspace_id, mpid, first_seen, last_seen FROM profiles SEMI JOIN stage_seen USING (workspace_id, mpid)
                      UNION ALL
                      SELECT workspace_id, mpid, epoch_ms(first_seen), epoch_ms(last_seen) FROM stage_seen)
                GROUP BY workspace_id, mpid)""")
        cur.execute("DELETE FROM profiles USING merged_profiles m WHERE profiles.workspace_id = m.workspace_id AND profiles.mpid = m.mpid")
        cur.execute("INSERT INTO profiles SELECT workspace_id, mpid, first_seen, last_seen, bucket FROM merged_profiles")
        # Every state row comes with its batch's profile, so these are all the profiles whose sampled
        # rows this load can change.
        cur.execute(f"INSERT INTO pending_sample_profiles SELECT DISTINCT mpid FROM merged_profiles WHERE bucket < {SAMPLE_BUCKETS}")
        cur.execute("DROP TABLE merged_profiles")

    def _merge_latest(self, table: str) -> None:
        """Keep, per key, the newest of what the table has and what was staged: by time, then batch
        order (`seq`; deletions order after their batch's values), then staging order; ties with
        the table's rows go to the staged."""
        cur = self._cur
        keys, values = _STATE_TABLES[table]
        key_list = ", ".join(keys)
        value_list = ", ".join(values)
        same_key = " AND ".join(f"t.{k} IS NOT DISTINCT FROM s.{k}" for k in keys)
        # The mpid test first: it reads one integer column of the large table, and the whole key
        # is compared only on the few rows it lets through (a small load's merges on a 2M-profile
        # cache: 3.3-3.9 s -> 2.8 s over six loads).
        staged_profile = f"t.mpid IN (SELECT mpid FROM stage_{table})"
        # Attributes can be deleted: the deletions kept from earlier loads compete like values do.
        deletions = "" if table != "attributes" else f"""
                UNION ALL
                SELECT {key_list}, NULL, NULL, NULL, updated_at, -1 AS seq, -1 AS pos, true AS deleted
                FROM attribute_deletions t WHERE {staged_profile} AND EXISTS (SELECT 1 FROM stage_{table} s WHERE {same_key})"""
        cur.execute(f"""
            CREATE OR REPLACE TEMP TABLE merged_state AS
            SELECT * FROM (
                SELECT {key_list}, {value_list}, updated_at, -1 AS seq, -1 AS pos, false AS deleted
                FROM {table} t WHERE {staged_profile} AND EXISTS (SELECT 1 FROM stage_{table} s WHERE {same_key}){deletions}
                UNION ALL
                SELECT {key_list}, {value_list}, epoch_ms(updated_at) AS updated_at, seq, pos, deleted FROM stage_{table})
            QUALIFY row_number() OVER (PARTITION BY {key_list} ORDER BY updated_at DESC, seq DESC, pos DESC) = 1""")
        match = " AND ".join(f"{table}.{k} IS NOT DISTINCT FROM m.{k}" for k in keys)
        cur.execute(f"DELETE FROM {table} USING merged_state m WHERE {match} "
                    f"AND {table}.mpid IN (SELECT mpid FROM merged_state)")
        if table == "attributes":
            deletion_match = " AND ".join(f"attribute_deletions.{k} = m.{k}" for k in keys)
            cur.execute(f"DELETE FROM attribute_deletions USING merged_state m WHERE {deletion_match}")
            cur.execute(f"INSERT INTO attribute_deletions SELECT {key_list}, updated_at FROM merged_state WHERE deleted")
            cur.execute(f"""
                INSERT INTO attributes
                SELECT {key_list}, value, value_list, json_kind, {_ATTRIBUTE_TYPED}, updated_at
                FROM merged_state WHERE NOT deleted""")
        else:
            cur.execute(f"INSERT INTO {table} SELECT {key_list}, {value_list}, updated_at FROM merged_state WHERE NOT deleted")
        cur.execute("DROP TABLE merged_state")

    def _record_touched(self, version: int) -> None:
        """Which profiles this load (`version`) touched, for the membership engine (load_profiles)."""
        _record_touched_rows(self._cur, version, self._touched, self._whole_workspaces)
        self._touched.clear()

    def _finish(self, source: str, description: str) -> None:
        cur = self._cur
        if self._staged:
            self._merge_staged()
        if self.revenue_rows:
            # Charts cached under an older revenue_version are stale (estimates keep data_version).
            version = int(self.meta_value("revenue_version") or 0) + 1
            self.set_meta("revenue_version", str(version))
        if self.batches:
            cur.execute("UPDATE cache_meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) WHERE key = 'data_version'")
            self._record_touched(int(self.meta_value("data_version")))
            cur.execute("UPDATE cache_meta SET value = ? WHERE key = 'next_event_id'", [str(self._next_event_id)])
            cur.execute("UPDATE cache_meta SET value = ? WHERE key = 'source'", [source])
            cur.execute(
                "INSERT INTO loads VALUES (?, ?, ?, ?, ?)",
                [dt.datetime.now(dt.timezone.utc).replace(tzinfo=None), source, description, self.batches, self.events],
            )


def _record_touched_rows(cur: duckdb.DuckDBPyConnection, version: int, touched: list[pa.Table],
                         whole_workspaces: set[int]) -> None:
    cur.execute("INSERT INTO load_profiles VALUES (?, NULL, NULL)", [version])
    for workspace_id in sorted(whole_workspaces):
        cur.execute("INSERT INTO load_profiles VALUES (?, ?, NULL)", [version, workspace_id])
    if touched:
        cur.register("stage_touched", pa.concat_tables(touched))
        try:
            cur.execute("INSERT INTO load_profiles SELECT DISTINCT ?, workspace_id, mpid FROM stage_touched "
                        "ORDER BY workspace_id, mpid", [version])
        finally:
            cur.unregister("stage_touched")


def _refresh_revenue_rollups(cur: duckdb.DuckDBPyConnection, touched_days: str) -> None:
    """Recompute the rollups' rows of the days, weeks and months of the (workspace_id, day) pairs
    that the query `touched_days` selects."""
    cur.execute(f"CREATE OR REPLACE TEMP TABLE touched_days AS {touched_days}")
    cur.execute("DELETE FROM revenue_daily_segments USING touched_days t "
                "WHERE revenue_daily_segments.workspace_id = t.workspace_id AND revenue_daily_segments.day = t.day")
    cur.execute("""
        INSERT INTO revenue_daily_segments
        SELECT workspace_id, day, currency, segment_key, sum(revenue), sum(impressions), count(*)
        FROM revenue_records SEMI JOIN touched_days USING (workspace_id, day)
        GROUP BY workspace_id, day, currency, segment_key ORDER BY day""")
    for table, period, length in (("revenue_weekly", "week", "INTERVAL 7 DAY"), ("revenue_monthly", "month", "INTERVAL 1 MONTH")):
        cur.execute(f"""
            CREATE OR REPLACE TEMP TABLE touched_periods AS
            SELECT DISTINCT workspace_id, CAST(date_trunc('{period}', day) AS DATE) AS period FROM touched_days""")
        cur.execute(f"DELETE FROM {table} USING touched_periods t "
                    f"WHERE {table}.workspace_id = t.workspace_id AND {table}.{period} = t.period")
        cur.execute(f"""
            INSERT INTO {table}
            SELECT r.workspace_id, t.period, currency, segment_key, agency, channel,
                   sum(revenue), sum(impressions), count(*)
            FROM revenue_records r JOIN touched_periods t
              ON r.workspace_id = t.workspace_id AND r.day >= t.period AND r.day < t.period + {length}
            GROUP BY r.workspace_id, t.period, currency, segment_key, agency, channel ORDER BY t.period""")
        cur.execute("DROP TABLE touched_periods")
    cur.execute("DROP TABLE touched_days")


#: The tables a server snapshot fills (CacheWriter.load_snapshot), in loading order.
SNAPSHOT_PARTS = ("profiles", "identities", "attributes", "attribute_deletions", "consent", "devices", "locations",
                  "attribution", "events", "event_products")


def sql_literal(text: str) -> str:
    """`text` as a SQL string literal (a file name inside a table function, which takes no parameters)."""
    return "'" + text.replace("'", "''") + "'"


#: The tables copied into the sample (as sample_<name>), all keyed by mpid.
SAMPLED_TABLES = ("profiles", "events", "identities", "attributes", "consent", "devices", "locations", "attribution")


def sample_fraction() -> float:
    return SAMPLE_BUCKETS / BUCKETS


def _refresh_sample(cur: duckdb.DuckDBPyConnection, *, since_event_id: int | None = None) -> None:
    """Copy the sampled profiles' rows of every profile table into sample_<table>.

    A profile is sampled when its bucket is below SAMPLE_BUCKETS; the bucket depends on the mpid
    alone, so the sample is the same on every machine and holds all of a profile's workspaces.

    With `since_event_id` the sample is brought up to date instead of rebuilt: sample_events takes
    in the events numbered from it (events are never changed, and a profile's bucket never
    changes), and the other tables replace the rows of the profiles that loads listed in
    pending_sample_profiles (every load that changes a profile's state lists it). Rebuilding them
    took 0.7 s after every small load on a 2M-profile cache.
    """
    pending = "mpid IN (SELECT mpid FROM pending_sample_profiles)"
    for table in SAMPLED_TABLES:
        order = " ORDER BY workspace_id, event_type, ts" if table == "events" else ""
        # The profiles' stored bucket, not md5 per row: hashing every event's mpid took seconds
        # per million events, a semi join on the sampled profiles takes milliseconds.
        sampled = (f"bucket < {SAMPLE_BUCKETS}" if table == "profiles"
                   else f"mpid IN (SELECT mpid FROM profiles WHERE bucket < {SAMPLE_BUCKETS})")
        if since_event_id is None:
            cur.execute(f"CREATE OR REPLACE TABLE sample_{table} AS SELECT * FROM {table} WHERE {sampled}{order}")
        elif table == "events":
            cur.execute(f"INSERT INTO sample_events SELECT * FROM events WHERE event_id >= {since_event_id:d} "
                        f"AND {sampled}{order}")
        else:  # pending lists sampled profiles only
            cur.execute(f"DELETE FROM sample_{table} WHERE {pending}")
            cur.execute(f"INSERT INTO sample_{table} SELECT * FROM {table} WHERE {pending}")
    cur.execute("DELETE FROM pending_sample_profiles")


def _refresh_catalogs(cur: duckdb.DuckDBPyConnection, *, since_event_id: int | None = None) -> None:
    """Rebuild the catalogs that the builder's pickers and the compiler's identifiers come from.

    With `since_event_id`, the two event catalogs take in only the events numbered from it. That
    is exact: counts add up and the latest time is the later one; and an attribute's detected type
    over old and new values together is the type both had, else 'string', because no value passes
    two of the tests (a number, true/false, and a date with '-' fifth are told apart by their text).
    """
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
    events = "events" if since_event_id is None else f"(SELECT * FROM events WHERE event_id >= {since_event_id:d})"
    counted = f"""
        SELECT workspace_id, event_type, event_name, count(*) AS events, max(ts) AS last_at
        FROM {events} GROUP BY workspace_id, event_type, event_name"""
    typed = f"""
        SELECT workspace_id, event_type, event_name, key AS attribute,
               CASE WHEN bool_and(TRY_CAST(v AS DOUBLE) IS NOT NULL) THEN 'number'
                    WHEN bool_and(lower(v) IN ('true', 'false')) THEN 'boolean'
                    WHEN bool_and(length(v) >= 10 AND v[5] = '-' AND TRY_CAST(v AS TIMESTAMPTZ) IS NOT NULL) THEN 'date'
                    ELSE 'string' END AS detected_type
        FROM (SELECT workspace_id, event_type, event_name, unnest(map_keys(attributes)) AS key,
                     unnest(map_values(attributes)) AS v
              FROM {events} WHERE cardinality(attributes) > 0)
        GROUP BY workspace_id, event_type, event_name, key"""
    if since_event_id is not None:
        # The catalogs are small (a row per event name, a row per attribute of each): merged whole.
        counted = f"""
            SELECT workspace_id, event_type, event_name, sum(events)::BIGINT, max(last_at)
            FROM (SELECT * FROM event_catalog UNION ALL {counted})
            GROUP BY workspace_id, event_type, event_name"""
        typed = f"""
            SELECT workspace_id, event_type, event_name, attribute,
                   CASE WHEN count(DISTINCT detected_type) = 1 THEN any_value(detected_type) ELSE 'string' END
            FROM (SELECT * FROM event_attribute_catalog UNION ALL {typed})
            GROUP BY workspace_id, event_type, event_name, attribute"""
    for table, query in (("event_catalog", counted), ("event_attribute_catalog", typed)):
        cur.execute(f"CREATE OR REPLACE TEMP TABLE fresh_{table} AS {query}")
        cur.execute(f"DELETE FROM {table}")
        cur.execute(f"INSERT INTO {table} SELECT * FROM fresh_{table}")
        cur.execute(f"DROP TABLE fresh_{table}")
