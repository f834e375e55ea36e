"""Completions from the cache: the most common values first, by prefix ignoring case, values bound as parameters."""

from __future__ import annotations

import pytest

from app.builder.suggestions import top_values
from tests.builder.workspaces import load
from tests.factories import batch, event, purchase


@pytest.fixture
def shop(cache):
    batches = []
    for mpid, (tier, city) in enumerate([("gold", "Denver"), ("Gold", "Boston"), ("gold", "Denver"),
                                         ("silver", "Denver"), ("bronze", "Dover")], start=1):
        batches.append((1, batch(mpid, user_attributes={"tier": tier, "interests": ["camping", "hiking"][: mpid % 3]},
                                 context={"location": {"city_name": city, "country_code": "US"}},
                                 events=[event(custom_attributes={"query": f"tent {mpid % 2}"}), purchase()])))
    batches.append((2, batch(99, user_attributes={"tier": "platinum"})))
    return load(cache, batches)


def values(cache, *args, **kwargs):
    return [(s.value, s.count) for s in top_values(cache.cursor(), *args, **kwargs)]


def test_user_attribute_values_come_most_common_first(shop):
    assert values(shop, [1], "user_attribute", "tier") == [("gold", 2), ("Gold", 1), ("bronze", 1), ("silver", 1)]


def test_a_prefix_matches_ignoring_case_and_only_in_the_workspaces_given(shop):
    assert values(shop, [1], "user_attribute", "tier", "GO") == [("gold", 2), ("Gold", 1)]
    assert values(shop, [2], "user_attribute", "tier") == [("platinum", 1)]
    assert values(shop, [1], "location", "city", "d", limit=1) == [("Denver", 3)]


def test_list_attributes_suggest_their_items(shop):
    assert dict(values(shop, [1], "user_attribute", "interests")) == {"camping": 4, "hiking": 2}


def test_event_names_attributes_and_product_actions(shop):
    assert values(shop, [1], "event_name", "custom_event") == [("Search", 5)]
    assert dict(values(shop, [1], "event_attribute", "custom_event/Search/query")) == {"tent 1": 3, "tent 0": 2}
    assert values(shop, [1], "product_action") == [("purchase", 5)]
    assert values(shop, [1], "identity", "email") == [("Ada@Example.com", 5)]
    assert values(shop, [1], "device", "platform") == [("iOS", 5)]


def test_text_that_looks_like_sql_is_only_a_value(shop):
    assert values(shop, [1], "user_attribute", "tier' OR 1=1 --") == []
    assert values(shop, [1], "user_attribute", "tier", "%") == []


def test_unknown_kinds_and_fields_are_refused(shop):
    with pytest.raises(ValueError, match="not a device field"):
        top_values(shop.cursor(), [1], "device", "password")
    with pytest.raises(ValueError, match="Nothing to suggest"):
        top_values(shop.cursor(), [1], "secrets")
