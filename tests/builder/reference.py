"""An independent, plain-Python evaluator of criteria documents, to check the compiler against.

It reads the cache's tables into Python once (`CacheData.load`) and evaluates a document node by
node as sets of mpids, following the semantics decided for docs/criteria.md:

1. The universe is the distinct mpids of `profiles` in the audience's workspaces; an excluded node
   is the universe minus the node; group all = intersection, any = union; an empty root matches no one.
2. Events count when in the audience's workspaces, inputs (if given) and real-time window
   [now - realtime_days, now], and in the criterion's window. Dates are whole UTC days.
3. Frequency over matching events (zero events match iff 0 satisfies it); without frequency one
   event is enough. Sum over no events is 0; avg/min/max need a value.
4. Value operators other than not_exists need the value to exist (negative ones included).
5. Several rows per user (devices, identities, consent, workspaces): ANY row matching is enough.
6. Versions compare as lists of integers.  7. Haversine distance, R = 6371.0088 km / 3958.7613 mi.
8. Consent, 9. cart abandonment, 10. attribution, 11. identity, 12. first seen, 13. workspace_id.

Nothing here comes from app/builder/compiler.py: wildcard matching, windows, version comparison and
distance are written again from the rules above, so a shared mistake is unlikely.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

DAY = dt.timedelta(days=1)
EARTH_RADIUS = {"km": 6371.0088, "mi": 3958.7613}


class ReferenceError_(Exception):
    """The reference cannot evaluate the document (a document the compiler should refuse too)."""


# ---------------------------------------------------------------------------------------------------
# Loading the cache


def _rows(cursor, sql: str) -> list[dict[str, Any]]:
    result = cursor.execute(sql)
    names = [d[0] for d in result.description]
    return [dict(zip(names, row)) for row in result.fetchall()]


_ORDER = {
    "profiles": "workspace_id, mpid",
    "identities": "workspace_id, mpid, identity_type",
    "attributes": "workspace_id, mpid, name",
    "consent": "workspace_id, mpid, regulation, purpose",
    "devices": "workspace_id, mpid, platform NULLS FIRST",
    "locations": "workspace_id, mpid",
    "attribution": "workspace_id, mpid, kind",
    "events": "event_id",
}


@dataclass
class CacheData:
    profiles: list[dict]
    identities: list[dict]
    attributes: list[dict]
    consent: list[dict]
    devices: list[dict]
    locations: list[dict]
    attribution: list[dict]
    events: list[dict]
    attribute_catalog: list[dict]
    event_attribute_catalog: list[dict]

    @classmethod
    def load(cls, cursor, prefix: str = "") -> "CacheData":
        """`prefix` "sample_" reads the sample tables (catalogs are always the full ones)."""
        tables = {}
        for name, order in _ORDER.items():  # ordered, so that tests drawing values from them are repeatable
            tables[name] = _rows(cursor, f"SELECT * FROM {prefix}{name} ORDER BY {order}")
        for event in tables["events"]:
            event["attributes"] = dict(event["attributes"] or {})
        tables["attribute_catalog"] = _rows(cursor, "SELECT * FROM attribute_catalog ORDER BY ALL")
        tables["event_attribute_catalog"] = _rows(cursor, "SELECT * FROM event_attribute_catalog ORDER BY ALL")
        return cls(**tables)


# ---------------------------------------------------------------------------------------------------
# Value tests: each returns a predicate of one value (None: the value does not exist)


def parse_day(text: Any) -> dt.datetime:
    if not isinstance(text, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        raise ReferenceError_(f"not a date: {text!r}")
    try:
        return dt.datetime(int(text[:4]), int(text[5:7]), int(text[8:10]))
    except ValueError:
        raise ReferenceError_(f"not a date: {text!r}") from None


def duration(amount: int, unit: str) -> dt.timedelta:
    if unit == "hours":
        return dt.timedelta(hours=amount)
    if unit == "days":
        return dt.timedelta(hours=24 * amount)
    raise ReferenceError_(f"unit {unit!r}")


def interval(kind: str, spec: dict, now: dt.datetime) -> Callable[[dt.datetime], bool]:
    """A time window (or a date operator with its value spread into `spec`) as a predicate."""
    if kind == "within":
        low, high = now - duration(spec["amount"], spec["unit"]), now
        return lambda t: low <= t <= high
    if kind == "between_ago":
        a, b = spec["from"], spec["to"]
        low, high = now - duration(max(a, b), spec["unit"]), now - duration(min(a, b), spec["unit"])
        return lambda t: low <= t <= high
    if kind == "before":
        end = parse_day(spec["date"]) + DAY
        return lambda t: t < end
    if kind == "after":
        start = parse_day(spec["date"])
        return lambda t: t >= start
    if kind == "on":
        start = parse_day(spec["date"])
        end = start + DAY
        return lambda t: start <= t < end
    if kind == "between_dates":
        start, end = parse_day(spec["from"]), parse_day(spec["to"]) + DAY
        return lambda t: start <= t < end
    raise ReferenceError_(f"window {kind!r}")


def window_test(window: dict | None, now: dt.datetime) -> Callable[[dt.datetime], bool]:
    if not window:
        return lambda t: True
    return interval(window["type"], window, now)


def date_test(operator: str, value: Any, now: dt.datetime) -> Callable[[Any], bool]:
    if operator in ("before", "after", "on"):
        inner = interval(operator, {"date": value}, now)
    elif operator == "between_dates":
        inner = interval(operator, {"from": value[0], "to": value[1]}, now)
    elif operator in ("within", "between_ago"):
        inner = interval(operator, value, now)
    else:
        raise ReferenceError_(f"{operator!r} is not a date operator")
    return lambda t: t is not None and inner(t)


def wildcard(pattern: str) -> re.Pattern:
    """`*` any run of characters, `?` exactly one, everything else literal."""
    parts = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


def string_test(operator: str, value: Any) -> Callable[[Any], bool]:
    if operator in ("in", "not_in"):
        options = {v.lower() for v in value}
        if operator == "in":
            return lambda s: s is not None and s.lower() in options
        return lambda s: s is not None and s.lower() not in options
    needle = value.lower()
    if operator == "contains":
        return lambda s: s is not None and needle in s.lower()
    if operator == "not_contains":
        return lambda s: s is not None and needle not in s.lower()
    if operator == "equals":
        return lambda s: s is not None and s.lower() == needle
    if operator == "not_equals":
        return lambda s: s is not None and s.lower() != needle
    if operator == "matches":
        regex = wildcard(needle)
        return lambda s: s is not None and regex.fullmatch(s.lower()) is not None
    raise ReferenceError_(f"{operator!r} is not a string operator")


def compare(x: Any, operator: str, value: Any) -> bool:
    """`x operator value` for numbers (or anything ordered, e.g. version tuples)."""
    if x is None:
        return False
    if operator == "eq":
        return x == value
    if operator == "ne":
        return x != value
    if operator == "lt":
        return x < value
    if operator == "le":
        return x <= value
    if operator == "gt":
        return x > value
    if operator == "ge":
        return x >= value
    if operator == "between":
        low, high = sorted(value)
        return low <= x <= high
    raise ReferenceError_(f"{operator!r} is not a comparison")


def number_test(operator: str, value: Any) -> Callable[[Any], bool]:
    if operator not in ("eq", "ne", "lt", "le", "gt", "ge", "between"):
        raise ReferenceError_(f"{operator!r} is not a number operator")
    return lambda x: x is not None and not (isinstance(x, float) and math.isnan(x)) and compare(x, operator, value)


def parse_version(text: Any) -> tuple[int, ...] | None:
    if not isinstance(text, str) or not text:
        return None
    parts = text.split(".")
    if not all(p and p.isascii() and p.isdigit() for p in parts):
        return None
    return tuple(int(p) for p in parts)


def version_test(operator: str, value: Any) -> Callable[[Any], bool]:
    if operator == "between":
        bounds = [parse_version(v) for v in value]
        if None in bounds:
            raise ReferenceError_(f"not versions: {value!r}")
        operand: Any = bounds
    else:
        operand = parse_version(value)
        if operand is None:
            raise ReferenceError_(f"not a version: {value!r}")
    return lambda s: compare(parse_version(s), operator, operand)


def list_test(operator: str, value: Any) -> Callable[[Any], bool]:
    def lowered(items):
        return [i.lower() for i in items if i is not None]

    if operator == "list_contains":
        return lambda items: items is not None and value.lower() in lowered(items)
    if operator == "list_not_contains":
        return lambda items: items is not None and value.lower() not in lowered(items)
    if operator == "list_contains_any":
        wanted = [v.lower() for v in value]
        return lambda items: items is not None and any(w in lowered(items) for w in wanted)
    if operator == "list_contains_all":
        wanted = [v.lower() for v in value]
        return lambda items: items is not None and all(w in lowered(items) for w in wanted)
    if operator == "list_size":
        return lambda items: items is not None and compare(len(items), value["operator"], value["value"])
    raise ReferenceError_(f"{operator!r} is not a list operator")


def boolean_test(operator: str) -> Callable[[Any], bool]:
    if operator == "is_true":
        return lambda b: b is True
    if operator == "is_false":
        return lambda b: b is False
    raise ReferenceError_(f"{operator!r} is not a boolean operator")


def typed_test(kind: str, operator: str, value: Any, now: dt.datetime) -> Callable[[Any], bool]:
    if kind == "string":
        return string_test(operator, value)
    if kind == "number":
        return number_test(operator, value)
    if kind == "date":
        return date_test(operator, value, now)
    if kind == "boolean":
        return boolean_test(operator)
    if kind == "list":
        return list_test(operator, value)
    raise ReferenceError_(f"type {kind!r}")


def haversine(lat1: float, lon1: float, lat2: float, lon2: float, radius: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = math.radians(lat2 - lat1)
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * radius * math.asin(math.sqrt(min(1.0, a)))


# Event attribute values are text; the catalog's type says how to read them.


def _event_number(text: Any) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _event_boolean(text: Any) -> bool | None:
    if text is None:
        return None
    return {"true": True, "false": False}.get(text.lower())


def _event_date(text: Any) -> dt.datetime | None:
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment


_EVENT_READERS = {"string": lambda v: v, "number": _event_number, "boolean": _event_boolean, "date": _event_date}


# ---------------------------------------------------------------------------------------------------


@dataclass
class Reference:
    data: CacheData
    workspace_ids: tuple[int, ...]
    now: dt.datetime  # naive UTC
    inputs: dict[int, tuple[str, ...]] = field(default_factory=dict)
    realtime_days: int | None = 30
    #: workspace → name → definition (app.builder.calculated.CalculatedAttribute; only its fields are read)
    calculated: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.now.tzinfo is not None:
            self.now = self.now.astimezone(dt.timezone.utc).replace(tzinfo=None)
        self.universe = frozenset(p["mpid"] for p in self.data.profiles if p["workspace_id"] in self.workspace_ids)

    # -- public ------------------------------------------------------------------------------------

    def evaluate(self, document: dict) -> tuple[int, dict[str, int]]:
        nodes: dict[str, int] = {}
        matched = self._node(document["root"], nodes)
        return len(matched), nodes

    def members(self, document: dict) -> frozenset[int]:
        return self._node(document["root"], {})

    # -- nodes -------------------------------------------------------------------------------------

    def _node(self, node: dict, counts: dict[str, int]) -> frozenset[int]:
        kind = node["type"]
        if kind == "group":
            children = [self._node(child, counts) for child in node["children"]]
            if not children:
                result: frozenset[int] = frozenset()
            elif node["match"] == "all":
                result = frozenset.intersection(*children)
            else:
                result = frozenset.union(*children)
        else:
            result = frozenset(getattr(self, f"_{kind}")(node)) & self.universe
        if node.get("exclude"):
            result = self.universe - result
        counts[node["id"]] = len(result)
        return result

    def _workspaces(self, node: dict) -> tuple[int, ...]:
        chosen = node.get("workspace_id")
        return self.workspace_ids if chosen is None else (chosen,)

    # -- events ------------------------------------------------------------------------------------

    def _in_scope(self, event: dict) -> bool:
        ws = event["workspace_id"]
        if ws not in self.workspace_ids:
            return False
        chosen = self.inputs.get(ws)
        if chosen and event["input"] not in chosen:
            return False
        if self.realtime_days is not None:
            if not (self.now - duration(self.realtime_days, "days") <= event["ts"] <= self.now):
                return False
        return True

    def _event_attribute_type(self, event_type: str, event_name: str | None, attribute: str) -> str:
        kinds = {
            row["detected_type"] for row in self.data.event_attribute_catalog
            if row["workspace_id"] in self.workspace_ids and row["event_type"] == event_type
            and (event_name is None or row["event_name"] == event_name) and row["attribute"] == attribute
        }
        if len(kinds) != 1:
            raise ReferenceError_(f"event attribute {attribute!r} has types {sorted(kinds)}")
        return kinds.pop()

    def _condition(self, event_type: str, event_name: str | None, condition: dict) -> Callable[[dict], bool]:
        attribute, operator, value = condition["attribute"], condition["operator"], condition.get("value")
        if attribute == "revenue":
            kind = "number"
            raw = lambda e: e["revenue"]  # noqa: E731
            read = lambda v: v  # noqa: E731
        else:
            kind = self._event_attribute_type(event_type, event_name, attribute)
            raw = lambda e: e["attributes"].get(attribute)  # noqa: E731
            read = _EVENT_READERS[kind]
        if operator == "exists":
            return lambda e: raw(e) is not None
        if operator == "not_exists":
            return lambda e: raw(e) is None
        test = typed_test(kind, operator, value, self.now)
        return lambda e: test(read(raw(e)))

    def _event(self, node: dict) -> set[int]:
        event_type = node["event_type"]
        name = node.get("event_name")
        if event_type == "attribution":
            event_type, name = "custom_event", "attribution"
        in_window = window_test(node.get("window"), self.now)
        conditions = [self._condition(event_type, name, c) for c in node.get("conditions", [])]
        action = node.get("product_action")

        def matches(e: dict) -> bool:
            return (self._in_scope(e) and e["event_type"] == event_type
                    and (name is None or e["event_name"] == name)
                    and (not action or e["product_action"] == action)
                    and in_window(e["ts"]) and all(c(e) for c in conditions))

        per_user: dict[int, list[dict]] = {}
        for e in self.data.events:
            if matches(e):
                per_user.setdefault(e["mpid"], []).append(e)

        frequency, aggregate = node.get("frequency"), node.get("aggregate")
        if aggregate:
            attribute = aggregate["attribute"]
            if attribute == "revenue":
                number = lambda e: e["revenue"]  # noqa: E731
            else:
                if self._event_attribute_type(event_type, name, attribute) != "number":
                    raise ReferenceError_(f"{attribute!r} is not a number")
                number = lambda e: _event_number(e["attributes"].get(attribute))  # noqa: E731

        out = set()
        for mpid in self.universe:
            events = per_user.get(mpid, [])
            if frequency:
                ok = compare(len(events), frequency["operator"], frequency["value"])
            else:
                ok = bool(events) if not aggregate else True
            if ok and aggregate:
                values = [v for v in (number(e) for e in events) if v is not None]
                function = aggregate["function"]
                if function == "sum":
                    total: float | None = sum(values) if values else 0
                elif not values:
                    total = None
                elif function == "avg":
                    total = sum(values) / len(values)
                elif function == "min":
                    total = min(values)
                else:
                    total = max(values)
                ok = total is not None and compare(total, aggregate["operator"], aggregate["value"])
            if ok:
                out.add(mpid)
        return out

    def _cart_abandonment(self, node: dict) -> set[int]:
        grace = duration(node["no_purchase_within"]["amount"], node["no_purchase_within"]["unit"])
        in_window = window_test(node["window"], self.now)
        purchases: dict[int, list[dt.datetime]] = {}
        for e in self.data.events:
            if self._in_scope(e) and e["event_type"] == "commerce_event" and e["product_action"] == "purchase":
                purchases.setdefault(e["mpid"], []).append(e["ts"])
        out = set()
        for e in self.data.events:
            if not (self._in_scope(e) and e["event_type"] == "commerce_event" and e["product_action"] == "add_to_cart"):
                continue
            t = e["ts"]
            if not in_window(t) or t > self.now - grace:
                continue
            if any(t < p <= t + grace for p in purchases.get(e["mpid"], [])):
                continue
            out.add(e["mpid"])
        return out

    # -- profile criteria ----------------------------------------------------------------------------

    def _attribute_type(self, workspaces: tuple[int, ...], name: str) -> str:
        by_ws = {row["workspace_id"]: row["detected_type"] for row in self.data.attribute_catalog if row["name"] == name}
        for ws in workspaces:  # the first of the workspaces that has it (as Catalog.attribute_type)
            if ws in by_ws:
                return by_ws[ws]
        raise ReferenceError_(f"no attribute {name!r}")

    def _user_attribute(self, node: dict) -> set[int]:
        workspaces = self._workspaces(node)
        if node.get("calculated"):
            return self._calculated(node, workspaces)
        name, operator = node["attribute"], node["operator"]
        rows = [r for r in self.data.attributes if r["workspace_id"] in workspaces and r["name"] == name]
        present = {r["mpid"] for r in rows}
        if operator == "exists":
            return present
        if operator == "not_exists":
            return set(self.universe - present)
        kind = self._attribute_type(workspaces, name)
        column = {"string": "value", "number": "value_number", "date": "value_date", "boolean": "value_bool", "list": "value_list"}[kind]
        test = typed_test(kind, operator, node.get("value"), self.now)
        return {r["mpid"] for r in rows if test(r[column])}

    def _calculated(self, node: dict, workspaces: tuple[int, ...]) -> set[int]:
        ws, definition = next((ws, self.calculated[ws][node["attribute"]]) for ws in workspaces
                              if node["attribute"] in self.calculated.get(ws, {}))
        values = self.calculated_values(ws, definition)
        kind = {"count": "number", "sum": "number", "average": "number", "min": "number", "max": "number",
                "first_value": "string", "last_value": "string", "most_frequent": "string",
                "unique_values": "list", "first_time": "date", "last_time": "date"}[definition.calculation]
        if definition.calculation in ("count", "sum"):  # 0 for everyone without events
            values = {mpid: values.get(mpid, 0) for mpid in self.universe | set(values)}
        operator = node["operator"]
        present = {mpid for mpid, v in values.items() if v is not None}
        if operator == "exists":
            return present
        if operator == "not_exists":
            return set(self.universe - present)
        test = typed_test(kind, operator, node.get("value"), self.now)
        return {mpid for mpid, v in values.items() if v is not None and test(v)}

    def calculated_values(self, ws: int, definition) -> dict[int, Any]:
        """mpid → the calculated value, for users with matching events (computed event by event)."""
        event_type, name = definition.event_type, definition.event_name
        if event_type == "attribution":
            event_type, name = "custom_event", "attribution"
        chosen = self.inputs.get(ws)
        since = self.now - dt.timedelta(days=definition.window_days) if definition.window_days else None
        per_user: dict[int, list[dict]] = {}
        for e in sorted(self.data.events, key=lambda e: (e["ts"], e["event_id"])):
            if (e["workspace_id"] == ws and e["event_type"] == event_type and (name is None or e["event_name"] == name)
                    and (not chosen or e["input"] in chosen) and e["ts"] <= self.now and (since is None or e["ts"] >= since)):
                per_user.setdefault(e["mpid"], []).append(e)
        attribute = definition.attribute

        def raw(e: dict) -> Any:
            return e[attribute] if attribute in ("revenue", "currency", "product_action", "event_name") else e["attributes"].get(attribute)

        out: dict[int, Any] = {}
        for mpid, events in per_user.items():
            calculation = definition.calculation
            if calculation == "count":
                out[mpid] = len(events)
            elif calculation == "first_time":
                out[mpid] = events[0]["ts"]
            elif calculation == "last_time":
                out[mpid] = events[-1]["ts"]
            elif calculation in ("sum", "average", "min", "max"):
                numbers = [n for n in ((raw(e) if attribute == "revenue" else _event_number(raw(e))) for e in events) if n is not None]
                if calculation == "sum":
                    out[mpid] = sum(numbers)
                elif numbers:
                    out[mpid] = {"average": sum(numbers) / len(numbers), "min": min(numbers), "max": max(numbers)}[calculation]
            else:
                texts = [raw(e) for e in events if raw(e) is not None]
                if not texts:
                    continue
                if calculation == "first_value":
                    out[mpid] = texts[0]
                elif calculation == "last_value":
                    out[mpid] = texts[-1]
                elif calculation == "most_frequent":
                    tally: dict[str, int] = {}
                    for text in texts:
                        tally[text] = tally.get(text, 0) + 1
                    out[mpid] = min(tally, key=lambda t: (-tally[t], t))
                else:  # unique_values
                    out[mpid] = sorted(set(texts))
        return out

    def _rows_test(self, rows: Iterable[dict], test: Callable[[dict], bool]) -> set[int]:
        return {r["mpid"] for r in rows if test(r)}

    def _identity(self, node: dict) -> set[int]:
        workspaces = self._workspaces(node)
        rows = [r for r in self.data.identities if r["workspace_id"] in workspaces and r["identity_type"] == node["identity_type"]]
        operator = node["operator"]
        if operator == "exists":
            return {r["mpid"] for r in rows}
        if operator == "not_exists":
            return set(self.universe - {r["mpid"] for r in rows})
        test = string_test(operator, node.get("value"))
        return self._rows_test(rows, lambda r: test(r["value"]))

    def _device(self, node: dict) -> set[int]:
        workspaces = self._workspaces(node)
        rows = [r for r in self.data.devices if r["workspace_id"] in workspaces]
        column, operator = node["field"], node["operator"]
        if operator in ("exists", "not_exists"):
            present = {r["mpid"] for r in rows if r[column] is not None}
            return present if operator == "exists" else set(self.universe - present)
        if column in ("os_version", "app_version") and operator in ("eq", "ne", "lt", "le", "gt", "ge", "between"):
            test = version_test(operator, node.get("value"))
        else:
            test = string_test(operator, node.get("value"))
        return self._rows_test(rows, lambda r: test(r[column]))

    def _first_seen(self, node: dict) -> set[int]:
        workspaces = self._workspaces(node)
        test = date_test(node["operator"], node.get("value"), self.now)
        return self._rows_test((r for r in self.data.profiles if r["workspace_id"] in workspaces), lambda r: test(r["first_seen"]))

    def _location(self, node: dict) -> set[int]:
        workspaces = self._workspaces(node)
        rows = [r for r in self.data.locations if r["workspace_id"] in workspaces]
        if node["operator"] == "within":
            radius = EARTH_RADIUS[node.get("unit", "km")]
            lat, lon, limit = node["latitude"], node["longitude"], node["radius"]
            return self._rows_test(rows, lambda r: r["latitude"] is not None and r["longitude"] is not None
                                   and haversine(lat, lon, r["latitude"], r["longitude"], radius) <= limit)
        column = node["field"]
        test = string_test(node["operator"], node.get("value"))
        return self._rows_test(rows, lambda r: test(r[column]))

    def _attribution(self, node: dict) -> set[int]:
        workspaces = self._workspaces(node)
        rows = [r for r in self.data.attribution if r["workspace_id"] in workspaces and r["kind"] == node["kind"]]
        column, operator = node["field"], node["operator"]
        if operator in ("exists", "not_exists"):
            present = {r["mpid"] for r in rows if r[column] is not None}
            return present if operator == "exists" else set(self.universe - present)
        test = string_test(operator, node.get("value"))
        return self._rows_test(rows, lambda r: test(r[column]))

    def _consent(self, node: dict) -> set[int]:
        workspaces = self._workspaces(node)
        rows = [r for r in self.data.consent if r["workspace_id"] in workspaces]
        if node["regulation"] == "gdpr":
            purpose = node["purpose"]
            yes = {r["mpid"] for r in rows if r["regulation"] == "gdpr" and r["purpose"] == purpose and r["consented"] is True}
            return yes if node["consented"] else set(self.universe - yes)
        opted_out = {r["mpid"] for r in rows if r["regulation"] == "ccpa" and r["purpose"] == "data_sale_opt_out" and r["consented"] is True}
        return opted_out if node["opted_out"] else set(self.universe - opted_out)

    def _audience_membership(self, node: dict) -> set[int]:
        raise ReferenceError_("audience membership is not covered by the reference")
