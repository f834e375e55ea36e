"""Offline editing: audience definitions sent to and received from the team server, with conflicts.

No audience method is hooked. Each audience synced with a server has a row in `audience_sync` (no
foreign key: it outlives a local deletion) holding the server's id, the version the local copy is
based on and a hash of the definition as last agreed. So the outbox is found, not kept:

- a local audience of the server's workspaces without a row: created here, to be sent;
- a row whose audience's definition no longer hashes to the agreed hash: edited here, to be sent;
- a row whose audience is gone: deleted here, the deletion (a tombstone) to be sent, kept until the
  server confirms it (with no server id yet, too: the create may have been made by a sync stopped
  before it heard back, and the server is asked).

A create resent for such a row is never taken for agreement unless both sides say the same: the
server's version 1 (what this laptop sent) becomes the base and the edit goes out as an update of
it; a later version is a conflict.

A sync pushes the outbox first (creates carry a client_ref, updates and deletions the base version;
a 409 is recorded as a conflict with the server's copy, nothing is overwritten), then pulls the
definitions changed since the audiences cursor: new ones are created here, changes and deletions
of audiences not edited here are applied, and those of audiences edited here become conflicts.
The user resolves a conflict: keep mine (sent on the next sync, based on the server's version),
take theirs (the server's copy replaces the local one), having compared both side by side.

Each audience's saved versions (its edit history, app.models.services.versions) travel too: after the
definitions, the versions the server does not have yet are sent (by their `ref`, so a resend is kept
once), and the versions received since the versions cursor are kept here under the local audience the
server's id is linked to (one already here is kept once). A version from a newer app (a format this app
cannot read) stops the pull of versions before it, with a note saying so: nothing of it is kept until
the app is updated. Versions of an audience not linked here (not in this laptop's workspaces, or waiting
in a conflict) are passed over; once an audience is linked (received, or its conflict resolved), its
whole history is fetched once (`history_pulled`).
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.builder.editing import describe
from app.builder.history import check_readable
from app.errors import InvalidInput, NotFound, UserError
from app.models.store.db import emit_after_commit, utc_now
from app.engines.home import OpenHome
from app.models.store.schema import (
    Audience,
    AudienceInput,
    AudienceSyncCursor,
    AudienceSyncState,
    AudienceTag,
    AudienceVersion,
    AudienceVersionCursor,
    AudienceWorkspace,
    Input,
    StandardAudience,
    Workspace,
)

#: What a conflict is, in the user's words.
CONFLICT_WORDS = {
    "edited_both": "changed here and on the server",
    "deleted_there": "changed here, deleted on the server",
    "deleted_here": "deleted here, changed on the server",
    "same_name": "created here and on the server with the same name",
}
#: The fields of a definition both sides keep (an audience's workspaces are fixed when it is created).
DEFINITION_FIELDS = ("name", "external_name", "kind", "status", "inputs", "tags", "criteria")
#: cache_meta key of the names of a server's workspaces as its last sync saw them (what the outbox may send).
SERVER_WORKSPACES_KEY = "sync_workspaces {server}"


def remember_server_workspaces(home: OpenHome, server: str, names: Iterable[str]) -> None:
    with home.cache.writing(source="sync") as writer:  # metadata only: the data's version does not move
        writer.set_meta(SERVER_WORKSPACES_KEY.format(server=server), json.dumps(sorted(names)))


def _remembered_server_workspaces(home: OpenHome, server: str) -> list[str] | None:
    text = home.cache.meta(SERVER_WORKSPACES_KEY.format(server=server))
    try:
        return list(json.loads(text)) if text else None
    except ValueError:
        return None


@dataclass
class AudienceSyncReport:
    sent: int = 0
    received: int = 0
    conflicts: list[str] = field(default_factory=list)
    #: Audiences that could not be sent or applied, and why (e.g. a name taken on the server).
    notes: list[str] = field(default_factory=list)
    #: Saved versions (edit history) sent to the server and received from it.
    versions_sent: int = 0
    versions_received: int = 0


@dataclass(frozen=True)
class Conflict:
    id: int
    audience_id: int | None
    name: str
    kind: str
    #: The local definition (None: deleted here) and the server's (None or deleted: deleted there).
    mine: dict[str, Any] | None
    theirs: dict[str, Any] | None
    found_at: datetime | None

    @property
    def words(self) -> str:
        return CONFLICT_WORDS.get(self.kind, self.kind)

    @property
    def theirs_by(self) -> str:
        return (self.theirs or {}).get("updated_by") or "a teammate"


@dataclass(frozen=True)
class OutboxItem:
    name: str
    action: str  # "create", "update" or "delete"


# -- definitions and their hash -------------------------------------------------------------------


def definition_hash(definition: Mapping[str, Any]) -> str:
    """The same for two definitions that say the same, whatever the order of their inputs and tags."""
    canonical = {
        "name": definition.get("name"),
        "external_name": definition.get("external_name") or None,
        "kind": definition.get("kind") or "realtime",
        "status": definition.get("status") or "draft",
        "inputs": sorted((str(i["kind"]), str(i["name"]).casefold()) for i in definition.get("inputs") or []),
        "tags": sorted(definition.get("tags") or []),
        "criteria": definition.get("criteria"),
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _local_definition(session: Session, audience: Audience) -> dict[str, Any]:
    input_ids = [link.input_id for link in audience.input_links]
    inputs = sorted({(kind, name) for kind, name in session.execute(select(Input.kind, Input.name).where(Input.id.in_(input_ids)))})
    return {
        "name": audience.name, "external_name": audience.external_name, "kind": audience.kind, "status": audience.status,
        "inputs": [{"kind": kind, "name": name} for kind, name in inputs],
        "tags": sorted(t.tag for t in audience.tag_rows), "criteria": copy.deepcopy(audience.criteria),
        "scope": audience.scope,
        "workspace_names": sorted(_workspace_names(session, audience)),
    }


def _workspace_names(session: Session, audience: Audience) -> list[str]:
    ids = [link.workspace_id for link in audience.workspace_links]
    return list(session.scalars(select(Workspace.name).where(Workspace.id.in_(ids))))


def _sendable(definition: Mapping[str, Any]) -> dict[str, Any]:
    return {name: copy.deepcopy(definition[name]) for name in DEFINITION_FIELDS}


def outline(definition: Mapping[str, Any] | None) -> str:
    """A definition as readable text: its details, then its criteria as an indented outline."""
    if definition is None:
        return "(deleted)"
    lines = [f"Name: {definition.get('name')}"]
    if definition.get("deleted"):
        lines.append(f"Deleted by {definition.get('updated_by') or 'a teammate'}")
    if definition.get("external_name"):
        lines.append(f"External name: {definition['external_name']}")
    lines.append(f"Kind: {definition.get('kind') or 'realtime'} · Status: {definition.get('status') or 'draft'}")
    if definition.get("workspace_names"):
        lines.append("Workspaces: " + ", ".join(definition["workspace_names"]))
    inputs = definition.get("inputs") or []
    lines.append("Inputs: " + (", ".join(f"{i['name']} ({i['kind']})" for i in inputs) if inputs else "all"))
    lines.append("Tags: " + (", ".join(definition.get("tags") or []) or "none"))
    lines.append("Criteria:")
    root = (definition.get("criteria") or {}).get("root")
    if not root or not root.get("children"):
        lines.append("    (none)")
    else:
        _outline_node(root, 1, lines)
    return "\n".join(lines)


def _outline_node(node: Mapping[str, Any], depth: int, lines: list[str]) -> None:
    lines.append("    " * depth + describe(node))
    for child in node.get("children") or []:
        _outline_node(child, depth + 1, lines)


# -- reading the sync state -----------------------------------------------------------------------


def _audiences(session: Session) -> dict[int, Audience]:
    query = select(Audience).options(selectinload(Audience.workspace_links), selectinload(Audience.input_links),
                                     selectinload(Audience.tag_rows))
    return {a.id: a for a in session.scalars(query)}


def _rows(session: Session, server: str) -> list[AudienceSyncState]:
    return list(session.scalars(select(AudienceSyncState).where(AudienceSyncState.server == server).order_by(AudienceSyncState.id)))


def _on_server(session: Session, audience: Audience, server_workspaces: Mapping[str, int]) -> bool:
    names = _workspace_names(session, audience)
    return bool(names) and all(name.casefold() in server_workspaces for name in names)


def outbox(home: OpenHome, server: str, server_workspaces: Iterable[str] | None = None) -> list[OutboxItem]:
    """What the next sync sends: audiences created, changed and deleted here (conflicts wait for the user).

    Creates count only in the server's workspaces (by default, as the last sync saw them; before any
    sync, every audience not yet synced counts)."""
    if server_workspaces is None:
        server_workspaces = _remembered_server_workspaces(home, server)
    known = None if server_workspaces is None else {name.casefold(): 0 for name in server_workspaces}
    with home.store.transaction() as session:
        audiences = _audiences(session)
        rows = _rows(session, server)
        linked = {row.audience_id for row in rows}
        linked |= set(session.scalars(select(AudienceSyncState.audience_id).where(AudienceSyncState.server != server)))
        items = [OutboxItem(a.name, "create") for a in audiences.values()
                 if a.id not in linked and (known is None or _on_server(session, a, known))]
        for row in rows:
            if row.conflict is not None:
                continue
            audience = audiences.get(row.audience_id) if row.audience_id is not None else None
            if audience is None:
                # Unconfirmed (server_id None) too: its create may have reached the server unanswered.
                items.append(OutboxItem(row.name, "delete"))
            elif row.server_id is None:
                items.append(OutboxItem(audience.name, "create"))
            elif definition_hash(_local_definition(session, audience)) != row.agreed_hash:
                items.append(OutboxItem(audience.name, "update"))
        return sorted(items, key=lambda item: item.name.casefold())


def conflicts(home: OpenHome, server: str | None = None) -> list[Conflict]:
    """Open conflicts, oldest first."""
    with home.store.transaction() as session:
        query = select(AudienceSyncState).where(AudienceSyncState.conflict.is_not(None)).order_by(AudienceSyncState.id)
        if server is not None:
            query = query.where(AudienceSyncState.server == server)
        audiences = _audiences(session)
        found = []
        for row in session.scalars(query):
            audience = audiences.get(row.audience_id) if row.audience_id is not None else None
            mine = _local_definition(session, audience) if audience is not None else None
            found.append(Conflict(row.id, row.audience_id if audience else None, audience.name if audience else row.name,
                                  row.conflict, mine, copy.deepcopy(row.theirs), row.conflict_at))
        return found


def find_conflict(home: OpenHome, name_or_id: str | int) -> Conflict:
    """An open conflict by its audience's name (ignoring case) or its number."""
    found = conflicts(home)
    text = str(name_or_id).strip()
    for conflict in found:
        if str(conflict.id) == text or conflict.name.casefold() == text.casefold():
            return conflict
    names = ", ".join(f"{c.name!r}" for c in found) or "none"
    raise NotFound(f"No open sync conflict for {text!r}; open conflicts: {names}.")


# -- resolving ------------------------------------------------------------------------------------


def resolve(home: OpenHome, conflict_id: int, keep: str) -> str:
    """Keep mine (sent on the next sync, over the server's version) or take theirs (applied here now).

    Returns what was done, in a sentence."""
    if keep not in ("mine", "theirs"):
        raise InvalidInput(f"keep {keep!r}: choose mine or theirs")
    if keep == "theirs":
        _prepare_local(home, _row_theirs(home, conflict_id))
    with home.store.transaction() as session:
        row = session.get(AudienceSyncState, conflict_id)
        if row is None or row.conflict is None:
            raise NotFound(f"Sync conflict {conflict_id} is no longer open (resolved already?).")
        audience = session.get(Audience, row.audience_id) if row.audience_id is not None else None
        theirs = row.theirs or {}
        gone_there = row.theirs is None or bool(theirs.get("deleted"))
        name = audience.name if audience is not None else row.name
        if keep == "mine":
            if gone_there:
                # Deleted on the server: mine is sent as a new audience (or, deleted here too, forgotten).
                if audience is None:
                    session.delete(row)
                    return f"{name!r} is deleted on both sides."
                row.server_id, row.base_version, row.agreed_hash = None, None, None
                row.client_ref = uuid.uuid4().hex
                outcome = f"{name!r} will be sent to the server again as a new audience on the next sync."
            else:
                # The server's version becomes the base; mine differs from it, so it is sent.
                row.base_version = int(theirs["version"])
                row.agreed_hash = definition_hash(theirs)
                outcome = (f"The deletion of {name!r} will be sent on the next sync." if audience is None
                           else f"Your {name!r} will replace the server's on the next sync.")
        else:
            if gone_there:
                if audience is not None:
                    session.delete(audience)
                    emit_after_commit(session, "audience_removed", audience.id)
                session.delete(row)
                outcome = f"{name!r} was deleted here too, as on the server."
            else:
                applied = _apply(session, audience, theirs)
                row.audience_id = applied.id
                row.base_version = int(theirs["version"])
                row.agreed_hash = definition_hash(_local_definition(session, applied))
                row.name = applied.name
                outcome = f"{applied.name!r} is now the server's version {theirs['version']}."
        if row in session:
            row.conflict, row.theirs, row.conflict_at = None, None, None
        return outcome


def _row_theirs(home: OpenHome, conflict_id: int) -> dict[str, Any] | None:
    with home.store.transaction() as session:
        row = session.get(AudienceSyncState, conflict_id)
        return None if row is None else copy.deepcopy(row.theirs)


def _prepare_local(home: OpenHome, theirs: Mapping[str, Any] | None) -> None:
    """The workspaces and inputs a server copy needs here (each its own small change; harmless if unused)."""
    if not theirs or theirs.get("deleted"):
        return
    known = {w.name.casefold(): w for w in home.workspaces.list()}
    ids = []
    for name in theirs.get("workspace_names") or []:
        workspace = known.get(name.casefold()) or home.workspaces.create(name, [])
        known[name.casefold()] = workspace
        ids.append(workspace.id)
    wanted = [(i["kind"], i["name"]) for i in theirs.get("inputs") or []]
    present = {(i.kind, i.name.casefold()) for w in known.values() if w.id in ids for i in w.inputs}
    missing = [(kind, name) for kind, name in wanted if (kind, name.casefold()) not in present]
    if missing and ids:
        home.workspaces.ensure_inputs(ids[0], missing)


def _apply(session: Session, audience: Audience | None, theirs: Mapping[str, Any]) -> Audience:
    """Make the local audience (a new one if None) say what the server's copy says."""
    name = str(theirs["name"]).strip()
    for other_id, other_name in session.execute(select(Audience.id, Audience.name)):
        if other_name.casefold() == name.casefold() and (audience is None or other_id != audience.id):
            raise UserError(f"The server's audience {name!r} cannot be kept here: a local audience (id {other_id}) "
                            "already has that name. Rename the local one, then sync again.")
    workspace_ids = _local_workspace_ids(session, theirs.get("workspace_names") or [])
    now = utc_now()
    if audience is None:
        if not workspace_ids:
            raise UserError(f"The server's audience {name!r} names no workspace known here.")
        audience = Audience(scope=theirs.get("scope") or ("multi" if len(workspace_ids) > 1 else "single"),
                            created_by=theirs.get("created_by") or "server", created_at=now, updated_at=now,
                            workspace_links=[AudienceWorkspace(workspace_id=w) for w in workspace_ids])
        session.add(audience)
        event = "audience_added"
    else:
        workspace_ids = [link.workspace_id for link in audience.workspace_links]
        audience.updated_at = max(now, audience.updated_at + timedelta(microseconds=1))
        event = "audience_changed"
    audience.name = name
    audience.external_name = theirs.get("external_name") or None
    audience.kind = theirs.get("kind") or "realtime"
    audience.status = theirs.get("status") or "draft"
    audience.criteria = copy.deepcopy(theirs["criteria"])  # a new dict: the JSON column notices reassignment only
    wanted = {(i["kind"], i["name"].casefold()) for i in theirs.get("inputs") or []}
    inputs = session.scalars(select(Input).where(Input.workspace_id.in_(workspace_ids))) if wanted else []
    audience.input_links = [AudienceInput(input_id=i.id) for i in inputs if (i.kind, i.name.casefold()) in wanted]
    tags = list(dict.fromkeys(theirs.get("tags") or []))
    for row in [row for row in audience.tag_rows if row.tag not in tags]:
        audience.tag_rows.remove(row)
    present = {row.tag for row in audience.tag_rows}
    audience.tag_rows.extend(AudienceTag(tag=tag) for tag in tags if tag not in present)
    session.flush()
    if audience.kind == "standard" and session.get(StandardAudience, audience.id) is None:
        session.add(StandardAudience(audience_id=audience.id))
        session.flush()
    emit_after_commit(session, event, audience.id)
    return audience


def _local_workspace_ids(session: Session, names: Iterable[str]) -> list[int]:
    by_name = {name.casefold(): id_ for id_, name in session.execute(select(Workspace.id, Workspace.name))}
    return sorted(by_name[n.casefold()] for n in names if n.casefold() in by_name)


# -- syncing --------------------------------------------------------------------------------------


class AudienceSync:
    """One sync of the audience definitions with one server: push the outbox, then pull the changes."""

    def __init__(self, home: OpenHome, client, server: str, remote_workspaces: Iterable, *,
                 cancelled: Callable[[], bool] | None = None):
        self.home = home
        self.client = client
        self.server = server
        #: server workspace name (casefolded) -> its server id, and back
        self.server_ids = {w.name.casefold(): w.id for w in remote_workspaces}
        self.server_names = {w.id: w.name for w in remote_workspaces}
        self.cancelled = cancelled or (lambda: False)
        self.report = AudienceSyncReport()
        #: why a create or deletion was not sent, by sync row: said unless the pull settles it (pairs a
        #: create refused for its name with the server's namesake, or recognises a create as ours)
        self._unsettled: dict[int, str] = {}
        #: whether the pull recognised a create of ours by its client_ref (its edit or deletion to send)
        self._settled_in_pull = False
        #: the server answered that it keeps no saved versions (a server from before the edit history)
        self._no_history = False

    def run(self) -> AudienceSyncReport:
        self.push()
        self.push_versions()
        self.pull()
        self.pull_versions()
        if self._settled_in_pull and not self.cancelled():
            self.push()  # edits and deletions of creates the pull recognised as ours go out now
            self.push_versions()
        self._explain_unsettled()
        return self.report

    # -- saved versions (edit history) ------------------------------------------------------------

    #: Versions sent in one request at most (the server takes up to 200).
    VERSIONS_PER_REQUEST = 100

    def push_versions(self) -> None:
        """Send the saved versions of linked audiences that the server does not have yet, audience by audience."""
        if self._no_history:
            return
        with self.home.store.transaction() as session:
            linked = {row.audience_id: row.server_id for row in _rows(session, self.server)
                      if row.server_id is not None and row.audience_id is not None and row.conflict is None}
            waiting: dict[int, list[dict[str, Any]]] = {}
            names = {}
            query = (select(AudienceVersion).where(AudienceVersion.on_server.is_(False),
                                                   AudienceVersion.audience_id.in_(list(linked)))
                     .order_by(AudienceVersion.saved_at, AudienceVersion.ref))
            for version in session.scalars(query):
                waiting.setdefault(version.audience_id, []).append(
                    {"ref": version.ref, "audience_id": linked[version.audience_id], "saved_by": version.saved_by,
                     "saved_at": version.saved_at.isoformat(), "note": version.note, "document": copy.deepcopy(version.document)})
            for audience_id in waiting:
                audience = session.get(Audience, audience_id)
                names[audience_id] = audience.name if audience is not None else str(audience_id)
        for audience_id, versions in waiting.items():
            for start in range(0, len(versions), self.VERSIONS_PER_REQUEST):
                if self.cancelled():
                    return
                chunk = versions[start:start + self.VERSIONS_PER_REQUEST]
                answer = self.client.send_versions(chunk)
                if answer.status == 404 and _code(answer.body) is None:
                    self._without_history()
                    return
                if answer.status != 200:
                    self.report.notes.append(f"The history of {names[audience_id]!r} was not sent: {_message(answer.body)}")
                    break
                with self.home.store.transaction() as session:
                    for row in session.scalars(select(AudienceVersion).where(
                            AudienceVersion.ref.in_([v["ref"] for v in chunk]))):
                        row.on_server = True
                self.report.versions_sent += int(answer.body.get("added") or 0)

    def pull_versions(self) -> None:
        """Keep the versions received since the versions cursor under their local audiences; then, once per
        linked audience, its whole history (what was passed over while it was not linked here)."""
        if self._no_history:
            return
        with self.home.store.transaction() as session:
            stored = session.get(AudienceVersionCursor, self.server)
            cursor = stored.cursor if stored else None
        if self._page_through(cursor, None, self._save_version_cursor):
            self._pull_histories()

    def _save_version_cursor(self, cursor: str) -> None:
        with self.home.store.transaction() as session:
            stored = session.get(AudienceVersionCursor, self.server)
            if stored is None:
                session.add(AudienceVersionCursor(server=self.server, cursor=cursor))
            else:
                stored.cursor = cursor

    def _pull_histories(self) -> None:
        with self.home.store.transaction() as session:
            waiting = [(row.id, row.server_id) for row in _rows(session, self.server)
                       if row.server_id is not None and row.audience_id is not None and row.conflict is None
                       and not row.history_pulled]
        for row_id, server_id in waiting:
            if self.cancelled() or self._no_history:
                return
            if self._page_through(None, server_id, lambda _cursor: None):
                with self.home.store.transaction() as session:
                    row = session.get(AudienceSyncState, row_id)
                    if row is not None:
                        row.history_pulled = True

    def _page_through(self, cursor: str | None, audience_id: int | None, reached: Callable[[str], None]) -> bool:
        """Keep the versions of the pages after `cursor` (of one audience, or all), telling `reached` each page's
        end; False if stopped before the last page (cancelled, a version this app cannot read, no history)."""
        while not self.cancelled():
            answer = self.client.version_changes(cursor, audience_id=audience_id)
            if answer.status == 404 and _code(answer.body) is None:
                self._without_history()
                return False
            try:
                received, next_cursor, more = list(answer.body["versions"]), str(answer.body["next_cursor"]), bool(answer.body["more"])
            except (KeyError, TypeError) as exc:
                raise UserError(f"The server's page of saved audience versions lacks {exc}.") from None
            for version in received:
                try:
                    kept = self._keep_version(version)
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    raise UserError(f"The server sent a saved audience version this app cannot take ({exc!r} in "
                                    f"{str(version)[:120]}); nothing of it was kept.") from None
                if not kept:
                    return False  # a version this app cannot read: the cursor stays before it, to be read once updated
            reached(next_cursor)
            cursor = next_cursor
            if not more:
                return True
        return False

    def _keep_version(self, version: Mapping[str, Any]) -> bool:
        """Keep one received version (once); False if this app cannot read it, which stops the pull of versions."""
        with self.home.store.transaction() as session:
            row = session.scalars(select(AudienceSyncState).where(
                AudienceSyncState.server == self.server, AudienceSyncState.server_id == int(version["audience_id"]),
                AudienceSyncState.audience_id.is_not(None), AudienceSyncState.conflict.is_(None))).first()
            audience = session.get(Audience, row.audience_id) if row is not None else None
            if audience is None:
                return True  # not linked here (another workspace, a conflict waiting): fetched once it is
            known = session.scalars(select(AudienceVersion).where(AudienceVersion.ref == str(version["ref"]))).first()
            if known is not None:
                known.on_server = True
                return True
            try:
                check_readable(version.get("document"), f"A version of {audience.name!r} saved by "
                                                        f"{version.get('saved_by')} at {version.get('saved_at')}")
            except InvalidInput as exc:
                self.report.notes.append(f"{exc} The history after it waits on the server.")
                return False
            session.add(AudienceVersion(audience_id=audience.id, ref=str(version["ref"]), saved_by=str(version["saved_by"]),
                                        saved_at=_aware(version["saved_at"]), note=version.get("note"),
                                        document=copy.deepcopy(version["document"]), on_server=True))
            self.report.versions_received += 1
            return True

    def _without_history(self) -> None:
        self._no_history = True
        self.report.notes.append("The server keeps no edit history (it is older than this app): the audiences' "
                                 "saved versions stay on this laptop.")

    def _explain_unsettled(self) -> None:
        """A create or deletion the pull did not settle (as a conflict, or recognised) stays unsent: say why."""
        with self.home.store.transaction() as session:
            for row_id, message in self._unsettled.items():
                row = session.get(AudienceSyncState, row_id)
                if row is not None and row.server_id is None and row.conflict is None:
                    self.report.notes.append(message)

    # -- push -------------------------------------------------------------------------------------

    def push(self) -> None:
        for audience_id, action in self._plan():
            if self.cancelled():
                return
            if action == "create":
                self._send_create(audience_id)
            elif action == "update":
                self._send_update(audience_id)
            else:
                self._send_delete(audience_id)

    def _plan(self) -> list[tuple[int, str]]:
        """(local audience id or sync row id, action): rows for unsent creates are made here, each with
        its client_ref, before anything is sent, so a resent create is recognised by the server."""
        plan = []
        with self.home.store.transaction() as session:
            audiences = _audiences(session)
            linked = set(session.scalars(select(AudienceSyncState.audience_id).where(AudienceSyncState.audience_id.is_not(None))))
            for audience in audiences.values():
                if audience.id not in linked and _on_server(session, audience, self.server_ids):
                    session.add(AudienceSyncState(server=self.server, audience_id=audience.id, client_ref=uuid.uuid4().hex,
                                                  name=audience.name))
            session.flush()
            for row in _rows(session, self.server):
                if row.conflict is not None:
                    continue
                audience = audiences.get(row.audience_id) if row.audience_id is not None else None
                if audience is None:
                    # With no server id yet too: the create may have reached the server before the
                    # sync that sent it was stopped; _send_delete asks the server which it was.
                    plan.append((row.id, "delete"))
                elif row.server_id is None:
                    plan.append((row.id, "create"))
                elif definition_hash(_local_definition(session, audience)) != row.agreed_hash:
                    plan.append((row.id, "update"))
        return plan

    def _mine(self, row_id: int) -> tuple[AudienceSyncState, dict[str, Any] | None]:
        with self.home.store.transaction() as session:
            row = session.get(AudienceSyncState, row_id)
            audience = session.get(Audience, row.audience_id) if row.audience_id is not None else None
            return row, (None if audience is None else _local_definition(session, audience))

    def _send_create(self, row_id: int) -> None:
        row, mine = self._mine(row_id)
        if mine is None:
            return
        fields = _sendable(mine) | {"workspace_ids": sorted(self.server_ids[n.casefold()] for n in mine["workspace_names"]),
                                    "scope": mine["scope"], "client_ref": row.client_ref}
        answer = self.client.create_audience(fields)
        current = answer.body.get("current")
        if answer.status == 201 or (answer.status == 200 and definition_hash(answer.body) == definition_hash(mine)):
            self._agree(row_id, answer.body, mine)
            self.report.sent += 1
        elif answer.status == 200 or (answer.status == 409 and _code(answer.body) in ("CREATED_BEFORE", "DELETED")
                                      and current is not None):
            # Made by an earlier sync that was stopped before it heard back, and edited here since
            # (a server from before CREATED_BEFORE answers 200 with the first version).
            self._settle_earlier_create(row_id, answer.body if answer.status == 200 else current)
        elif answer.status == 409 and _code(answer.body) == "NAME_TAKEN":
            # Most likely a teammate's audience of the same name: the pull pairs the two as a conflict.
            self._unsettled[row_id] = (f"{mine['name']!r} was not sent: {_message(answer.body)}. "
                                        "Rename it here, then sync again.")
        else:
            self.report.notes.append(f"{mine['name']!r} was not sent: {_message(answer.body)}")

    def _send_update(self, row_id: int) -> None:
        row, mine = self._mine(row_id)
        answer = self.client.update_audience(row.server_id, _sendable(mine), row.base_version)
        if answer.status == 200:
            self._agree(row_id, answer.body, mine)
            self.report.sent += 1
            return
        current = answer.body.get("current")
        code = _code(answer.body)
        if answer.status == 409 and code == "VERSION_CONFLICT" and current is not None:
            if definition_hash(current) == definition_hash(mine):
                self._agree(row_id, current, mine)  # the same change is there already (a resend after a lost reply)
            else:
                self._conflict(row_id, "edited_both", current)
        elif answer.status == 409 and code == "DELETED":
            self._conflict(row_id, "deleted_there", current)
        elif answer.status == 404:
            self._conflict(row_id, "deleted_there", None)
        else:
            self.report.notes.append(f"{mine['name']!r} was not sent: {_message(answer.body)}")

    def _send_delete(self, row_id: int) -> None:
        row, _ = self._mine(row_id)
        if row.server_id is None:
            self._delete_unconfirmed(row)
            return
        answer = self.client.delete_audience(row.server_id, row.base_version)
        code = _code(answer.body)
        if answer.status == 200 or answer.status == 404 or (answer.status == 409 and code == "DELETED"):
            with self.home.store.transaction() as session:
                session.delete(session.get(AudienceSyncState, row_id))
            self.report.sent += answer.status == 200
        elif answer.status == 409 and answer.body.get("current") is not None:
            self._conflict(row_id, "deleted_here", answer.body["current"])
        else:
            self.report.notes.append(f"The deletion of {row.name!r} was not sent: {_message(answer.body)}")

    def _delete_unconfirmed(self, row: AudienceSyncState) -> None:
        """Deleted here before any sync heard back from its create: ask the server whether that create
        was made. Never made: nothing to send. Made: the deletion goes to that audience (or is a conflict)."""
        answer = self.client.created_audience(row.client_ref)
        if answer.status == 200:
            self._settle_earlier_create(row.id, answer.body)
        elif answer.status == 404 and _code(answer.body) == "NOT_CREATED":  # not just an unknown route
            with self.home.store.transaction() as session:
                session.delete(session.get(AudienceSyncState, row.id))
        else:
            # A server that cannot say (from before GET /v1/audiences/by-client-ref): the deletion
            # waits; the pull recognises the audience by its client_ref if it was made.
            self._unsettled[row.id] = (f"The deletion of {row.name!r} waits: the server could not say whether it received "
                                       f"the audience ({_message(answer.body)}).")

    def _settle_earlier_create(self, row_id: int, theirs: Mapping[str, Any]) -> None:
        """The server made this row's create in a sync stopped before it heard back: take that audience
        as the base, then send what changed here since (or record a conflict)."""
        with self.home.store.transaction() as session:
            row = session.get(AudienceSyncState, row_id)
            action = self._settle_in(session, row, self._with_names(theirs))
        if action == "update":
            self._send_update(row_id)
        elif action == "delete":
            self._send_delete(row_id)

    def _settle_in(self, session: Session, row: AudienceSyncState, theirs: dict[str, Any]) -> str | None:
        """Link `row` to the server's audience its create made; what is left to send ("update",
        "delete") or None. Version 1 is what this laptop sent, so a local change is based on it; a
        later version is a teammate's change, met as a conflict; nothing is taken for agreed unless
        both sides say the same."""
        audience = session.get(Audience, row.audience_id) if row.audience_id is not None else None
        version, deleted = int(theirs["version"]), bool(theirs.get("deleted"))
        if deleted and audience is None:
            session.delete(row)  # deleted on both sides
            return None
        row.server_id = int(theirs["id"])
        if deleted:
            self._mark(row, "deleted_there", theirs)
            return None
        mine = None if audience is None else _local_definition(session, audience)
        if mine is not None and definition_hash(mine) == definition_hash(theirs):
            row.base_version, row.agreed_hash, row.name = version, definition_hash(mine), mine["name"]
            self.report.sent += 1
            return None
        if version > 1:
            self._mark(row, "edited_both" if mine is not None else "deleted_here", theirs)
            return None
        row.base_version, row.agreed_hash = version, definition_hash(theirs)
        return "update" if mine is not None else "delete"

    def _agree(self, row_id: int, server_copy: Mapping[str, Any], sent: Mapping[str, Any]) -> None:
        """Both sides now hold `sent`: the server's id and version are the new base."""
        with self.home.store.transaction() as session:
            row = session.get(AudienceSyncState, row_id)
            row.server_id = int(server_copy["id"])
            row.base_version = int(server_copy["version"])
            row.agreed_hash = definition_hash(sent)
            row.name = sent["name"]

    def _conflict(self, row_id: int, kind: str, theirs: Mapping[str, Any] | None) -> None:
        with self.home.store.transaction() as session:
            row = session.get(AudienceSyncState, row_id)
            row.conflict = kind
            row.theirs = self._with_names(theirs)
            row.conflict_at = utc_now()
            self.report.conflicts.append(row.name)

    def _with_names(self, theirs: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if theirs is None:
            return None
        named = json.loads(json.dumps(theirs, default=str))
        named["workspace_names"] = sorted(self.server_names.get(w, f"workspace {w}") for w in theirs.get("workspace_ids") or [])
        return named

    # -- pull -------------------------------------------------------------------------------------

    def pull(self) -> None:
        with self.home.store.transaction() as session:
            stored = session.get(AudienceSyncCursor, self.server)
            cursor = stored.cursor if stored else None
        while not self.cancelled():
            changed, next_cursor, more = self.client.audience_changes(cursor)
            for theirs in changed:
                self._receive(self._with_names(theirs))
            # Each change above is its own transaction, and applying one twice is harmless (its
            # version is then not newer than the base): the cursor may follow them.
            with self.home.store.transaction() as session:
                stored = session.get(AudienceSyncCursor, self.server)
                if stored is None:
                    session.add(AudienceSyncCursor(server=self.server, cursor=next_cursor))
                else:
                    stored.cursor = next_cursor
            cursor = next_cursor
            if not more:
                break

    def _receive(self, theirs: dict[str, Any]) -> None:
        if any(w.casefold() not in self.server_ids for w in theirs["workspace_names"]):
            return
        if not theirs.get("deleted"):
            _prepare_local(self.home, theirs)
        try:
            with self.home.store.transaction() as session:
                self._receive_in(session, theirs)
        except UserError as exc:
            self.report.notes.append(str(exc))

    def _receive_in(self, session: Session, theirs: dict[str, Any]) -> None:
        version, deleted = int(theirs["version"]), bool(theirs.get("deleted"))
        row = session.scalars(select(AudienceSyncState).where(AudienceSyncState.server == self.server,
                                                              AudienceSyncState.server_id == int(theirs["id"]))).first()
        if row is None and theirs.get("client_ref"):
            # A create of ours that a stopped sync never heard back from (a push that could not send it
            # again, e.g. cancelled): recognised by its client_ref, never taken for a stranger's.
            ours = session.scalars(select(AudienceSyncState).where(
                AudienceSyncState.server == self.server, AudienceSyncState.server_id.is_(None),
                AudienceSyncState.client_ref == str(theirs["client_ref"]), AudienceSyncState.conflict.is_(None))).first()
            if ours is not None:
                if self._settle_in(session, ours, theirs) is not None:
                    self._settled_in_pull = True
                return
        if row is None:
            if deleted:
                return
            same_name = self._unsent_namesake(session, theirs["name"])
            if same_name is not None:
                mine = _local_definition(session, same_name[0])
                if definition_hash(mine) == definition_hash(theirs):
                    row = same_name[1] or AudienceSyncState(server=self.server, audience_id=same_name[0].id,
                                                            client_ref=uuid.uuid4().hex, name=mine["name"])
                    session.add(row)
                    row.server_id, row.base_version, row.agreed_hash = int(theirs["id"]), version, definition_hash(mine)
                    return
                row = same_name[1] or AudienceSyncState(server=self.server, audience_id=same_name[0].id,
                                                        client_ref=uuid.uuid4().hex, name=mine["name"])
                session.add(row)
                row.server_id = int(theirs["id"])
                self._mark(row, "same_name", theirs)
                return
            audience = _apply(session, None, theirs)
            session.add(AudienceSyncState(server=self.server, audience_id=audience.id, server_id=int(theirs["id"]),
                                          client_ref=uuid.uuid4().hex, base_version=version, name=audience.name,
                                          agreed_hash=definition_hash(_local_definition(session, audience))))
            self.report.received += 1
            return
        if row.base_version is not None and version <= row.base_version:
            return  # our own change coming back, or one applied before a sync was stopped
        if row.conflict is not None:
            # Still waiting for the user: they will choose against the server's newest copy.
            kind = "deleted_there" if deleted and row.conflict in ("edited_both", "same_name") else row.conflict
            self._mark(row, kind, theirs)
            return
        audience = session.get(Audience, row.audience_id) if row.audience_id is not None else None
        if audience is None:
            if deleted:
                session.delete(row)
            else:
                self._mark(row, "deleted_here", theirs)
            return
        mine = _local_definition(session, audience)
        edited_here = definition_hash(mine) != row.agreed_hash
        if not edited_here:
            if deleted:
                session.delete(audience)
                session.delete(row)
                emit_after_commit(session, "audience_removed", audience.id)
            else:
                _apply(session, audience, theirs)
                row.base_version = version
                row.agreed_hash = definition_hash(_local_definition(session, audience))
                row.name = audience.name
            self.report.received += 1
        elif deleted:
            self._mark(row, "deleted_there", theirs)
        elif definition_hash(mine) == definition_hash(theirs):
            row.base_version, row.agreed_hash = version, definition_hash(mine)  # the same edit on both sides
        else:
            self._mark(row, "edited_both", theirs)

    def _unsent_namesake(self, session: Session, name: str) -> tuple[Audience, AudienceSyncState | None] | None:
        """A local audience of that name not yet on the server (and its waiting row, if any)."""
        for audience in session.scalars(select(Audience)):
            if audience.name.casefold() == str(name).strip().casefold():
                row = session.scalars(select(AudienceSyncState).where(AudienceSyncState.audience_id == audience.id)).first()
                if row is None or (row.server_id is None and row.server == self.server):
                    return audience, row
                return None
        return None

    def _mark(self, row: AudienceSyncState, kind: str, theirs: Mapping[str, Any] | None) -> None:
        row.conflict, row.theirs, row.conflict_at = kind, copy.deepcopy(theirs), utc_now()
        if row.name not in self.report.conflicts:
            self.report.conflicts.append(row.name)


def _aware(value: Any) -> datetime:
    """A time from the server's JSON as an aware datetime (UTC when it says no zone)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _code(body: Mapping[str, Any]) -> str | None:
    try:
        return body["errors"][0]["code"]
    except (KeyError, IndexError, TypeError):
        return None


def _message(body: Mapping[str, Any]) -> str:
    try:
        return "; ".join(str(e["message"]) for e in body["errors"])
    except (KeyError, TypeError):
        return "the server refused it"
