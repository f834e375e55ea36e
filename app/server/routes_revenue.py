"""Revenue on the sync API: uploading revenue rows, and a workspace's revenue changes since a cursor
as pages whose parts are Arrow IPC streams of the cache's revenue tables (app/server/revenue.py)."""

from __future__ import annotations

import enum
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from app.connectors.sync_format import ARROW_STREAM, write_part
from app.server import revenue
from app.server.api_models import (
    PagePart,
    RevenueChangesPage,
    RevenueUpload,
    RevenueWritten,
)
from app.server.auth import api_caller
from app.server.roles import ADMIN
from app.server.definitions import Caller
from app.server.errors import ApiError
from app.server.request_body import read_limited
from app.server.responses import errors
from app.server.state import ServerState, server_state

router = APIRouter(tags=["revenue"])

RevenuePart = enum.Enum("RevenuePart", {name: name for name in revenue.TABLES}, type=str)

_WORKSPACE = Path(description="The server's workspace id (GET /v1/me lists them)")


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema with its $defs put in place (the request body is declared by hand,
    where a `#/$defs/...` reference would point at the OpenAPI document's root)."""
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(dict(defs[ref.removeprefix("#/$defs/")]))
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return resolve(schema)


_UPLOAD_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": _inline(RevenueUpload.model_json_schema())}}}}


@router.post("/v1/workspaces/{workspace_id}/revenue", response_model=RevenueWritten, responses=errors(400, 401, 403, 413),
             openapi_extra=_UPLOAD_BODY, summary="Store revenue records, segment member counts and agencies")
async def upload_revenue(request: Request, workspace_id: int = _WORKSPACE, caller: Caller = Depends(api_caller),
                         state: ServerState = Depends(server_state)) -> RevenueWritten:
    """Each row replaces the stored row of the same key (latest wins; a null agency or channel is part
    of the key). Every row is checked first and the upload is stored in one transaction: one bad row
    (named as `records[3].revenue`) and nothing of it is stored. Needs the admin role (revenue is a source)."""
    caller.require(workspace_id, role=ADMIN)
    raw = await read_limited(request, state.settings.max_body_bytes)
    return await run_in_threadpool(_store, raw, workspace_id, state)


def _store(raw: bytes, workspace_id: int, state: ServerState) -> RevenueWritten:
    if not raw.strip():
        raise ApiError(400, "INVALID_BODY", "the body is empty; send {\"records\": [...], \"segment_counts\": [...], \"agencies\": [...]}")
    try:
        upload = RevenueUpload.model_validate_json(raw)
    except ValidationError as exc:  # answered as every malformed body is: 400 naming each field
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]) from None
    checked = {}
    try:
        for section in revenue.SECTIONS:
            checked[section] = revenue.check_rows(section, [row.model_dump() for row in getattr(upload, section)])
    except revenue.RevenueRowError as exc:
        raise ApiError(400, "INVALID_FIELD", str(exc), field=exc.field) from None
    written = revenue.store(state.database, workspace_id, checked)
    return RevenueWritten(**written)


@router.get("/v1/workspaces/{workspace_id}/revenue/changes", response_model=RevenueChangesPage, responses=errors(400, 401, 403, 409),
            summary="The next page of a workspace's revenue changes")
def revenue_changes(
    workspace_id: int = _WORKSPACE,
    cursor: str | None = Query(None, max_length=1000, description="The next_cursor of the previous page; none to start from the beginning"),
    caller: Caller = Depends(api_caller), state: ServerState = Depends(server_state),
) -> RevenueChangesPage:
    """Revenue rows changed after the cursor, as one part per table. Store the parts and `next_cursor`
    in one transaction; a corrected row comes again, later, under its new change number."""
    caller.require(workspace_id)
    after = 0
    if cursor:
        owner, after = revenue.from_cursor(cursor)
        if owner != workspace_id:
            raise ApiError(400, "INVALID_CURSOR", f"cursor: it belongs to workspace {owner}, not {workspace_id}", field="cursor")
    with state.database.read() as connection:
        page = revenue.plan(connection, workspace_id, after, state.settings.revenue_page_rows)
    total = sum(page.rows.values())
    token = page.token() if total else None
    return RevenueChangesPage(
        workspace_id=workspace_id, page=token, next_cursor=revenue.cursor(workspace_id, page.through), after=page.after,
        through=page.through, rows=total, more=page.more, server_revenue_seq=page.server_seq,
        parts=[PagePart(table=name, rows=rows, url=f"/v1/workspaces/{workspace_id}/revenue/pages/{token}/{name}")
               for name, rows in page.rows.items() if rows],
    )


@router.get("/v1/workspaces/{workspace_id}/revenue/pages/{page}/{table}", response_class=StreamingResponse,
            responses={200: {"description": "The part's rows as an Arrow IPC stream with the columns of cache.REVENUE_TABLES",
                             "headers": {"X-Rows": {"description": "The rows the stream holds", "schema": {"type": "integer"}}},
                             "content": {ARROW_STREAM: {"schema": {"type": "string", "format": "binary"}}}},
                       **errors(400, 401, 403)},
            summary="One part (revenue table) of a page of revenue changes")
def revenue_part(
    workspace_id: int = _WORKSPACE, page: str = Path(max_length=1000, description="The page token from /revenue/changes"),
    table: RevenuePart = Path(description="The revenue table"),
    caller: Caller = Depends(api_caller), state: ServerState = Depends(server_state),
) -> StreamingResponse:
    """The rows whose change number is in the page's range, queried again now: a row corrected since
    the page was made has left the range (it comes on a later page), so a part may hold fewer rows
    than the page said, never other ones."""
    caller.require(workspace_id)
    owner, after, through = revenue.from_page_token(page)
    if owner != workspace_id:
        raise ApiError(400, "INVALID_CURSOR", f"page: it belongs to workspace {owner}, not {workspace_id}", field="page")
    with state.database.read() as connection:
        rows = revenue.part(connection, workspace_id, after, through, table.value, state.settings.revenue_page_rows)
    return StreamingResponse(write_part(rows), media_type=ARROW_STREAM, headers={"X-Rows": str(rows.num_rows)})
