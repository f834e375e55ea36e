"""The criteria document's structural checks: each problem names the node it concerns."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from app.builder.document import CriteriaError, canonical, check, empty_document, problems, schema

EXAMPLES = Path(__file__).parents[2] / "examples" / "criteria"


def doc(*children, match="all"):
    return {"version": 1, "root": {"id": "root", "type": "group", "match": match, "exclude": False, "children": list(children)}}


def install(node_id="c1", **extra):
    return {"id": node_id, "type": "event", "event_type": "install", "window": {"type": "within", "amount": 72, "unit": "hours"}, **extra}


def test_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(schema())


def test_empty_document_is_well_formed():
    assert problems(empty_document()) == []


def test_wrong_field_type_names_the_criterion_and_the_field():
    bad = install()
    bad["window"]["amount"] = "3"
    [problem] = problems(doc(bad))
    assert problem.node_id == "c1"
    assert problem.path == "root.children[0].window.amount"
    assert "'3' is not of type 'integer'" in problem.message


def test_unknown_operator_lists_the_allowed_ones():
    [problem] = problems(doc({"id": "ua", "type": "user_attribute", "attribute": "tier", "operator": "is", "value": "gold"}))
    assert problem.node_id == "ua" and "'is' is not one of: contains" in problem.message


def test_missing_and_unknown_fields_are_named():
    found = problems(doc({"id": "e1", "type": "event", "color": "red"}))
    messages = {p.message for p in found}
    assert "'event_type' is missing" in messages
    assert "unknown field ('color')" in messages or any("color" in m for m in messages)
    assert all(p.node_id == "e1" for p in found)


def test_duplicate_ids_and_nested_empty_groups_are_refused():
    nested = {"id": "g1", "type": "group", "match": "any", "children": []}
    found = problems(doc(install("same"), install("same"), nested))
    assert [(p.node_id, p.message) for p in found] == [
        ("same", "the id is used twice (also at root.children[0]); ids must be unique"),
        ("g1", "the group is empty; add a criterion to it or remove it"),
    ]


def test_check_raises_with_every_problem_in_the_message():
    with pytest.raises(CriteriaError) as error:
        check(doc(install("x"), install("x")))
    assert "node 'x'" in str(error.value)


def test_any_depth_and_exclusion_anywhere():
    inner = {"id": "g2", "type": "group", "match": "all", "exclude": True, "children": [install("deep", exclude=True)]}
    outer = {"id": "g1", "type": "group", "match": "any", "children": [inner]}
    assert problems(doc(outer)) == []


def test_canonical_form_ignores_key_order_labels_and_default_exclusion():
    a = doc(install(label="New installs"))
    b = json.loads(json.dumps(doc(install(exclude=False)), sort_keys=True))
    assert canonical(a) == canonical(b)
    assert canonical(a) != canonical(doc(install(exclude=True)))


def test_every_example_file_is_well_formed_and_covers_every_criterion_type():
    files = sorted(EXAMPLES.glob("*.json"))
    seen = set()
    for path in files:
        document = json.loads(path.read_text())
        assert problems(document) == [], path.name
        seen |= {node["type"] for node in _nodes(document["root"])}
    kinds = set(schema()["$defs"]["node"]["properties"]["type"]["enum"])
    assert kinds <= seen


def _nodes(node):
    yield node
    for child in node.get("children", []):
        yield from _nodes(child)
