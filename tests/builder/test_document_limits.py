"""Documents at and beyond the reader's limits (issue 24): every one either counted or refused with a
one-line message naming its field, never a traceback; deep documents up to the documented limit
counted exactly on a real DuckDB cache; oversized values quoted short."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from app.builder.catalog import load_catalog
from app.builder.compiler import Scope
from app.builder.document import MAX_GROUP_DEPTH, CriteriaError, check, parse, problems, quoted, read_file
from app.builder.estimator import Estimator
from app.errors import InvalidInput
from tests.builder.workspaces import load, new_cache
from tests.factories import batch

NOW = dt.datetime(2025, 10, 10, tzinfo=dt.timezone.utc)


def doc(*children):
    return {"version": 1, "root": {"id": "root", "type": "group", "match": "all", "children": list(children)}}


def gold(node_id="leaf", **extra):
    return {"id": node_id, "type": "user_attribute", "attribute": "loyalty_tier", "operator": "equals", "value": "gold", **extra}


def nested(levels: int, *, exclude_every_other: bool = False) -> dict:
    """A document of `levels` groups nested one in another (the root is the first), a criterion at the bottom."""
    node = gold()
    for index in range(levels - 1):
        node = {"id": f"g{index}", "type": "group", "match": "any" if index % 2 else "all",
                "exclude": exclude_every_other and index % 2 == 1, "children": [node]}
    return doc(node)


@pytest.fixture(scope="module")
def counted():
    """A real cache of ten profiles (five gold, five silver) and an estimator on it."""
    batches = [(1, batch(1000 + n, user_attributes={"loyalty_tier": "gold" if n % 2 else "silver"})) for n in range(10)]
    cache = load(new_cache(), batches)
    try:
        catalog = load_catalog(cache.cursor())
        estimator = Estimator(cache.cursor())
        yield lambda document, exact=True: estimator.estimate(document, scope=Scope((1,)), catalog=catalog, now=NOW, exact=exact)
    finally:
        cache.close()


def test_a_document_that_is_not_an_object_or_lacks_its_root_is_refused_before_counting(counted):
    for document, expected in [([], "document: [] is not of type 'object'"), ({"version": 1}, "document: 'root' is missing"),
                               ("text", "document: 'text' is not of type 'object'")]:
        with pytest.raises(CriteriaError) as error:
            counted(document)
        assert str(error.value) == expected


def test_children_that_are_an_object_are_refused_naming_the_field(counted):
    document = doc()
    document["root"]["children"] = {"a": gold()}
    with pytest.raises(CriteriaError) as error:
        counted(document)
    [problem] = error.value.problems
    assert problem.path == "root.children" and "is not of type 'array'" in problem.message


def test_groups_nested_to_the_limit_are_counted_exactly(counted):
    assert counted(nested(MAX_GROUP_DEPTH)).count == 5
    result = counted(nested(MAX_GROUP_DEPTH, exclude_every_other=True))
    # 31 of the 63 inner groups are excluded: an odd number of negations leaves the silver profiles.
    assert result.count == 5 and result.nodes["leaf"] == 5 and len(result.nodes) == MAX_GROUP_DEPTH + 1
    assert counted(nested(MAX_GROUP_DEPTH), exact=False).universe == 10


@pytest.mark.parametrize("levels", [MAX_GROUP_DEPTH + 1, 100, 1000, 20_000])
def test_groups_nested_beyond_the_limit_are_refused_naming_the_first_group_too_deep(counted, levels):
    with pytest.raises(CriteriaError) as error:
        counted(nested(levels))
    [problem] = error.value.problems
    assert problem.path == "root" + ".children[0]" * MAX_GROUP_DEPTH
    assert f"groups nest at most {MAX_GROUP_DEPTH} levels deep" in problem.message
    assert len(str(error.value)) < 400


def test_values_nested_deeply_outside_groups_are_refused():
    value: list = ["gold"]
    for _ in range(5000):
        value = [value]
    [problem] = problems(doc(gold(operator="in", value=value)))
    assert problem.node_id == "leaf" and problem.path.startswith("root.children[0].value[0][0]")
    assert "nested too deeply" in problem.message


@pytest.mark.parametrize("text, message", [
    ('"\\ud800"', "'\\ud800' holds a lone UTF-16 surrogate, which is not text"),
    ('"ok \\udfff"', "'ok \\udfff' holds a lone UTF-16 surrogate, which is not text"),
    ("NaN", "NaN is not a number a document may hold"),
    ("1e400", "an infinite number (or one beyond ±1.8e308, such as 1e400) is not a number a document may hold"),
    ("-Infinity", "an infinite number"),
])
def test_values_json_parsers_let_through_but_no_document_may_hold_are_refused_naming_the_field(counted, text, message):
    document = parse('{"version": 1, "root": {"id": "root", "type": "group", "match": "all", "children": ['
                     '{"id": "a", "type": "event", "event_type": "session_start", "frequency": {"operator": "ge", "value": 1}}, '
                     '{"id": "b", "type": "user_attribute", "attribute": "loyalty_tier", "operator": "equals", "value": %s}]}}' % text)
    with pytest.raises(CriteriaError) as error:
        counted(document)
    [problem] = error.value.problems
    assert (problem.node_id, problem.path) == ("b", "root.children[1].value") and message in problem.message


def test_a_field_name_that_is_not_text_is_refused():
    [problem] = problems(doc({**gold(), "\udc00x": 1}))
    assert problem.node_id == "leaf" and "field name '\\udc00x' holds a lone UTF-16 surrogate" in problem.message


def test_oversized_values_are_quoted_short_in_every_message(counted):
    huge = "x" * 5_000_000
    # The catalog's "no such attribute", the schema's "not one of", "does not match", "unknown field"...
    for document in [doc(gold(attribute=huge)), doc(gold(operator=huge)), doc(gold(node_id=huge)),
                     doc({**gold(), huge: 1}), doc({"id": "g", "type": "group", "match": huge, "children": [gold()]})]:
        with pytest.raises(CriteriaError) as error:
            counted(document)
        assert len(str(error.value)) < 600 and "xxxxxxxx…" in str(error.value), str(error.value)[:1000]


def test_many_problems_are_counted_rather_than_listed():
    document = doc(*[{"id": f"n{i}", "type": "event", "event_type": "bogus"} for i in range(5000)])
    with pytest.raises(CriteriaError) as error:
        check(document)
    assert len(error.value.problems) == 5000
    assert str(error.value).endswith("; and 4990 more problems") and len(str(error.value)) < 4000


def test_quoted_cuts_long_values_with_an_ellipsis():
    assert quoted("short") == "'short'"
    assert quoted("y" * 200) == "'" + "y" * 78 + "…"
    assert len(quoted({"a": ["b" * 100] * 100})) <= 80


def test_a_criteria_file_that_is_not_utf8_or_not_json_is_named(tmp_path):
    latin = tmp_path / "latin.json"
    latin.write_bytes('{"version": 1, "root": "caf\xe9"}'.encode("latin-1"))
    with pytest.raises(InvalidInput, match=r"latin.json: not UTF-8 text \(byte 0xe9 at offset 27\)"):
        read_file(latin)
    broken = tmp_path / "broken.json"
    broken.write_text("{nope")
    with pytest.raises(InvalidInput, match="broken.json: not valid JSON at line 1, column 2"):
        read_file(broken)
    with pytest.raises(InvalidInput, match="missing.json: cannot be read"):
        read_file(tmp_path / "missing.json")
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(InvalidInput, match="deep.json: nested too deeply"):
        read_file(deep)
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps(doc(gold())).encode())
    assert check(read_file(bom)) == doc(gold())


@pytest.mark.parametrize("number", [10**40, -(10**40), 2**63])
def test_integers_beyond_64_bits_are_refused_and_large_numbers_with_an_exponent_counted(counted, number):
    """Found by the property tests: a 40-digit integer reached DuckDB ("too large for 128-bit")."""
    frequency = {"id": "a", "type": "event", "event_type": "session_start", "frequency": {"operator": "ge", "value": number}}
    with pytest.raises(CriteriaError) as error:
        counted(doc(frequency))
    [problem] = error.value.problems
    assert problem.path == "root.children[0].frequency.value" and "does not fit 64 bits" in problem.message
    assert counted(doc({**frequency, "frequency": {"operator": "ge", "value": float(number)}})).count == (10 if number < 0 else 0)
    assert counted(doc({**frequency, "frequency": {"operator": "ge", "value": 2**63 - 1}})).count == 0


def test_a_file_with_a_number_of_thousands_of_digits_is_named(tmp_path):
    path = tmp_path / "digits.json"
    path.write_text('{"version": 1, "root": ' + "9" * 5000 + "}")
    with pytest.raises(InvalidInput, match="digits.json: a number has more than 4,300 digits"):
        read_file(path)
