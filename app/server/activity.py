"""The activity stream's content: the batches a workspace's sources sent and the requests refused (a
disabled source still sending), in arrival order, filtered by source, event type, event name and user.

A position in the stream is two numbers, `SEQ.REFUSAL`: the workspace's last batch sequence number and the
last refusal id seen. Both only grow, so a client that reconnects with the last position it received (the
Server-Sent Events `Last-Event-ID`) misses nothing and sees nothing twice.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, select

from app.server.tables import batches, input_refusals, inputs, workspaces

#: Event names listed per batch in the stream (the detail view has the whole batch).
NAMES_SHOWN = 10


@dataclass(frozen=True)
class Position:
    seq: int = 0
    refusal: int = 0

    @classmethod
    def parse(cls, text: str, field: str) -> Position:
        """`SEQ.REFUSAL` (or `SEQ`); ValueError naming `field` otherwise."""
        head, _, tail = text.strip().partition(".")
        try:
            seq, refusal = int(head), int(tail or 0)
        except ValueError:
            raise ValueError(f"{field}: {text[:40]!r} is not a stream position such as 120.4") from None
        if not (0 <= seq < 2**62 and 0 <= refusal < 2**62):
            raise ValueError(f"{field}: {text[:40]!r} is out of range")
        return cls(seq, refusal)

    def __str__(self) -> str:
        return f"{self.seq}.{self.refusal}"


@dataclass(frozen=True)
class Filters:
    source: str | None = None  # a source's id or name (any case)
    event_type: str | None = None  # an mParticle event_type, exactly (any case)
    event_name: str | None = None  # part of an event's name (any case)
    user: str | None = None  # an mpid, or one of the batch's user identities (any case)

    @property
    def events_only(self) -> bool:
        """Refusals carry no events: filtering by event or user leaves them out."""
        return bool(self.event_type or self.event_name or self.user)


def start(connection: Connection, workspace_id: int, backlog: int) -> Position:
    """Where a stream without a position begins: `backlog` batches (and refusals) before the newest."""
    last = connection.execute(select(workspaces.c.last_seq).where(workspaces.c.id == workspace_id)).scalar() or 0
    refusal = connection.execute(select(input_refusals.c.id).where(input_refusals.c.workspace_id == workspace_id)
                                 .order_by(input_refusals.c.id.desc()).offset(backlog).limit(1)).scalar() or 0
    return Position(max(0, last - backlog), refusal)


def read(connection: Connection, workspace_id: int, after: Position, filters: Filters,
         limit: int) -> tuple[list[tuple[Position, str, dict[str, Any]]], Position, bool]:
    """What arrived after `after`: (position after it, "batch" | "refused", the item) in arrival order, the
    position after everything read (filtered out or not), and whether more is waiting."""
    sources = {r.id: {"id": r.id, "kind": r.kind, "name": r.name} for r in connection.execute(
        select(inputs.c.id, inputs.c.kind, inputs.c.name).where(inputs.c.workspace_id == workspace_id))}
    found_batches = list(connection.execute(
        select(batches.c.seq, batches.c.input_id, batches.c.mpid, batches.c.events, batches.c.received_at, batches.c.body)
        .where(batches.c.workspace_id == workspace_id, batches.c.seq > after.seq).order_by(batches.c.seq).limit(limit)))
    query = (select(input_refusals).where(input_refusals.c.workspace_id == workspace_id, input_refusals.c.id > after.refusal)
             .order_by(input_refusals.c.id).limit(limit))
    more = len(found_batches) == limit
    if more:  # refusals after the last batch read wait for it, so arrival order holds across reads
        query = query.where(input_refusals.c.at <= found_batches[-1].received_at)
    found_refusals = list(connection.execute(query))
    more = more or len(found_refusals) == limit
    items: list[tuple[Position, str, dict[str, Any]]] = []
    seq, refusal = after.seq, after.refusal
    for kind, number, row in _merged(found_batches, found_refusals):
        if kind == 0:
            seq = number
            item = _batch_item(row, sources.get(row.input_id))
            if _matches(item, filters):
                items.append((Position(seq, refusal), "batch", item))
        else:
            refusal = number
            item = {"type": "refused", "id": row.id, "at": _utc(row.at).isoformat(), "source": sources.get(row.input_id),
                    "status": row.status, "reason": row.reason}
            if not filters.events_only and _source_matches(item["source"], filters.source):
                items.append((Position(seq, refusal), "refused", item))
    return items, Position(seq, refusal), more


def _merged(found_batches: list, found_refusals: list):
    """Batches in sequence order and refusals in id order, interleaved by time. Each list keeps its own
    order (a batch received earlier can commit with a later number), so both halves of the position only
    grow and a client resuming after any event misses nothing."""
    i = j = 0
    while i < len(found_batches) or j < len(found_refusals):
        take_batch = j == len(found_refusals) or (
            i < len(found_batches) and _utc(found_batches[i].received_at) <= _utc(found_refusals[j].at))
        if take_batch:
            yield 0, found_batches[i].seq, found_batches[i]
            i += 1
        else:
            yield 1, found_refusals[j].id, found_refusals[j]
            j += 1


def batch(connection: Connection, workspace_id: int, seq: int) -> dict[str, Any] | None:
    """One stored batch as its source sent it, with where it came from (the stream's detail view)."""
    row = connection.execute(
        select(batches.c.seq, batches.c.input_id, batches.c.mpid, batches.c.events, batches.c.received_at, batches.c.body)
        .where(batches.c.workspace_id == workspace_id, batches.c.seq == seq)).first()
    if row is None:
        return None
    source = connection.execute(select(inputs.c.id, inputs.c.kind, inputs.c.name).where(inputs.c.id == row.input_id)).first()
    item = _batch_item(row, {"id": source.id, "kind": source.kind, "name": source.name} if source else None)
    item.pop("_all_names")
    item["batch"] = orjson.loads(zlib.decompress(row.body))
    return item


def _batch_item(row, source: dict | None) -> dict[str, Any]:
    body = orjson.loads(zlib.decompress(row.body))
    events = body.get("events") if isinstance(body.get("events"), list) else []
    types: list[str] = []
    names: list[str] = []
    for event in events:
        if not isinstance(event, dict):
            continue
        kind = event.get("event_type")
        if isinstance(kind, str) and kind not in types:
            types.append(kind)
        name = _event_name(event)
        if name and name not in names:
            names.append(name)
    identities = body.get("user_identities") if isinstance(body.get("user_identities"), dict) else {}
    return {"type": "batch", "seq": row.seq, "received_at": _utc(row.received_at).isoformat(), "source": source,
            "mpid": row.mpid, "events": row.events, "event_types": types, "event_names": names[:NAMES_SHOWN],
            "more_names": max(0, len(names) - NAMES_SHOWN), "_all_names": names,
            "identities": {str(k): str(v) for k, v in identities.items() if isinstance(v, (str, int, float))}}


def _event_name(event: dict) -> str | None:
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    for key in ("event_name", "screen_name"):
        if isinstance(data.get(key), str) and data[key]:
            return data[key]
    action = data.get("product_action")
    if isinstance(action, dict) and isinstance(action.get("action"), str):
        return action["action"]
    return None


def _source_matches(source: dict | None, wanted: str | None) -> bool:
    if not wanted:
        return True
    if source is None:
        return False
    return wanted.strip() == str(source["id"]) or wanted.strip().casefold() == source["name"].casefold()


def _matches(item: dict[str, Any], filters: Filters) -> bool:
    names = item.pop("_all_names")
    if not _source_matches(item["source"], filters.source):
        return False
    if filters.event_type and filters.event_type.strip().casefold() not in {t.casefold() for t in item["event_types"]}:
        return False
    if filters.event_name and not any(filters.event_name.strip().casefold() in n.casefold() for n in names):
        return False
    if filters.user:
        wanted = filters.user.strip().casefold()
        if wanted != str(item["mpid"]) and wanted not in {v.casefold() for v in item["identities"].values()}:
            return False
    return True


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)
