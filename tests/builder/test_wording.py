"""Operators read as words in summaries and the engine's messages, never as symbols or internal keys."""

from __future__ import annotations

import pytest

from app.builder import editing
from app.builder.compiler import compile_count
from app.builder.document import CriteriaError
from app.builder.wording import operator_words, times_words
from tests.builder.test_compiler_examples import NOW, doc, profile
from tests.builder.workspaces import load, new_cache
from app.builder.catalog import load_catalog
from app.builder.compiler import Scope


def test_comparisons_read_as_words():
    assert [operator_words(op) for op in ("eq", "ne", "lt", "le", "gt", "ge")] == [
        "equal to", "not equal to", "less than", "at most", "more than", "at least"]
    assert operator_words("lt", count=True) == "fewer than"
    assert times_words({"operator": "lt", "value": 3}) == "fewer than 3 times"
    assert times_words({"operator": "ge", "value": 1}) == "at least once"
    assert times_words({"operator": "between", "value": [1, 3]}) == "between 1 and 3 times"


def test_a_cards_summary_has_no_symbols():
    purchase = {"id": "p", "type": "event", "event_type": "commerce_event", "product_action": "purchase",
                "frequency": {"operator": "ne", "value": 2},
                "aggregate": {"function": "sum", "attribute": "revenue", "operator": "ge", "value": 300}}
    summary = editing.describe(purchase)
    assert summary == "Total purchase revenue, not exactly 2 times, total revenue at least 300, at any time"
    age = {"id": "a", "type": "user_attribute", "attribute": "age", "operator": "le", "value": 40}
    assert editing.describe(age) == "age at most 40"
    assert not any(symbol in summary + editing.describe(age) for symbol in "≥≤≠<>=")


@pytest.fixture
def cache():
    opened = new_cache()
    load(opened, [(1, profile(1, user_attributes={"interests": ["golf", "tennis"], "tier": "gold"}))])
    yield opened
    opened.close()


@pytest.mark.parametrize("node, expected", [
    ({"attribute": "interests", "operator": "list_contains_any", "value": []},
     "“contains any of” needs at least one value to compare with"),
    ({"attribute": "tier", "operator": "in", "value": []}, "“is one of” needs at least one value to compare with"),
    ({"attribute": "tier", "operator": "equals", "value": 3}, "“is” needs a text to compare with"),
])
def test_a_value_that_does_not_fit_is_said_in_the_users_words(cache, node, expected):
    cursor = cache.cursor()
    document = doc({"id": "n", "type": "user_attribute", **node})
    with pytest.raises(CriteriaError) as raised:
        compile_count(document, scope=Scope(workspace_ids=(1,), inputs={}, realtime_days=30),
                      catalog=load_catalog(cursor), now=NOW)
    [problem] = raised.value.problems
    assert expected in problem.message
    assert node["operator"] not in problem.message.replace("“", " ").split()
