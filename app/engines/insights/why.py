"""Why a profile is in an audience or not: each card's and group's verdict, with the evidence behind it.

The verdicts are the compiler's own per-node sets (app.builder.compiler.compile_verdicts) restricted
to the one profile, so they agree exactly with the per-node counts and the members query (a property
test checks it, tests/builder/test_verdicts.py). The evidence is read beside them: the events a card
counted and their times (the card's exact event condition), the value a calculated attribute
compared, the attribute, identity, device, location or consent values the profile holds, the distance
to a place.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from app.builder.calculated import ZERO_WHEN_NO_EVENTS
from app.builder.compiler import compile_verdicts
from app.builder.document import CriteriaError
from app.builder.wording import operator_words, times_words
from app.engines.estimates import catalog_for, membership_resolver
from app.engines.home import OpenHome
from app.engines.insights.queries import Queries, cursor_for
from app.engines.insights.subjects import Subject, check_workspaces, in_list, moment, scope_of, subject_members_sql
from app.errors import InvalidInput, NotFound, UserError

#: How a profile can be looked up, and the identity types each searches.
LOOKUPS = ("email", "customer_id", "device_id", "mpid")
#: Event times listed as evidence (the count covers all of them).
TIMES_SHOWN = 10
_EARTH_RADIUS = {"km": 6371.0088, "mi": 3958.7613}
_DEVICE_FIELDS = {"platform", "os", "os_version", "device_model", "manufacturer", "carrier", "app_version", "build"}
_LOCATION_FIELDS = {"city", "state", "zip", "dma", "country"}
_ATTRIBUTION_FIELDS = {"publisher", "campaign", "service_provider"}


@dataclass(frozen=True)
class NodeVerdict:
    """One card or group: whether the profile matches it, and why, in words and as values."""

    node_id: str
    type: str
    depth: int
    matches: bool
    #: What was compared, in words ("3 session_start events, last 2025-09-08 11:00").
    evidence: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"node": self.node_id, "type": self.type, "depth": self.depth, "matches": self.matches,
                "evidence": self.evidence, "details": self.details}


@dataclass(frozen=True)
class Explanation:
    audience: str
    mpid: int
    #: The lookup that found the profile, e.g. 'email "ada@example.com"'.
    found_by: str
    in_audience: bool
    nodes: tuple[NodeVerdict, ...]
    note: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"audience": self.audience, "mpid": self.mpid, "found_by": self.found_by, "in_audience": self.in_audience,
                "note": self.note, "nodes": [n.as_json() for n in self.nodes]}


def find_profile(home: OpenHome, subject: Subject, by: str, value: str) -> int:
    """The mpid of the one profile of the subject's workspaces with this email, customer id, device id or mpid."""
    if by not in LOOKUPS:
        raise InvalidInput(f"look a profile up by one of: {', '.join(LOOKUPS)} (not {by!r})")
    value = str(value).strip()
    if not value:
        raise InvalidInput(f"the {by.replace('_', ' ')} to look up is empty")
    check_workspaces(home, subject)
    cursor = home.cache.cursor()
    words = f"{by.replace('_', ' ')} {value!r}"
    if by == "mpid":
        try:
            mpid = int(value)
        except ValueError:
            raise InvalidInput(f"mpid {value!r} is not a number") from None
        found = cursor.execute("SELECT DISTINCT mpid, workspace_id FROM profiles WHERE mpid = ?", [mpid]).fetchall()
    else:
        test = {"email": "identity_type = 'email' AND lower(value) = lower(?)",
                "customer_id": "identity_type = 'customer_id' AND value = ?",
                "device_id": "kind = 'device' AND lower(value) = lower(?)"}[by]
        found = cursor.execute(f"SELECT DISTINCT mpid, workspace_id FROM identities WHERE {test}", [value]).fetchall()
    if not found:
        raise NotFound(f"No profile in the cache has {words}.")
    here = sorted({mpid for mpid, ws in found if ws in subject.workspace_ids})
    if not here:
        names = ", ".join(sorted({home.workspaces.get(ws).name for _, ws in found}))
        mine = ", ".join(home.workspaces.get(ws).name for ws in subject.workspace_ids)
        raise UserError(f'The profile with {words} is in workspace {names}, not in the workspaces of "{subject.name}" ({mine}).')
    if len(here) > 1:
        raise UserError(f"{len(here)} profiles have {words} (mpids {', '.join(map(str, here[:10]))}); look one up by --mpid.")
    return here[0]


def explain(home: OpenHome, subject: Subject, mpid: int, *, found_by: str | None = None,
            now: dt.datetime | None = None, queries: Queries | None = None) -> Explanation:
    """Each node's verdict on profile `mpid`, with its evidence, and whether the profile is in the audience."""
    check_workspaces(home, subject)
    home.cache.refresh_catalogs()
    with cursor_for(home, queries) as cursor:
        scope = scope_of(home, subject)
        at = moment(home, subject, now)
        try:
            verdicts = compile_verdicts(subject.document, [mpid], scope=scope, catalog=catalog_for(home, cursor), now=at,
                                        memberships=membership_resolver(home))
        except CriteriaError as exc:
            raise UserError(f'"{subject.name}" cannot be explained until its criteria are fixed: {exc}') from None
        catalog = catalog_for(home, cursor)
        row = cursor.execute(verdicts.sql, verdicts.params).fetchone()
        matched = dict(zip(verdicts.node_ids, row[1:]))
        evidence = _Evidence(cursor, subject, scope, at, mpid, verdicts, catalog)
        nodes = []

        def visit(node: dict, depth: int) -> None:
            verdict = bool(matched[node["id"]])
            text, details = evidence.of(node, verdict, [bool(matched[c["id"]]) for c in node.get("children", [])])
            nodes.append(NodeVerdict(node["id"], node["type"], depth, verdict, text, details))
            for child in node.get("children", []):
                visit(child, depth + 1)

        visit(subject.document["root"], 0)
        in_audience, note = bool(matched[subject.document["root"]["id"]]), None
        if subject.standard:
            # A standard audience's members are those its last calculation kept; its criteria explain them.
            sql, params = subject_members_sql(home, subject, cursor, now)
            in_audience = cursor.execute(f"SELECT count(*) FROM ({sql}) m WHERE m.mpid = ?", params + [mpid]).fetchone()[0] > 0
            note = "a standard audience: membership as its last calculation kept it; the cards as its dates read now"
        return Explanation(subject.name, mpid, found_by or f"mpid {mpid}", in_audience, tuple(nodes), note)


def _when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if isinstance(moment, dt.datetime) else str(moment)


class _Evidence:
    """The values behind each node's verdict, read for one profile."""

    def __init__(self, cursor, subject: Subject, scope, now: dt.datetime, mpid: int, verdicts, catalog) -> None:
        self.cursor, self.subject, self.scope, self.now, self.mpid, self.verdicts = cursor, subject, scope, now, mpid, verdicts
        self.catalog = catalog

    def _workspaces(self, node: dict) -> tuple[int, ...]:
        chosen = node.get("workspace_id")
        return (chosen,) if chosen is not None else tuple(self.scope.workspace_ids)

    def _rows(self, table: str, node: dict, columns: str, extra: str = "", params: list[Any] | None = None) -> list[tuple]:
        test, values = in_list("workspace_id", self._workspaces(node))
        return self.cursor.execute(f"SELECT {columns} FROM {table} WHERE mpid = ? AND {test} {extra}",
                                   [self.mpid, *values, *(params or [])]).fetchall()

    def of(self, node: dict, verdict: bool, children: list[bool]) -> tuple[str, dict[str, Any]]:
        kind = node["type"]
        prefix = "excluded: " if node.get("exclude") else ""
        if kind == "group":
            matching = sum(children)
            need = "all" if node["match"] == "all" else "any"
            return prefix + f"{matching} of {len(children)} matched (match {need})", {"children_matching": matching,
                                                                                     "children": len(children)}
        text, details = getattr(self, f"_{kind}")(node)
        return prefix + text, details

    def _event(self, node: dict) -> tuple[str, dict[str, Any]]:
        condition = self.verdicts.events.get(node["id"])
        if condition is None:
            return "no events of this kind in the cache", {"events": 0}
        sql, params = condition
        count, first, last = self.cursor.execute(f"SELECT count(*), min(e.ts), max(e.ts) FROM events e WHERE {sql} AND e.mpid = ?",
                                                 params + [self.mpid]).fetchone()
        times = [r[0] for r in self.cursor.execute(f"SELECT e.ts FROM events e WHERE {sql} AND e.mpid = ? ORDER BY e.ts DESC LIMIT {TIMES_SHOWN}",
                                                   params + [self.mpid]).fetchall()]
        name = node.get("event_name") or node["event_type"]
        text = f"{count} {name} event{'s' if count != 1 else ''} counted"
        if count:
            text += f", first {_when(first)}, last {_when(last)} UTC"
        frequency = node.get("frequency")
        if frequency:
            text += f"; needs {times_words(frequency)}"
        return text, {"events": count, "first": first, "last": last, "latest_times": times}

    def _cart_abandonment(self, node: dict) -> tuple[str, dict[str, Any]]:
        test, values = in_list("workspace_id", self.scope.workspace_ids)
        rows = self.cursor.execute(
            f"SELECT product_action, max(ts), count(*) FROM events WHERE mpid = ? AND {test} AND event_type = 'commerce_event' "
            "AND product_action IN ('add_to_cart', 'purchase') GROUP BY 1", [self.mpid, *values]).fetchall()
        seen = {action: (last, n) for action, last, n in rows}
        parts = [f"{seen[a][1]} {a.replace('_', ' ')} (last {_when(seen[a][0])})" for a in ("add_to_cart", "purchase") if a in seen]
        return ("; ".join(parts) or "no add to cart or purchase events"), {a: {"events": n, "last": last} for a, (last, n) in seen.items()}

    def _user_attribute(self, node: dict) -> tuple[str, dict[str, Any]]:
        name = node["attribute"]
        if node.get("calculated"):
            found = self.verdicts.calculated.get(node["id"])
            value = None
            if found is not None:
                sql, params = found
                row = self.cursor.execute(f"SELECT value FROM ({sql}) v WHERE v.mpid = ?", params + [self.mpid]).fetchone()
                value = row[0] if row else None
            found_definition = self.catalog.calculated_attribute(self._workspaces(node), name)
            if value is None and found_definition is not None and found_definition[1].calculation in ZERO_WHEN_NO_EVENTS:
                value = 0  # counts and sums are 0 without events, as the compiler reads them
            shown = "no value (no matching events)" if value is None else repr(value)
            return f"calculated {name} = {shown}; compared: {_compared(node)}".rstrip(), {"value": value}
        rows = self._rows("attributes", node, "coalesce(CAST(value_list AS VARCHAR), value)", "AND name = ?", [name])
        values = [r[0] for r in rows]
        shown = ", ".join(repr(v) for v in values) if values else "no value"
        return f"{name} = {shown}; compared: {_compared(node)}".rstrip(), {"values": values}

    def _identity(self, node: dict) -> tuple[str, dict[str, Any]]:
        values = [r[0] for r in self._rows("identities", node, "value", "AND identity_type = ? ORDER BY value", [node["identity_type"]])]
        shown = ", ".join(values) if values else "none"
        return f"{node['identity_type']}: {shown}; compared: {_compared(node)}".rstrip(), {"values": values}

    def _device(self, node: dict) -> tuple[str, dict[str, Any]]:
        column = node["field"] if node["field"] in _DEVICE_FIELDS else "platform"
        values = [r[0] for r in self._rows("devices", node, column, f"AND {column} IS NOT NULL ORDER BY 1")]
        shown = ", ".join(values) if values else "none"
        return f"device {column}: {shown}; compared: {_compared(node)}".rstrip(), {"values": values}

    def _first_seen(self, node: dict) -> tuple[str, dict[str, Any]]:
        values = [r[0] for r in self._rows("profiles", node, "first_seen", "ORDER BY 1")]
        shown = ", ".join(_when(v) for v in values) if values else "never"
        return f"first seen {shown} UTC; compared: {_compared(node)}", {"values": values}

    def _location(self, node: dict) -> tuple[str, dict[str, Any]]:
        if node["operator"] == "within":
            rows = self._rows("locations", node, "latitude, longitude", "AND latitude IS NOT NULL AND longitude IS NOT NULL")
            unit = node.get("unit", "km")
            try:
                lat, lon, radius = float(node["latitude"]), float(node["longitude"]), float(node["radius"])
            except (KeyError, TypeError, ValueError):
                return "the place is incomplete", {}
            distances = [round(_distance(lat, lon, a, b, unit), 2) for a, b in rows]
            if not distances:
                return "no known position", {"distances": []}
            return (f"{min(distances):g} {unit} from the place (within {radius:g} {unit} needed)",
                    {"distances": distances, "unit": unit})
        column = node.get("field") if node.get("field") in _LOCATION_FIELDS else "country"
        values = [r[0] for r in self._rows("locations", node, column, f"AND {column} IS NOT NULL ORDER BY 1")]
        shown = ", ".join(values) if values else "none"
        return f"{column}: {shown}; compared: {_compared(node)}", {"values": values}

    def _attribution(self, node: dict) -> tuple[str, dict[str, Any]]:
        column = node["field"] if node["field"] in _ATTRIBUTION_FIELDS else "publisher"
        values = [r[0] for r in self._rows("attribution", node, column, f"AND kind = ? AND {column} IS NOT NULL ORDER BY 1", [node["kind"]])]
        shown = ", ".join(values) if values else "none"
        return f"{node['kind']} {column}: {shown}; compared: {_compared(node)}".rstrip(), {"values": values}

    def _consent(self, node: dict) -> tuple[str, dict[str, Any]]:
        if node["regulation"] == "gdpr":
            rows = self._rows("consent", node, "consented", "AND regulation = 'gdpr' AND purpose = ?", [node.get("purpose")])
            state = "no record (no consent)" if not rows else ("consented" if any(r[0] for r in rows) else "declined")
            return f"GDPR {node.get('purpose')}: {state}; needs {'consent' if node.get('consented') else 'no consent'}", {"records": [r[0] for r in rows]}
        rows = self._rows("consent", node, "consented", "AND regulation = 'ccpa' AND purpose = 'data_sale_opt_out'")
        state = "opted out" if any(r[0] for r in rows) else "not opted out"
        return f"CCPA: {state}; needs {'opted out' if node.get('opted_out') else 'not opted out'}", {"records": [r[0] for r in rows]}

    def _audience_membership(self, node: dict) -> tuple[str, dict[str, Any]]:
        # The node's own set is the other audience's members (or everyone else), as the compiler reads it.
        return (f"needs {'membership in' if node['member'] else 'no membership in'} audience {node['audience_id']}",
                {"audience_id": node["audience_id"], "member": node["member"]})


def _distance(lat1: float, lon1: float, lat2: float, lon2: float, unit: str) -> float:
    """Great-circle distance (haversine), as the compiler's "within" computes it."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin(math.radians(lat2 - lat1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * _EARTH_RADIUS[unit] * math.asin(math.sqrt(a))


def _compared(node: dict) -> str:
    """The card's comparison in words, as the card shows it ("at least 300", "is 'gold'")."""
    if "value" not in node:  # exists, is true…
        return operator_words(node["operator"])
    value = node["value"]
    if isinstance(value, dict) and "operator" in value:  # a list's size: "has a size of at least 3"
        return f"{operator_words(node['operator'])} {operator_words(value['operator'], count=True)} {value.get('value')!r}"
    return f"{operator_words(node['operator'])} {value!r}"
