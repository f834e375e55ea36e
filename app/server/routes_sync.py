"""The sync API for the app: a workspace's changes since a cursor, as pages whose parts are Arrow IPC streams,
and the snapshot a first sync starts from (Parquet files, app/server/snapshots.py)."""

from __future__ import annotations

import enum

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from app.connectors.cache import BUCKETS
from app.connectors.sync_format import ARROW_STREAM, PART_TABLES, write_part
from app.server.api_models import (
    ChangesPage,
    ErrorBody,
    Me,
    PagePart,
    SnapshotInfo,
    SnapshotPart,
    WorkspaceInfo,
)
from app.server.auth import api_caller
from app.server.definitions import Caller
from app.server.errors import ApiError
from app.server.pages import Page, Position, buckets_of, plan, served
from app.server.responses import errors
from app.server.snapshots import PARQUET, SNAPSHOT_TABLES, parse_token
from app.server.state import ServerState, server_state
from app.server.tables import batches, workspaces

router = APIRouter(tags=["sync"])

PartName = enum.Enum("PartName", {name: name for name in PART_TABLES}, type=str)
SnapshotTable = enum.Enum("SnapshotTable", {name: name for name in SNAPSHOT_TABLES}, type=str)


@router.get("/v1/me", response_model=Me, responses=errors(400, 401), summary="The token's user and workspaces")
def me(caller: Caller = Depends(api_caller), state: ServerState = Depends(server_state)) -> Me:
    with state.database.read() as connection:
        rows = connection.execute(select(workspaces).where(workspaces.c.id.in_(sorted(caller.workspace_ids))).order_by(workspaces.c.id))
        found = [WorkspaceInfo(id=r.id, name=r.name, last_seq=r.last_seq) for r in rows]
    return Me(user=caller.name, workspaces=found, company=state.accounts.company_name(),
              roles={str(w): r for w, r in sorted(caller.roles.items())})


@router.get("/v1/workspaces/{workspace_id}/changes", response_model=ChangesPage, responses=errors(400, 401, 403, 409),
            summary="The next page of a workspace's changes")
def changes(
    workspace_id: int = Path(description="The server's workspace id (GET /v1/me lists them)"),
    cursor: str | None = Query(None, max_length=1000, description="The next_cursor of the previous page; none to start from the beginning"),
    sample: float | None = Query(None, gt=0, le=1, description="Only this fraction of profiles, chosen by md5(mpid) bucket as the cache does"),
    caller: Caller = Depends(api_caller), state: ServerState = Depends(server_state),
) -> ChangesPage:
    """What changed after the cursor: a page of whole batches, described here and fetched part by part.

    Store every part of the page and its `next_cursor` in one transaction; a client that stops at
    any point resumes from the last cursor it stored and ends with exactly the server's data.
    """
    caller.require(workspace_id)
    position = _position(workspace_id, cursor, sample)
    with state.database.read() as connection:
        last_seq = connection.execute(select(workspaces.c.last_seq).where(workspaces.c.id == workspace_id)).scalar_one()
        if position.after > last_seq:
            raise ApiError(409, "CURSOR_AHEAD", f"cursor: it is past the server's newest batch ({last_seq}); the server's data was reset, so sync again from the start",
                           field="cursor")
        page = plan(connection, position, state.settings)
        more_query = select(batches.c.seq).where(batches.c.workspace_id == workspace_id, batches.c.seq > page.through,
                                                 served(workspace_id)).limit(1)
        if position.buckets is not None:
            more_query = more_query.where(batches.c.bucket < position.buckets)
        more = connection.execute(more_query).first() is not None
    parts = state.pages.parts(page) if page.batches else {}
    token = page.token() if page.batches else None
    return ChangesPage(
        workspace_id=workspace_id, page=token, next_cursor=Position(workspace_id, page.through, position.buckets).cursor(),
        last_seq=page.through if page.batches else None, batches=page.batches, events=page.events,
        more=more, sample=None if position.buckets is None else position.buckets / BUCKETS, server_last_seq=last_seq,
        parts=[PagePart(table=name, rows=table.num_rows, url=f"/v1/workspaces/{workspace_id}/pages/{token}/{name}")
               for name, table in parts.items()],
    )


def _position(workspace_id: int, cursor: str | None, sample: float | None) -> Position:
    buckets = buckets_of(sample)
    if not cursor:
        return Position(workspace_id, 0, buckets)
    position = Position.from_cursor(cursor)
    if position.workspace_id != workspace_id:
        raise ApiError(400, "INVALID_CURSOR", f"cursor: it belongs to workspace {position.workspace_id}, not {workspace_id}", field="cursor")
    if sample is not None and buckets != position.buckets:
        made = "every profile" if position.buckets is None else f"sample={position.buckets / BUCKETS:g}"
        raise ApiError(400, "INVALID_CURSOR", f"sample: the cursor was made for {made}; keep it, or start again without a cursor", field="sample")
    return position


@router.get("/v1/workspaces/{workspace_id}/pages/{page}/{table}", response_class=StreamingResponse,
            responses={200: {"description": "The part's rows as an Arrow IPC stream (the sync format, docs/server.md)",
                             "content": {ARROW_STREAM: {"schema": {"type": "string", "format": "binary"}}}},
                       **errors(400, 401, 403)},
            summary="One part (cache table) of a page")
def page_part(
    workspace_id: int, page: str = Path(max_length=1000, description="The page token from /changes"),
    table: PartName = Path(description="The cache table"),
    caller: Caller = Depends(api_caller), state: ServerState = Depends(server_state),
) -> StreamingResponse:
    caller.require(workspace_id)
    wanted = Page.from_token(page)
    if wanted.workspace_id != workspace_id:
        raise ApiError(400, "INVALID_CURSOR", f"page: it belongs to workspace {wanted.workspace_id}, not {workspace_id}", field="page")
    with state.database.read() as connection:
        # A page is only as large as the server would have made it: this bounds the memory it takes.
        largest = plan(connection, Position(workspace_id, wanted.after, wanted.buckets), state.settings)
    if wanted.through > largest.through:
        raise ApiError(400, "INVALID_CURSOR", "page: not a page this server gave out", field="page")
    rows = state.pages.parts(wanted)[table.value]
    return StreamingResponse(write_part(rows), media_type=ARROW_STREAM, headers={"X-Rows": str(rows.num_rows)})


_SNAPSHOT_404 = {404: {"model": ErrorBody, "description": "The server keeps no snapshots (SNAPSHOTS_OFF), or this snapshot "
                                                           "was replaced by a newer one (SNAPSHOT_GONE)"}}


@router.get("/v1/workspaces/{workspace_id}/snapshot", response_model=SnapshotInfo, responses={**errors(400, 401, 403), **_SNAPSHOT_404},
            summary="A snapshot of the workspace's cache, for a first sync")
def snapshot(
    workspace_id: int = Path(description="The server's workspace id (GET /v1/me lists them)"),
    sample: float | None = Query(None, gt=0, le=1, description="Only this fraction of profiles, chosen by md5(mpid) bucket as the cache does"),
    caller: Caller = Depends(api_caller), state: ServerState = Depends(server_state),
) -> SnapshotInfo:
    """Every cache table of the workspace through batch `through`, as Parquet files: what syncing all
    pages up to `through` would give. Load every part into an empty workspace together with `cursor`
    in one transaction, then follow /changes from `cursor`. A snapshot may lag the newest batch
    while the server brings it up to date; the pages after it make up the difference.
    """
    caller.require(workspace_id)
    buckets = buckets_of(sample)
    with state.database.read() as connection:
        last_seq = connection.execute(select(workspaces.c.last_seq).where(workspaces.c.id == workspace_id)).scalar_one()
    made = state.snapshots.current(workspace_id, buckets)
    token = made.token()
    return SnapshotInfo(
        workspace_id=workspace_id, through=made.through, cursor=Position(workspace_id, made.through, buckets).cursor(),
        batches=made.batches, events=made.events, sample=None if buckets is None else buckets / BUCKETS,
        server_last_seq=max(last_seq, made.through),
        parts=[SnapshotPart(table=p.table, rows=p.rows, bytes=p.bytes, url=f"/v1/workspaces/{workspace_id}/snapshots/{token}/{p.table}")
               for p in made.parts],
    )


@router.get("/v1/workspaces/{workspace_id}/snapshots/{token}/{table}", response_class=StreamingResponse,
            responses={200: {"description": "The part's rows as a Parquet file (columns of the cache table, docs/server.md)",
                             "content": {PARQUET: {"schema": {"type": "string", "format": "binary"}}}},
                       **errors(400, 401, 403), **_SNAPSHOT_404},
            summary="One part (cache table) of a snapshot")
def snapshot_part(
    workspace_id: int, token: str = Path(max_length=1000, description="The snapshot's token, from the part urls of /snapshot"),
    table: SnapshotTable = Path(description="The cache table"),
    caller: Caller = Depends(api_caller), state: ServerState = Depends(server_state),
) -> StreamingResponse:
    caller.require(workspace_id)
    owner, through, buckets = parse_token(token)
    if owner != workspace_id:
        raise ApiError(400, "INVALID_CURSOR", f"token: it belongs to workspace {owner}, not {workspace_id}", field="token")
    part, opened = state.snapshots.part(workspace_id, through, buckets, table.value)
    return StreamingResponse(_chunks(opened), media_type=PARQUET,
                             headers={"X-Rows": str(part.rows), "Content-Length": str(part.bytes)})


def _chunks(opened, size: int = 1 << 20):
    """The open file's bytes a megabyte at a time; the file is closed at the end or when the client goes."""
    with opened:
        while chunk := opened.read(size):
            yield chunk

