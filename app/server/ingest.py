"""Accepting mParticle batches: checking each with the import's own mapping, and storing it whole.

A request's batches are all checked before any is stored, then stored in one transaction under
consecutive sequence numbers of their workspace: a bulk request is all or nothing, a batch is never
stored in part, and whatever is stored is known to map cleanly when a client syncs it.
"""

from __future__ import annotations

import gzip
import io
import zlib
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import insert, update

from app.connectors.batches import BatchError, Rows, map_batch
from app.connectors.cache import sample_bucket
from app.models.store.db import utc_now
from app.server.database import Database
from app.server.errors import ApiError
from app.server.tables import batches, workspaces

#: zlib level for stored batches: JSON shrinks about 5x already at 3, and ingest stays fast.
COMPRESSION_LEVEL = 3


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


def check_batch(batch: Any, sender: Sender, prefix: str = "") -> CheckedBatch:
    """Map the batch as an import would (into scratch rows) and keep it if that succeeds; a 400
    naming the field otherwise. `prefix` locates the batch in a bulk request (``[3].``)."""
    try:
        info = map_batch(batch, Rows(), workspace_id=sender.workspace_id, seq=0, feed=sender.feed)
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
    return CheckedBatch(zlib.compress(orjson.dumps(batch), COMPRESSION_LEVEL), info.mpid, sample_bucket(info.mpid), info.events)


def check_bulk(body: Any, sender: Sender, max_batches: int) -> list[CheckedBatch]:
    if not isinstance(body, list):
        raise ApiError(400, "INVALID_BODY", "a bulk request's body is a JSON list of batches")
    if not 1 <= len(body) <= max_batches:
        raise ApiError(400, "INVALID_BODY", f"a bulk request holds 1 to {max_batches} batches, not {len(body)}")
    return [check_batch(batch, sender, f"[{i}].") for i, batch in enumerate(body)]


def store(database: Database, sender: Sender, checked: list[CheckedBatch]) -> int:
    """Store the batches under the next sequence numbers of their workspace; returns the last one.

    Taking the numbers with UPDATE ... RETURNING locks the workspace row until commit, so
    concurrent requests commit in sequence order and a sync never passes over a late commit.
    """
    now = utc_now()
    with database.write() as connection:
        last = connection.execute(
            update(workspaces).where(workspaces.c.id == sender.workspace_id)
            .values(last_seq=workspaces.c.last_seq + len(checked)).returning(workspaces.c.last_seq)
        ).scalar_one()
        first = last - len(checked) + 1
        connection.execute(insert(batches), [
            {"workspace_id": sender.workspace_id, "seq": first + i, "input_id": sender.input_id, "mpid": c.mpid,
             "bucket": c.bucket, "events": c.events, "received_at": now, "body": c.body}
            for i, c in enumerate(checked)
        ])
    return last
