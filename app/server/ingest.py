"""Accepting mParticle batches: checking each with the import's own mapping, and storing it whole.

A request's batches are all checked before any is stored, then stored in one transaction under
consecutive sequence numbers of their workspace: a bulk request is all or nothing, a batch is never
stored in part, and whatever is stored is known to map cleanly when a client syncs it.

A batch that carries its own id (`source_request_id`, else `batch_id`) is stored once per workspace:
a resent request is acknowledged (202) but not stored again.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import re
import zlib
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import insert, select, update

from app.connectors.batches import BatchError, Rows, map_batch
from app.connectors.cache import sample_bucket
from app.models.store.db import utc_now
from app.server.database import Database
from app.server.errors import ApiError
from app.server.tables import batches, workspaces

#: zlib level for stored batches: JSON shrinks about 5x already at 3, and ingest stays fast.
COMPRESSION_LEVEL = 3

#: The fields that identify a batch, in the order they are looked for (mParticle's published schema:
#: `source_request_id` is the sender's id of the request, `batch_id` mParticle's id of a batch).
BATCH_ID_FIELDS = ("source_request_id", "batch_id")

#: Media types ingest reads: JSON, and any structured-syntax `+json` type (RFC 6839).
_JSON_TYPE = re.compile(r"^application/(?:[a-z0-9!#$&^_.+-]+\+)?json$")

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class Sender:
    """The input whose key and secret authenticated a request."""

    input_id: int
    workspace_id: int
    kind: str  # "platform" | "feed"
    name: str

    @property
    def feed(self) -> str | None:
        return self.name if self.kind == "feed" else None


@dataclass(frozen=True)
class CheckedBatch:
    body: bytes  # compressed JSON
    mpid: int
    bucket: int
    events: int
    key: str | None = None  # SHA-256 of the batch's own id, when it has one


def received_now() -> dt.datetime:
    """The moment a request is received, to the millisecond (what is stored as `received_at`)."""
    now = dt.datetime.now(dt.timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def ms_of(moment: dt.datetime) -> int:
    """A stored `received_at` in milliseconds since 1970: the time of a batch without one of its own."""
    return (moment - _EPOCH) // dt.timedelta(milliseconds=1)


def check_content_type(content_type: str | None) -> None:
    """415 unless the body is declared JSON (``application/json``, ``application/*+json``; parameters
    such as ``charset`` allowed)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if not _JSON_TYPE.match(media):
        shown = repr(content_type[:80]) if content_type else "missing"
        raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE",
                       f"Content-Type: {shown}; send the batch as application/json", field="Content-Type")


def decode_body(raw: bytes, content_encoding: str | None, max_bytes: int) -> Any:
    """The request's JSON; gzip is undone first, never past `max_bytes` (a small bomb stays small)."""
    if content_encoding and content_encoding.strip().lower() == "gzip":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as unzipped:
                raw = unzipped.read(max_bytes + 1)
        except (OSError, EOFError, zlib.error):
            raise ApiError(400, "INVALID_BODY", "Content-Encoding is gzip but the body is not gzip data") from None
        if len(raw) > max_bytes:
            raise ApiError(413, "TOO_LARGE", f"the body is larger than {max_bytes:,} bytes once unzipped")
    elif content_encoding and content_encoding.strip().lower() not in ("identity", ""):
        raise ApiError(400, "INVALID_BODY", f"Content-Encoding {content_encoding!r} is not supported; send gzip or nothing")
    if not raw.strip():
        raise ApiError(400, "INVALID_BODY", "the body is empty; send a batch as JSON")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "INVALID_JSON", f"the body is not valid JSON: {exc}") from None


def check_batch(batch: Any, sender: Sender, prefix: str = "", *, received_ms: int | None = None) -> CheckedBatch:
    """Map the batch as an import would (into scratch rows) and keep it if that succeeds; a 400
    naming the field otherwise. `prefix` locates the batch in a bulk request (``[3].``);
    `received_ms` is the request's moment, the time of a batch without one of its own."""
    if received_ms is None:
        received_ms = ms_of(received_now())
    try:
        info = map_batch(batch, Rows(), workspace_id=sender.workspace_id, seq=0, feed=sender.feed, received_ms=received_ms)
    except BatchError as exc:
        message = exc.message
        if exc.path == "application_info.os" and message.startswith("missing"):
            message = f"missing: batches sent with the {sender.name} input's key must name their platform"
        field = f"{prefix}{exc.path}" if exc.path else prefix.rstrip(".") or None
        raise ApiError(400, "INVALID_BATCH", f"{field}: {message}" if field else message, field=field) from None
    if sender.kind == "platform" and info.input_name != sender.name:
        where = "application_info.os" if isinstance(batch.get("application_info"), dict) and batch["application_info"].get("os") else "device_info.platform"
        raise ApiError(400, "WRONG_PLATFORM", f"{prefix}{where}: this key belongs to the {sender.name} input, but the batch is from {info.input_name}",
                       field=prefix + where)
    key = _batch_key(batch, prefix)
    try:
        encoded = orjson.dumps(batch)
    except orjson.JSONEncodeError:  # nested deeper than orjson writes (254 levels): only unknown fields go so deep
        path = _deepest_path(batch)
        field = prefix + path.split(".", 1)[0].split("[", 1)[0]
        shown = prefix + (path if len(path) <= 120 else path[:117] + "...")
        raise ApiError(400, "INVALID_BATCH", f"{field}: nested too deeply (more than 250 levels, at {shown})", field=field) from None
    return CheckedBatch(zlib.compress(encoded, COMPRESSION_LEVEL), info.mpid, sample_bucket(info.mpid), info.events, key)


def _batch_key(batch: dict, prefix: str) -> str | None:
    """SHA-256 of the batch's own id, or None when it carries none."""
    for name in BATCH_ID_FIELDS:
        value = batch.get(name)
        if value is None or value == "":
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ApiError(400, "INVALID_BATCH", f"{prefix}{name}: expected a string or number identifying the batch",
                           field=prefix + name)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return hashlib.sha256(f"{name}:{value}".encode("utf-8", "surrogatepass")).hexdigest()
    return None


def _deepest_path(value: Any) -> str:
    """The path to the deepest point of a JSON value (``x.a[0].b``), walked without recursion."""
    best, best_depth = "", 0
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if depth > best_depth:
            best, best_depth = path, depth
        if isinstance(item, dict):
            stack.extend((child, f"{path}.{key}" if path else str(key), depth + 1) for key, child in item.items())
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{k}]", depth + 1) for k, child in enumerate(item))
    return best


def check_bulk(body: Any, sender: Sender, max_batches: int, *, received_ms: int | None = None) -> list[CheckedBatch]:
    if not isinstance(body, list):
        raise ApiError(400, "INVALID_BODY", "a bulk request's body is a JSON list of batches")
    if not 1 <= len(body) <= max_batches:
        raise ApiError(400, "INVALID_BODY", f"a bulk request holds 1 to {max_batches} batches, not {len(body)}")
    return [check_batch(batch, sender, f"[{i}].", received_ms=received_ms) for i, batch in enumerate(body)]


def store(database: Database, sender: Sender, checked: list[CheckedBatch], received_at: dt.datetime | None = None) -> int:
    """Store the batches under the next sequence numbers of their workspace; returns how many were
    new (a batch whose id the workspace already holds, or that came earlier in the request, is not).

    Taking the workspace row with UPDATE ... RETURNING first locks it until commit, so concurrent
    requests commit in sequence order, a sync never passes over a late commit, and two requests
    resending one batch cannot both find it new.
    """
    now = received_at or utc_now()
    with database.write() as connection:
        last = connection.execute(
            update(workspaces).where(workspaces.c.id == sender.workspace_id)
            .values(last_seq=workspaces.c.last_seq).returning(workspaces.c.last_seq)
        ).scalar_one()
        fresh = _not_yet_stored(connection, sender.workspace_id, checked)
        if not fresh:
            return 0
        connection.execute(update(workspaces).where(workspaces.c.id == sender.workspace_id).values(last_seq=last + len(fresh)))
        connection.execute(insert(batches), [
            {"workspace_id": sender.workspace_id, "seq": last + 1 + i, "input_id": sender.input_id, "mpid": c.mpid,
             "bucket": c.bucket, "events": c.events, "received_at": now, "body": c.body, "batch_key": c.key}
            for i, c in enumerate(fresh)
        ])
    return len(fresh)


def _not_yet_stored(connection, workspace_id: int, checked: list[CheckedBatch]) -> list[CheckedBatch]:
    keys = {c.key for c in checked if c.key is not None}
    seen = set(connection.execute(select(batches.c.batch_key).where(
        batches.c.workspace_id == workspace_id, batches.c.batch_key.in_(sorted(keys)))).scalars()) if keys else set()
    fresh = []
    for c in checked:
        if c.key is not None:
            if c.key in seen:
                continue
            seen.add(c.key)
        fresh.append(c)
    return fresh
