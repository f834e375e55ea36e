"""What an audience is made of: its members counted by the values of one attribute, device field, OS,
location field, consent or input, each value's share of the audience against its share of the
workspace (the audience's workspaces' profiles), and the index (100 = as common as in the workspace).

A profile with several values (a list attribute, two devices, two inputs) counts once under each, so
the shares can add up to more than 100 %; one with none counts under "(none)".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from app.engines.home import OpenHome
from app.engines.insights.queries import Queries, cursor_for
from app.engines.insights.subjects import Subject, in_list, subject_members_sql
from app.errors import InvalidInput, UserError

DEVICE_FIELDS = ("platform", "os", "os_version", "device_model", "manufacturer", "carrier", "app_version", "build")
LOCATION_FIELDS = ("country", "state", "city", "zip", "dma")
KINDS = ("attribute:NAME", "device[:FIELD]", "os", "location[:FIELD]", "consent", "input")
NONE = "(none)"


@dataclass(frozen=True)
class Row:
    value: str
    audience: int
    workspace: int
    audience_share: float
    workspace_share: float
    #: 100 × audience share / workspace share (None when the workspace has no such profile)
    index: float | None

    def as_json(self) -> dict[str, Any]:
        return {"value": self.value, "audience": self.audience, "workspace": self.workspace,
                "audience_share": self.audience_share, "workspace_share": self.workspace_share, "index": self.index}


@dataclass(frozen=True)
class Breakdown:
    audience: str
    by: str
    audience_size: int
    workspace_size: int
    #: The top values by audience count (then "(none)" when some members have no value).
    rows: tuple[Row, ...]
    #: How many values there are in all (rows may show fewer).
    values: int

    def as_json(self) -> dict[str, Any]:
        return {"audience": self.audience, "by": self.by, "audience_size": self.audience_size,
                "workspace_size": self.workspace_size, "values": self.values, "rows": [r.as_json() for r in self.rows]}


def _values_sql(by: str, workspaces: str, ws_params: list[Any], subject: Subject, home: OpenHome, cursor) -> tuple[str, list[Any]]:
    """SQL of (mpid, value) pairs, each once, for the profiles of the subject's workspaces."""
    kind, _, name = by.partition(":")
    kind, name = kind.strip().lower(), name.strip()
    if kind == "attribute":
        if not name:
            raise InvalidInput("name the attribute to break down by: attribute:NAME")
        known = cursor.execute(f"SELECT count(*) FROM attribute_catalog WHERE {workspaces} AND name = ?", ws_params + [name]).fetchone()[0]
        if not known:
            raise UserError(f'no user attribute "{name}" in the workspaces of "{subject.name}"')
        # A list counts under each of its items; an empty list under "(none)".
        return (f"SELECT DISTINCT mpid, unnest(CASE WHEN value_list IS NULL THEN [value] WHEN len(value_list) = 0 "
                f"THEN [NULL::VARCHAR] ELSE value_list END) AS value FROM attributes WHERE {workspaces} AND name = ?", ws_params + [name])
    if kind in ("device", "os"):
        field = "os" if kind == "os" else (name or "platform")
        if field not in DEVICE_FIELDS:
            raise InvalidInput(f"device field {field!r} is not one of: {', '.join(DEVICE_FIELDS)}")
        return f"SELECT DISTINCT mpid, {field} AS value FROM devices WHERE {workspaces} AND {field} IS NOT NULL", ws_params
    if kind == "location":
        field = name or "country"
        if field not in LOCATION_FIELDS:
            raise InvalidInput(f"location field {field!r} is not one of: {', '.join(LOCATION_FIELDS)}")
        return f"SELECT DISTINCT mpid, {field} AS value FROM locations WHERE {workspaces} AND {field} IS NOT NULL", ws_params
    if kind == "consent":
        return ("SELECT DISTINCT mpid, CASE WHEN regulation = 'ccpa' THEN 'CCPA ' || CASE WHEN consented THEN 'opted out' ELSE 'not opted out' END "
                "ELSE 'GDPR ' || purpose || ': ' || CASE WHEN consented THEN 'consented' ELSE 'declined' END END AS value "
                f"FROM consent WHERE {workspaces}", ws_params)
    if kind == "input":
        return f"SELECT DISTINCT mpid, input AS value FROM events WHERE {workspaces}", ws_params
    raise InvalidInput(f"break down by one of: {', '.join(KINDS)} (not {by!r})")


def breakdown(home: OpenHome, subject: Subject, by: str, *, top: int = 20, now: dt.datetime | None = None,
              queries: Queries | None = None) -> Breakdown:
    """The subject's members by the values of `by` (see KINDS), the `top` most common first."""
    if top < 1:
        raise InvalidInput(f"top must be 1 or more (got {top})")
    home.cache.refresh_catalogs()
    with cursor_for(home, queries) as cursor:
        members, member_params = subject_members_sql(home, subject, cursor, now)
        workspaces, ws_params = in_list("workspace_id", subject.workspace_ids)
        values, value_params = _values_sql(by, workspaces, ws_params, subject, home, cursor)
        sql = (f"WITH u AS (SELECT DISTINCT mpid FROM profiles WHERE {workspaces}), "
               f"m AS (SELECT DISTINCT mpid FROM ({members}) WHERE mpid IN (SELECT mpid FROM u)), "
               f"v AS (SELECT mpid, coalesce(CAST(value AS VARCHAR), '{NONE}') AS value FROM ({values}) WHERE mpid IN (SELECT mpid FROM u) "
               f"UNION ALL SELECT mpid, '{NONE}' FROM u WHERE mpid NOT IN (SELECT mpid FROM ({values}))) "
               "SELECT value, count(DISTINCT mpid) FILTER (WHERE mpid IN (SELECT mpid FROM m)) AS audience, count(DISTINCT mpid) AS workspace, "
               "(SELECT count(*) FROM m), (SELECT count(*) FROM u) FROM v GROUP BY value")
        params = ws_params + member_params + value_params + value_params
        found = cursor.execute(sql, params).fetchall()
        if not found:
            size = cursor.execute(f"SELECT count(*) FROM ({members})", member_params).fetchone()[0]
            universe = cursor.execute(f"SELECT count(DISTINCT mpid) FROM profiles WHERE {workspaces}", ws_params).fetchone()[0]
        else:
            size, universe = found[0][3], found[0][4]
    if size == 0:
        raise UserError(f'"{subject.name}" has no members now, so there is nothing to break down')
    rows = [Row(value, a, w, a / size, w / universe if universe else 0.0,
                round(100 * (a / size) / (w / universe), 1) if w else None) for value, a, w, _, _ in found if a]
    rows.sort(key=lambda r: (r.value == NONE, -r.audience, r.value))
    shown = [r for r in rows if r.value != NONE][:top] + [r for r in rows if r.value == NONE]
    return Breakdown(subject.name, by, size, universe, tuple(shown), len(rows))
