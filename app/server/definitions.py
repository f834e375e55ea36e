"""Shared audience definitions: create, update and delete with an expected version, and the changes
since a cursor, each limited to the audiences whose workspaces all belong to the caller.

Every change takes the next number of the "audience_changes" counter with UPDATE ... RETURNING,
which locks the counter row until commit: changes commit in number order, so "changes after N"
never passes over one that commits late. A deleted audience stays as a tombstone (deleted, with a
new version and number) so clients learn of the deletion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, exists, func, insert, not_, select, update
from sqlalchemy.exc import IntegrityError

from app.builder.document import describe, problems
from app.models.store.db import utc_now
from app.server import audit, cursors
from app.server.database import Database
from app.server.errors import ApiError
from app.server.roles import EDITOR, VIEWER, at_least
from app.server.tables import audience_workspaces, audiences, counters

MAX_TAG_LENGTH = 18  # as in the desktop store


@dataclass(frozen=True)
class Caller:
    """The user behind a token, and their role on each workspace they may use (app/server/roles.py)."""

    user_id: int
    name: str
    roles: dict[int, str]

    @property
    def workspace_ids(self) -> frozenset[int]:
        return frozenset(self.roles)

    def require(self, workspace_id: int, field: str = "workspace_id", role: str = VIEWER) -> None:
        """403 unless the caller holds `role` (or a higher one) on the workspace; the message names the role."""
        if workspace_id not in self.roles:
            raise ApiError(403, "FORBIDDEN", f"{field}: workspace {workspace_id} is not one of yours", field=field)
        if not at_least(self.roles[workspace_id], role):
            raise ApiError(403, "ROLE_REQUIRED", f"this needs the {role} role on workspace {workspace_id}; "
                           f"you are {self.roles[workspace_id]} there (an admin of the workspace can change it)",
                           field=field, extra={"required_role": role})

    def require_anywhere(self, role: str) -> None:
        """403 unless the caller holds `role` on at least one workspace (for company-wide things)."""
        if not any(at_least(r, role) for r in self.roles.values()):
            raise ApiError(403, "ROLE_REQUIRED", f"this needs the {role} role on a workspace; you have no such grant",
                           extra={"required_role": role})


def check_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """The rules the desktop store applies too, checked before any transaction; 400 naming the field."""
    cleaned = dict(fields)
    cleaned["name"] = fields["name"].strip()
    if not cleaned["name"]:
        raise ApiError(400, "INVALID_FIELD", "name: an audience needs a name", field="name")
    external = fields.get("external_name")
    cleaned["external_name"] = external.strip() or None if isinstance(external, str) else None
    tags = []
    for i, tag in enumerate(fields.get("tags") or []):
        tag = tag.strip()
        if not tag or len(tag) > MAX_TAG_LENGTH:
            raise ApiError(400, "INVALID_FIELD", f"tags[{i}]: a tag has 1 to {MAX_TAG_LENGTH} characters", field=f"tags[{i}]")
        if tag not in tags:
            tags.append(tag)
    cleaned["tags"] = tags
    found = problems(fields["criteria"])
    if found:
        first = found[0]
        field = f"criteria.{first.path}" if first.path else "criteria"
        raise ApiError(400, "INVALID_CRITERIA", describe(found, prefix="criteria: "), field=field)
    return cleaned


class Definitions:
    def __init__(self, database: Database):
        self.db = database

    # -- reading --------------------------------------------------------------------------------

    def changes(self, caller: Caller, cursor: str | None, limit: int) -> tuple[list[dict[str, Any]], str, bool]:
        """Audiences changed after the cursor (tombstones included), the next cursor, and whether more wait."""
        after = cursors.decode("a", cursor, field="cursor", names=("s",))["s"] if cursor else 0
        with self.db.read() as connection:
            query = (select(audiences).where(audiences.c.change_seq > after, _visible_to(caller))
                     .order_by(audiences.c.change_seq).limit(limit))
            rows = list(connection.execute(query))
            found = [_as_json(connection, row) for row in rows]
            if len(rows) == limit:
                return found, cursors.encode("a", {"s": rows[-1].change_seq}), True
            # Nothing more that this caller may see: skip past the others' changes too.
            last = connection.execute(select(counters.c.value).where(counters.c.name == "audience_changes")).scalar_one()
            return found, cursors.encode("a", {"s": max(after, last)}), False

    def get(self, caller: Caller, audience_id: int) -> dict[str, Any]:
        with self.db.read() as connection:
            return _as_json(connection, self._load(connection, caller, audience_id))

    # -- writing --------------------------------------------------------------------------------

    def create(self, caller: Caller, fields: dict[str, Any], client_ref: str | None) -> tuple[dict[str, Any], bool]:
        """The new audience (version 1), or the one made earlier in the same workspaces with the same
        `client_ref` (then False): a client resending after a lost reply does not create a second.

        A resend that says something else than the earlier create (the client was stopped before it
        learned of the create, and the audience was edited since) is not taken for agreement: 409
        `CREATED_BEFORE` with the server's copy as `current`, for the client to send its edit as an
        update of that version (409 `DELETED` if the audience was deleted meanwhile)."""
        workspace_ids = sorted(set(fields["workspace_ids"]))
        for i, workspace_id in enumerate(fields["workspace_ids"]):
            caller.require(workspace_id, f"workspace_ids[{i}]", EDITOR)
        scope = fields.get("scope") or ("multi" if len(workspace_ids) > 1 else "single")
        if scope == "single" and len(workspace_ids) != 1:
            raise ApiError(400, "INVALID_FIELD", "scope: a single-workspace audience has exactly one workspace", field="scope")
        cleaned = check_fields(fields)
        client_scope = ",".join(str(w) for w in workspace_ids)
        now = utc_now()
        try:
            with self.db.write() as connection:
                if client_ref is not None:
                    # Only among audiences of exactly these workspaces, all the caller's (checked above).
                    earlier = connection.execute(select(audiences).where(
                        audiences.c.client_ref == client_ref, audiences.c.client_scope == client_scope)).first()
                    if earlier is not None:
                        return self._created_before(connection, earlier, cleaned), False
                self._check_name_free(connection, cleaned["name"])
                new_id = connection.execute(insert(audiences).values(
                    client_ref=client_ref, client_scope=client_scope, scope=scope, version=1,
                    change_seq=_next_change(connection), deleted=False,
                    created_by=caller.name, created_at=now, updated_by=caller.name, updated_at=now, **_stored(cleaned),
                )).inserted_primary_key[0]
                connection.execute(insert(audience_workspaces), [{"audience_id": new_id, "workspace_id": w} for w in workspace_ids])
                audit.record(connection, caller.name, "audience", "create", f"audience {new_id} {cleaned['name']!r}",
                             workspace_ids[0], {"audience_id": new_id, "workspace_ids": workspace_ids, "version": 1})
                return _as_json(connection, self._load(connection, caller, new_id)), True
        except IntegrityError:
            # Two creates raced past the checks above: the index decides, and says which one lost.
            raise ApiError(409, "NAME_TAKEN", f"name: another audience is already called {cleaned['name']!r}", field="name") from None

    def update(self, caller: Caller, audience_id: int, fields: dict[str, Any], version: int) -> dict[str, Any]:
        cleaned = check_fields(fields)
        try:
            with self.db.write() as connection:
                row = self._load(connection, caller, audience_id, EDITOR)
                self._check_version(connection, row, version)
                if cleaned["name"].casefold() != row.name.casefold():
                    self._check_name_free(connection, cleaned["name"])
                connection.execute(update(audiences).where(audiences.c.id == audience_id).values(
                    version=row.version + 1, change_seq=_next_change(connection), updated_by=caller.name,
                    updated_at=utc_now(), **_stored(cleaned)))
                audit.record(connection, caller.name, "audience", "update", f"audience {audience_id} {cleaned['name']!r}",
                             None, {"audience_id": audience_id, "version": row.version + 1})
                return _as_json(connection, self._load(connection, caller, audience_id))
        except IntegrityError:
            raise ApiError(409, "NAME_TAKEN", f"name: another audience is already called {cleaned['name']!r}", field="name") from None

    def delete(self, caller: Caller, audience_id: int, version: int) -> dict[str, Any]:
        with self.db.write() as connection:
            row = self._load(connection, caller, audience_id, EDITOR)
            self._check_version(connection, row, version)
            connection.execute(update(audiences).where(audiences.c.id == audience_id).values(
                deleted=True, version=row.version + 1, change_seq=_next_change(connection),
                updated_by=caller.name, updated_at=utc_now()))
            audit.record(connection, caller.name, "audience", "delete", f"audience {audience_id} {row.name!r}",
                         None, {"audience_id": audience_id, "version": row.version + 1})
            return _as_json(connection, self._load(connection, caller, audience_id))

    def created(self, caller: Caller, client_ref: str) -> dict[str, Any]:
        """The audience (or tombstone) a create with this `client_ref` made in the caller's workspaces:
        how a client stopped before it learned the create's answer finds out whether it was made."""
        with self.db.read() as connection:
            row = connection.execute(select(audiences).where(audiences.c.client_ref == client_ref, _visible_to(caller))
                                     .order_by(audiences.c.id).limit(1)).first()
            if row is None:
                raise ApiError(404, "NOT_CREATED", f"client_ref: no audience of your workspaces was created with {client_ref!r}",
                               field="client_ref")
            return _as_json(connection, row)

    def authorised(self, connection: Connection, caller: Caller, audience_id: int, role: str = VIEWER):
        """The audience's row if the caller holds `role` on all its workspaces (tombstones too); 404 or 403 else."""
        return self._load(connection, caller, audience_id, role)

    # -- helpers --------------------------------------------------------------------------------

    def _created_before(self, connection: Connection, earlier, cleaned: dict[str, Any]) -> dict[str, Any]:
        """The earlier create's audience, if the resend says the same; else 409 with it as `current`."""
        current = _as_json(connection, earlier)
        if earlier.deleted:
            raise ApiError(409, "DELETED", f"audience {earlier.id}, created with this client_ref, was deleted by {earlier.updated_by}",
                           field="client_ref", extra={"current": current})
        if _comparable(_stored(cleaned)) != _comparable(current):
            raise ApiError(409, "CREATED_BEFORE",
                           f"client_ref: audience {earlier.id} was created with this client_ref and is at version {earlier.version}, "
                           "which says something else: send the change as an update of that version",
                           field="client_ref", extra={"current": current})
        return current

    def _load(self, connection: Connection, caller: Caller, audience_id: int, role: str = VIEWER):
        row = connection.execute(select(audiences).where(audiences.c.id == audience_id)).first()
        if row is None:
            raise ApiError(404, "NOT_FOUND", f"audience {audience_id} does not exist")
        workspace_ids = _workspace_ids(connection, audience_id)
        if not set(workspace_ids) <= caller.workspace_ids:
            raise ApiError(403, "FORBIDDEN", f"audience {audience_id} belongs to workspaces that are not yours")
        for workspace_id in workspace_ids:
            caller.require(workspace_id, "audience_id", role)
        return row

    def _check_version(self, connection: Connection, row, version: int) -> None:
        if row.deleted:
            raise ApiError(409, "DELETED", f"audience {row.id} was deleted by {row.updated_by}", field="version",
                           extra={"current": _as_json(connection, row)})
        if row.version != version:
            raise ApiError(409, "VERSION_CONFLICT",
                           f"version: audience {row.id} is at version {row.version} (changed by {row.updated_by}), not {version}",
                           field="version", extra={"current": _as_json(connection, row)})

    def _check_name_free(self, connection: Connection, name: str) -> None:
        taken = connection.execute(select(audiences.c.id).where(func.lower(audiences.c.name) == name.lower(), not_(audiences.c.deleted))).first()
        if taken is not None:
            raise ApiError(409, "NAME_TAKEN", f"name: another audience is already called {name!r}", field="name")


def _next_change(connection: Connection) -> int:
    return connection.execute(
        update(counters).where(counters.c.name == "audience_changes").values(value=counters.c.value + 1).returning(counters.c.value)
    ).scalar_one()


def _visible_to(caller: Caller):
    """No workspace of the audience lies outside the caller's."""
    outside = (select(audience_workspaces.c.audience_id)
               .where(audience_workspaces.c.audience_id == audiences.c.id,
                      audience_workspaces.c.workspace_id.not_in(sorted(caller.workspace_ids) or [-1])))
    return and_(not_(exists(outside)), exists(select(audience_workspaces.c.audience_id).where(audience_workspaces.c.audience_id == audiences.c.id)))


def _workspace_ids(connection: Connection, audience_id: int) -> list[int]:
    return list(connection.execute(select(audience_workspaces.c.workspace_id)
                                   .where(audience_workspaces.c.audience_id == audience_id)
                                   .order_by(audience_workspaces.c.workspace_id)).scalars())


def _stored(cleaned: dict[str, Any]) -> dict[str, Any]:
    return {"name": cleaned["name"], "external_name": cleaned["external_name"], "kind": cleaned.get("kind") or "realtime",
            "status": cleaned.get("status") or "draft", "criteria": cleaned["criteria"],
            "inputs": [dict(i) for i in cleaned.get("inputs") or []], "tags": cleaned["tags"]}


def _comparable(definition: dict[str, Any]) -> dict[str, Any]:
    """What a definition says, whatever the order of its inputs and tags (as the desktop compares them)."""
    return {
        "name": definition["name"], "external_name": definition.get("external_name") or None,
        "kind": definition.get("kind") or "realtime", "status": definition.get("status") or "draft",
        "inputs": sorted((str(i["kind"]), str(i["name"]).casefold()) for i in definition.get("inputs") or []),
        "tags": sorted(definition.get("tags") or []), "criteria": definition["criteria"],
    }


def _as_json(connection: Connection, row) -> dict[str, Any]:
    return {
        "id": row.id, "version": row.version, "deleted": row.deleted, "name": row.name,
        "external_name": row.external_name, "scope": row.scope, "kind": row.kind, "status": row.status,
        "workspace_ids": _workspace_ids(connection, row.id), "inputs": row.inputs, "tags": row.tags,
        "criteria": row.criteria, "client_ref": row.client_ref, "created_by": row.created_by,
        "created_at": row.created_at, "updated_by": row.updated_by, "updated_at": row.updated_at,
    }

