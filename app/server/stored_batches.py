"""An administrator's view of a workspace's stored batches: which cannot be loaded, and quarantine.

`audience-studio server batch list` shows the stored batches with the reason any of them cannot be
loaded into a cache (checked as a laptop would: mapped by `map_batch`, then loaded by the cache's own
`CacheWriter` into a scratch in-memory cache). `quarantine` takes a batch out of every page and
snapshot: its data is kept, and laptops stop at nothing. `release` serves it again, under a new
sequence number after the newest, so every laptop receives it with its next sync, including those
whose cursor passed its old number.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass

import duckdb
import orjson
import pyarrow as pa
from sqlalchemy import delete, insert, select, update

from app.connectors.batches import BatchError, Rows, map_batch
from app.connectors.cache import Cache
from app.connectors.staging import tables_of
from app.errors import InvalidInput, NotFound, UserError
from app.models.store.db import utc_now
from app.server.admin import _workspace_id as workspace_id_of  # the administration's own lookup and message
from app.server.database import Database
from app.server.ingest import ms_of
from app.server.tables import batches, inputs, quarantined_batches, workspaces

#: Batches checked together in one scratch load; a failing group is split to find the batch.
CHECK_GROUP = 500


@dataclass(frozen=True)
class StoredBatch:
    seq: int
    received_at: dt.datetime
    input: str  # "platform iOS", "feed CRM"
    mpid: int
    events: int
    quarantined: bool
    reason: str | None  # why it was quarantined
    problem: str | None  # why it cannot be loaded; None when it loads


def list_batches(database: Database, workspace: str, *, after: int = 0, limit: int | None = 100,
                 problems: bool = False) -> tuple[str, list[StoredBatch]]:
    """The workspace's name and its batches after `after` (at most `limit`), each checked; with
    `problems`, only those that cannot be loaded or are quarantined (all of the workspace's are checked)."""
    found: list[StoredBatch] = []
    with database.read() as connection:
        workspace_id = workspace_id_of(connection, workspace)
        name = connection.execute(select(workspaces.c.name).where(workspaces.c.id == workspace_id)).scalar_one()
        quarantine = dict(connection.execute(select(quarantined_batches.c.seq, quarantined_batches.c.reason)
                                             .where(quarantined_batches.c.workspace_id == workspace_id)).all())
        query = (select(batches.c.seq, batches.c.received_at, batches.c.mpid, batches.c.events, batches.c.body,
                        inputs.c.kind, inputs.c.name)
                 .join(inputs, inputs.c.id == batches.c.input_id)
                 .where(batches.c.workspace_id == workspace_id, batches.c.seq > after).order_by(batches.c.seq))
        if limit is not None and not problems:
            query = query.limit(limit)
        group: list = []
        for row in connection.execution_options(yield_per=CHECK_GROUP).execute(query):
            group.append(row)
            if len(group) >= CHECK_GROUP:
                found.extend(_checked(group, workspace_id, quarantine, problems))
                group = []
                if problems and limit is not None and len(found) >= limit:
                    break
        found.extend(_checked(group, workspace_id, quarantine, problems))
    return name, found[:limit] if limit is not None else found


def _checked(group: list, workspace_id: int, quarantine: dict[int, str | None], problems: bool) -> list[StoredBatch]:
    if not group:
        return []
    found = _problems(group, workspace_id)
    out = []
    for row in group:
        quarantined = row.seq in quarantine
        problem = found.get(row.seq)
        if problems and problem is None and not quarantined:
            continue
        out.append(StoredBatch(row.seq, row.received_at, f"{row.kind} {row.name}", row.mpid, row.events, quarantined,
                               quarantine.get(row.seq), problem))
    return out


def _problems(group: list, workspace_id: int) -> dict[int, str]:
    """seq → why that batch cannot be loaded, for the batches of `group` that cannot."""
    problems: dict[int, str] = {}
    mapped: list[tuple[int, Rows]] = []
    for row in group:
        rows = Rows()
        try:
            batch = orjson.loads(zlib.decompress(row.body))
            map_batch(batch, rows, workspace_id=1, seq=row.seq, feed=row.name if row.kind == "feed" else None,
                      received_ms=ms_of(row.received_at))
        except BatchError as exc:
            problems[row.seq] = f"does not map: {exc}"
            continue
        except (orjson.JSONDecodeError, zlib.error) as exc:
            problems[row.seq] = f"unreadable: {exc}"
            continue
        mapped.append((row.seq, rows))
    cache = Cache(":memory:")
    try:
        _load_or_split(cache, mapped, problems)
    finally:
        cache.close()
    return problems


def _load_or_split(cache: Cache, mapped: list[tuple[int, Rows]], problems: dict[int, str]) -> None:
    """Load the batches together; when that fails, halves until the failing batch is alone."""
    if not mapped:
        return
    merged = Rows()
    for _, rows in mapped:
        for name in merged.__dataclass_fields__:
            target, source = getattr(merged, name), getattr(rows, name)
            if name == "ev_attr_offsets":
                base = target[-1]
                target.extend(base + offset for offset in source[1:])
            elif name == "pr_event":
                target.extend(len(merged.ev_ts) + index for index in source)
            else:
                target.extend(source)
    try:
        with cache.writing(source="check", description="stored batches") as writer:
            writer.add_tables(tables_of(merged), len(mapped))
    except (duckdb.Error, pa.ArrowException) as exc:
        if len(mapped) == 1:
            problems[mapped[0][0]] = f"cannot be loaded: {str(exc).splitlines()[0][:300]}"
            return
        middle = len(mapped) // 2
        _load_or_split(cache, mapped[:middle], problems)
        _load_or_split(cache, mapped[middle:], problems)


def quarantine(database: Database, workspace: str, seq: int, reason: str | None = None) -> str:
    """Take batch `seq` out of the workspace's pages and snapshots (kept whole); returns the workspace's name."""
    with database.write() as connection:
        workspace_id = workspace_id_of(connection, workspace)
        _require_batch(connection, workspace_id, seq)
        if connection.execute(select(quarantined_batches.c.seq).where(quarantined_batches.c.workspace_id == workspace_id,
                                                                      quarantined_batches.c.seq == seq)).first():
            raise UserError(f"Batch {seq} is already quarantined")
        connection.execute(insert(quarantined_batches).values(workspace_id=workspace_id, seq=seq, reason=reason,
                                                              quarantined_at=utc_now()))
        return connection.execute(select(workspaces.c.name).where(workspaces.c.id == workspace_id)).scalar_one()


def release(database: Database, workspace: str, seq: int) -> int:
    """Serve quarantined batch `seq` again, as the workspace's newest batch; returns its new number."""
    with database.write() as connection:
        workspace_id = workspace_id_of(connection, workspace)
        _require_batch(connection, workspace_id, seq)
        removed = connection.execute(delete(quarantined_batches).where(quarantined_batches.c.workspace_id == workspace_id,
                                                                       quarantined_batches.c.seq == seq))
        if removed.rowcount == 0:
            raise UserError(f"Batch {seq} is not quarantined")
        # The same row lock as ingest: the new number commits in order with concurrent requests.
        new_seq = connection.execute(update(workspaces).where(workspaces.c.id == workspace_id)
                                     .values(last_seq=workspaces.c.last_seq + 1).returning(workspaces.c.last_seq)).scalar_one()
        connection.execute(update(batches).where(batches.c.workspace_id == workspace_id, batches.c.seq == seq).values(seq=new_seq))
    return new_seq


def _require_batch(connection, workspace_id: int, seq: int) -> None:
    if seq < 1:
        raise InvalidInput(f"SEQ {seq}: batch numbers start at 1")
    if connection.execute(select(batches.c.seq).where(batches.c.workspace_id == workspace_id, batches.c.seq == seq)).first() is None:
        raise NotFound(f"No batch {seq} in this workspace (`audience-studio server batch list` shows them)")
