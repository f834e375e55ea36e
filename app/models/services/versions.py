"""Edit history: every saved version of an audience, the difference between two, and restoring one.

A version is recorded in the same transaction as the change it keeps (`record`, called by the audience
and segment-settings services after a change), with who saved it (the account name signed in to the
team's server, else the OS user) and when. Saving what the newest version already says adds nothing.
Versions are numbered 1, 2, ... in the order they were saved. Restoring a version never rewrites the
history: it makes the audience say what that version says and saves that as a new version ("restored
version 3"), which can itself be undone the same way.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.builder.document import problems as criteria_problems
from app.builder.history import Change, check_readable, diff, version_document
from app.errors import InvalidInput, NotFound
from app.models.services.draft import Draft
from app.models.store.db import Store, emit_after_commit, utc_now
from app.models.store.schema import (
    Audience,
    AudienceInput,
    AudienceTag,
    AudienceVersion,
    Input,
    SegmentSettings,
)


@dataclass(frozen=True)
class VersionInfo:
    number: int
    ref: str
    saved_by: str
    saved_at: datetime
    note: str | None
    document: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"number": self.number, "ref": self.ref, "saved_by": self.saved_by,
                "saved_at": self.saved_at.isoformat(), "note": self.note, "document": copy.deepcopy(self.document)}


@dataclass(frozen=True)
class History:
    """An audience's versions, oldest first (`versions[0]` is version 1)."""

    audience_id: int
    audience_name: str
    versions: tuple[VersionInfo, ...]

    def version(self, number: int) -> VersionInfo:
        if not self.versions:
            raise NotFound(f'Audience "{self.audience_name}" has no saved versions yet.')
        if not isinstance(number, int) or not 1 <= number <= len(self.versions):
            raise NotFound(f'Audience "{self.audience_name}" has versions 1 to {len(self.versions)}; '
                           f"there is no version {number}.")
        return self.versions[number - 1]


# -- in the caller's transaction --------------------------------------------------------------------


def current_document(session: Session, audience: Audience) -> dict[str, Any]:
    """What the audience says now, as a version document."""
    input_ids = [link.input_id for link in audience.input_links]
    inputs = [{"kind": kind, "name": name} for kind, name in
              session.execute(select(Input.kind, Input.name).where(Input.id.in_(input_ids)))] if input_ids else []
    segment = session.get(SegmentSettings, audience.id)
    return version_document(
        name=audience.name, external_name=audience.external_name, kind=audience.kind, status=audience.status,
        tags=[row.tag for row in audience.tag_rows], inputs=inputs, criteria=audience.criteria,
        segment=None if segment is None else {"expiration_days": segment.expiration_days, "visibility": segment.visibility,
                                              "cpm_cents": segment.cpm_cents, "category": segment.category})


def ordered(session: Session, audience_id: int) -> list[AudienceVersion]:
    """An audience's version rows in their numbered order."""
    return list(session.scalars(select(AudienceVersion).where(AudienceVersion.audience_id == audience_id)
                                .order_by(AudienceVersion.saved_at, AudienceVersion.ref)))


def record(session: Session, audience: Audience, who: str, note: str | None = None) -> AudienceVersion | None:
    """Keep what the audience says now as its newest version, unless the newest already says it."""
    session.flush()
    document = current_document(session, audience)
    rows = ordered(session, audience.id)
    if rows and rows[-1].document == document:
        return None
    now = utc_now()
    if rows and now <= rows[-1].saved_at:  # a coarse or stepped-back clock still numbers it last
        now = rows[-1].saved_at + timedelta(microseconds=1)
    row = AudienceVersion(audience_id=audience.id, ref=uuid.uuid4().hex, saved_by=who, saved_at=now,
                          document=document, note=note, on_server=False)
    session.add(row)
    session.flush()
    return row


def _infos(rows: list[AudienceVersion]) -> tuple[VersionInfo, ...]:
    return tuple(VersionInfo(number, row.ref, row.saved_by, row.saved_at, row.note, copy.deepcopy(row.document))
                 for number, row in enumerate(rows, start=1))


# -- the service ------------------------------------------------------------------------------------


class VersionService:
    """Reads an audience's history, compares versions and restores one; each method is one transaction.

    `find` turns a name or id into an audience id with the audience service's messages ("Did you mean…")."""

    def __init__(self, store: Store, author: Callable[[], str], find: Callable[[str | int], int]) -> None:
        self.store = store
        self.author = author
        self.find = find

    def history(self, name_or_id: str | int) -> History:
        audience_id = self.find(name_or_id)
        with self.store.transaction() as session:
            audience = session.get(Audience, audience_id)
            if audience is None:
                raise NotFound(f"There is no audience with id {audience_id}; it may have been deleted.")
            return History(audience.id, audience.name, _infos(ordered(session, audience.id)))

    def diff(self, name_or_id: str | int, old: int, new: int) -> list[Change]:
        """What changed from version `old` to version `new` (either may be the later one)."""
        history = self.history(name_or_id)
        before, after = history.version(old), history.version(new)
        check_readable(before.document, f'Version {old} of "{history.audience_name}"')
        check_readable(after.document, f'Version {new} of "{history.audience_name}"')
        return diff(before.document, after.document)

    def restore(self, name_or_id: str | int, number: int) -> VersionInfo | None:
        """Make the audience say what version `number` says, saved as a new version; None if it says that already."""
        audience_id = self.find(name_or_id)
        with self.store.transaction() as session:
            audience = session.get(Audience, audience_id)
            if audience is None:
                raise NotFound(f"There is no audience with id {audience_id}; it may have been deleted.")
            rows = ordered(session, audience.id)
            chosen = History(audience.id, audience.name, _infos(rows)).version(number)
            document = chosen.document
            where = f'Version {number} of "{audience.name}"'
            check_readable(document, where)
            if current_document(session, audience) == document:
                return None
            who = self.author()
            _apply(session, audience, document, where, who)
            audience.updated_at = max(utc_now(), audience.updated_at + timedelta(microseconds=1))
            row = record(session, audience, who, note=f"restored version {number}")
            emit_after_commit(session, "audience_changed", audience.id)
            return _infos(ordered(session, audience.id))[-1] if row is not None else None

    def as_draft(self, name_or_id: str | int, number: int) -> tuple[Draft, list[str]]:
        """Version `number` as the editor's draft (name, external name, inputs, tags, criteria), and the settings
        of that version the draft cannot hold that differ from the audience's now ("status", "segment settings")."""
        audience_id = self.find(name_or_id)
        with self.store.transaction() as session:
            audience = session.get(Audience, audience_id)
            if audience is None:
                raise NotFound(f"There is no audience with id {audience_id}; it may have been deleted.")
            document = History(audience.id, audience.name, _infos(ordered(session, audience.id))).version(number).document
            where = f'Version {number} of "{audience.name}"'
            check_readable(document, where)
            draft = Draft(str(document["name"]), document["external_name"] or "",
                          tuple(sorted(_input_ids(session, audience, document, where))), tuple(document["tags"]),
                          copy.deepcopy(document["criteria"]))
            now = current_document(session, audience)
            left_out = [words for key, words in (("status", "status"), ("segment", "segment settings"))
                        if now[key] != document[key]]
            return draft, left_out


def _input_ids(session: Session, audience: Audience, document: dict[str, Any], where: str) -> list[int]:
    """The ids of the version's inputs (by kind and name) among the audience's workspaces' inputs."""
    workspace_ids = [link.workspace_id for link in audience.workspace_links]
    inputs = {(row.kind, row.name): row.id for row in
              session.scalars(select(Input).where(Input.workspace_id.in_(workspace_ids)))}
    found = []
    for item in document["inputs"]:
        key = (item["kind"], item["name"])
        if key not in inputs:
            raise InvalidInput(f"{where} uses the input \"{item['name']}\" ({item['kind']}), which this audience's "
                               "workspaces here do not have.")
        found.append(inputs[key])
    return found


def _apply(session: Session, audience: Audience, document: dict[str, Any], where: str, who: str) -> None:
    """Make the audience's rows say what `document` says, with the checks a save makes (in words naming `where`)."""
    if document["kind"] != audience.kind:
        raise InvalidInput(f"{where} is a {document['kind']} audience; this one is {audience.kind} now, "
                           "and an audience's kind cannot change.")
    name = str(document["name"])
    for other_id, other_name in session.execute(select(Audience.id, Audience.name)):
        if other_id != audience.id and other_name.casefold() == name.casefold():
            raise InvalidInput(f'{where} is named "{name}", which audience {other_id} is called now; '
                               "rename that one first.")
    found = criteria_problems(document["criteria"])
    if found:
        raise InvalidInput(f"{where} holds criteria this app cannot use: {found[0]}.")
    input_ids = _input_ids(session, audience, document, where)
    audience.name = name
    audience.external_name = document["external_name"]
    audience.status = document["status"]
    audience.criteria = copy.deepcopy(document["criteria"])  # a new dict: the JSON column notices reassignment only
    if sorted(input_ids) != sorted(link.input_id for link in audience.input_links):
        audience.input_links = [AudienceInput(input_id=i) for i in input_ids]
    tags = list(document["tags"])
    for row in [row for row in audience.tag_rows if row.tag not in tags]:
        audience.tag_rows.remove(row)
    present = {row.tag for row in audience.tag_rows}
    audience.tag_rows.extend(AudienceTag(tag=tag) for tag in tags if tag not in present)
    segment = document["segment"]
    row = session.get(SegmentSettings, audience.id)
    if row is None and segment == {"expiration_days": None, "visibility": "private", "cpm_cents": None, "category": None}:
        return
    if row is None:
        row = SegmentSettings(audience_id=audience.id)
        session.add(row)
    row.expiration_days, row.visibility = segment["expiration_days"], segment["visibility"]
    row.cpm_cents, row.category = segment["cpm_cents"], segment["category"]
    row.updated_by, row.updated_at = who, utc_now()
