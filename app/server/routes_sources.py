"""Sources over HTTP (admin of the source's workspace): list with status, last data and volume; create
(the API key and secret in the answer, once, with an example request), disable, enable, rotate the secret.
See docs/sources.md."""

from __future__ import annotations

import datetime as dt
import json
import shlex

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from app.connectors.batches import PLATFORM_NAMES
from app.errors import InvalidInput, NotFound, UserError
from app.server.auth import api_caller
from app.server.definitions import Caller
from app.server.errors import ApiError
from app.server.responses import errors
from app.server.roles import ADMIN
from app.server.sources import SourceRow
from app.server.state import ServerState, server_state

router = APIRouter(tags=["sources"])



class Source(BaseModel):
    id: int
    workspace_id: int
    workspace: str
    kind: str = Field(description="platform (an app: iOS, Android, Web...) or feed (any sender)")
    name: str
    api_key: str = Field(description="The source's API key (an identifier: the HTTP Basic user name)")
    enabled: bool
    status: str = Field(description="receiving (data in the last 24 hours), quiet, waiting for data, or disabled")
    created_at: dt.datetime
    secret_rotated_at: dt.datetime | None
    last_received_at: dt.datetime | None = Field(description="When its newest stored batch arrived")
    batches: int = Field(description="Batches stored from it, ever")
    events: int = Field(description="Events in those batches")
    batches_24h: int = Field(description="Batches stored from it in the last 24 hours")
    refused: int = Field(description="Requests refused although its key and secret matched (sent while disabled)")
    last_refused_at: dt.datetime | None


class SourceCreate(BaseModel):
    kind: str = Field(pattern="^(platform|feed)$", description="platform or feed")
    name: str = Field(min_length=1, max_length=200, description="The platform (iOS, Android, Web, ...) or the feed's name")


class SourceSecret(BaseModel):
    source: Source
    api_key: str
    secret: str = Field(description="Shown once: only its hash is kept")
    example_request: str = Field(description="A curl command sending one batch with these credentials")


def _source(row: SourceRow) -> Source:
    return Source(id=row.id, workspace_id=row.workspace_id, workspace=row.workspace, kind=row.kind, name=row.name,
                  api_key=row.api_key, enabled=row.enabled, status=row.status, created_at=row.created_at,
                  secret_rotated_at=row.secret_rotated_at, last_received_at=row.last_received_at, batches=row.batches,
                  events=row.events, batches_24h=row.batches_24h, refused=row.refused, last_refused_at=row.last_refused_at)


def _failed(exc: UserError) -> ApiError:
    if isinstance(exc, NotFound):
        return ApiError(404, "NOT_FOUND", str(exc), field="source_id")
    if isinstance(exc, InvalidInput):
        return ApiError(400, "INVALID_FIELD", f"name: {exc}", field="name")
    return ApiError(409, "NAME_TAKEN", str(exc), field="name")


def example_request(base_url: str, row: SourceRow, secret: str) -> str:
    """A curl command that sends one small batch through the source (what the Sources pane offers to copy)."""
    # mParticle's own spelling of the platform (application_info.os), which ingest maps back to the name.
    platform = next((raw for raw, name in PLATFORM_NAMES.items() if name == row.name), row.name) if row.kind == "platform" else None
    batch: dict = {"environment": "production", "user_identities": {"customer_id": "example-1"},
                   "events": [{"event_type": "custom_event", "data": {"event_name": "Hello from curl", "custom_event_type": "other"}}]}
    if platform is not None:
        batch["application_info"] = {"os": platform}
    return (f"curl -sS -u {shlex.quote(row.api_key + ':' + secret)} -H 'Content-Type: application/json' "
            f"{shlex.quote(base_url.rstrip('/') + '/v2/events')} -d {shlex.quote(json.dumps(batch))}")


def _secret(state: ServerState, request: Request, row: SourceRow, secret: str) -> SourceSecret:
    base = state.settings.public_url or str(request.base_url)
    return SourceSecret(source=_source(row), api_key=row.api_key, secret=secret, example_request=example_request(base, row, secret))


def _require_source(caller: Caller, state: ServerState, source_id: int) -> None:
    """404 for a source that does not exist or is of a workspace the caller has no grant on (the same answer,
    so ids of other workspaces' sources are not revealed); 403 naming the role for a lower role."""
    try:
        workspace_id = state.sources.workspace_of(source_id)
    except UserError:
        workspace_id = None
    if workspace_id is None or workspace_id not in caller.roles:
        raise ApiError(404, "NOT_FOUND", f"source_id: no source {source_id} in your workspaces", field="source_id")
    caller.require(workspace_id, "source_id", ADMIN)


@router.get("/v1/workspaces/{workspace_id}/sources", response_model=list[Source], responses=errors(400, 401, 403),
            summary="The workspace's sources with their status, last data and volume (admin)")
def list_sources(workspace_id: int = Path(ge=1, le=2**31 - 1), caller: Caller = Depends(api_caller),
                 state: ServerState = Depends(server_state)) -> list[Source]:
    caller.require(workspace_id, role=ADMIN)
    return [_source(r) for r in state.sources.list(frozenset({workspace_id}))]


@router.post("/v1/workspaces/{workspace_id}/sources", status_code=201, response_model=SourceSecret,
             responses=errors(400, 401, 403, 409), summary="Make a source; its API key and secret are in the answer, once (admin)")
def create_source(body: SourceCreate, request: Request, workspace_id: int = Path(ge=1, le=2**31 - 1), caller: Caller = Depends(api_caller),
                  state: ServerState = Depends(server_state)) -> SourceSecret:
    caller.require(workspace_id, role=ADMIN)
    try:
        row, secret = state.sources.create(caller.name, workspace_id, body.kind, body.name)
    except UserError as exc:
        raise _failed(exc) from None
    return _secret(state, request, row, secret)


@router.post("/v1/sources/{source_id}/disable", response_model=Source, responses=errors(400, 401, 403, 404),
             summary="Refuse the source's batches (403) from now on (admin)")
def disable_source(source_id: int = Path(ge=1, le=2**31 - 1), caller: Caller = Depends(api_caller), state: ServerState = Depends(server_state)) -> Source:
    _require_source(caller, state, source_id)
    return _source(state.sources.set_enabled(caller.name, source_id, False))


@router.post("/v1/sources/{source_id}/enable", response_model=Source, responses=errors(400, 401, 403, 404),
             summary="Accept the source's batches again (admin)")
def enable_source(source_id: int = Path(ge=1, le=2**31 - 1), caller: Caller = Depends(api_caller), state: ServerState = Depends(server_state)) -> Source:
    _require_source(caller, state, source_id)
    return _source(state.sources.set_enabled(caller.name, source_id, True))


@router.post("/v1/sources/{source_id}/rotate", response_model=SourceSecret, responses=errors(400, 401, 403, 404),
             summary="Give the source a new secret, in the answer once; the old one stops working at once (admin)")
def rotate_secret(request: Request, source_id: int = Path(ge=1, le=2**31 - 1), caller: Caller = Depends(api_caller),
                  state: ServerState = Depends(server_state)) -> SourceSecret:
    _require_source(caller, state, source_id)
    row, secret = state.sources.rotate(caller.name, source_id)
    return _secret(state, request, row, secret)
