"""Random criteria documents for a given cache: every criterion type but audience membership.

Names come from the cache's catalog (so the document is valid for the audience's workspaces) and
values mostly from the data itself (so criteria match someone), mixed with values that match no one.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from hypothesis import strategies as st

from app.builder.calculated import CalculatedAttribute
from app.builder.catalog import Catalog
from tests.builder.reference import EARTH_RADIUS, CacheData, Reference, haversine
from tests.builder.workspaces import (APP_VERSIONS, CAMPAIGNS, CARRIERS, CHANNELS, EMAILS, LIST_ITEMS, MODELS,
                                      NOW_NAIVE, OS_VERSIONS, PLACES, PUBLISHERS, PROVIDERS, QUERIES, STRINGS)

STRING_OPS = ["contains", "not_contains", "equals", "not_equals", "matches", "in", "not_in", "matches"]
NUMBER_OPS = ["eq", "ne", "lt", "le", "gt", "ge", "between"]
DATE_OPS = ["before", "after", "on", "between_dates", "within", "between_ago"]
LIST_OPS = ["list_contains", "list_not_contains", "list_contains_any", "list_contains_all", "list_size"]
COMPARISONS = ["eq", "ne", "lt", "le", "gt", "ge", "between"]
DAYS = [(NOW_NAIVE.date() + dt.timedelta(days=d)).isoformat() for d in range(-42, 3)]


@dataclass
class Facts:
    data: CacheData
    catalog: Catalog


# ---------------------------------------------------------------------------------------------------
# Values


@st.composite
def text_like(draw, pool: list[str]) -> str:
    """A value from `pool` as is, re-cased, cut, or something else entirely."""
    base = draw(st.sampled_from(pool))
    how = draw(st.sampled_from(["same", "upper", "lower", "part", "other"]))
    if how == "upper":
        return base.upper()
    if how == "lower":
        return base.lower()
    if how == "part" and len(base) > 1:
        start = draw(st.integers(0, len(base) - 1))
        end = draw(st.integers(start + 1, len(base)))
        return base[start:end]
    if how == "other":
        return draw(st.sampled_from(["zzz", "%", "_", "\\", "*", "?", "x"]))
    return base


@st.composite
def pattern_like(draw, pool: list[str]) -> str:
    """A wildcard pattern built from a value of `pool`: `*` and `?` in places, other characters literal."""
    special = [p for p in pool if any(c in p for c in "%_\\")]
    base = draw(st.sampled_from(special if special and draw(st.booleans()) else pool))
    chars = list(draw(st.sampled_from([base, base.upper(), base.lower()])))
    for _ in range(draw(st.integers(0, 2))):
        if not chars:
            break
        i = draw(st.integers(0, len(chars) - 1))
        kind = draw(st.sampled_from(["?", "*", "*cut", "X"]))
        if kind == "?":
            chars[i] = "?"
        elif kind == "*":
            chars.insert(i, "*")
        elif kind == "X":
            chars[i] = "X"
        else:
            j = draw(st.integers(i, len(chars)))
            chars[i:j] = ["*"]
    return "".join(chars)


def string_value(draw, operator: str, pool: list[str]):
    pool = [p for p in pool if p] or ["x"]
    if operator in ("in", "not_in"):
        return draw(st.lists(text_like(pool), min_size=1, max_size=3))
    if operator == "matches":
        return draw(pattern_like(pool))
    return draw(text_like(pool))


def comparison(draw, numbers: list[float], integers: bool = False) -> tuple[str, object]:
    operator = draw(st.sampled_from(COMPARISONS))
    candidates = sorted(set(numbers)) or [0]
    near = st.sampled_from(candidates).flatmap(
        lambda v: st.sampled_from([v, v + 1, v - 1] if integers else [v, v + 0.5, v - 0.5, v]))
    if operator == "between":
        return operator, draw(st.lists(near, min_size=2, max_size=2))  # sometimes reversed
    return operator, draw(near)


def date_value(draw, operator: str):
    if operator in ("before", "after", "on"):
        return draw(st.sampled_from(DAYS))
    if operator == "between_dates":
        return sorted(draw(st.lists(st.sampled_from(DAYS), min_size=2, max_size=2)))
    if operator == "within":
        unit = draw(st.sampled_from(["hours", "days"]))
        return {"amount": draw(st.integers(1, 72 if unit == "hours" else 45)), "unit": unit}
    unit = draw(st.sampled_from(["hours", "days"]))
    top = 96 if unit == "hours" else 45
    return {"from": draw(st.integers(0, top)), "to": draw(st.integers(0, top)), "unit": unit}


def window(draw) -> dict:
    kind = draw(st.sampled_from(DATE_OPS))
    value = date_value(draw, kind)
    if kind in ("before", "after", "on"):
        return {"type": kind, "date": value}
    if kind == "between_dates":
        return {"type": kind, "from": value[0], "to": value[1]}
    return {"type": kind, **value}


def typed_value(draw, kind: str, operator: str, pool: list):
    if kind == "string":
        return string_value(draw, operator, [str(p) for p in pool])
    if kind == "number":
        numbers = [p for p in pool if isinstance(p, (int, float)) and not isinstance(p, bool)]
        return comparison_value_for(draw, operator, numbers + [0])
    if kind == "date":
        return date_value(draw, operator)
    if kind == "list":
        items = [i for p in pool if p for i in p] or LIST_ITEMS
        if operator in ("list_contains", "list_not_contains"):
            return draw(text_like(items + LIST_ITEMS))
        if operator in ("list_contains_any", "list_contains_all"):
            return draw(st.lists(text_like(items + LIST_ITEMS), min_size=1, max_size=3))
        op, value = comparison(draw, [0, 1, 2, 3, 4], integers=True)
        return {"operator": op, "value": value}
    return None


def comparison_value_for(draw, operator: str, numbers: list[float]):
    candidates = sorted(set(numbers)) or [0]
    near = st.sampled_from(candidates).flatmap(lambda v: st.sampled_from([v, v + 0.5, v - 0.5]))
    if operator == "between":
        return draw(st.lists(near, min_size=2, max_size=2))
    return draw(near)


def operators_for(kind: str) -> list[str]:
    return {"string": STRING_OPS, "number": NUMBER_OPS, "date": DATE_OPS, "boolean": ["is_true", "is_false"],
            "list": LIST_OPS}[kind] + ["exists", "not_exists"]


# ---------------------------------------------------------------------------------------------------
# Criteria


class _Ids:
    def __init__(self):
        self._next = itertools.count(1)

    def __call__(self, prefix: str) -> str:
        return f"{prefix}{next(self._next)}"


def _profile_workspace(draw, node: dict, scope: tuple[int, ...], allowed: list[int] | None = None) -> tuple[int, ...]:
    """Maybe pin a multi-workspace audience's profile criterion to one workspace."""
    choices = [ws for ws in scope if allowed is None or ws in allowed]
    if len(scope) > 1 and choices and draw(st.booleans()):
        ws = draw(st.sampled_from(choices))
        node["workspace_id"] = ws
        return (ws,)
    return scope


def event_criterion(draw, facts: Facts, scope: tuple[int, ...], node: dict) -> dict | None:
    known = sorted({pair for ws in scope for pair in facts.catalog.events.get(ws, ())}, key=str)
    if not known:
        return None
    stored_type, name = draw(st.sampled_from(known))
    if stored_type == "custom_event" and name == "attribution" and draw(st.booleans()):
        node.update(type="event", event_type="attribution")
    else:
        node.update(type="event", event_type=stored_type)
        if name is not None and draw(st.booleans()):
            node["event_name"] = name
        else:
            name = None
    if node["event_type"] == "attribution":
        stored_type, name = "custom_event", "attribution"
    events = [e for e in facts.data.events if e["workspace_id"] in scope and e["event_type"] == stored_type
              and (name is None or e["event_name"] == name)]
    if stored_type == "commerce_event" and draw(st.booleans()):
        node["product_action"] = draw(st.sampled_from(["add_to_cart", "purchase"]))
    attribute_types: dict[str, str] = {}
    for ws in scope:
        for (t, n), attributes in facts.catalog.event_attributes.get(ws, {}).items():
            if t == stored_type and (name is None or n == name):
                attribute_types.update(attributes)
    if stored_type == "commerce_event":
        attribute_types["revenue"] = "number"
    conditions = []
    for _ in range(draw(st.integers(0, 2))):
        if not attribute_types:
            break
        attribute = draw(st.sampled_from(sorted(attribute_types)))
        kind = attribute_types[attribute]
        operator = draw(st.sampled_from(operators_for(kind)))
        condition = {"attribute": attribute, "operator": operator}
        if attribute == "revenue":
            pool = [e["revenue"] for e in events if e["revenue"] is not None]
        else:
            raw = [e["attributes"][attribute] for e in events if attribute in e["attributes"]]
            pool = [float(v) for v in raw] if kind == "number" else raw
        pool = pool or {"string": QUERIES + CHANNELS, "number": [0, 1], "list": [LIST_ITEMS]}.get(kind, [])
        if operator not in ("exists", "not_exists", "is_true", "is_false"):
            condition["value"] = typed_value(draw, kind, operator, pool)
        conditions.append(condition)
    if conditions:
        node["conditions"] = conditions
    if draw(st.integers(0, 2)) == 0:
        op, value = comparison(draw, [0, 1, 2, 3, 4], integers=True)
        node["frequency"] = {"operator": op, "value": value}
    numbers = {a for a, k in attribute_types.items() if k == "number"} | {"revenue"}
    if draw(st.integers(0, 2)) == 0:
        attribute = draw(st.sampled_from(sorted(numbers)))
        function = draw(st.sampled_from(["sum", "avg", "min", "max"]))
        per_user: dict[int, list[float]] = {}
        for e in events:
            raw = e["revenue"] if attribute == "revenue" else e["attributes"].get(attribute)
            if raw is not None:
                per_user.setdefault(e["mpid"], []).append(float(raw))
        # each user's own total (over all their events; the window and filters change some of them)
        aggregates = [{"sum": sum, "avg": lambda v: sum(v) / len(v), "min": min, "max": max}[function](v)
                      for v in per_user.values()]
        op, value = comparison(draw, aggregates + [0, 100])
        node["aggregate"] = {"function": function, "attribute": attribute, "operator": op, "value": value}
    if draw(st.integers(0, 2)):
        node["window"] = window(draw)
    return node


def user_attribute_criterion(draw, facts: Facts, scope: tuple[int, ...], node: dict) -> dict | None:
    available = sorted({name for ws in scope for name in facts.catalog.attributes.get(ws, {})})
    if not available:
        return None
    name = draw(st.sampled_from(available))
    holders = [ws for ws in scope if name in facts.catalog.attributes.get(ws, {})]
    node.update(type="user_attribute", attribute=name)
    workspaces = _profile_workspace(draw, node, scope, holders)
    kind = facts.catalog.attribute_type(workspaces, name)
    operator = draw(st.sampled_from(operators_for(kind)))
    node["operator"] = operator
    rows = [r for r in facts.data.attributes if r["name"] == name and r["workspace_id"] in workspaces]
    column = {"string": "value", "number": "value_number", "date": "value_date", "boolean": "value_bool", "list": "value_list"}[kind]
    pool = [r[column] for r in rows if r[column] is not None]
    if kind == "string":
        pool += STRINGS[:3]
    if operator not in ("exists", "not_exists", "is_true", "is_false"):
        node["value"] = typed_value(draw, kind, operator, pool)
    return node


def device_criterion(draw, facts: Facts, scope: tuple[int, ...], node: dict) -> dict:
    field_name = draw(st.sampled_from(["platform", "os", "os_version", "device_model", "manufacturer", "carrier",
                                       "app_version", "build"]))
    node.update(type="device", field=field_name)
    workspaces = _profile_workspace(draw, node, scope)
    versions = field_name in ("os_version", "app_version")
    number_ops = NUMBER_OPS
    operators = STRING_OPS[:5] + (number_ops if versions else []) + ["exists", "not_exists"]
    operator = draw(st.sampled_from(operators))
    node["operator"] = operator
    pool = [r[field_name] for r in facts.data.devices if r["workspace_id"] in workspaces and r[field_name]]
    if operator in NUMBER_OPS:
        choices = OS_VERSIONS if field_name == "os_version" else APP_VERSIONS
        if operator == "between":
            node["value"] = draw(st.lists(st.sampled_from(choices), min_size=2, max_size=2))  # sometimes reversed
        else:
            node["value"] = draw(st.sampled_from(choices))
    elif operator not in ("exists", "not_exists"):
        node["value"] = string_value(draw, operator, pool + MODELS[:1] + CARRIERS[:1])
    return node


def first_seen_criterion(draw, facts: Facts, scope: tuple[int, ...], node: dict) -> dict:
    node.update(type="first_seen")
    _profile_workspace(draw, node, scope)
    operator = draw(st.sampled_from(DATE_OPS))
    node.update(operator=operator, value=date_value(draw, operator))
    return node


def location_criterion(draw, facts: Facts, scope: tuple[int, ...], node: dict) -> dict:
    node.update(type="location")
    workspaces = _profile_workspace(draw, node, scope)
    if draw(st.booleans()):
        place = draw(st.sampled_from(PLACES))
        node.update(operator="within", latitude=place[5], longitude=place[6])
        unit = draw(st.sampled_from(["km", "mi"]))
        if draw(st.booleans()):
            node["unit"] = unit
        else:
            unit = "km"
        points = [(r["latitude"], r["longitude"]) for r in facts.data.locations
                  if r["workspace_id"] in workspaces and r["latitude"] is not None]
        if points and draw(st.booleans()):
            # just around a user's distance (0.2 % either side): a wrong radius or formula shows
            lat, lon = draw(st.sampled_from(points))
            distance = haversine(place[5], place[6], lat, lon, EARTH_RADIUS[unit])
            node["radius"] = max(0.001, round(distance * draw(st.sampled_from([0.998, 1.002])), 6))
        else:
            node["radius"] = draw(st.sampled_from([10, 25, 40, 50, 75, 100, 2000]))
        return node
    field_name = draw(st.sampled_from(["city", "state", "zip", "dma", "country"]))
    operator = draw(st.sampled_from(["equals", "not_equals", "in", "not_in"]))
    pool = [r[field_name] for r in facts.data.locations if r["workspace_id"] in workspaces and r[field_name]]
    pool += [p[["city", "state", "zip", "dma", "country"].index(field_name)] or "x" for p in PLACES[:2]]
    node.update(field=field_name, operator=operator, value=string_value(draw, operator, pool))
    return node


def identity_criterion(draw, facts: Facts, scope: tuple[int, ...], node: dict) -> dict | None:
    known = sorted({t for ws in scope for t in facts.catalog.identity_types.get(ws, ())})
    if not known:
        return None
    identity_type = draw(st.sampled_from(known))
    node.update(type="identity", identity_type=identity_type)
    holders = [ws for ws in scope if identity_type in facts.catalog.identity_types.get(ws, ())]
    workspaces = _profile_workspace(draw, node, scope, holders)
    operator = draw(st.sampled_from(["exists", "not_exists", "contains", "not_contains", "equals", "not_equals", "matches"]))
    node["operator"] = operator
    if operator not in ("exists", "not_exists"):
        pool = [r["value"] for r in facts.data.identities if r["workspace_id"] in workspaces and r["identity_type"] == identity_type]
        node["value"] = string_value(draw, operator, pool + EMAILS[:1])
    return node


def attribution_criterion(draw, facts: Facts, scope: tuple[int, ...], node: dict) -> dict:
    field_name = draw(st.sampled_from(["publisher", "campaign", "service_provider"]))
    node.update(type="attribution", kind=draw(st.sampled_from(["install", "install", "uninstall"])), field=field_name)
    _profile_workspace(draw, node, scope)
    operator = draw(st.sampled_from(["exists", "not_exists"] + STRING_OPS))
    node["operator"] = operator
    if operator not in ("exists", "not_exists"):
        pool = {"publisher": PUBLISHERS, "campaign": CAMPAIGNS, "service_provider": PROVIDERS}[field_name]
        node["value"] = string_value(draw, operator, pool)
    return node


def consent_criterion(draw, facts: Facts, scope: tuple[int, ...], node: dict) -> dict:
    node.update(type="consent")
    _profile_workspace(draw, node, scope)
    if draw(st.booleans()):
        node.update(regulation="gdpr", purpose=draw(st.sampled_from(["marketing", "analytics"])), consented=draw(st.booleans()))
    else:
        node.update(regulation="ccpa", opted_out=draw(st.booleans()))
    return node


#: Calculated attributes every generated workspace defines (over the events tests/builder/workspaces.py makes).
CALCULATED = {d.name: d for d in (
    CalculatedAttribute("Sessions (7 days)", "count", "session_start", None, None, 7),
    CalculatedAttribute("Purchases", "count", "commerce_event", "purchase"),
    CalculatedAttribute("Revenue (30 days)", "sum", "commerce_event", "purchase", "revenue", 30),
    CalculatedAttribute("Average order", "average", "commerce_event", None, "revenue"),
    CalculatedAttribute("Largest order", "max", "commerce_event", "purchase", "revenue", 20),
    CalculatedAttribute("First search", "first_value", "custom_event", "Search", "query"),
    CalculatedAttribute("Last search", "last_value", "custom_event", "Search", "query", 10),
    CalculatedAttribute("Usual search", "most_frequent", "custom_event", "Search", "query"),
    CalculatedAttribute("Searches", "unique_values", "custom_event", "Search", "query"),
    CalculatedAttribute("Last session", "last_time", "session_start"),
    CalculatedAttribute("First screen", "first_time", "screen_view", None, None, 14),
)}


def calculated_criterion(draw, facts: Facts, scope: tuple[int, ...], node: dict) -> dict:
    definition = CALCULATED[draw(st.sampled_from(sorted(CALCULATED)))]
    node.update(type="user_attribute", attribute=definition.name, calculated=True)
    workspaces = _profile_workspace(draw, node, scope)
    kind = definition.value_type
    operator = draw(st.sampled_from(operators_for(kind)))
    node["operator"] = operator
    if operator in ("exists", "not_exists"):
        return node
    # Values taken from the users' own (the reference works them out the same way the app must).
    values = list(Reference(facts.data, workspaces, NOW_NAIVE).calculated_values(workspaces[0], definition).values())
    pool = {"string": values + QUERIES[:2], "list": values + [QUERIES]}.get(kind, [v for v in values if v is not None] or [0, 1])
    if kind == "number":
        pool = [float(v) for v in pool] + [0.0]
    node["value"] = typed_value(draw, kind, operator, pool)
    return node


def cart_abandonment_criterion(draw, facts: Facts, scope: tuple[int, ...], node: dict) -> dict:
    unit = draw(st.sampled_from(["hours", "days"]))
    amounts = st.sampled_from([1, 5, 24, 48, 72]) | st.integers(1, 72) if unit == "hours" else st.integers(1, 5)
    node.update(type="cart_abandonment", window=window(draw), no_purchase_within={"amount": draw(amounts), "unit": unit})
    return node


CRITERIA = {
    "event": event_criterion, "user_attribute": user_attribute_criterion, "device": device_criterion,
    "first_seen": first_seen_criterion, "location": location_criterion, "identity": identity_criterion,
    "attribution": attribution_criterion, "consent": consent_criterion, "cart_abandonment": cart_abandonment_criterion,
    "calculated": calculated_criterion,
}
WEIGHTED = ["event", "event", "event", "user_attribute", "user_attribute", "device", "first_seen", "location",
            "identity", "attribution", "consent", "cart_abandonment", "calculated"]


def criterion(draw, facts: Facts, scope: tuple[int, ...], ids: _Ids) -> dict:
    while True:
        kind = draw(st.sampled_from(WEIGHTED))
        node = {"id": ids("c")}
        if draw(st.integers(0, 3)) == 0:
            node["exclude"] = True
        made = CRITERIA[kind](draw, facts, scope, node)
        if made is not None:
            return made


def group(draw, facts: Facts, scope: tuple[int, ...], ids: _Ids, depth: int, node_id: str | None = None) -> dict:
    node = {"id": node_id or ids("g"), "type": "group", "match": draw(st.sampled_from(["all", "any"])), "children": []}
    if draw(st.integers(0, 7 if node_id else 2)) == 0:
        node["exclude"] = True
    for _ in range(draw(st.integers(1, 3))):
        if depth < 3 and draw(st.integers(0, 3)) == 0:
            node["children"].append(group(draw, facts, scope, ids, depth + 1))
        else:
            node["children"].append(criterion(draw, facts, scope, ids))
    return node


@st.composite
def documents(draw, facts: Facts, scope: tuple[int, ...]) -> dict:
    """A document of depth at most 3 (root, groups, criteria)."""
    return {"version": 1, "root": group(draw, facts, scope, _Ids(), depth=1, node_id="root")}
