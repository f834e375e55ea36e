"""Shared audience definitions: changes since a cursor, and create/update/delete with an expected version; and the
audiences' saved versions (their edit history): sent by the laptops, received after a cursor."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query, Response

from app.server.api_models import (
    Audience,
    AudienceChanges,
    AudienceCreate,
    AudienceUpdate,
    AudienceVersion,
    AudienceVersionChanges,
    AudienceVersionsIn,
    AudienceVersionsStored,
)
from app.server.auth import api_caller
from app.server.definitions import Caller
from app.server.responses import errors
from app.server.state import ServerState, server_state

router = APIRouter(tags=["audiences"])

_ID = Path(ge=1, le=2**31 - 1, description="The server's audience id")


@router.get("/v1/audiences", response_model=AudienceChanges, responses=errors(400, 401), summary="Audience definitions changed since a cursor")
def audience_changes(
    cursor: str | None = Query(None, max_length=1000, description="The previous answer's next_cursor; none for all"),
    limit: int | None = Query(None, ge=1, le=1000, description="At most this many (default: the server's page size)"),
    caller: Caller = Depends(api_caller), state: ServerState = Depends(server_state),
) -> AudienceChanges:
    """Audiences of the caller's workspaces changed after the cursor, in change order; deleted ones as tombstones."""
    found, next_cursor, more = state.definitions.changes(caller, cursor, limit or state.settings.audience_page)
    return AudienceChanges(audiences=[Audience(**a) for a in found], next_cursor=next_cursor, more=more)


@router.post("/v1/audiences", status_code=201, response_model=Audience, responses={200: {"model": Audience, "description": "Created earlier in these workspaces with the same client_ref and the same definition"},
                                                                                     **errors(400, 401, 403, 409)},
             summary="Create an audience definition")
def create_audience(body: AudienceCreate, response: Response, caller: Caller = Depends(api_caller),
                    state: ServerState = Depends(server_state)) -> Audience:
    audience, created = state.definitions.create(caller, body.model_dump(), body.client_ref)
    if not created:
        response.status_code = 200
    return Audience(**audience)


@router.get("/v1/audiences/by-client-ref/{client_ref}", response_model=Audience, responses=errors(400, 401, 404),
            summary="The audience a create with this client_ref made in your workspaces")
def created_audience(client_ref: str = Path(min_length=1, max_length=100, description="The client_ref the create carried"),
                     caller: Caller = Depends(api_caller), state: ServerState = Depends(server_state)) -> Audience:
    """Tombstones too. 404 when no audience of the caller's workspaces carries it (never made, or another's)."""
    return Audience(**state.definitions.created(caller, client_ref))


@router.get("/v1/audiences/{audience_id}", response_model=Audience, responses=errors(400, 401, 403, 404), summary="One audience definition")
def get_audience(audience_id: int = _ID, caller: Caller = Depends(api_caller), state: ServerState = Depends(server_state)) -> Audience:
    return Audience(**state.definitions.get(caller, audience_id))


@router.put("/v1/audiences/{audience_id}", response_model=Audience, responses=errors(400, 401, 403, 404, 409),
            summary="Replace an audience definition, if it is still at the version the edit began from")
def update_audience(body: AudienceUpdate, audience_id: int = _ID, caller: Caller = Depends(api_caller),
                    state: ServerState = Depends(server_state)) -> Audience:
    """Its workspaces stay as created. 409 with the server's copy (`current`) if its version moved on."""
    fields = body.model_dump(exclude={"version"})
    return Audience(**state.definitions.update(caller, audience_id, fields, body.version))


@router.delete("/v1/audiences/{audience_id}", response_model=Audience, responses=errors(400, 401, 403, 404, 409),
               summary="Delete an audience definition, if it is still at the given version")
def delete_audience(audience_id: int = _ID, version: int = Query(ge=1, le=2**31 - 1, description="The version the deletion was decided on"),
                    caller: Caller = Depends(api_caller), state: ServerState = Depends(server_state)) -> Audience:
    """Returns the tombstone. 409 with the server's copy if it changed (or was deleted) meanwhile."""
    return Audience(**state.definitions.delete(caller, audience_id, version))


@router.post("/v1/audience-versions", response_model=AudienceVersionsStored, responses=errors(400, 401, 403, 404, 409),
             summary="Keep saved versions of audiences (their edit history); a version sent again is kept once")
def store_versions(body: AudienceVersionsIn, caller: Caller = Depends(api_caller),
                   state: ServerState = Depends(server_state)) -> AudienceVersionsStored:
    """All or none. Needs the editor role on each audience's workspaces. 409 REF_TAKEN if a ref names another audience's version."""
    added, known = state.versions.store(caller, [v.model_dump() for v in body.versions])
    return AudienceVersionsStored(added=added, known=known)


@router.get("/v1/audience-versions", response_model=AudienceVersionChanges, responses=errors(400, 401),
            summary="Saved versions of your audiences received after a cursor")
def version_changes(
    cursor: str | None = Query(None, max_length=1000, description="The previous answer's next_cursor; none for all"),
    limit: int | None = Query(None, ge=1, le=1000, description="At most this many (default: the server's page size)"),
    audience_id: int | None = Query(None, ge=1, le=2**31 - 1, description="Only this audience's versions"),
    caller: Caller = Depends(api_caller), state: ServerState = Depends(server_state),
) -> AudienceVersionChanges:
    found, next_cursor, more = state.versions.changes(caller, cursor, limit or state.settings.audience_page, audience_id)
    return AudienceVersionChanges(versions=[AudienceVersion(**v) for v in found], next_cursor=next_cursor, more=more)
