"""Administering the server: workspaces, their inputs (platforms and feeds) with API keys, users, tokens.

The command line (`audience-studio server ...`) calls these; each is one transaction. A secret or
token is returned once, to be shown once: only its hash is stored.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.connectors.batches import PLATFORM_NAMES
from app.errors import InvalidInput, NotFound, UserError
from app.models.store.db import utc_now
from app.server import audit, credentials
from app.server.database import Database
from app.server.tables import inputs, memberships, tokens, users, workspaces

INPUT_KINDS = ("platform", "feed")


@dataclass(frozen=True)
class WorkspaceRow:
    id: int
    name: str
    batches: int


@dataclass(frozen=True)
class InputRow:
    id: int
    workspace_id: int
    workspace: str
    kind: str
    name: str
    api_key: str
    enabled: bool


@dataclass(frozen=True)
class NewInput:
    input: InputRow
    secret: str  # shown once, never stored


@dataclass(frozen=True)
class UserRow:
    id: int
    name: str
    workspaces: tuple[str, ...]


def platform_name(text: str) -> str:
    """The platform's name as users see it (iOS, Android, Web...), from any spelling mParticle uses."""
    known = {name.casefold(): name for name in PLATFORM_NAMES.values()}
    name = PLATFORM_NAMES.get(text.casefold()) or known.get(text.casefold())
    if name is None:
        choices = ", ".join(sorted(set(PLATFORM_NAMES.values())))
        raise InvalidInput(f"Unknown platform {text!r}; expected one of {choices}")
    return name


def name_key(name: str) -> str:
    """What makes two workspace names the same: NFKC-normalised and case-folded by Unicode's rules
    ("Équipe", "ÉQUIPE" and "équipe" are one name), at least as coarse as the case folding laptops
    match server workspaces by (app/engines/audience_sync.py)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def _clean_name(text: str, what: str) -> str:
    name = text.strip()
    if not name:
        raise InvalidInput(f"A {what} needs a name")
    if len(name) > 200:
        raise InvalidInput(f"A {what} name is at most 200 characters")
    return name


def _name_taken(name: str, taken: str) -> str:
    same = "" if taken == name else f" ({taken!r}: workspace names are the same whatever their case)"
    return f"workspace name {name!r}: a workspace of that name already exists{same}"


def _workspace_id(connection: Connection, name_or_id: str) -> int:
    row = connection.execute(select(workspaces.c.id).where(workspaces.c.name_key == name_key(name_or_id.strip()))).first()
    if row is None and name_or_id.strip().isdigit():
        row = connection.execute(select(workspaces.c.id).where(workspaces.c.id == int(name_or_id))).first()
    if row is None:
        raise NotFound(f"No workspace {name_or_id!r} on this server (`audience-studio server workspace list` shows them)")
    return row.id


def _user_id(connection: Connection, name: str) -> int:
    row = connection.execute(select(users.c.id).where(func.lower(users.c.name) == name.strip().casefold())).first()
    if row is None:
        raise NotFound(f"No user {name!r} on this server (`audience-studio server user list` shows them)")
    return row.id


class Admin:
    """The administration services over one server database."""

    def __init__(self, database: Database):
        self.db = database

    # -- workspaces -----------------------------------------------------------------------------

    def create_workspace(self, name: str) -> WorkspaceRow:
        name = _clean_name(name, "workspace")
        key = name_key(name)
        try:
            with self.db.write() as connection:
                taken = connection.execute(select(workspaces.c.name).where(workspaces.c.name_key == key)).scalar()
                if taken is not None:
                    raise UserError(_name_taken(name, taken))
                new_id = connection.execute(insert(workspaces).values(name=name, name_key=key, last_seq=0,
                                                                      created_at=utc_now())).inserted_primary_key[0]
        except IntegrityError:
            # Another process created the same name meanwhile: the unique index decided.
            raise UserError(_name_taken(name, name)) from None
        return WorkspaceRow(new_id, name, 0)

    def list_workspaces(self) -> list[WorkspaceRow]:
        with self.db.read() as connection:
            rows = connection.execute(select(workspaces.c.id, workspaces.c.name, workspaces.c.last_seq).order_by(workspaces.c.id))
            return [WorkspaceRow(r.id, r.name, r.last_seq) for r in rows]

    # -- inputs ---------------------------------------------------------------------------------

    def create_input(self, workspace: str, *, platform: str | None = None, feed: str | None = None) -> NewInput:
        if (platform is None) == (feed is None):
            raise InvalidInput("An input is either a platform (--platform iOS) or a feed (--feed NAME)")
        kind, name = ("platform", platform_name(platform)) if platform is not None else ("feed", _clean_name(feed or "", "feed"))
        key, secret = credentials.new_api_key(), credentials.new_secret()
        with self.db.write() as connection:
            workspace_id = _workspace_id(connection, workspace)
            try:
                new_id = connection.execute(insert(inputs).values(
                    workspace_id=workspace_id, kind=kind, name=name, api_key=key,
                    secret_hash=credentials.digest(secret), enabled=True, created_at=utc_now(),
                )).inserted_primary_key[0]
            except IntegrityError:
                raise UserError(f"Workspace {workspace!r} already has the {kind} {name!r}") from None
            ws_name = connection.execute(select(workspaces.c.name).where(workspaces.c.id == workspace_id)).scalar_one()
            audit.record(connection, audit.COMMAND_LINE, "input", "create", f"{kind} input {name!r}", workspace_id)
        return NewInput(InputRow(new_id, workspace_id, ws_name, kind, name, key, True), secret)

    def list_inputs(self, workspace: str | None = None) -> list[InputRow]:
        with self.db.read() as connection:
            query = (select(inputs, workspaces.c.name.label("workspace"))
                     .join(workspaces, workspaces.c.id == inputs.c.workspace_id).order_by(inputs.c.id))
            if workspace is not None:
                query = query.where(inputs.c.workspace_id == _workspace_id(connection, workspace))
            return [InputRow(r.id, r.workspace_id, r.workspace, r.kind, r.name, r.api_key, r.enabled) for r in connection.execute(query)]

    def set_input_enabled(self, api_key: str, enabled: bool) -> None:
        """A disabled input's credentials still authenticate, but its batches are refused (403)."""
        with self.db.write() as connection:
            result = connection.execute(update(inputs).where(inputs.c.api_key == api_key).values(enabled=enabled))
            if result.rowcount == 0:
                raise NotFound(f"No input has the API key {api_key!r}")
            row = connection.execute(select(inputs.c.workspace_id, inputs.c.kind, inputs.c.name).where(inputs.c.api_key == api_key)).one()
            audit.record(connection, audit.COMMAND_LINE, "input", "enable" if enabled else "disable",
                         f"{row.kind} input {row.name!r}", row.workspace_id)

    def rotate_secret(self, api_key: str) -> NewInput:
        """A new secret for the input, returned once; the old one stops working at once (the key stays)."""
        secret = credentials.new_secret()
        with self.db.write() as connection:
            result = connection.execute(update(inputs).where(inputs.c.api_key == api_key)
                                        .values(secret_hash=credentials.digest(secret), secret_rotated_at=utc_now()))
            if result.rowcount == 0:
                raise NotFound(f"No input has the API key {api_key!r}")
            row = connection.execute(select(inputs, workspaces.c.name.label("workspace"))
                                     .join(workspaces, workspaces.c.id == inputs.c.workspace_id)
                                     .where(inputs.c.api_key == api_key)).one()
            audit.record(connection, audit.COMMAND_LINE, "input", "rotate-secret", f"{row.kind} input {row.name!r}", row.workspace_id)
        return NewInput(InputRow(row.id, row.workspace_id, row.workspace, row.kind, row.name, row.api_key, row.enabled), secret)

    # -- users and tokens -----------------------------------------------------------------------

    def create_user(self, name: str, workspace_names: list[str]) -> UserRow:
        name = _clean_name(name, "user")
        with self.db.write() as connection:
            if connection.execute(select(users.c.id).where(func.lower(users.c.name) == name.casefold())).first():
                raise UserError(f"A user named {name!r} already exists")
            ids = sorted({_workspace_id(connection, w) for w in workspace_names})
            user_id = connection.execute(insert(users).values(name=name, created_at=utc_now())).inserted_primary_key[0]
            if ids:
                connection.execute(insert(memberships), [{"user_id": user_id, "workspace_id": w} for w in ids])
        return self.get_user(name)

    def grant(self, user: str, workspace_names: list[str]) -> UserRow:
        with self.db.write() as connection:
            user_id = _user_id(connection, user)
            have = set(connection.execute(select(memberships.c.workspace_id).where(memberships.c.user_id == user_id)).scalars())
            new = sorted({_workspace_id(connection, w) for w in workspace_names} - have)
            if new:
                connection.execute(insert(memberships), [{"user_id": user_id, "workspace_id": w} for w in new])
        return self.get_user(user)

    def get_user(self, name: str) -> UserRow:
        with self.db.read() as connection:
            user_id = _user_id(connection, name)
            row = connection.execute(select(users.c.name).where(users.c.id == user_id)).one()
            names = connection.execute(
                select(workspaces.c.name).join(memberships, memberships.c.workspace_id == workspaces.c.id)
                .where(memberships.c.user_id == user_id).order_by(workspaces.c.id)).scalars()
            return UserRow(user_id, row.name, tuple(names))

    def list_users(self) -> list[UserRow]:
        with self.db.read() as connection:
            names = list(connection.execute(select(users.c.name).order_by(users.c.id)).scalars())
        return [self.get_user(n) for n in names]

    def create_token(self, user: str, label: str | None = None) -> str:
        """A new API token for the user, returned once (only its hash is kept)."""
        token = credentials.new_token()
        with self.db.write() as connection:
            user_id = _user_id(connection, user)
            connection.execute(insert(tokens).values(user_id=user_id, token_hash=credentials.digest(token), label=label, created_at=utc_now()))
        return token

    def revoke_tokens(self, user: str) -> int:
        with self.db.write() as connection:
            user_id = _user_id(connection, user)
            result = connection.execute(update(tokens).where(tokens.c.user_id == user_id, tokens.c.revoked_at.is_(None)).values(revoked_at=utc_now()))
            return result.rowcount
