"""The catalog's fingerprint: its version, which the estimator's cache is keyed by."""

from __future__ import annotations

from app.builder.calculated import CalculatedAttribute
from app.builder.catalog import Catalog


def catalog(age: str = "number", *, order: int = 1) -> Catalog:
    attributes = {"tier": "string", "age": age} if order == 1 else {"age": age, "tier": "string"}
    return Catalog(attributes={7: attributes},
                   events={7: frozenset({("session_start", None), ("custom_event", "Search")})},
                   event_attributes={7: {("custom_event", "Search"): {"query": "string"}}},
                   identity_types={7: frozenset({"email", "customer_id"})},
                   calculated={7: {"sessions_30d": CalculatedAttribute("sessions_30d", "count", "session_start",
                                                                       window_days=30)}})


def test_equal_catalogs_share_a_fingerprint_whatever_their_order():
    assert catalog().fingerprint == catalog(order=2).fingerprint
    assert catalog().fingerprint == catalog().fingerprint


def test_a_changed_type_or_calculated_attribute_changes_the_fingerprint():
    assert catalog("string").fingerprint != catalog().fingerprint
    changed = Catalog(attributes=catalog().attributes, events=catalog().events,
                      event_attributes=catalog().event_attributes, identity_types=catalog().identity_types,
                      calculated={7: {"sessions_30d": CalculatedAttribute("sessions_30d", "count", "session_start",
                                                                          window_days=7)}})
    assert changed.fingerprint != catalog().fingerprint
    assert Catalog().fingerprint != catalog().fingerprint
