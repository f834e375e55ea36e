"""Mutated criteria documents for property tests: a valid document with one to three things broken.

A mutation picks any place in the document (an object's field, a list's item, the document itself)
and replaces it with a value of another type, an odd number or string, a deep nesting, or removes
it, adds an unknown field, turns a list into an object, or wraps a node in many groups. Some
mutations leave the document valid (a string for a string): the tests then expect it counted.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

#: Values no document holds, or holds only in the right place.
ODD_NUMBERS = [0, -1, 2**31, 2**63, -(2**63) - 1, 10**30, 10**400, 1e308, -1e308, 1e-320, float("nan"), float("inf"),
               float("-inf"), 0.5, True, False]
ODD_STRINGS = ["", " ", "x" * 10_000, "\ud800", "a\udfffb", "\x00", "é", "'; DROP TABLE profiles; --", "%_\\*?",
               "2026-02-30", "9999-12-31", "0001-01-01", "17.4.1", "group", "root", "\u202e"]


def _deep(levels: int, leaf: Any) -> Any:
    value = leaf
    for _ in range(levels):
        value = [value]
    return value


def _wrapped(node: dict, levels: int) -> dict:
    for index in range(levels):
        node = {"id": f"wrap{index}", "type": "group", "match": "all", "children": [node]}
    return node


odd_values = st.one_of(
    st.sampled_from(ODD_NUMBERS), st.sampled_from(ODD_STRINGS), st.none(),
    st.integers(), st.floats(), st.text(max_size=20),
    st.builds(list), st.builds(dict),  # new ones each time: mutations change them in place
    st.lists(st.sampled_from(ODD_NUMBERS + ODD_STRINGS), max_size=3),
    st.dictionaries(st.sampled_from(["id", "type", "x", "\ud800"]), st.sampled_from(ODD_NUMBERS + ODD_STRINGS), max_size=2),
    st.builds(_deep, st.sampled_from([10, 70, 140, 400]), st.sampled_from(["gold", 1])),
)


def _places(value: Any, path: tuple = ()) -> list[tuple]:
    """Every path to a value inside the document (the document's own is ())."""
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_places(item, path + (key,)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_places(item, path + (index,)))
    return found


def _at(document: Any, path: tuple) -> Any:
    for part in path:
        document = document[part]
    return document


def _set(document: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    _at(document, path[:-1])[path[-1]] = value
    return document


@st.composite
def mutated(draw, valid: st.SearchStrategy[dict]) -> Any:
    """A document drawn from `valid`, then broken in one to three places."""
    document = copy.deepcopy(draw(valid))
    for _ in range(draw(st.integers(1, 3))):
        places = _places(document)
        path = draw(st.sampled_from(places))
        target = _at(document, path)
        how = draw(st.sampled_from(["same_type", "same_type", "same_type", "replace", "replace", "remove", "unknown_field",
                                    "list_to_object", "wrap_deep", "duplicate_id"]))
        if how == "same_type" and isinstance(target, (int, float)) and not isinstance(target, bool):
            # Odd numbers where a number is: the schema lets most through, to the compiler and DuckDB.
            document = _set(document, path, draw(st.one_of(st.sampled_from([n for n in ODD_NUMBERS if not isinstance(n, bool)]),
                                                           st.integers(), st.floats())))
        elif how == "same_type" and isinstance(target, str):
            document = _set(document, path, draw(st.one_of(st.sampled_from(ODD_STRINGS), st.text(max_size=30))))
        elif how == "replace" or not path and how == "remove":
            document = _set(document, path, draw(odd_values))
        elif how == "remove":
            parent = _at(document, path[:-1])
            del parent[path[-1]]
        elif how == "unknown_field" and isinstance(target, dict):
            target[draw(st.sampled_from(["color", "", "\ud800", "x" * 500]))] = draw(odd_values)
        elif how == "list_to_object" and isinstance(target, list):
            document = _set(document, path, {str(i): item for i, item in enumerate(target)})
        elif how == "wrap_deep" and isinstance(target, dict) and "type" in target and path:
            document = _set(document, path, _wrapped(target, draw(st.sampled_from([2, 62, 63, 64, 65, 100]))))
        elif how == "duplicate_id" and isinstance(target, dict) and "id" in target:
            target["id"] = "root"
        else:
            document = _set(document, path, draw(odd_values))
    return document
