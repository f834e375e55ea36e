"""The activity stream over HTTP: Server-Sent Events of the batches arriving in a workspace and the
requests refused, authorised like the sync API (a viewer of the workspace), resumable with Last-Event-ID;
and one batch in full for the detail view. See docs/sources.md."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import orjson
from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from app.server import activity
from app.server.auth import api_caller
from app.server.definitions import Caller
from app.server.errors import ApiError
from app.server.responses import errors
from app.server.roles import VIEWER
from app.server.state import ServerState, server_state

router = APIRouter(tags=["activity"])

EVENT_STREAM = "text/event-stream"
#: Items read from the database per look.
READ_LIMIT = 200

_STREAM_DOC = {200: {"description": "Server-Sent Events: `event: batch` (a stored batch's summary), `event: refused` "
                                    "(a request refused, e.g. a disabled source still sending); each `id` is the stream "
                                    "position to resume from (Last-Event-ID)",
                     "content": {EVENT_STREAM: {"schema": {
                         "type": "object", "description": "One Server-Sent Event; `data` is the item as JSON text",
                         "properties": {"event": {"type": "string", "enum": ["batch", "refused"]}, "data": {"type": "string"},
                                        "id": {"type": "string", "pattern": "^[0-9]+\\.[0-9]+$"}, "retry": {"type": "integer"}}}}}}}


@router.get("/v1/workspaces/{workspace_id}/activity", response_class=StreamingResponse,
            responses={**_STREAM_DOC, **errors(400, 401, 403)},
            summary="Live activity: batches arriving and requests refused, as Server-Sent Events (viewer)")
async def stream(
    request: Request,
    workspace_id: int = Path(ge=1, le=2**31 - 1),
    source: str | None = Query(None, max_length=200, description="Only this source (its id or name)"),
    event_type: str | None = Query(None, max_length=100, description="Only batches with an event of this event_type"),
    event_name: str | None = Query(None, max_length=200, description="Only batches with an event whose name contains this"),
    user: str | None = Query(None, max_length=320, description="Only batches of this mpid or user identity"),
    after: str | None = Query(None, max_length=60, description="Start after this position (as Last-Event-ID)"),
    backlog: int = Query(50, ge=0, le=1000, description="Without a position: start this many batches before the newest"),
    follow: bool = Query(True, description="Keep the stream open for what arrives next (false: send what is there, then end)"),
    last_event_id: str | None = Header(None, max_length=60, description="The id of the last event received: resume after it"),
    caller: Caller = Depends(api_caller), state: ServerState = Depends(server_state),
) -> StreamingResponse:
    caller.require(workspace_id, role=VIEWER)
    resume, field = (last_event_id, "Last-Event-ID") if last_event_id else (after, "after")
    try:
        position = activity.Position.parse(resume, field) if resume else None
    except ValueError as exc:
        raise ApiError(400, "INVALID_FIELD", str(exc), field=field) from None
    if position is None:
        with state.database.read() as connection:
            position = activity.start(connection, workspace_id, backlog)
    filters = activity.Filters(source, event_type, event_name, user)
    return StreamingResponse(_events(request, state, workspace_id, position, filters, follow), media_type=EVENT_STREAM,
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _events(request: Request, state: ServerState, workspace_id: int, position: activity.Position,
                  filters: activity.Filters, follow: bool) -> AsyncIterator[bytes]:
    settings = state.settings
    yield b"retry: 2000\n\n"
    opened = last_sent = time.monotonic()
    while True:
        items, reached, more = await run_in_threadpool(_read, state, workspace_id, position, filters)
        chunks = [f"id: {at}\nevent: {kind}\ndata: ".encode() + orjson.dumps(item) + b"\n\n" for at, kind, item in items]
        if reached != position and (not items or items[-1][0] != reached):
            # Past items the filters left out: the id alone moves the client's Last-Event-ID on (no event fires).
            chunks.append(f"id: {reached}\n\n".encode())
        position = reached
        if chunks:
            yield b"".join(chunks)
            last_sent = time.monotonic()
        if more:
            continue
        if not follow or time.monotonic() - opened >= settings.activity_stream_seconds:
            return
        if await request.is_disconnected():
            return
        if time.monotonic() - last_sent >= settings.activity_keepalive_seconds:
            yield b": keep-alive\n\n"
            last_sent = time.monotonic()
        await asyncio.sleep(settings.activity_poll_seconds)


def _read(state: ServerState, workspace_id: int, position: activity.Position, filters: activity.Filters):
    with state.database.read() as connection:
        return activity.read(connection, workspace_id, position, filters, READ_LIMIT)


@router.get("/v1/workspaces/{workspace_id}/batches/{seq}", responses=errors(400, 401, 403, 404),
            summary="One stored batch in full, as its source sent it, with its source and arrival (viewer)")
def one_batch(workspace_id: int = Path(ge=1, le=2**31 - 1), seq: int = Path(ge=1, le=2**62),
              caller: Caller = Depends(api_caller), state: ServerState = Depends(server_state)) -> dict:
    caller.require(workspace_id, role=VIEWER)
    with state.database.read() as connection:
        found = activity.batch(connection, workspace_id, seq)
    if found is None:
        raise ApiError(404, "NOT_FOUND", f"seq: workspace {workspace_id} has no batch {seq}", field="seq")
    return found
