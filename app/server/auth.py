"""Who is calling: an input by HTTP Basic (API key and secret) for ingest, a user by Bearer token for sync.

Missing or wrong credentials are 401 (with WWW-Authenticate); right credentials without the right
to do the thing are 403.
"""

from __future__ import annotations

from fastapi import Depends, Security
from fastapi.security import (
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
)
from sqlalchemy import select

from app.server import credentials as secrets
from app.server.definitions import Caller
from app.server.errors import ApiError
from app.server.ingest import Sender
from app.server.state import ServerState, server_state
from app.server.tables import inputs, memberships, tokens, users

basic = HTTPBasic(auto_error=False, realm="Audience Studio ingest",
                  description="An input's API key as the user name and its secret as the password (as mParticle's Events API).")
bearer = HTTPBearer(auto_error=False, description="A user's API token (`audience-studio server token create USER`).")

_BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="Audience Studio ingest"'}
_BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def ingest_sender(credentials: HTTPBasicCredentials | None = Security(basic),
                  state: ServerState = Depends(server_state)) -> Sender:
    if credentials is None:
        raise ApiError(401, "UNAUTHORIZED", "send the input's API key and secret with HTTP Basic authentication", headers=_BASIC_CHALLENGE)
    with state.database.read() as connection:
        row = connection.execute(select(inputs).where(inputs.c.api_key == credentials.username)).first()
    # The hash is compared even for an unknown key, so timing does not tell which keys exist.
    known = secrets.matches(credentials.password, row.secret_hash if row is not None else "0" * 64)
    if row is None or not known:
        raise ApiError(401, "UNAUTHORIZED", "the API key and secret do not match an input", headers=_BASIC_CHALLENGE)
    if not row.enabled:
        message = f"the {row.kind} input {row.name!r} is disabled; an administrator can enable it"
        state.sources.refused(row.id, row.workspace_id, 403, message)  # shown in the activity stream and the Sources pane
        raise ApiError(403, "FORBIDDEN", message)
    return Sender(row.id, row.workspace_id, row.kind, row.name)


def api_caller(credentials: HTTPAuthorizationCredentials | None = Security(bearer),
               state: ServerState = Depends(server_state)) -> Caller:
    if credentials is None:
        raise ApiError(401, "UNAUTHORIZED", "send a user's API token as 'Authorization: Bearer TOKEN'", headers=_BEARER_CHALLENGE)
    with state.database.read() as connection:
        row = connection.execute(
            select(users.c.id, users.c.name, tokens.c.revoked_at).join(tokens, tokens.c.user_id == users.c.id)
            .where(tokens.c.token_hash == secrets.digest(credentials.credentials))
        ).first()
        if row is None or row.revoked_at is not None:
            raise ApiError(401, "UNAUTHORIZED", "the API token is unknown or revoked", headers=_BEARER_CHALLENGE)
        # Read on every request: a role changed or removed applies to the member's next request.
        roles = {r.workspace_id: r.role for r in connection.execute(
            select(memberships.c.workspace_id, memberships.c.role).where(memberships.c.user_id == row.id))}
    return Caller(row.id, row.name, roles)
