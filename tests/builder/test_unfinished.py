"""Unfinished parts of a document are found and left out of what the live estimate counts.

A half-typed card must neither count as matching nobody nor stop the rest from being counted; a
finished document is counted as it is.
"""

from __future__ import annotations

import copy

from app.builder.document import check
from app.builder.unfinished import countable, parts_count, unfinished, without


def doc(*children: dict) -> dict:
    return {"version": 1, "root": {"id": "root", "type": "group", "match": "all", "exclude": False,
                                   "children": list(children)}}


SESSIONS = {"id": "sessions", "type": "event", "exclude": False, "event_type": "session_start",
            "window": {"type": "within", "amount": 30, "unit": "days"}}
GOLD = {"id": "gold", "type": "user_attribute", "exclude": False, "attribute": "tier", "operator": "equals",
        "value": "gold"}


def test_a_finished_document_is_counted_whole():
    document = doc(SESSIONS, GOLD, {"id": "g", "type": "group", "match": "any", "exclude": False,
                                    "children": [{**GOLD, "id": "gold2", "operator": "in", "value": ["a"]}]})
    kept, left_out = countable(document)
    assert kept == document
    assert left_out == []


def test_an_empty_text_value_leaves_its_criterion_out():
    blank = {**GOLD, "id": "blank", "value": "  "}
    kept, left_out = countable(doc(SESSIONS, blank))
    assert [child["id"] for child in kept["root"]["children"]] == ["sessions"]
    assert [(p.node_id, p.path) for p in left_out] == [("blank", "root.children[1].value")]
    assert "type a value" in left_out[0].message


def test_an_empty_list_leaves_its_criterion_out():
    empty = {"id": "cities", "type": "location", "exclude": False, "field": "city", "operator": "in", "value": []}
    kept, left_out = countable(doc(SESSIONS, empty))
    assert [child["id"] for child in kept["root"]["children"]] == ["sessions"]
    assert "type values" in left_out[0].message


def test_a_condition_without_a_value_is_left_out_of_its_event_only():
    search = {**SESSIONS, "id": "search", "event_type": "custom_event", "event_name": "Search",
              "conditions": [{"attribute": "query", "operator": "equals", "value": "tent"},
                             {"attribute": "query", "operator": "contains", "value": ""}]}
    kept, left_out = countable(doc(search))
    [event] = kept["root"]["children"]
    assert event["conditions"] == [{"attribute": "query", "operator": "equals", "value": "tent"}]
    assert [(p.node_id, p.path) for p in left_out] == [("search", "root.children[0].conditions[1].value")]
    check(kept)


def test_an_event_whose_only_condition_is_unfinished_is_counted_without_conditions():
    search = {**SESSIONS, "id": "search", "conditions": [{"attribute": "", "operator": "equals", "value": "x"}]}
    kept, left_out = countable(doc(search))
    assert "conditions" not in kept["root"]["children"][0]
    assert "no attribute yet" in left_out[0].message
    check(kept)  # a schema-valid document: no empty condition list, no empty attribute


def test_a_group_of_nothing_but_unfinished_criteria_goes_too_but_never_the_root():
    blank = {**GOLD, "id": "blank", "value": ""}
    group = {"id": "g", "type": "group", "match": "any", "exclude": False, "children": [blank]}
    kept, left_out = countable(doc(group, SESSIONS))
    assert [child["id"] for child in kept["root"]["children"]] == ["sessions"]
    kept, _ = countable(doc(blank))
    assert kept["root"]["children"] == [] and kept["root"]["id"] == "root"


def test_without_leaves_out_named_nodes_and_keeps_the_input_unchanged():
    inner = {"id": "g", "type": "group", "match": "any", "exclude": False, "children": [GOLD, SESSIONS]}
    document = doc(inner)
    before = copy.deepcopy(document)
    kept = without(document, {"gold"})
    assert kept["root"]["children"][0]["children"] == [SESSIONS]
    assert without(document, {"gold", "sessions"})["root"]["children"] == []
    assert document == before


def test_unfinished_versions_and_parts_are_counted_once_per_part():
    version = {"id": "os", "type": "device", "exclude": False, "field": "os_version", "operator": "ge", "value": ""}
    platform = {"id": "pf", "type": "device", "exclude": False, "field": "platform", "operator": "exists"}
    found = unfinished(doc(version, platform))
    assert [p.node_id for p in found] == ["os"]
    twice = found + [found[0].__class__("os", "", "no such field")]
    assert parts_count(twice) == 1
