"""The mParticle-compatible ingest endpoints: POST /v2/events and /v2/bulkevents."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from app.server import ingest
from app.server.api_models import BATCH_SCHEMA, Accepted
from app.server.auth import ingest_sender
from app.server.errors import ApiError
from app.server.request_body import read_limited
from app.server.responses import errors
from app.server.state import ServerState, server_state

router = APIRouter(tags=["ingest"])

_RESPONSES = errors(400, 401, 403, 413, 415, 429)


def _body(schema: dict) -> dict:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


@router.post("/v2/events", status_code=202, response_model=Accepted, responses=_RESPONSES,
             openapi_extra=_body(BATCH_SCHEMA), summary="Send one batch")
async def post_events(request: Request, sender: ingest.Sender = Depends(ingest_sender),
                      state: ServerState = Depends(server_state)) -> Accepted:
    """One mParticle batch, checked by the same mapping `audience-studio import` uses, stored whole or not at all."""
    raw = await _read_body(request, state, sender)
    return await run_in_threadpool(_accept, raw, request.headers.get("content-encoding"), sender, state, False)


@router.post("/v2/bulkevents", status_code=202, response_model=Accepted, responses=_RESPONSES,
             openapi_extra=_body({"type": "array", "minItems": 1, "maxItems": 100, "items": BATCH_SCHEMA}),
             summary="Send up to 100 batches")
async def post_bulk_events(request: Request, sender: ingest.Sender = Depends(ingest_sender),
                           state: ServerState = Depends(server_state)) -> Accepted:
    """A list of batches: all are stored, or (if one is malformed) none is, and the error names it (``[3].mpid``)."""
    raw = await _read_body(request, state, sender)
    return await run_in_threadpool(_accept, raw, request.headers.get("content-encoding"), sender, state, True)


async def _read_body(request: Request, state: ServerState, sender: ingest.Sender) -> bytes:
    """The body, refused (413) as soon as it passes the limit, and the rate checked before reading it;
    a body not declared JSON is refused (415) unread."""
    ingest.check_content_type(request.headers.get("content-type"))
    wait = state.limiter.take(sender.input_id)
    if wait is not None:
        raise ApiError(429, "RATE_LIMITED", f"this input sends more than {state.settings.rate_per_second:g} requests per second; retry after {wait} s",
                       headers={"Retry-After": str(wait)})
    return await read_limited(request, state.settings.max_body_bytes)


def _accept(raw: bytes, encoding: str | None, sender: ingest.Sender, state: ServerState, bulk: bool) -> Accepted:
    received_at = ingest.received_now()  # the moment of batches that carry none of their own
    received_ms = ingest.ms_of(received_at)
    body = ingest.decode_body(raw, encoding, state.settings.max_body_bytes)
    checked = (ingest.check_bulk(body, sender, state.settings.bulk_max_batches, received_ms=received_ms) if bulk
               else [ingest.check_batch(body, sender, received_ms=received_ms)])
    ingest.store(state.database, sender, checked, received_at)
    state.snapshots.follow(sender.workspace_id)  # keep the first-sync snapshot warm (when snapshots are on)
    return Accepted(batches=len(checked))
