"""Hypothesis strategies for mParticle Events API batches that mParticle's published schema accepts
(/work/shared/specs, copied as tests/data; checked with jsonschema), and mutations of them.

What the strategies leave out, the cache deliberately refuses, and docs/server.md says so: times
outside 2000..2100 (seconds sent as milliseconds), a batch with neither mpid nor an identity to
resolve one from, and (for a platform input) a batch without a platform. Every batch here carries an
mpid; the tests send them through a feed, which needs no platform.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
from hypothesis import strategies as st

SCHEMA_PATH = Path(__file__).parent / "data" / "mparticle.inbound.eventsapi.schema.json"
VALIDATOR = jsonschema.Draft7Validator(json.loads(SCHEMA_PATH.read_text()))

T_MIN, T_MAX = 946_684_800_000, 4_102_444_800_000
RESERVED = ["new", "user_attribute_name", "identity_type", "custom_attributes.new"]
IDENTITY_TYPES = ["customer_id", "email", "other", "mobile_number", "other_id_2", "alias"]

texts = st.text(max_size=10)
times = st.integers(T_MIN, T_MAX)
#: mParticle's "String": text, numbers, booleans or null.
strings = st.one_of(texts, st.integers(-10**6, 10**6), st.booleans(), st.none(),
                    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))
attributes = st.dictionaries(st.one_of(texts, st.sampled_from(RESERVED)), strings, max_size=4)


def _data(extra: dict[str, Any]) -> st.SearchStrategy[dict]:
    base = st.fixed_dictionaries({}, optional={"timestamp_unixtime_ms": times, "custom_attributes": attributes,
                                               "event_id": st.integers(0, 2**62)})
    return st.tuples(base, st.fixed_dictionaries(extra)).map(lambda pair: {**pair[0], **pair[1]})


def _identity() -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries({"identity_type": st.sampled_from(IDENTITY_TYPES), "identity": strings, "timestamp_unixtime_ms": times})


EVENT_DATA: dict[str, st.SearchStrategy[dict]] = {
    "session_start": _data({}),
    "session_end": _data({"session_duration_ms": st.integers(0, 10**7)}),
    "screen_view": _data({"screen_name": texts}),
    "custom_event": _data({"event_name": texts, "custom_event_type": st.sampled_from(["navigation", "search", "other"])}),
    "commerce_event": _data({"product_action": st.fixed_dictionaries(
        {"action": st.sampled_from(["purchase", "add_to_cart", "refund", "view_detail"])},
        optional={"total_amount": st.floats(0, 1e6), "products": st.lists(st.fixed_dictionaries(
            {}, optional={"id": strings, "name": strings, "price": st.floats(0, 1e4), "quantity": st.floats(0, 100)}), max_size=3)}),
        "currency_code": strings}),
    "crash_report": _data({"severity": strings, "message": strings}),
    "first_run": st.just({}),
    "application_state_transition": _data({"application_transition_type": st.sampled_from(["application_initialized", "application_exit"]),
                                           "is_first_run": st.booleans(), "is_upgrade": st.booleans()}),
    "opt_out": _data({"is_opted_out": st.booleans()}),
    "uninstall": st.just({}),
    "user_attribute_change": _data({"user_attribute_name": texts, "new": st.one_of(strings, st.lists(strings, max_size=2)),
                                    "deleted": st.booleans()}),
    "user_identity_change": _data({"new": _identity(), "old": _identity()}),
    "breadcrumb": _data({"label": strings}),
}

events = st.sampled_from(sorted(EVENT_DATA)).flatmap(
    lambda kind: EVENT_DATA[kind].map(lambda data: {"event_type": kind, "data": data}))

consent_purpose = st.fixed_dictionaries({"consented": st.booleans(), "timestamp_unixtime_ms": times}, optional={"document": strings})

batches = st.fixed_dictionaries(
    {"mpid": st.integers(-2**63, 2**63 - 1)},
    optional={
        "events": st.one_of(st.none(), st.lists(events, max_size=4)),
        "timestamp_unixtime_ms": times,
        "source_request_id": st.one_of(texts, st.none()),
        "user_attributes": st.dictionaries(texts, st.one_of(strings, st.lists(strings, max_size=3)), max_size=4),
        "deleted_user_attributes": st.lists(texts, max_size=2),
        "user_identities": st.dictionaries(st.sampled_from(IDENTITY_TYPES), strings, max_size=3),
        "consent_state": st.fixed_dictionaries({}, optional={"gdpr": st.dictionaries(texts, consent_purpose, max_size=2),
                                                             "ccpa": st.dictionaries(texts, consent_purpose, max_size=1)}),
        "context": st.fixed_dictionaries({}, optional={"location": st.fixed_dictionaries(
            {"latitude": st.floats(-90, 90), "longitude": st.floats(-180, 180)}, optional={"city_name": strings, "dma_code": st.integers(0, 999)})}),
        "device_info": st.fixed_dictionaries({}, optional={"platform": st.sampled_from(["iOS", "Android", "web"]), "os_version": strings,
                                                           "ios_idfv": strings, "device_model": strings}),
        "application_info": st.fixed_dictionaries({}, optional={"os": st.sampled_from(["IOS", "Android", "MobileWeb"]),
                                                                "application_version": strings}),
        "environment": st.sampled_from(["production", "development"]),
    },
).filter(VALIDATOR.is_valid)

#: Any JSON value, to put where a field was.
json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=False, allow_infinity=False),
                                     texts), lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(texts, inner, max_size=3)),
                           max_leaves=6)


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path into a JSON value (keys and indices)."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths(child, prefix + (index,))
    return found


@st.composite
def mutated_batches(draw) -> Any:
    """A valid batch with one field replaced by any JSON value, or removed, or a new one added."""
    batch = draw(batches)
    where = paths(batch)
    if not where:
        return batch
    path = draw(st.sampled_from(where))
    parent = batch
    for step in path[:-1]:
        parent = parent[step]
    action = draw(st.sampled_from(["replace", "remove", "add"]))
    if action == "replace" or (action == "remove" and isinstance(parent, list)):
        parent[path[-1]] = draw(json_values)
    elif action == "remove":
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[draw(texts)] = draw(json_values)
    return batch
