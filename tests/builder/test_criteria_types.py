"""The criteria types' registry: the schema, the palette and the compiler agree with it, both ways.

The card editors are checked the same way in tests/ui/editor/test_criteria_types_ui.py (they need Qt).
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from app.builder import criteria_types, editing
from app.builder.compiler import COMPILERS
from app.builder.criteria_types import TYPES, CriterionType, PaletteEntry, RegistryError
from app.builder.document import problems, schema, walk

EXAMPLES = Path(__file__).parents[2] / "examples" / "criteria"
KEYS = [kind.key for kind in TYPES]
CRITERIA = [kind.key for kind in TYPES if not kind.container]


def raw_schema() -> dict:
    """criteria.schema.json as the file holds it (before the registry fills in the node types)."""
    return json.loads(resources.files("app.builder").joinpath("criteria.schema.json").read_text(encoding="utf-8"))


def doc(*children):
    return {"version": 1, "root": {"id": "root", "type": "group", "match": "all", "exclude": False, "children": list(children)}}


# -- every type is everywhere ----------------------------------------------------------------------


@pytest.mark.parametrize("key", KEYS)
def test_the_schema_accepts_each_type_and_checks_its_fields(key):
    kind = criteria_types.get(key)
    node = schema()["$defs"]["node"]
    assert key in node["properties"]["type"]["enum"]
    assert {"if": {"properties": {"type": {"const": key}}}, "then": {"$ref": kind.schema_ref}} in node["allOf"]
    definition = schema()["$defs"][kind.schema_ref.rsplit("/", 1)[1]]
    assert definition["properties"]["type"] == {"const": key}
    # A field of no type is refused on a node of this one: its own definition is applied.
    made = {"id": "n", **kind.entries[0].make(), "no_such_field": 1}
    if kind.container:
        made["children"] = [{"id": "c", "type": "event", "event_type": "install"}]
    [problem] = problems(doc(made))
    assert problem.node_id == "n" and "unknown field" in problem.message and "no_such_field" in problem.message


@pytest.mark.parametrize("key", KEYS)
def test_the_palette_offers_each_type_and_its_entries_make_valid_nodes(key):
    kind = criteria_types.get(key)
    assert kind.entries
    shown = [entry.key for _, entries in criteria_types.sections() for entry in entries]
    for entry in kind.entries:
        assert shown.count(entry.key) == 1
        document = editing.new_document()
        node = editing.new_node(document, entry.key)
        assert node["type"] == key
        found = [p for p in problems(editing.insert(document, "root", 0, node)) if "empty" not in p.message]
        assert found == []
        assert editing.entry_for(node) is entry


@pytest.mark.parametrize("key", CRITERIA)
def test_the_compiler_has_a_compile_function_for_each_criterion_type(key):
    assert callable(COMPILERS[key])


@pytest.mark.parametrize("key", CRITERIA)
def test_each_criterion_type_has_a_summary_in_the_marketers_words(key):
    node = {"id": "n", **criteria_types.get(key).entries[0].make()}
    assert editing.describe(node) == editing.SUMMARIES[key](node, "", {})
    assert editing.describe({**node, "exclude": True}).startswith("not ")


@pytest.mark.parametrize("key", KEYS)
def test_the_examples_show_each_type(key):
    seen = {node["type"] for path in EXAMPLES.glob("*.json") for _, node in walk(json.loads(path.read_text())["root"])}
    assert key in seen


# -- and nothing is anywhere that the registry lacks -----------------------------------------------


def test_the_schema_file_defines_no_node_type_the_registry_lacks():
    assert criteria_types.declared_in_schema(raw_schema()) == set(KEYS)
    assert "properties" not in raw_schema()["$defs"]["node"]  # the list of types is not kept twice


def test_the_palette_shows_no_entry_of_a_type_the_registry_lacks():
    shown = [entry for _, entries in criteria_types.sections() for entry in entries]
    assert sorted(entry.key for entry in shown) == sorted(editing.PALETTE)  # each once
    assert {entry.make()["type"] for entry in shown} == set(KEYS)
    assert [section for section, _ in criteria_types.sections()] == list(criteria_types.PALETTE_GROUPS)
    assert all(entries for _, entries in criteria_types.sections())


def test_the_compiler_and_the_summaries_know_no_type_the_registry_lacks():
    assert set(COMPILERS) == set(CRITERIA)
    assert set(editing.SUMMARIES) == set(CRITERIA)


def test_a_node_of_an_undeclared_type_is_refused_naming_it():
    [problem] = problems(doc({"id": "x", "type": "app_rating"}))
    assert problem.node_id == "x" and "'app_rating' is not one of: group, event" in problem.message


# -- the checks themselves -------------------------------------------------------------------------


def test_a_table_missing_a_type_or_holding_an_unknown_one_is_refused_naming_both():
    table = {key: object() for key in CRITERIA if key != "device"} | {"weather": object()}
    with pytest.raises(RegistryError, match=r"no card editor for device; a card editor for weather, which "
                                            r"app/builder/criteria_types.py does not declare"):
        criteria_types.check_parts("card editor", table)
    criteria_types.check_parts("card editor", {key: object() for key in CRITERIA})  # complete: accepted


def test_a_palette_entry_making_another_type_is_refused():
    with pytest.raises(RegistryError, match="'rating' makes a 'device' node, not a 'app_rating' node"):
        CriterionType("app_rating", "App rating", "", (PaletteEntry("rating", "Rating", "Users", "",
                                                                     lambda: {"type": "device"}),))


# -- adding a type is one entry plus its parts -------------------------------------------------------


def _app_rating() -> tuple[CriterionType, dict]:
    """A new criteria type as a developer would add it: its registry entry and its schema definition."""
    kind = CriterionType("app_rating", "App rating", "Users by the rating they gave the app.",
                         (PaletteEntry("app_rating", "App rating", "Users", "Users who rated the app",
                                       lambda: {"type": "app_rating", "exclude": False, "operator": "ge", "value": 4},
                                       "rating"),))
    fields = {"type": "object", "required": ["id", "type", "operator", "value"], "additionalProperties": False,
              "properties": {"id": {"$ref": "#/$defs/id"}, "type": {"const": "app_rating"}, "exclude": {"type": "boolean"},
                             "label": {"type": "string"}, "operator": {"enum": ["ge", "le"]},
                             "value": {"type": "integer", "minimum": 1, "maximum": 5}}}
    return kind, fields


def test_a_new_type_is_one_registry_entry_and_its_schema_fields_away_from_the_schema_and_palette():
    kind, fields = _app_rating()
    types = (*TYPES, kind)
    with_fields = copy.deepcopy(raw_schema())
    with_fields["$defs"]["app_rating"] = fields
    validator = jsonschema.Draft202012Validator(criteria_types.completed_schema(with_fields, types))

    assert validator.is_valid(doc({"id": "r", **kind.entries[0].make()}))
    assert not validator.is_valid(doc({"id": "r", "type": "app_rating", "operator": "ge", "value": 9}))
    assert validator.is_valid(doc({"id": "e", "type": "event", "event_type": "install"}))  # the others unchanged
    assert kind.entries[0] in dict(criteria_types.sections(types))["Users"]
    with pytest.raises(RegistryError, match="no definition for the criteria type.s. app_rating"):
        criteria_types.completed_schema(raw_schema(), types)


def test_a_new_type_without_its_compile_function_or_card_editor_is_named():
    kind, _ = _app_rating()
    types = (*TYPES, kind)
    with pytest.raises(RegistryError, match="no compile function for app_rating"):
        criteria_types.check_parts("compile function", COMPILERS, types)
    criteria_types.check_parts("compile function", {**COMPILERS, "app_rating": lambda compiler, node: None}, types)
