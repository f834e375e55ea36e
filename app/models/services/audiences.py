"""Audiences: creating, finding, editing, tagging, cloning, deleting and restoring them."""

from __future__ import annotations

import copy
import difflib
import enum
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from app.builder.document import CriteriaError
from app.builder.document import problems as criteria_problems
from app.errors import InvalidInput, NotFound
from app.models.services import versions
from app.models.store.db import Store, emit_after_commit, utc_now
from app.models.store.schema import (
    AUDIENCE_KINDS,
    AUDIENCE_SCOPES,
    AUDIENCE_STATUSES,
    ABTest,
    ABVariant,
    Audience,
    AudienceInput,
    AudienceTag,
    AudienceVersion,
    AudienceWorkspace,
    Connection,
    Fault,
    ForwardedIdentity,
    ForwardingState,
    Input,
    OutputConfiguration,
    PendingBatch,
    SegmentSettings,
    StandardAudience,
    Workspace,
    empty_criteria,
)

MAX_NAME_LENGTH = 100
MAX_TAG_LENGTH = 18

_COPY_SUFFIX = re.compile(r" \(copy(?: \d+)?\)$")


class Keep(enum.Enum):
    """The type of KEEP: "leave this detail as it is" (None already means something for external names)."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True)
class AudienceInfo:
    id: int
    name: str
    external_name: str | None
    effective_external_name: str
    scope: str
    kind: str
    status: str
    criteria: dict[str, Any]
    workspace_ids: tuple[int, ...]
    input_ids: tuple[int, ...]
    tags: tuple[str, ...]
    created_by: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class AudienceSnapshot:
    """Everything needed to put a deleted audience back exactly as it was (the undo of a delete)."""

    audience: AudienceInfo
    #: What the delete took with it, as (table, rows of column values) in the order they go back: its standard
    #: audience row, segment settings, A/B test and variations, connections with their forwarding state, forwarded
    #: identities, pending batches and faults. Restored under their own ids, so forwarding resumes where it stood.
    dependents: tuple[tuple[str, tuple[dict[str, Any], ...]], ...] = ()

    def rows(self, table: str) -> tuple[dict[str, Any], ...]:
        return next((rows for name, rows in self.dependents if name == table), ())


#: What hangs off an audience (deleted with it by the store's cascades), parents before children.
_DEPENDENTS = (StandardAudience, SegmentSettings, ABTest, ABVariant, Connection, ForwardingState, ForwardedIdentity,
               PendingBatch, Fault, AudienceVersion)


def _dependents(session: Session, audience_id: int) -> tuple[tuple[str, tuple[dict[str, Any], ...]], ...]:
    tests = select(ABTest.id).where(ABTest.audience_id == audience_id)
    connections = select(Connection.id).where(Connection.audience_id == audience_id)
    where = {StandardAudience: StandardAudience.audience_id == audience_id, ABTest: ABTest.audience_id == audience_id,
             ABVariant: ABVariant.test_id.in_(tests), Connection: Connection.audience_id == audience_id,
             SegmentSettings: SegmentSettings.audience_id == audience_id,
             AudienceVersion: AudienceVersion.audience_id == audience_id}
    out = []
    for model in _DEPENDENTS:
        condition = where[model] if model in where else model.connection_id.in_(connections)
        keys = [attr.key for attr in model.__mapper__.column_attrs]
        rows = tuple({key: copy.deepcopy(getattr(row, key)) for key in keys}
                     for row in session.scalars(select(model).where(condition)))
        out.append((model.__tablename__, rows))
    return tuple(out)


def _restore_dependents(session: Session, snapshot: AudienceSnapshot) -> None:
    """Put back what the delete took, all in the caller's transaction; connections to outputs deleted since are
    left out (with their forwarding state and faults), since what they pointed to is gone."""
    outputs = {row["configuration_id"] for row in snapshot.rows("connections")}
    existing = set(session.scalars(select(OutputConfiguration.id).where(OutputConfiguration.id.in_(outputs))))
    gone = {row["id"] for row in snapshot.rows("connections") if row["configuration_id"] not in existing}
    for model in _DEPENDENTS:
        rows = [copy.deepcopy(row) for row in snapshot.rows(model.__tablename__)
                if (row["id"] if model is Connection else row.get("connection_id")) not in gone]
        if rows:
            session.execute(insert(model), rows)
    for row in snapshot.rows("connections"):
        if row["id"] not in gone:
            emit_after_commit(session, "connection_changed", row["id"])
    if snapshot.rows("faults"):
        emit_after_commit(session, "fault_changed", snapshot.rows("faults")[0]["id"])


def _info(row: Audience) -> AudienceInfo:
    return AudienceInfo(
        id=row.id,
        name=row.name,
        external_name=row.external_name,
        effective_external_name=row.effective_external_name,
        scope=row.scope,
        kind=row.kind,
        status=row.status,
        # A copy, so a caller editing the dict cannot change what other callers were given.
        criteria=copy.deepcopy(row.criteria),
        workspace_ids=tuple(sorted(link.workspace_id for link in row.workspace_links)),
        input_ids=tuple(sorted(link.input_id for link in row.input_links)),
        tags=tuple(sorted(t.tag for t in row.tag_rows)),
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _with_links() -> list[Any]:
    return [
        selectinload(Audience.workspace_links),
        selectinload(Audience.input_links),
        selectinload(Audience.tag_rows),
    ]


def clean_tag(tag: str) -> str:
    """A tag as stored: stripped; refused (never cut) if empty or longer than MAX_TAG_LENGTH."""
    cleaned = (tag or "").strip()
    if not cleaned:
        raise InvalidInput("A tag cannot be empty.")
    if len(cleaned) > MAX_TAG_LENGTH:
        raise InvalidInput(
            f'Tag "{cleaned}" is {len(cleaned)} characters; tags are at most {MAX_TAG_LENGTH} characters.'
        )
    return cleaned


def _clean_tags(tags: Iterable[str]) -> list[str]:
    if isinstance(tags, str):
        tags = [tags]
    cleaned: list[str] = []
    for tag in tags:
        tag = clean_tag(tag)
        if tag not in cleaned:
            cleaned.append(tag)
    return cleaned


def _clean_name(name: str) -> str:
    cleaned = (name or "").strip()
    if not cleaned:
        raise InvalidInput("An audience needs a name.")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise InvalidInput(
            f'Audience name "{cleaned[:40]}…" is {len(cleaned)} characters; '
            f"names are at most {MAX_NAME_LENGTH} characters."
        )
    return cleaned


def _clean_external_name(external_name: str | None) -> str | None:
    if external_name is None or not external_name.strip():
        return None
    cleaned = external_name.strip()
    if len(cleaned) > MAX_NAME_LENGTH:
        raise InvalidInput(
            f'External name "{cleaned[:40]}…" is {len(cleaned)} characters; '
            f"external names are at most {MAX_NAME_LENGTH} characters."
        )
    return cleaned


def _clean_criteria(criteria: dict[str, Any] | None) -> dict[str, Any]:
    # The shape is checked here so the store only ever holds well-formed documents; whether the
    # events and attributes exist is the compiler's business (a draft may name them before a sync).
    if criteria is None:
        return empty_criteria()
    if not isinstance(criteria, dict) or "version" not in criteria or "root" not in criteria:
        raise InvalidInput('Audience criteria must be a document with a "version" and a "root" group.')
    try:
        json.dumps(criteria)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"Audience criteria cannot be saved: {exc}.") from exc
    found = criteria_problems(criteria)
    if found:
        raise CriteriaError(found)
    return copy.deepcopy(criteria)


def _unique_ids(ids: Iterable[int]) -> list[int]:
    return list(dict.fromkeys(int(i) for i in ids))


def _check_name_free(session: Session, name: str, *, except_id: int | None = None) -> None:
    # Compared in Python: casefold handles non-ASCII letters, which SQLite's lower() leaves alone.
    for other_id, other_name in session.execute(select(Audience.id, Audience.name)):
        if other_id != except_id and other_name.casefold() == name.casefold():
            raise InvalidInput(
                f'An audience named "{other_name}" (id {other_id}) already exists; '
                "audience names must be unique, ignoring case."
            )


def _check_workspaces(session: Session, scope: str, workspace_ids: list[int]) -> None:
    if scope not in AUDIENCE_SCOPES:
        raise InvalidInput(f'Audience scope "{scope}" is not known; use one of: {", ".join(AUDIENCE_SCOPES)}.')
    if scope == "single" and len(workspace_ids) != 1:
        raise InvalidInput(
            f"A single-workspace audience needs exactly one workspace; {len(workspace_ids)} were given. "
            "Use scope 'multi' to span several workspaces."
        )
    if scope == "multi" and len(workspace_ids) < 2:
        raise InvalidInput(
            f"A multi-workspace audience needs at least two workspaces; {len(workspace_ids)} "
            f"{'was' if len(workspace_ids) == 1 else 'were'} given. Use scope 'single' for one workspace."
        )
    known = set(session.scalars(select(Workspace.id).where(Workspace.id.in_(workspace_ids))))
    for workspace_id in workspace_ids:
        if workspace_id not in known:
            raise NotFound(f"There is no workspace with id {workspace_id}.")


def _check_inputs(session: Session, input_ids: list[int], workspace_ids: list[int]) -> None:
    rows = {row.id: row for row in session.scalars(select(Input).where(Input.id.in_(input_ids)))}
    for input_id in input_ids:
        row = rows.get(input_id)
        if row is None:
            raise NotFound(f"There is no input with id {input_id}.")
        if row.workspace_id not in workspace_ids:
            workspace = session.get(Workspace, row.workspace_id)
            raise InvalidInput(
                f'Input "{row.name}" ({row.kind}) belongs to workspace "{workspace.name if workspace else "?"}", '
                "which this audience does not cover."
            )


def _flush_or_explain(session: Session, name: str) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        # The name check above can lose a race with another writer; the unique index is the last word.
        if "audiences" in str(exc.orig) and "name" in str(exc.orig):
            raise InvalidInput(f'An audience named "{name}" already exists; audience names must be unique.') from exc
        raise


class AudienceService:
    """Reads and changes audiences as `user`; each method is one transaction and returns frozen values.

    Each change that alters what an audience says is kept as a version of it (app.models.services.versions),
    saved by `author()`: the account name signed in to the team's server, else `user`."""

    def __init__(self, store: Store, user: str, author: Callable[[], str] | None = None) -> None:
        self.store = store
        self.user = user
        self.author = author or (lambda: user)

    # -- reading -----------------------------------------------------------------------------------

    def get(self, name_or_id: str | int) -> AudienceInfo:
        """An audience by id, or by name ignoring case; an all-digit string is tried as an id first."""
        with self.store.transaction() as session:
            return _info(self._find(session, name_or_id))

    def list(
        self,
        *,
        scope: str | None = None,
        tags_all: Iterable[str] = (),
        search: str | None = None,
        workspace_id: int | None = None,
        kind: str | None = None,
    ) -> list[AudienceInfo]:
        """Audiences by name; optionally only one scope, only those with every tag in `tags_all`,
        only those whose name contains `search` (ignoring case), only those covering `workspace_id`,
        only one kind ("realtime" or "standard")."""
        query = select(Audience).options(*_with_links())
        if scope is not None:
            query = query.where(Audience.scope == scope)
        if kind is not None:
            query = query.where(Audience.kind == kind)
        if workspace_id is not None:
            covering = select(AudienceWorkspace.audience_id).where(AudienceWorkspace.workspace_id == workspace_id)
            query = query.where(Audience.id.in_(covering))
        wanted = [t.strip() for t in ([tags_all] if isinstance(tags_all, str) else tags_all) if t.strip()]
        wanted = list(dict.fromkeys(wanted))
        if wanted:
            having_all = (
                select(AudienceTag.audience_id)
                .where(AudienceTag.tag.in_(wanted))
                .group_by(AudienceTag.audience_id)
                .having(func.count() == len(wanted))
            )
            query = query.where(Audience.id.in_(having_all))
        needle = (search or "").strip().casefold()
        with self.store.transaction() as session:
            # Searched in Python: casefold matches non-ASCII letters that SQLite's LIKE would not.
            rows = [row for row in session.scalars(query) if needle in row.name.casefold()]
            rows.sort(key=lambda row: (row.name.casefold(), row.id))
            return [_info(row) for row in rows]

    def all_tags(self) -> list[str]:
        """Every tag in use on any audience, sorted."""
        with self.store.transaction() as session:
            return list(session.scalars(select(AudienceTag.tag).distinct().order_by(AudienceTag.tag)))

    # -- creating and removing ---------------------------------------------------------------------

    def create(
        self,
        name: str,
        *,
        external_name: str | None = None,
        scope: str = "single",
        workspace_ids: Iterable[int],
        input_ids: Iterable[int] | None = (),
        criteria: dict[str, Any] | None = None,
        tags: Iterable[str] | None = (),
        status: str = "draft",
        created_by: str | None = None,
        kind: str = "realtime",
        date_range: tuple[date | None, date | None] = (None, None),
    ) -> AudienceInfo:
        """A new audience. A standard (historical) one (`kind="standard"`) is single-workspace and a draft;
        `date_range` is its inclusive (start, end), (None, None) for all available data."""
        name = _clean_name(name)
        if kind not in AUDIENCE_KINDS:
            raise InvalidInput(f'Audience kind "{kind}" is not known; use one of: {", ".join(AUDIENCE_KINDS)}.')
        if kind == "standard":
            _check_standard(scope, status, date_range)
        external_name = _clean_external_name(external_name)
        criteria = _clean_criteria(criteria)
        cleaned_tags = _clean_tags(tags or ())
        _check_status(status)
        workspaces = _unique_ids(workspace_ids or ())
        inputs = _unique_ids(input_ids or ())
        with self.store.transaction() as session:
            _check_name_free(session, name)
            _check_workspaces(session, scope, workspaces)
            _check_inputs(session, inputs, workspaces)
            now = utc_now()
            audience = Audience(
                name=name,
                external_name=external_name,
                scope=scope,
                kind=kind,
                status=status,
                criteria=criteria,
                created_by=created_by or self.user,
                created_at=now,
                updated_at=now,
                workspace_links=[AudienceWorkspace(workspace_id=w) for w in workspaces],
                input_links=[AudienceInput(input_id=i) for i in inputs],
                tag_rows=[AudienceTag(tag=t) for t in cleaned_tags],
            )
            session.add(audience)
            _flush_or_explain(session, name)
            if kind == "standard":
                session.add(StandardAudience(audience_id=audience.id, range_start=date_range[0],
                                             range_end=date_range[1]))
            versions.record(session, audience, self.author())
            emit_after_commit(session, "audience_added", audience.id)
            return _info(audience)

    def clone(self, audience_id: int) -> AudienceInfo:
        """A draft copy named "X (copy)", "X (copy 2)"...; it is sent under its own name, not the original's.

        A standard audience's copy is a standard draft over the same date range, to be calculated anew."""
        with self.store.transaction() as session:
            original = self._load(session, audience_id)
            name = _copy_name(original.name, {n.casefold() for n in session.scalars(select(Audience.name))})
            now = utc_now()
            audience = Audience(
                name=name,
                external_name=None,
                scope=original.scope,
                kind=original.kind,
                status="draft",
                criteria=copy.deepcopy(original.criteria),
                created_by=self.user,
                created_at=now,
                updated_at=now,
                workspace_links=[AudienceWorkspace(workspace_id=w.workspace_id) for w in original.workspace_links],
                input_links=[AudienceInput(input_id=i.input_id) for i in original.input_links],
                tag_rows=[AudienceTag(tag=t.tag) for t in original.tag_rows],
            )
            session.add(audience)
            _flush_or_explain(session, name)
            if original.kind == "standard":
                standard = session.get(StandardAudience, original.id)
                session.add(StandardAudience(audience_id=audience.id,
                                             range_start=standard.range_start if standard else None,
                                             range_end=standard.range_end if standard else None))
            segment = session.get(SegmentSettings, original.id)
            if segment is not None:  # the copy is offered like the original (expiration, visibility, price, category)
                session.add(SegmentSettings(audience_id=audience.id, expiration_days=segment.expiration_days,
                                            visibility=segment.visibility, cpm_cents=segment.cpm_cents,
                                            category=segment.category, updated_by=self.user, updated_at=now))
            versions.record(session, audience, self.author(), note=f'copied from "{original.name}"')
            emit_after_commit(session, "audience_added", audience.id)
            return _info(audience)

    def delete(self, audience_id: int) -> AudienceSnapshot:
        """Delete the audience; the returned snapshot can `restore` it."""
        with self.store.transaction() as session:
            audience = self._load(session, audience_id)
            snapshot = AudienceSnapshot(_info(audience), _dependents(session, audience_id))
            session.delete(audience)
            emit_after_commit(session, "audience_removed", audience_id)
            return snapshot

    def restore(self, snapshot: AudienceSnapshot) -> AudienceInfo:
        """Put a deleted audience back with its id, links, tags and timestamps, as if never deleted, with its
        connections (and where their forwarding stood), A/B test and standard-audience details, in one transaction."""
        old = snapshot.audience
        with self.store.transaction() as session:
            if session.get(Audience, old.id) is not None:
                raise InvalidInput(f'Audience "{old.name}" cannot be restored: id {old.id} is in use.')
            _check_name_free(session, old.name)
            _check_workspaces(session, old.scope, list(old.workspace_ids))
            _check_inputs(session, list(old.input_ids), list(old.workspace_ids))
            audience = Audience(
                id=old.id,
                name=old.name,
                external_name=old.external_name,
                scope=old.scope,
                kind=old.kind,
                status=old.status,
                criteria=copy.deepcopy(old.criteria),
                created_by=old.created_by,
                created_at=old.created_at,
                updated_at=old.updated_at,
                workspace_links=[AudienceWorkspace(workspace_id=w) for w in old.workspace_ids],
                input_links=[AudienceInput(input_id=i) for i in old.input_ids],
                tag_rows=[AudienceTag(tag=t) for t in old.tags],
            )
            session.add(audience)
            _flush_or_explain(session, old.name)
            _restore_dependents(session, snapshot)
            emit_after_commit(session, "audience_added", audience.id)
            return _info(audience)

    # -- editing -----------------------------------------------------------------------------------

    def rename(self, audience_id: int, name: str) -> AudienceInfo:
        name = _clean_name(name)

        def change(session: Session, audience: Audience) -> bool:
            if audience.name == name:
                return False
            _check_name_free(session, name, except_id=audience.id)
            audience.name = name
            return True

        return self._update(audience_id, change)

    def set_external_name(self, audience_id: int, external_name: str | None) -> AudienceInfo:
        """The name destinations show; None or blank means "same as the audience name"."""
        external_name = _clean_external_name(external_name)

        def change(session: Session, audience: Audience) -> bool:
            if audience.external_name == external_name:
                return False
            audience.external_name = external_name
            return True

        return self._update(audience_id, change)

    def set_criteria(self, audience_id: int, criteria: dict[str, Any]) -> AudienceInfo:
        if criteria is None:
            raise InvalidInput('Audience criteria must be a document with a "version" and a "root" group.')
        criteria = _clean_criteria(criteria)

        def change(session: Session, audience: Audience) -> bool:
            if audience.criteria == criteria:
                return False
            # A new dict, not an edit in place: the JSON column only notices reassignment.
            audience.criteria = criteria
            return True

        return self._update(audience_id, change)

    def set_inputs(self, audience_id: int, input_ids: Iterable[int]) -> AudienceInfo:
        """Limit the audience to these inputs of its workspaces (an empty list means all of them)."""
        inputs = _unique_ids(input_ids)

        def change(session: Session, audience: Audience) -> bool:
            _check_inputs(session, inputs, [w.workspace_id for w in audience.workspace_links])
            if sorted(inputs) == sorted(i.input_id for i in audience.input_links):
                return False
            audience.input_links = [AudienceInput(input_id=i) for i in inputs]
            return True

        return self._update(audience_id, change)

    def add_tag(self, audience_id: int, tag: str) -> AudienceInfo:
        """Tag the audience; adding a tag it already has does nothing."""
        tag = clean_tag(tag)

        def change(session: Session, audience: Audience) -> bool:
            if any(t.tag == tag for t in audience.tag_rows):
                return False
            audience.tag_rows.append(AudienceTag(tag=tag))
            return True

        return self._update(audience_id, change)

    def remove_tag(self, audience_id: int, tag: str) -> AudienceInfo:
        tag = (tag or "").strip()

        def change(session: Session, audience: Audience) -> bool:
            for row in audience.tag_rows:
                if row.tag == tag:
                    audience.tag_rows.remove(row)
                    return True
            present = ", ".join(f'"{t.tag}"' for t in audience.tag_rows) or "none"
            raise NotFound(f'Audience "{audience.name}" has no tag "{tag}"; its tags are: {present}.')

        return self._update(audience_id, change)

    def update(
        self,
        audience_id: int,
        *,
        name: str | Keep = KEEP,
        external_name: str | None | Keep = KEEP,
        criteria: dict[str, Any] | Keep = KEEP,
        input_ids: Iterable[int] | Keep = KEEP,
        tags: Iterable[str] | Keep = KEEP,
        status: str | Keep = KEEP,
    ) -> AudienceInfo:
        """Change several details at once, in ONE transaction: all of them are stored, or none.

        What is left at KEEP stays as it is; the rules are those of the single-detail methods
        (`rename`, `set_external_name`, `set_criteria`, `set_inputs`, tags, status). This is what
        saving an edited draft uses, so a refused tag never leaves the criteria half saved.
        """
        # Everything that needs no store is checked before the transaction opens.
        if name is not KEEP:
            name = _clean_name(name)
        if external_name is not KEEP:
            external_name = _clean_external_name(external_name)
        if criteria is not KEEP:
            if criteria is None:
                raise InvalidInput('Audience criteria must be a document with a "version" and a "root" group.')
            criteria = _clean_criteria(criteria)
        if input_ids is not KEEP:
            input_ids = _unique_ids(input_ids)
        if tags is not KEEP:
            tags = _clean_tags(tags)
        if status is not KEEP:
            _check_status(status)

        def change(session: Session, audience: Audience) -> bool:
            changed = False
            if name is not KEEP and audience.name != name:
                _check_name_free(session, name, except_id=audience.id)
                audience.name = name
                changed = True
            if external_name is not KEEP and audience.external_name != external_name:
                audience.external_name = external_name
                changed = True
            if criteria is not KEEP and audience.criteria != criteria:
                audience.criteria = criteria  # a new dict: the JSON column only notices reassignment
                changed = True
            if input_ids is not KEEP:
                _check_inputs(session, input_ids, [w.workspace_id for w in audience.workspace_links])
                if sorted(input_ids) != sorted(i.input_id for i in audience.input_links):
                    audience.input_links = [AudienceInput(input_id=i) for i in input_ids]
                    changed = True
            if tags is not KEEP:
                for row in [row for row in audience.tag_rows if row.tag not in tags]:
                    audience.tag_rows.remove(row)
                    changed = True
                present = {row.tag for row in audience.tag_rows}
                for tag in tags:
                    if tag not in present:
                        audience.tag_rows.append(AudienceTag(tag=tag))
                        changed = True
            if status is not KEEP and audience.status != status:
                audience.status = status
                changed = True
            return changed

        return self._update(audience_id, change)

    def activate(self, audience_id: int) -> AudienceInfo:
        return self._set_status(audience_id, "active")

    def deactivate(self, audience_id: int) -> AudienceInfo:
        return self._set_status(audience_id, "inactive")

    # -- helpers -----------------------------------------------------------------------------------

    def _set_status(self, audience_id: int, status: str) -> AudienceInfo:
        def change(session: Session, audience: Audience) -> bool:
            if audience.status == status:
                return False
            audience.status = status
            return True

        return self._update(audience_id, change)

    def _update(self, audience_id: int, change: Callable[[Session, Audience], bool]) -> AudienceInfo:
        """Apply `change` in one transaction; if it changed anything, stamp updated_at and tell subscribers."""
        with self.store.transaction() as session:
            audience = self._load(session, audience_id)
            if change(session, audience):
                # Strictly later than before even on a coarse clock, so "changed since" checks always see it.
                audience.updated_at = max(utc_now(), audience.updated_at + timedelta(microseconds=1))
                _flush_or_explain(session, audience.name)
                versions.record(session, audience, self.author())
                emit_after_commit(session, "audience_changed", audience.id)
            return _info(audience)

    def _load(self, session: Session, audience_id: int) -> Audience:
        audience = session.get(Audience, audience_id, options=_with_links())
        if audience is None:
            raise NotFound(f"There is no audience with id {audience_id}; it may have been deleted.")
        return audience

    def _find(self, session: Session, name_or_id: str | int) -> Audience:
        if isinstance(name_or_id, int):
            return self._load(session, name_or_id)
        text = (name_or_id or "").strip()
        if text.isdigit():
            audience = session.get(Audience, int(text), options=_with_links())
            if audience is not None:
                return audience
        names: dict[int, str] = dict(session.execute(select(Audience.id, Audience.name)).all())
        for audience_id, name in names.items():
            if name.casefold() == text.casefold():
                return self._load(session, audience_id)
        message = f'There is no audience named "{text}".'
        close = difflib.get_close_matches(text.casefold(), [n.casefold() for n in names.values()], n=1)
        if close:
            suggestion = next(n for n in names.values() if n.casefold() == close[0])
            message += f' Did you mean "{suggestion}"?'
        elif text.isdigit():
            message = f'There is no audience with id {text} or named "{text}".'
        raise NotFound(message)


def _check_standard(scope: str, status: str, date_range: tuple[date | None, date | None]) -> None:
    if scope != "single":
        raise InvalidInput("A standard audience reads one workspace: use scope 'single'.")
    if status != "draft":
        raise InvalidInput("A standard audience starts as a draft; it is ready once calculated.")
    start, end = date_range
    if (start is None) != (end is None):
        raise InvalidInput("Give both the start and the end date of a standard audience, or neither (all available data).")
    if start is not None and start > end:
        raise InvalidInput(f"The date range ends ({end}) before it starts ({start}).")


def _check_status(status: str) -> None:
    if status not in AUDIENCE_STATUSES:
        raise InvalidInput(f'Audience status "{status}" is not known; use one of: {", ".join(AUDIENCE_STATUSES)}.')


def _copy_name(name: str, taken: set[str]) -> str:
    """ "X (copy)", then "X (copy 2)", ... — a copy of a copy counts on from the same base name."""
    base = _COPY_SUFFIX.sub("", name)
    number = 1
    while True:
        suffix = " (copy)" if number == 1 else f" (copy {number})"
        candidate = base[: MAX_NAME_LENGTH - len(suffix)].rstrip() + suffix
        if candidate.casefold() not in taken:
            return candidate
        number += 1
