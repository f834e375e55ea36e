"""Sync pages: which stored batches make the next page of a workspace's changes, and their rows.

A page is a range of a workspace's batch sequence numbers (after, through], optionally only the
batches of sampled profiles. Its rows are made when it is served, by the import's own mapping
(`map_batch` with the batch's sequence number as its order, then `staging.tables_of`), so the client's
`CacheWriter` merges them exactly as an import of the same batches would. A batch without a time of
its own takes the moment the server received it (`received_at`), as at ingest. Quarantined batches
(`audience-studio server batch quarantine`) are left out of every page.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass

import orjson
import pyarrow as pa
from sqlalchemy import ColumnElement, Connection, select

from app.connectors.batches import BatchError, Rows, map_batch
from app.connectors.cache import BUCKETS
from app.connectors.staging import tables_of
from app.connectors.sync_format import parts_of
from app.server import cursors
from app.server.database import Database
from app.server.errors import ApiError
from app.server.settings import ServerSettings
from app.server.ingest import ms_of
from app.server.tables import batches, inputs, quarantined_batches

log = logging.getLogger(__name__)


#: A sample is fewer buckets than all (every profile is None): a forged larger one is refused.
SAMPLE_LIMIT = {"b": BUCKETS - 1}


@dataclass(frozen=True)
class Position:
    """Where a client is in a workspace's changes: after batch `after`, with an optional sample."""

    workspace_id: int
    after: int
    buckets: int | None  # None: every profile; else profiles whose bucket < buckets

    def cursor(self) -> str:
        return cursors.encode("c", {"w": self.workspace_id, "a": self.after, "b": self.buckets})

    @classmethod
    def from_cursor(cls, text: str) -> Position:
        fields = cursors.decode("c", text, field="cursor", names=("w", "a", "b"), largest=SAMPLE_LIMIT)
        return cls(fields["w"], fields["a"], fields["b"])


@dataclass(frozen=True)
class Page:
    workspace_id: int
    after: int
    through: int  # == after when there is nothing new
    buckets: int | None
    batches: int
    events: int

    def token(self) -> str:
        return cursors.encode("p", {"w": self.workspace_id, "a": self.after, "t": self.through, "b": self.buckets})

    @classmethod
    def from_token(cls, text: str) -> Page:
        fields = cursors.decode("p", text, field="page", names=("w", "a", "t", "b"), largest=SAMPLE_LIMIT)
        if fields["t"] < fields["a"]:
            raise ApiError(400, "INVALID_CURSOR", "page: not a page this server gave out", field="page")
        return cls(fields["w"], fields["a"], fields["t"], fields["b"], -1, -1)


def buckets_of(sample: float | None) -> int | None:
    """The sample as a count of the cache's md5(mpid) buckets (app.connectors.cache.sample_bucket)."""
    if sample is None or sample >= 1:
        return None
    buckets = round(sample * BUCKETS)
    if buckets < 1:
        raise ApiError(400, "INVALID_SAMPLE", f"sample: the smallest sample is {1 / BUCKETS}", field="sample")
    return buckets


def served(workspace_id: int) -> ColumnElement[bool]:
    """The condition on `batches` that leaves out the workspace's quarantined batches."""
    return batches.c.seq.not_in(select(quarantined_batches.c.seq).where(quarantined_batches.c.workspace_id == workspace_id))


def plan(connection: Connection, position: Position, settings: ServerSettings) -> Page:
    """The next page after `position`: whole batches, at most `page_batches` of them and, past the
    first, at most `page_events` events."""
    query = (select(batches.c.seq, batches.c.events)
             .where(batches.c.workspace_id == position.workspace_id, batches.c.seq > position.after, served(position.workspace_id))
             .order_by(batches.c.seq).limit(settings.page_batches))
    if position.buckets is not None:
        query = query.where(batches.c.bucket < position.buckets)
    through, count, events = position.after, 0, 0
    for seq, n in connection.execute(query):
        if count and events + n > settings.page_events:
            break
        through, count, events = seq, count + 1, events + n
    return Page(position.workspace_id, position.after, through, position.buckets, count, events)


def map_page(connection: Connection, page: Page) -> dict[str, pa.Table]:
    """The page's rows as its parts, mapped batch by batch in sequence order."""
    query = (select(batches.c.seq, batches.c.body, batches.c.received_at, inputs.c.kind, inputs.c.name)
             .join(inputs, inputs.c.id == batches.c.input_id)
             .where(batches.c.workspace_id == page.workspace_id, batches.c.seq > page.after, batches.c.seq <= page.through,
                    served(page.workspace_id))
             .order_by(batches.c.seq))
    if page.buckets is not None:
        query = query.where(batches.c.bucket < page.buckets)
    rows = Rows()
    for seq, body, received_at, kind, name in connection.execution_options(yield_per=200).execute(query):
        batch = orjson.loads(zlib.decompress(body))
        try:
            map_batch(batch, rows, workspace_id=page.workspace_id, seq=seq, feed=name if kind == "feed" else None,
                      received_ms=ms_of(received_at))
        except BatchError as exc:  # it mapped when it was accepted: the mapping has changed since
            log.error("stored batch %s of workspace %s no longer maps: %s", seq, page.workspace_id, exc)
            raise ApiError(500, "UNLOADABLE_BATCH",
                           f"stored batch {seq} of workspace {page.workspace_id} no longer maps ({exc}); an administrator "
                           f"can take it out of sync: audience-studio server batch quarantine {page.workspace_id} {seq}") from None
    return parts_of(tables_of(rows))


class PageCache:
    """The last few mapped pages, by token: a client fetches a page as several parts in a row."""

    def __init__(self, database: Database, size: int):
        self._db = database
        self._size = max(1, size)
        self._lock = threading.Lock()
        self._pages: OrderedDict[str, dict[str, pa.Table]] = OrderedDict()

    def parts(self, page: Page) -> dict[str, pa.Table]:
        token = page.token()
        with self._lock:
            if token in self._pages:
                self._pages.move_to_end(token)
                return self._pages[token]
        # Mapped outside the lock: pages are immutable, so two threads mapping one page agree.
        with self._db.read() as connection:
            parts = map_page(connection, page)
        with self._lock:
            self._pages[token] = parts
            while len(self._pages) > self._size:
                self._pages.popitem(last=False)
        return parts
