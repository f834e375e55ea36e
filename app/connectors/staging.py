"""Mapped rows as Arrow tables: what `CacheWriter.add_tables` loads, and what import workers send back.

`tables_of(rows)` turns one chunk's `Rows` into Arrow tables whose event indices are local to the
chunk (the writer numbers events when it loads them), so a chunk can be built in another process and
shipped as Arrow IPC (`to_ipc` / `from_ipc`) without knowing the cache's next event id. No DuckDB here:
worker processes import this module and `batches` only.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from app.connectors.batches import Rows

_TS = pa.timestamp("ms")

#: Columns of each state table's staged rows, in `Rows`' tuple order; every row then ends with
#: (updated_at ms, seq), and attributes carry their `deleted` flag among the columns.
STATE_COLUMNS: dict[str, list[tuple[str, pa.DataType]]] = {
    "identities": [("workspace_id", pa.int32()), ("mpid", pa.int64()), ("identity_type", pa.string()), ("kind", pa.string()), ("value", pa.string())],
    "attributes": [("workspace_id", pa.int32()), ("mpid", pa.int64()), ("name", pa.string()), ("value", pa.string()), ("value_list", pa.list_(pa.string())), ("json_kind", pa.string()), ("deleted", pa.bool_())],
    "consent": [("workspace_id", pa.int32()), ("mpid", pa.int64()), ("regulation", pa.string()), ("purpose", pa.string()), ("consented", pa.bool_()), ("document", pa.string())],
    "devices": [("workspace_id", pa.int32()), ("mpid", pa.int64()), ("platform", pa.string()), ("os", pa.string()), ("os_version", pa.string()), ("device_model", pa.string()), ("manufacturer", pa.string()), ("carrier", pa.string()), ("app_version", pa.string()), ("build", pa.string())],
    "locations": [("workspace_id", pa.int32()), ("mpid", pa.int64()), ("city", pa.string()), ("state", pa.string()), ("zip", pa.string()), ("dma", pa.string()), ("country", pa.string()), ("latitude", pa.float64()), ("longitude", pa.float64())],
    "attribution": [("workspace_id", pa.int32()), ("mpid", pa.int64()), ("kind", pa.string()), ("service_provider", pa.string()), ("publisher", pa.string()), ("campaign", pa.string())],
}

STATE_SCHEMAS: dict[str, pa.Schema] = {
    table: pa.schema(columns + [("updated_at", pa.int64()), ("seq", pa.int64())] + ([] if table == "attributes" else [("deleted", pa.bool_())]))
    for table, columns in STATE_COLUMNS.items()
}

_STATE_STRUCTS: dict[str, pa.DataType] = {
    table: pa.struct(list(schema)[: len(schema) - (table != "attributes")]) for table, schema in STATE_SCHEMAS.items()
}


def tables_of(rows: Rows) -> dict[str, pa.Table]:
    """One chunk's rows as Arrow tables: "events", "products" (with `event_index` into the chunk's
    events), "seen", and one per state table that has rows. Empty tables are left out."""
    tables: dict[str, pa.Table] = {}
    n = rows.event_count
    if n:
        events = pa.table({
            "workspace_id": pa.array(rows.ev_workspace, pa.int32()),
            "mpid": pa.array(rows.ev_mpid, pa.int64()),
            "ts": pa.array(rows.ev_ts, pa.int64()).cast(_TS),
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
        tables["events"] = events
        if rows.pr_event:
            index = pa.array(rows.pr_event, pa.int64())
            tables["products"] = pa.table({
                "event_index": index,
                "workspace_id": pc.take(events["workspace_id"], index),
                "mpid": pc.take(events["mpid"], index),
                "ts": pc.take(events["ts"], index),
                "product_action": pc.take(events["product_action"], index),
                "product_id": pa.array(rows.pr_id, pa.string()),
                "name": pa.array(rows.pr_name, pa.string()),
                "brand": pa.array(rows.pr_brand, pa.string()),
                "category": pa.array(rows.pr_category, pa.string()),
                "price": pa.array(rows.pr_price, pa.float64()),
                "quantity": pa.array(rows.pr_quantity, pa.float64()),
            })
    if rows.seen:
        ws, mpid, first, last = zip(*rows.seen)
        tables["seen"] = pa.table({
            "workspace_id": pa.array(ws, pa.int32()),
            "mpid": pa.array(mpid, pa.int64()),
            "first_seen": pa.array(first, pa.int64()),
            "last_seen": pa.array(last, pa.int64()),
        })
    for table, schema in STATE_SCHEMAS.items():
        staged = getattr(rows, table)
        if not staged:
            continue
        # Converting the tuples as structs and flattening beats transposing them in Python.
        arrays = pa.array(staged, _STATE_STRUCTS[table]).flatten()
        if table != "attributes":
            arrays.append(pa.repeat(False, len(staged)))  # rows.py never deletes these
        tables[table] = pa.Table.from_arrays(arrays, schema=schema)
    return tables


def to_ipc(tables: dict[str, pa.Table]) -> list[tuple[str, bytes]]:
    """Tables as Arrow IPC streams, to send between processes."""
    out = []
    for name, table in tables.items():
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        out.append((name, sink.getvalue().to_pybytes()))
    return out


def from_ipc(streams: list[tuple[str, bytes]]) -> dict[str, pa.Table]:
    return {name: pa.ipc.open_stream(data).read_all() for name, data in streams}


def concat_tables(chunks: list[dict[str, pa.Table]]) -> dict[str, pa.Table]:
    """Several chunks' tables as one chunk's: products' event indices shifted past earlier events."""
    out: dict[str, pa.Table] = {}
    offset = 0
    products = []
    for tables in chunks:
        if "products" in tables:
            part = tables["products"]
            if offset:
                part = part.set_column(0, "event_index", pc.add(part["event_index"], pa.scalar(offset, pa.int64())))
            products.append(part)
        if "events" in tables:
            offset += tables["events"].num_rows
    for name in ("events", "seen", *STATE_SCHEMAS):
        parts = [tables[name] for tables in chunks if name in tables]
        if parts:
            out[name] = pa.concat_tables(parts)
    if products:
        out["products"] = pa.concat_tables(products)
    return out
