"""First-sync snapshots: a workspace's whole cache as Parquet files, so a new client starts from them.

A replica starts from a snapshot and then follows the change log. Here the snapshot of a workspace
(and of a sample size) is a DuckDB cache file kept under `ServerSettings.snapshot_dir`: the app's own
`Cache`, filled by the app's own `CacheWriter.add_tables` from the very pages `map_page` serves, so it
holds exactly what an incremental sync of the same batches would give. It records the batch it is
complete through (`cache_meta` key "snapshot_through"); bringing it up to date applies the pages
after that, each in its own transaction as a client would, under a per-snapshot lock. A request spends at most
`snapshot_catch_up_seconds` on that and serves what the snapshot holds then, while a background
thread carries on: a snapshot through any batch is exact, because the client follows it with the
ordinary pages after it.

Serving exports each cache table with DuckDB's `COPY ... TO (FORMAT parquet)` into a folder named by
(workspace, sample, through); those files never change, are streamed from disk (bounded server
memory), and only the newest export of a snapshot is kept. A workspace keeps its whole-profile
snapshot and at most `snapshot_samples_kept` sampled ones: the least recently requested sample goes
(its cache file and exports; the file's modification time records the last request, so this holds
across restarts), and is rebuilt from the stored batches if it is asked for again. Event ids in the files run 1..events in
the snapshot's own numbering; the client offsets them into its cache's.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import duckdb
from sqlalchemy import select

from app.connectors.cache import SNAPSHOT_PARTS, Cache, first_row, sql_literal
from app.connectors.sync_format import staged_tables
from app.server import cursors
from app.server.database import Database
from app.server.errors import ApiError
from app.server.pages import SAMPLE_LIMIT, Position, map_page, plan
from app.server.settings import ServerSettings
from app.server.tables import quarantined_batches, workspaces

log = logging.getLogger(__name__)

#: The cache tables a snapshot sends, in the order the client loads them.
SNAPSHOT_TABLES = SNAPSHOT_PARTS
#: The media type of a snapshot part.
PARQUET = "application/vnd.apache.parquet"
#: cache_meta key of the last batch a snapshot cache holds.
THROUGH_KEY = "snapshot_through"
#: cache_meta key of the quarantined batches (at or before `through`) the snapshot left out: a batch
#: quarantined later is in the snapshot, which is then made again without it.
QUARANTINED_KEY = "snapshot_quarantined"
#: A background catch-up gives the lock back this often, so a request is never kept waiting long.
SLICE_SECONDS = 5.0


@dataclass(frozen=True)
class SnapshotPart:
    table: str
    rows: int
    bytes: int
    path: Path


@dataclass(frozen=True)
class Snapshot:
    """One export: immutable files of a workspace (and sample) through batch `through`."""

    workspace_id: int
    buckets: int | None
    through: int
    batches: int
    events: int
    parts: list[SnapshotPart]

    def token(self) -> str:
        return token_of(self.workspace_id, self.through, self.buckets)


def token_of(workspace_id: int, through: int, buckets: int | None) -> str:
    return cursors.encode("s", {"w": workspace_id, "t": through, "b": buckets})


def parse_token(text: str) -> tuple[int, int, int | None]:
    fields = cursors.decode("s", text, field="token", names=("w", "t", "b"), largest=SAMPLE_LIMIT)
    return fields["w"], fields["t"], fields["b"]


class Snapshots:
    """The server's snapshots, one cache file per (workspace, sample), each behind its own lock."""

    def __init__(self, database: Database, settings: ServerSettings):
        self._db = database
        self._settings = settings
        self._root = Path(settings.snapshot_dir) if settings.snapshot_dir is not None else None
        self._guard = threading.Lock()
        self._locks: dict[tuple[int, int | None], threading.Lock] = {}
        self._background: dict[tuple[int, int | None], threading.Thread] = {}

    @property
    def enabled(self) -> bool:
        return self._root is not None

    # -- serving ----------------------------------------------------------------------------------

    def current(self, workspace_id: int, buckets: int | None) -> Snapshot:
        """The snapshot brought as far up to date as the request's time allows, exported."""
        self._require_enabled()
        complete = self.catch_up(workspace_id, buckets, time.monotonic() + self._settings.snapshot_catch_up_seconds)
        if not complete:
            self._continue_in_background(workspace_id, buckets)
        with self._lock(workspace_id, buckets):
            made = self._export(workspace_id, buckets)
            now = time.time_ns()  # when it was last asked for, for eviction (exact: not the file system's coarse clock)
            os.utime(self._cache_path(workspace_id, buckets), ns=(now, now))
        if buckets is not None:
            self._evict_samples(workspace_id)
        return made

    def part(self, workspace_id: int, through: int, buckets: int | None, table: str) -> tuple[SnapshotPart, BinaryIO]:
        """A part of an export this server still keeps, opened (so a newer export deleting it while
        it is sent does no harm); 404 once a newer export replaced it."""
        self._require_enabled()
        folder = self._export_dir(workspace_id, buckets, through)
        path = folder / f"{table}.parquet"
        try:
            rows = json.loads((folder / "manifest.json").read_text())["rows"][table]
            opened = path.open("rb")
        except FileNotFoundError:
            raise ApiError(404, "SNAPSHOT_GONE", "token: this snapshot was replaced by a newer one; ask for the snapshot again",
                           field="token") from None
        return SnapshotPart(table, rows, os.fstat(opened.fileno()).st_size, path), opened

    # -- bringing a snapshot up to date -----------------------------------------------------------

    def catch_up(self, workspace_id: int, buckets: int | None, deadline: float | None = None) -> bool:
        """Apply the batches after the snapshot's, until none is left (True) or `deadline` passes (False)."""
        self._require_enabled()
        while True:
            with self._lock(workspace_id, buckets):
                slice_end = time.monotonic() + SLICE_SECONDS
                end = slice_end if deadline is None else min(deadline, slice_end)
                done = self._apply_some(workspace_id, buckets, end)
            if done:
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False

    def _apply_some(self, workspace_id: int, buckets: int | None, end: float) -> bool:
        """Pages after the snapshot's batch, each in its own transaction, until `end`; True when
        nothing is left to apply."""
        path = self._cache_path(workspace_id, buckets)
        with self._db.read() as connection:
            last_seq = connection.execute(select(workspaces.c.last_seq).where(workspaces.c.id == workspace_id)).scalar_one()
            quarantined = self._quarantined(connection, workspace_id)
        cache = Cache(path)
        try:
            through = int(cache.meta(THROUGH_KEY) or 0)
            left_out = set(json.loads(cache.meta(QUARANTINED_KEY) or "[]"))
            newly = [seq for seq in quarantined if seq <= through and seq not in left_out]
            if through > last_seq or newly:
                # The server's data was reset under the snapshot, or a batch it holds was quarantined: start it again.
                log.warning("snapshot %s holds batches no longer served (through %s, newest %s, quarantined %s): rebuilding it",
                            path.name, through, last_seq, newly)
                cache.close()
                path.unlink()
                cache = Cache(path)
                through = 0
                self._forget_older(workspace_id, buckets, keep=None)  # an export of the same `through` would differ
            while True:
                with self._db.read() as connection:
                    page = plan(connection, Position(workspace_id, through, buckets), self._settings)
                    if not page.batches:
                        return True
                    parts = map_page(connection, page)
                    quarantined = self._quarantined(connection, workspace_id)
                # One transaction, one merge per page, as the client does: the snapshot through
                # batch N is then by construction what a client holds after the page ending at N.
                try:
                    with cache.writing(source="snapshot", description=f"server workspace {workspace_id}") as writer:
                        writer.add_tables(staged_tables(parts), page.batches)
                        writer.set_meta(THROUGH_KEY, str(page.through))
                        writer.set_meta(QUARANTINED_KEY, json.dumps([seq for seq in quarantined if seq <= page.through]))
                except duckdb.Error as exc:
                    log.error("batches %s..%s of workspace %s cannot be loaded: %s", page.after + 1, page.through, workspace_id, exc)
                    raise ApiError(500, "UNLOADABLE_BATCH",
                                   f"batches {page.after + 1}..{page.through} of workspace {workspace_id} cannot be loaded into a cache "
                                   f"({str(exc).splitlines()[0][:200]}); an administrator finds the batch with `audience-studio server "
                                   f"batch list {workspace_id} --problems` and takes it out with `... batch quarantine`") from None
                through = page.through
                if time.monotonic() >= end:
                    return False
        finally:
            cache.close()

    @staticmethod
    def _quarantined(connection, workspace_id: int) -> list[int]:
        return list(connection.execute(select(quarantined_batches.c.seq).where(quarantined_batches.c.workspace_id == workspace_id)
                                       .order_by(quarantined_batches.c.seq)).scalars())

    def follow(self, workspace_id: int) -> None:
        """New batches were accepted: bring the workspace's whole snapshot up to date in the background
        (one thread per workspace at a time), so the next laptop's first sync finds it ready."""
        if self.enabled and self._settings.snapshot_follow_ingest:
            self._continue_in_background(workspace_id, None)

    def _continue_in_background(self, workspace_id: int, buckets: int | None) -> None:
        key = (workspace_id, buckets)
        with self._guard:
            running = self._background.get(key)
            if running is not None and running.is_alive():
                return

            def work() -> None:
                try:
                    self.catch_up(workspace_id, buckets)
                except Exception:  # a background thread has no caller: the next request tries again
                    log.exception("bringing the snapshot of workspace %s up to date failed", workspace_id)

            thread = threading.Thread(target=work, name=f"snapshot-w{workspace_id}", daemon=True)
            self._background[key] = thread
            thread.start()

    # -- exporting --------------------------------------------------------------------------------

    def _export(self, workspace_id: int, buckets: int | None) -> Snapshot:
        """The snapshot's current content as Parquet files (made once per `through`); older exports go."""
        path = self._cache_path(workspace_id, buckets)
        cache = Cache(path)
        try:
            cursor = cache.cursor()
            through = int(cache.meta(THROUGH_KEY, cursor) or 0)
            folder = self._export_dir(workspace_id, buckets, through)
            if not (folder / "manifest.json").exists():
                batches, events = first_row(cursor, "SELECT coalesce(sum(batches), 0), coalesce(sum(events), 0) FROM loads "
                                                    "WHERE source = 'snapshot'")
                temporary = folder.with_name(f".{folder.name}.{os.getpid()}.{threading.get_ident()}")
                shutil.rmtree(temporary, ignore_errors=True)
                temporary.mkdir(parents=True)
                rows = {}
                for table in SNAPSHOT_TABLES:
                    # Insertion order is kept: events go out in the order the pages appended them.
                    # COPY takes no parameter for its file: the path is quoted as a literal (it may hold ').
                    cursor.execute(f"COPY (SELECT * FROM {table}) TO {sql_literal(str(temporary / (table + '.parquet')))} (FORMAT parquet)")
                    rows[table] = first_row(cursor, f"SELECT count(*) FROM {table}")[0]
                (temporary / "manifest.json").write_text(json.dumps({"through": through, "batches": int(batches),
                                                                     "events": int(events), "rows": rows}))
                shutil.rmtree(folder, ignore_errors=True)
                temporary.rename(folder)
            cursor.close()
        finally:
            cache.close()
        self._forget_older(workspace_id, buckets, keep=folder)
        manifest = json.loads((folder / "manifest.json").read_text())
        parts = [SnapshotPart(t, manifest["rows"][t], (folder / f"{t}.parquet").stat().st_size, folder / f"{t}.parquet")
                 for t in SNAPSHOT_TABLES]
        return Snapshot(workspace_id, buckets, through, manifest["batches"], manifest["events"], parts)

    def _forget_older(self, workspace_id: int, buckets: int | None, keep: Path | None) -> None:
        prefix = self._name(workspace_id, buckets) + "-"
        exports = self._export_dir(workspace_id, buckets, 0).parent
        for folder in exports.iterdir() if exports.is_dir() else ():
            if folder != keep and folder.name.startswith(prefix) and folder.is_dir():
                shutil.rmtree(folder, ignore_errors=True)

    def _evict_samples(self, workspace_id: int) -> None:
        """Remove the workspace's sampled snapshots beyond the newest `snapshot_samples_kept` by last
        request. One busy right now (being brought up to date or exported) is left for the next time."""
        assert self._root is not None
        sampled = []
        for path in self._root.glob(f"w{workspace_id}-b*.duckdb"):
            buckets = path.stem.rsplit("-b", 1)[1]
            if buckets.isdigit() and self._name(workspace_id, int(buckets)) == path.stem:
                try:
                    sampled.append((path.stat().st_mtime_ns, int(buckets)))
                except FileNotFoundError:  # evicted meanwhile by another request
                    continue
        sampled.sort(reverse=True)
        for _, buckets in sampled[max(self._settings.snapshot_samples_kept, 0):]:
            key = (workspace_id, buckets)
            with self._guard:
                running = self._background.get(key)
                if running is not None and running.is_alive():
                    continue
            lock = self._lock(workspace_id, buckets)
            if not lock.acquire(blocking=False):
                continue
            try:
                path = self._cache_path(workspace_id, buckets)
                for leftover in (path, path.with_name(path.name + ".wal")):
                    leftover.unlink(missing_ok=True)
                exports = self._root / "exports"
                prefix = self._name(workspace_id, buckets) + "-"
                for folder in exports.iterdir() if exports.is_dir() else ():
                    if folder.name.startswith(prefix) and folder.name[len(prefix):].isdigit():
                        shutil.rmtree(folder, ignore_errors=True)
                log.info("evicted the sampled snapshot %s (more than %s samples of workspace %s)", path.name,
                         self._settings.snapshot_samples_kept, workspace_id)
            finally:
                lock.release()

    # -- plumbing ---------------------------------------------------------------------------------

    def _require_enabled(self) -> None:
        if self._root is None:
            raise ApiError(404, "SNAPSHOTS_OFF", "this server keeps no snapshots (started without --snapshot-dir); sync by pages")

    def _lock(self, workspace_id: int, buckets: int | None) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault((workspace_id, buckets), threading.Lock())

    @staticmethod
    def _name(workspace_id: int, buckets: int | None) -> str:
        return f"w{workspace_id}-{'all' if buckets is None else f'b{buckets}'}"

    def _cache_path(self, workspace_id: int, buckets: int | None) -> Path:
        assert self._root is not None
        return self._root / f"{self._name(workspace_id, buckets)}.duckdb"

    def _export_dir(self, workspace_id: int, buckets: int | None, through: int) -> Path:
        assert self._root is not None
        return self._root / "exports" / f"{self._name(workspace_id, buckets)}-{through}"
