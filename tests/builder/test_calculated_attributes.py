"""Calculated attributes in criteria: each calculation on hand-built events, checked against the reference."""

from __future__ import annotations

import datetime as dt

import pytest

from app.builder.calculated import CALCULATIONS, CalculatedAttribute, problems
from app.builder.catalog import load_catalog
from app.builder.compiler import Scope, members_query
from app.builder.document import CriteriaError
from app.builder.estimator import Estimator
from app.connectors.cache import Cache
from tests.builder.reference import CacheData, Reference
from tests.builder.test_compiler_examples import NOW, add_to_cart, attr, build, doc, ms, profile, session
from tests.factories import purchase

DAY = dt.timedelta(days=1)


def evaluate(cache: Cache, document: dict, definitions: list[CalculatedAttribute], *, inputs=None) -> set[int]:
    """The compiler's members and exact count, after checking the reference agrees with both."""
    cursor = cache.cursor()
    calculated = {1: {d.name: d for d in definitions}}
    scope = Scope(workspace_ids=(1,), inputs=inputs or {})
    catalog = load_catalog(cursor, calculated=calculated)
    estimate = Estimator(cursor).estimate(document, scope=scope, catalog=catalog, now=NOW, exact=True)
    sql, params = members_query(document, scope=scope, catalog=catalog, now=NOW)
    members = {row[0] for row in cursor.execute(sql, params).fetchall()}
    reference = Reference(CacheData.load(cursor), (1,), NOW, inputs or {}, 30, calculated=calculated)
    count, nodes = reference.evaluate(document)
    assert members == set(reference.members(document)), "the reference disagrees with the compiler's members"
    assert (estimate.count, estimate.nodes) == (count, nodes), "the reference disagrees with the estimate"
    return members


def calc(node_id: str, name: str, operator: str, value=None) -> dict:
    return attr(node_id, name, operator, value, calculated=True)


@pytest.fixture
def shoppers(cache: Cache) -> Cache:
    """Purchases over 90 days, with categories, one shopper on the Web input."""
    def buy(days_ago: float, revenue: float, category: str | None = None) -> dict:
        return purchase(ms(NOW - days_ago * DAY), revenue, **({"custom_attributes": {"category": category}} if category else {}))

    return build(cache,
                 profile(1, events=[buy(2, 30.0, "tents"), buy(5, 20.0, "boots"), buy(60, 500.0, "tents")]),
                 profile(2, events=[buy(1, 80.0, "boots"), buy(3, 10.0, "stoves"), buy(4, 15.0, "boots")]),
                 profile(3, events=[buy(40, 5.0, "stoves")]),  # only outside 30 days
                 profile(4, events=[session(NOW - DAY)]),  # never bought
                 profile(5, events=[add_to_cart(NOW - DAY, 99.0)]),
                 profile(6, platform="Web", events=[buy(1, 70.0, "boots"), buy(2, 70.0, "tents")]))


PURCHASES_30D = CalculatedAttribute("Purchases (30 days)", "count", "commerce_event", "purchase", None, 30)
REVENUE = CalculatedAttribute("Lifetime revenue", "sum", "commerce_event", "purchase", "revenue", None)


def test_count_in_a_window_includes_users_with_none(shoppers):
    assert evaluate(shoppers, doc(calc("c", PURCHASES_30D.name, "ge", 2)), [PURCHASES_30D]) == {1, 2, 6}
    # "fewer than 1 purchase" includes those who never bought and those who bought only long ago
    assert evaluate(shoppers, doc(calc("c", PURCHASES_30D.name, "lt", 1)), [PURCHASES_30D]) == {3, 4, 5}
    # a count is defined for everyone
    assert evaluate(shoppers, doc(calc("c", PURCHASES_30D.name, "exists")), [PURCHASES_30D]) == {1, 2, 3, 4, 5, 6}
    assert evaluate(shoppers, doc(calc("c", PURCHASES_30D.name, "not_exists")), [PURCHASES_30D]) == set()


def test_sum_reads_all_time_and_ignores_the_real_time_window(shoppers):
    # Shopper 1's 500 is 60 days old: outside the audience's 30-day window, inside the attribute's "all time".
    assert evaluate(shoppers, doc(calc("r", REVENUE.name, "gt", 100)), [REVENUE]) == {1, 2, 6}
    assert evaluate(shoppers, doc(calc("r", REVENUE.name, "between", [0, 5])), [REVENUE]) == {3, 4, 5}


def test_average_min_max(shoppers):
    average = CalculatedAttribute("Average order", "average", "commerce_event", "purchase", "revenue", 30)
    smallest = CalculatedAttribute("Smallest order", "min", "commerce_event", "purchase", "revenue", 30)
    largest = CalculatedAttribute("Largest order", "max", "commerce_event", "purchase", "revenue", 30)
    both = [average, smallest, largest]
    assert evaluate(shoppers, doc(calc("a", average.name, "eq", 35)), both) == {2}
    assert evaluate(shoppers, doc(calc("s", smallest.name, "le", 15)), both) == {2}
    assert evaluate(shoppers, doc(calc("m", largest.name, "ge", 70)), both) == {2, 6}
    # no purchase in 30 days: no average, and "does not exist" finds them
    assert evaluate(shoppers, doc(calc("a", average.name, "not_exists")), both) == {3, 4, 5}


def test_first_last_and_most_frequent_values(shoppers):
    first = CalculatedAttribute("First category", "first_value", "commerce_event", "purchase", "category", None)
    last = CalculatedAttribute("Last category", "last_value", "commerce_event", "purchase", "category", None)
    favourite = CalculatedAttribute("Favourite category", "most_frequent", "commerce_event", "purchase", "category", None)
    defined = [first, last, favourite]
    assert evaluate(shoppers, doc(calc("f", first.name, "equals", "TENTS")), defined) == {1, 6}
    assert evaluate(shoppers, doc(calc("l", last.name, "equals", "tents")), defined) == {1}
    assert evaluate(shoppers, doc(calc("m", favourite.name, "equals", "boots")), defined) == {2, 6}  # 6: a tie, boots < tents
    assert evaluate(shoppers, doc(calc("m", favourite.name, "equals", "tents")), defined) == {1}


def test_unique_values_and_times(shoppers):
    categories = CalculatedAttribute("Categories bought", "unique_values", "commerce_event", "purchase", "category", None)
    first_time = CalculatedAttribute("First purchase", "first_time", "commerce_event", "purchase", None, None)
    last_time = CalculatedAttribute("Last purchase", "last_time", "commerce_event", "purchase", None, None)
    defined = [categories, first_time, last_time]
    assert evaluate(shoppers, doc(calc("u", categories.name, "list_contains_all", ["tents", "boots"])), defined) == {1, 6}
    assert evaluate(shoppers, doc(calc("u", categories.name, "list_size", {"operator": "ge", "value": 2})), defined) == {1, 2, 6}
    assert evaluate(shoppers, doc(calc("l", last_time.name, "within", {"amount": 2, "unit": "days"})), defined) == {1, 2, 6}
    assert evaluate(shoppers, doc(calc("f", first_time.name, "before", "2025-08-01")), defined) == {1, 3}


def test_inputs_of_the_audience_apply(shoppers):
    inputs = {1: ("iOS",)}
    assert evaluate(shoppers, doc(calc("c", PURCHASES_30D.name, "ge", 2)), [PURCHASES_30D], inputs=inputs) == {1, 2}


def test_in_a_tree_and_excluded(shoppers):
    document = doc(calc("r", REVENUE.name, "gt", 50), {**calc("c", PURCHASES_30D.name, "ge", 3), "exclude": True},
                   {"id": "s", "type": "event", "event_type": "commerce_event", "product_action": "purchase"})
    assert evaluate(shoppers, document, [REVENUE, PURCHASES_30D]) == {1, 6}


def test_problems_name_the_node(shoppers):
    cursor = shoppers.cursor()
    catalog = load_catalog(cursor, calculated={1: {REVENUE.name: REVENUE}})
    scope = Scope(workspace_ids=(1,))

    def refusal(node: dict) -> str:
        with pytest.raises(CriteriaError) as caught:
            members_query(doc(node), scope=scope, catalog=catalog, now=NOW)
        return str(caught.value)

    assert "no calculated attribute 'Spend'" in refusal(calc("x", "Spend", "gt", 1))
    assert "node 'x'" in refusal(calc("x", REVENUE.name, "contains", "a"))
    assert "Lifetime revenue" in refusal(calc("x", "Spend", "gt", 1))  # the defined ones are listed
    first_revenue = CalculatedAttribute("First revenue", "first_value", "commerce_event", "purchase", "revenue")
    catalog = load_catalog(cursor, calculated={1: {first_revenue.name: first_revenue}})
    with pytest.raises(CriteriaError, match="holds number values"):
        members_query(doc(calc("y", first_revenue.name, "equals", "5")), scope=scope, catalog=catalog, now=NOW)


def test_definitions_are_checked():
    assert problems(REVENUE) == []
    assert problems(CalculatedAttribute("", "sum", "commerce_event")) == [
        "a calculated attribute needs a name", "sum needs the event attribute it reads"]
    assert "not a calculation" in problems(CalculatedAttribute("x", "median", "commerce_event"))[0]
    assert "reads no attribute" in problems(CalculatedAttribute("x", "count", "session_start", attribute="a"))[0]
    assert "1 to 3650 days" in problems(CalculatedAttribute("x", "count", "session_start", window_days=0))[0]
    assert "not an event type" in problems(CalculatedAttribute("x", "count", "sessions"))[0]
    assert set(CALCULATIONS) >= {"count", "sum", "average", "min", "max", "most_frequent"}


def test_event_without_events_in_scope(cache):
    build(cache, profile(1, events=[session(NOW - DAY)]), profile(2))
    sessions = CalculatedAttribute("Sessions (7 days)", "count", "session_start", None, None, 7)
    assert evaluate(cache, doc(calc("s", sessions.name, "eq", 0)), [sessions]) == {2}
    crashes = CalculatedAttribute("Crashes", "count", "crash_report")  # no crashes in the cache at all
    assert evaluate(cache, doc(calc("c", crashes.name, "eq", 0)), [crashes]) == {1, 2}
    assert evaluate(cache, doc(calc("c", crashes.name, "ge", 1)), [crashes]) == set()
