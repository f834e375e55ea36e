"""The sync API's page format, shared by the server that writes pages and the client that loads them.

A page of a workspace's changes is one Arrow IPC stream per cache table ("part"), each holding the
rows `staging.tables_of` makes from the page's batches: events and their products (products point
into the page's events by `event_index`), profiles as first/last seen in milliseconds, and profile
state rows with their time, batch order (`seq`) and deletion flag. `staged_tables` turns the parts
back into what `CacheWriter.add_tables` loads, so a synced page is merged exactly as an import is.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from app.connectors.staging import STATE_SCHEMAS

#: The media type of a page part.
ARROW_STREAM = "application/vnd.apache.arrow.stream"

_TS = pa.timestamp("ms")

#: Each part of a page, named by the cache table it feeds, and the staged table it carries.
PART_TABLES: dict[str, str] = {
    "profiles": "seen", "identities": "identities", "attributes": "attributes", "consent": "consent",
    "devices": "devices", "locations": "locations", "attribution": "attribution",
    "events": "events", "event_products": "products",
}

#: The Arrow schema of each part (the same as `staging.tables_of` makes).
PART_SCHEMAS: dict[str, pa.Schema] = {
    "profiles": pa.schema([("workspace_id", pa.int32()), ("mpid", pa.int64()), ("first_seen", pa.int64()), ("last_seen", pa.int64())]),
    **{table: STATE_SCHEMAS[table] for table in ("identities", "attributes", "consent", "devices", "locations", "attribution")},
    "events": pa.schema([
        ("workspace_id", pa.int32()), ("mpid", pa.int64()), ("ts", _TS), ("event_type", pa.string()),
        ("event_name", pa.string()), ("input", pa.string()), ("product_action", pa.string()),
        ("revenue", pa.float64()), ("currency", pa.string()), ("attributes", pa.map_(pa.string(), pa.string())),
    ]),
    "event_products": pa.schema([
        ("event_index", pa.int64()), ("workspace_id", pa.int32()), ("mpid", pa.int64()), ("ts", _TS),
        ("product_action", pa.string()), ("product_id", pa.string()), ("name", pa.string()), ("brand", pa.string()),
        ("category", pa.string()), ("price", pa.float64()), ("quantity", pa.float64()),
    ]),
}


class PageFormatError(ValueError):
    """A page part is not what the format says; the message names the part and what is wrong."""


def parts_of(staged: dict[str, pa.Table]) -> dict[str, pa.Table]:
    """`staging.tables_of` output as a page's parts: every part present, empty ones included."""
    parts = {}
    for part, table_name in PART_TABLES.items():
        table = staged.get(table_name)
        parts[part] = table if table is not None else PART_SCHEMAS[part].empty_table()
    return parts


def write_part(table: pa.Table, rows_per_batch: int = 65_536) -> Iterator[bytes]:
    """An Arrow IPC stream of `table`, yielded in pieces (one per record batch) for a streamed response."""
    sink = _Pieces()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        yield sink.take()
        for batch in table.to_batches(max_chunksize=rows_per_batch):
            writer.write_batch(batch)
            yield sink.take()
    yield sink.take()


class _Pieces:
    """A write-only file whose written bytes are taken out piece by piece, so memory holds one batch."""

    closed = False

    def __init__(self) -> None:
        self._pieces: list[bytes] = []

    def write(self, data) -> int:
        self._pieces.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        data = b"".join(self._pieces)
        self._pieces.clear()
        return data


def read_part(name: str, data: bytes) -> pa.Table:
    """One received part, checked against its schema."""
    if name not in PART_SCHEMAS:
        raise PageFormatError(f"unknown page part {name!r}")
    try:
        table = pa.ipc.open_stream(data).read_all()
    except (pa.ArrowInvalid, OSError) as exc:
        raise PageFormatError(f"page part {name}: not an Arrow IPC stream ({exc})") from None
    if not table.schema.equals(PART_SCHEMAS[name]):
        raise PageFormatError(f"page part {name}: columns {table.schema.names} do not match the sync format {PART_SCHEMAS[name].names}")
    return table


def staged_tables(parts: dict[str, pa.Table], *, workspace_id: int | None = None) -> dict[str, pa.Table]:
    """A page's parts as `CacheWriter.add_tables` takes them, rows relabelled to the local
    `workspace_id` when given (the server numbers its workspaces its own way)."""
    events = parts.get("events")
    products = parts.get("event_products")
    if products is not None and products.num_rows:
        limit = events.num_rows if events is not None else 0
        if pc.max(products["event_index"]).as_py() >= limit or pc.min(products["event_index"]).as_py() < 0:
            raise PageFormatError("page part event_products: event_index points outside the page's events")
    staged = {}
    for part, table in parts.items():
        if part not in PART_TABLES:
            raise PageFormatError(f"unknown page part {part!r}")
        if not table.num_rows:
            continue
        if workspace_id is not None:
            index = table.schema.get_field_index("workspace_id")
            table = table.set_column(index, "workspace_id", pa.repeat(pa.scalar(workspace_id, pa.int32()), table.num_rows))
        staged[PART_TABLES[part]] = table
    return staged
