"""A page of an audience's members (saved or draft): mpid, identities, chosen attributes, first and last seen;
searched by any identity value (or an mpid), sorted, paged, or written whole to a CSV file.

The members come from the one members query (app.engines.insights.subjects); the page's other columns
are read for just the page's profiles.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from app.engines.home import OpenHome
from app.engines.insights.queries import Queries, cursor_for
from app.engines.insights.subjects import Subject, in_list, subject_members_sql
from app.errors import InvalidInput

SORTS = ("mpid", "first_seen", "last_seen")
MAX_LIMIT = 10_000
#: Rows read at a time when a whole audience is written to CSV.
EXPORT_CHUNK = 5_000


@dataclass(frozen=True)
class Member:
    mpid: int
    first_seen: dt.datetime
    last_seen: dt.datetime
    #: identity type → its values, sorted
    identities: dict[str, list[str]]
    #: chosen attribute → its value as text (None: the profile has none)
    attributes: dict[str, str | None]

    def as_json(self) -> dict[str, Any]:
        return {"mpid": self.mpid, "first_seen": self.first_seen.isoformat(), "last_seen": self.last_seen.isoformat(),
                "identities": self.identities, "attributes": self.attributes}


@dataclass(frozen=True)
class MembersPage:
    audience: str
    #: Members matching the search (all of them without one).
    total: int
    offset: int
    members: tuple[Member, ...]

    def as_json(self) -> dict[str, Any]:
        return {"audience": self.audience, "total": self.total, "offset": self.offset,
                "members": [m.as_json() for m in self.members]}


def _query(home: OpenHome, subject: Subject, cursor, *, search: str | None, sort: str, descending: bool,
           now: dt.datetime | None) -> tuple[str, list[Any]]:
    if sort not in SORTS:
        raise InvalidInput(f"sort by one of: {', '.join(SORTS)} (not {sort!r})")
    members, params = subject_members_sql(home, subject, cursor, now)
    workspaces, ws_params = in_list("workspace_id", subject.workspace_ids)
    sql = (f"SELECT p.mpid, min(p.first_seen) AS first_seen, max(p.last_seen) AS last_seen FROM profiles p "
           f"WHERE p.{workspaces} AND p.mpid IN (SELECT mpid FROM ({members}))")
    params = ws_params + params
    text = (search or "").strip()
    if text:
        # Any identity value containing the text (ignoring case), or the mpid itself.
        sql += (f" AND (p.mpid IN (SELECT mpid FROM identities WHERE {workspaces} AND contains(lower(value), ?))"
                " OR CAST(p.mpid AS VARCHAR) = ?)")
        params += ws_params + [text.lower(), text]
    direction = "DESC" if descending else "ASC"
    order = f"{sort} {direction}" + (f", mpid {direction}" if sort != "mpid" else "")
    return f"{sql} GROUP BY p.mpid ORDER BY {order}", params


def members_page(home: OpenHome, subject: Subject, *, search: str | None = None, sort: str = "mpid",
                 descending: bool = False, offset: int = 0, limit: int = 50, attributes: Sequence[str] = (),
                 now: dt.datetime | None = None, queries: Queries | None = None) -> MembersPage:
    """One page of the subject's members, in order, and how many match the search in all."""
    if offset < 0 or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"offset must be 0 or more and limit 1 to {MAX_LIMIT} (got offset {offset}, limit {limit})")
    home.cache.refresh_catalogs()
    with cursor_for(home, queries) as cursor:
        sql, params = _query(home, subject, cursor, search=search, sort=sort, descending=descending, now=now)
        rows = cursor.execute(f"SELECT *, count(*) OVER () FROM ({sql}) LIMIT ? OFFSET ?", params + [limit, offset]).fetchall()
        total = rows[0][3] if rows else cursor.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0]
        return MembersPage(subject.name, total, offset, tuple(_members(cursor, subject, [r[:3] for r in rows], attributes)))


def _members(cursor, subject: Subject, rows: list[tuple], attributes: Sequence[str]) -> list[Member]:
    if not rows:
        return []
    mpids = [r[0] for r in rows]
    workspaces, ws_params = in_list("workspace_id", subject.workspace_ids)
    identities: dict[int, dict[str, list[str]]] = {m: {} for m in mpids}
    for mpid, kind, value in cursor.execute(
            f"SELECT DISTINCT mpid, identity_type, value FROM identities WHERE {workspaces} AND mpid IN (SELECT unnest(?::BIGINT[])) "
            "ORDER BY 1, 2, 3", ws_params + [mpids]).fetchall():
        identities[mpid].setdefault(kind, []).append(value)
    values: dict[int, dict[str, str | None]] = {m: dict.fromkeys(attributes) for m in mpids}
    if attributes:
        for mpid, name, value in cursor.execute(
                f"SELECT mpid, name, coalesce(CAST(value_list AS VARCHAR), value) FROM attributes WHERE {workspaces} "
                "AND mpid IN (SELECT unnest(?::BIGINT[])) AND name IN (SELECT unnest(?::VARCHAR[])) ORDER BY workspace_id",
                ws_params + [mpids, list(attributes)]).fetchall():
            values[mpid][name] = value
    return [Member(mpid, first, last, identities[mpid], values[mpid]) for mpid, first, last in rows]


def export_csv(home: OpenHome, subject: Subject, path: Path, *, search: str | None = None, sort: str = "mpid",
               descending: bool = False, attributes: Sequence[str] = (), now: dt.datetime | None = None,
               cancelled: Callable[[], bool] = lambda: False) -> int:
    """Write every member (matching the search) to `path` as CSV; returns how many. Written to a temporary file
    renamed at the end, so a failed or cancelled export leaves no half file."""
    home.cache.refresh_catalogs()
    cursor = home.cache.cursor()
    sql, params = _query(home, subject, cursor, search=search, sort=sort, descending=descending, now=now)
    rows = cursor.execute(sql, params).fetchall()  # mpid and two times: small even for millions
    types = [r[0] for r in cursor.execute(
        f"SELECT DISTINCT identity_type FROM identities WHERE {in_list('workspace_id', subject.workspace_ids)[0]} ORDER BY 1",
        list(subject.workspace_ids)).fetchall()]
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    try:
        with open(partial, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["mpid", "first_seen", "last_seen", *types, *attributes])
            for start in range(0, len(rows), EXPORT_CHUNK):
                if cancelled():
                    raise InterruptedError("export cancelled")
                for m in _members(cursor, subject, rows[start:start + EXPORT_CHUNK], attributes):
                    writer.writerow([m.mpid, m.first_seen.isoformat(), m.last_seen.isoformat(),
                                     *(";".join(m.identities.get(t, [])) for t in types),
                                     *(m.attributes.get(a) or "" for a in attributes)])
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InvalidInput(f"{path}: cannot be written ({exc.strerror or exc})") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return len(rows)
