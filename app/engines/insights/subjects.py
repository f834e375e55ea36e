"""What an insight is about: a saved audience, or a draft (a criteria document not saved yet) with its scope.

Everything about a subject's members goes through the one members query
(app.engines.members.members_sql for saved audiences, app.builder.compiler.members_query for drafts),
so an insight never counts differently from the estimate, downloads or forwarding.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Sequence

from app.builder.compiler import Scope, members_query
from app.engines.estimates import audience_scope, catalog_for, counting_moment, membership_resolver, scope_for
from app.engines.home import OpenHome
from app.engines.members import members_sql
from app.errors import UserError
from app.models.services.audiences import AudienceInfo


@dataclass(frozen=True)
class Subject:
    """An audience to explain: saved (`audience` set) or a draft of `document` over `workspace_ids`."""

    name: str
    document: dict[str, Any]
    workspace_ids: tuple[int, ...]
    input_ids: tuple[int, ...] = ()
    audience: AudienceInfo | None = field(default=None, compare=False)

    @classmethod
    def of(cls, audience: AudienceInfo) -> "Subject":
        return cls(audience.name, audience.criteria, tuple(audience.workspace_ids), tuple(audience.input_ids), audience)

    @classmethod
    def draft(cls, document: dict[str, Any], workspace_ids: Sequence[int], input_ids: Sequence[int] = (),
              name: str = "Draft") -> "Subject":
        return cls(name, document, tuple(workspace_ids), tuple(input_ids))

    @property
    def standard(self) -> bool:
        return self.audience is not None and self.audience.kind == "standard"


def subject(home: OpenHome, name_or_id: str | int) -> Subject:
    """A saved audience by name or id (NotFound names it when there is none)."""
    return Subject.of(home.audiences.get(name_or_id))


def check_workspaces(home: OpenHome, subject: Subject) -> None:
    """Refuse a subject without workspaces, or with a workspace this home does not have (NotFound)."""
    if not subject.workspace_ids:
        raise UserError(f'Audience "{subject.name}" has no workspace: choose its workspaces first.')
    for workspace_id in subject.workspace_ids:
        home.workspaces.get(workspace_id)


def scope_of(home: OpenHome, subject: Subject) -> Scope:
    if subject.audience is not None:
        return audience_scope(home, subject.audience)
    return scope_for(home, subject.workspace_ids, subject.input_ids)


def moment(home: OpenHome, subject: Subject, now: dt.datetime | None) -> dt.datetime:
    """The "now" the subject's criteria count at (a standard audience: the end of its dates)."""
    return counting_moment(scope_of(home, subject), now or dt.datetime.now(dt.timezone.utc))


def subject_members_sql(home: OpenHome, subject: Subject, cursor, now: dt.datetime | None = None) -> tuple[str, list[Any]]:
    """The query of the subject's member mpids (column `mpid`, each once)."""
    check_workspaces(home, subject)
    now = now or dt.datetime.now(dt.timezone.utc)
    if subject.audience is not None:
        return members_sql(home, subject.audience, cursor, now=now)
    return members_query(subject.document, scope=scope_of(home, subject), catalog=catalog_for(home, cursor), now=now,
                         memberships=membership_resolver(home))


def in_list(column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """`column IN (?, ...)` with one parameter per value."""
    return f"{column} IN ({', '.join('?' * len(values))})", list(values)


def attribute_names(home: OpenHome, workspace_ids: Sequence[int]) -> list[str]:
    """The user attributes the cache's catalog knows in these workspaces, by name (what a breakdown or the
    members' extra columns may show)."""
    cursor = home.cache.cursor()
    try:
        catalog = catalog_for(home, cursor)
    finally:
        cursor.close()
    return sorted({name for ws in workspace_ids for name in catalog.attributes.get(ws, {})}, key=str.casefold)
