"""Unfinished parts of a criteria document, and the part of it that can be counted while they are.

A card being edited is often half done: a condition whose value is still to be typed, a list with no
value yet, an attribute the engine does not know (yet: its name is being typed). Such a part must
not count as "matching nobody" — that would drop the live estimate to 0 — nor stop everything else
from being counted. `countable` takes the document apart:

- an event's condition with no attribute or no value is left out of its event (the event is
  counted without it);
- a criterion whose value is missing (an empty text to compare with, an empty list) is left out;
- `without` leaves out whole nodes the engine named in its problems (see `app.engines.editing_session`);
- a group whose every child was left out is left out too (never the root).

Each part left out comes back as a `Problem` naming its node and what to finish, for its card.
Nothing here changes what a finished document means: the compiler and the members of saved
audiences are the same as before; an audience with unfinished parts cannot be activated.
"""

from __future__ import annotations

import copy
from typing import Any, Iterable, Mapping

from app.builder.document import Problem, walk

#: Operators whose value is a text to compare with: an empty text means "not typed yet".
TEXT_OPERATORS = frozenset({"contains", "not_contains", "equals", "not_equals", "matches",
                            "list_contains", "list_not_contains"})
#: Operators whose value is a list of texts: an empty list means "not typed yet".
LIST_OPERATORS = frozenset({"in", "not_in", "list_contains_any", "list_contains_all"})
#: Version fields compare texts ("17.4") with the number operators.
VERSION_FIELDS = frozenset({"os_version", "app_version"})
NUMBER_OPERATORS = frozenset({"eq", "ne", "lt", "le", "gt", "ge", "between"})

#: Criteria whose own `operator` and `value` are a comparison of text the user types.
_VALUE_CRITERIA = frozenset({"user_attribute", "device", "location", "identity", "attribution"})


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def value_missing(operator: Any, value: Any, *, version: bool = False) -> bool:
    """Whether `operator` needs a value the user has not typed yet."""
    if operator in TEXT_OPERATORS or (version and operator in NUMBER_OPERATORS - {"between"}):
        return _blank(value)
    if operator in LIST_OPERATORS:
        return not isinstance(value, list) or not [v for v in value if not _blank(v)]
    if version and operator == "between":
        return not isinstance(value, list) or any(_blank(v) for v in value)
    return False


def unfinished(document: Mapping[str, Any]) -> list[Problem]:
    """Every unfinished part of the document (an empty list when there is none)."""
    return countable(document)[1]


def countable(document: Mapping[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """The document without its unfinished parts, and a problem for each part left out."""
    left_out: list[Problem] = []
    out = copy.deepcopy(dict(document))
    dropped: set[str] = set()
    for path, node in walk(out["root"]):
        if node.get("type") == "group":
            continue
        problem = _unfinished_node(node, path)
        if problem is not None:
            left_out.append(problem)
            dropped.add(node["id"])
            continue
        conditions = node.get("conditions")
        if node.get("type") == "event" and isinstance(conditions, list):
            kept = []
            for index, condition in enumerate(conditions):
                problem = _unfinished_condition(node, condition, f"{path}.conditions[{index}]", index)
                if problem is None:
                    kept.append(condition)
                else:
                    left_out.append(problem)
            if len(kept) != len(conditions):
                if kept:
                    node["conditions"] = kept
                else:
                    del node["conditions"]
    return without(out, dropped), left_out


def without(document: Mapping[str, Any], node_ids: Iterable[str]) -> dict[str, Any]:
    """A copy of the document without these nodes, and without the groups (but the root) they leave empty."""
    gone = set(node_ids)
    out = copy.deepcopy(dict(document))

    def prune(group: dict[str, Any]) -> bool:
        """Prune the group's children; whether the group itself still holds something."""
        kept = []
        for child in group.get("children", []):
            if child.get("id") in gone:
                continue
            if child.get("type") == "group" and child.get("children") and not prune(child):
                continue  # every child left out: the group goes too
            kept.append(child)
        group["children"] = kept
        return bool(kept)

    prune(out["root"])
    return out


def parts_count(problems: Iterable[Problem]) -> int:
    """How many parts the problems concern: one per condition or node, however many messages each has."""
    return len({(p.node_id, p.path if ".conditions[" in p.path else "") for p in problems})


def _unfinished_node(node: Mapping[str, Any], path: str) -> Problem | None:
    kind = node.get("type")
    if kind == "user_attribute" and _blank(node.get("attribute")):
        return Problem(node.get("id"), f"{path}.attribute", "choose an attribute; this criterion is left out of the "
                                                            "count until then")
    if kind in _VALUE_CRITERIA and node.get("operator") != "within":
        version = kind == "device" and node.get("field") in VERSION_FIELDS
        if value_missing(node.get("operator"), node.get("value"), version=version):
            what = "values" if node.get("operator") in LIST_OPERATORS else "a value"
            return Problem(node.get("id"), f"{path}.value", f"type {what} to compare with; this criterion is left "
                                                            "out of the count until then")
    return None


def _unfinished_condition(node: Mapping[str, Any], condition: Any, path: str, index: int) -> Problem | None:
    if not isinstance(condition, dict):
        return None  # the document's check names it
    attribute = condition.get("attribute")
    if _blank(attribute):
        return Problem(node.get("id"), f"{path}.attribute",
                       f"condition {index + 1} has no attribute yet; it is left out of the count until it has one")
    if value_missing(condition.get("operator"), condition.get("value")):
        return Problem(node.get("id"), f"{path}.value",
                       f"the condition on “{attribute}” has no value yet; it is left out of the count until it has one")
    return None
