"""Calculation credits: the cost rule (the issue's examples, leap years, overlapping ranges) and the ledger."""

from __future__ import annotations

from datetime import date

import pytest

from app.errors import InvalidInput, NotFound
from app.models.services.credits import CreditService, cost, credits_for_days, days_scanned, merged_ranges
from app.models.store.db import Store


def d(text: str) -> date:
    return date.fromisoformat(text)


def test_one_audience_spanning_1_jan_2018_to_1_jan_2020_costs_2_credits():
    ranges = [(d("2018-01-01"), d("2020-01-01"))]
    assert days_scanned(ranges) == 731
    assert cost(ranges) == 2


def test_three_audiences_over_2019_calculated_together_cost_1_credit():
    year = (d("2019-01-01"), d("2019-12-31"))
    assert days_scanned([year, year, year]) == 365
    assert cost([year, year, year]) == 1
    # Calculated one at a time, each would pay its own credit.
    assert sum(cost([year]) for _ in range(3)) == 3


@pytest.mark.parametrize(("start", "end", "days", "credits"), [
    ("2019-06-15", "2019-06-15", 1, 1),        # a single day still costs a credit
    ("2020-01-01", "2020-12-31", 366, 1),      # a leap year is one year of data
    ("2019-01-01", "2020-01-02", 367, 2),      # one day past a year and a day starts a second credit
    ("2018-01-01", "2020-12-31", 1096, 3),
])
def test_the_rule_at_its_edges(start, end, days, credits):
    assert days_scanned([(d(start), d(end))]) == days
    assert cost([(d(start), d(end))]) == credits


def test_overlapping_ranges_are_scanned_once_together():
    spring = (d("2019-01-01"), d("2019-08-31"))
    autumn = (d("2019-05-01"), d("2019-12-31"))
    assert days_scanned([spring, autumn]) == 365
    assert cost([spring, autumn]) == 1
    assert cost([spring]) + cost([autumn]) == 2


def test_touching_and_separate_ranges():
    assert merged_ranges([(d("2019-01-11"), d("2019-01-20")), (d("2019-01-01"), d("2019-01-10"))]) == [
        (d("2019-01-01"), d("2019-01-20"))]
    apart = [(d("2018-01-01"), d("2018-12-31")), (d("2020-01-01"), d("2020-12-31"))]
    assert days_scanned(apart) == 365 + 366  # the gap of 2019 is not scanned
    assert cost(apart) == 2
    assert credits_for_days(0) == 0


def test_a_range_that_ends_before_it_starts_is_refused():
    with pytest.raises(InvalidInput, match="before it starts"):
        days_scanned([(d("2019-02-01"), d("2019-01-01"))])


def test_the_balance_is_the_sum_of_the_ledger(store: Store, retail, travel):
    credits = CreditService(store, "admin")
    assert credits.balance(retail.id) == 0
    credits.add(retail.id, 5, "Order 1142")
    credits.add(retail.id, 2, "  Top-up  ")
    credits.add(travel.id, 1, "Trial")
    assert credits.balance(retail.id) == 7
    assert credits.balances() == {retail.id: 7, travel.id: 1}
    ledger = credits.ledger(retail.id)
    assert [(e.change, e.reason, e.created_by) for e in ledger] == [(5, "Added: Order 1142", "admin"),
                                                                    (2, "Added: Top-up", "admin")]


@pytest.mark.parametrize(("amount", "note", "message"), [
    (0, "x", "positive whole number"), (-3, "x", "positive whole number"), (1.5, "x", "positive whole number"),
    (True, "x", "positive whole number"), (2, "   ", "Say why"), (10**9, "x", "At most"),
])
def test_grants_must_be_positive_with_a_note(store: Store, retail, amount, note, message):
    credits = CreditService(store, "admin")
    with pytest.raises(InvalidInput, match=message):
        credits.add(retail.id, amount, note)
    assert credits.ledger(retail.id) == []


def test_an_unknown_workspace_is_named(store: Store):
    with pytest.raises(NotFound, match="no workspace with id 42"):
        CreditService(store, "admin").balance(42)
