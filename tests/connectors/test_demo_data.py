"""The demo generator: deterministic, valid mParticle Events API batches with the content later features query."""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from app.connectors import demo_data
from app.connectors.demo_data import CRM_FEED, WORKSPACES, DemoBatch, estimated_events, generate

END = datetime(2026, 4, 15, 12, 0, tzinfo=UTC)
PROFILES = 2000
DAYS = 30
END_MS = int(END.timestamp() * 1000)
START_MS = END_MS - DAYS * 86_400_000
US, EU = WORKSPACES


@pytest.fixture(scope="module")
def batches() -> list[DemoBatch]:
    return list(generate(profiles=PROFILES, days=DAYS, seed=7, end=END))


def _events(batches: list[DemoBatch]):
    for b in batches:
        for event in b.batch["events"]:
            yield b, event


def _app_batches(batches: list[DemoBatch]) -> list[DemoBatch]:
    return [b for b in batches if b.feed is None]


def _mpids(batches: list[DemoBatch]) -> set[int]:
    return {b.batch["mpid"] for b in batches}


# -- determinism and shape ---------------------------------------------------------------------------------------


def test_same_arguments_give_identical_batches(batches):
    again = list(generate(profiles=PROFILES, days=DAYS, seed=7, end=END))
    assert again == batches


def test_a_different_seed_gives_different_batches(batches):
    other = list(generate(profiles=PROFILES, days=DAYS, seed=8, end=END))
    assert [b.batch["mpid"] for b in other[:50]] != [b.batch["mpid"] for b in batches[:50]]
    assert orjson.dumps([b.batch for b in other]) != orjson.dumps([b.batch for b in batches])


def test_generation_streams_without_building_everything_first():
    # A billion profiles would never fit in memory: the first batch must still come at once.
    first = next(generate(profiles=10**9, days=DAYS, seed=7, end=END))
    assert isinstance(first, DemoBatch)


def test_naive_end_is_rejected():
    with pytest.raises(ValueError):
        next(generate(profiles=1, end=datetime(2026, 4, 15)))


def test_end_in_another_timezone_means_the_same_instant():
    shifted = END.astimezone(timezone(timedelta(hours=-5)))
    assert list(generate(profiles=50, days=DAYS, end=shifted)) == list(generate(profiles=50, days=DAYS, end=END))


def test_every_batch_is_plain_json_data(batches):
    for b in batches:
        # The json round trip fails on non-JSON types and changes tuples into lists, so equality proves both.
        assert json.loads(json.dumps(b.batch)) == b.batch
        orjson.dumps(b.batch)


def test_every_batch_has_a_signed_64_bit_integer_mpid(batches):
    for b in batches:
        mpid = b.batch["mpid"]
        assert type(mpid) is int and -(2**63) <= mpid < 2**63 and mpid != 0
    assert any(b.batch["mpid"] < 0 for b in batches)


def test_each_profile_gets_its_own_mpid(batches):
    assert len(_mpids(batches)) == PROFILES


def test_batch_and_event_timestamps_lie_within_the_window(batches):
    for b in batches:
        assert START_MS <= b.batch["timestamp_unixtime_ms"] <= END_MS
    for _, event in _events(batches):
        assert START_MS <= event["data"]["timestamp_unixtime_ms"] <= END_MS


def test_a_batch_is_stamped_with_its_latest_event_time(batches):
    for b in batches:
        times = [e["data"]["timestamp_unixtime_ms"] for e in b.batch["events"]]
        if times:
            assert b.batch["timestamp_unixtime_ms"] == max(times)


def test_batches_hold_at_most_thirty_events_and_app_batches_at_least_one(batches):
    assert all(len(b.batch["events"]) <= 30 for b in batches)
    assert all(b.batch["events"] for b in _app_batches(batches))


def test_a_profiles_batches_come_in_time_order(batches):
    last: dict[int, int] = {}
    for b in batches:
        mpid, ts = b.batch["mpid"], b.batch["timestamp_unixtime_ms"]
        assert ts >= last.get(mpid, 0)
        last[mpid] = ts


def test_uuid_helper_formats_like_the_uuid_module():
    rng = random.Random(1)
    for _ in range(200):
        bits = rng.getrandbits(128)
        assert demo_data._uuid4(bits) == str(uuid.UUID(int=bits, version=4))


# -- valid Events API batches ------------------------------------------------------------------------------------

_BATCH_FIELDS = {"events", "device_info", "application_info", "user_attributes", "deleted_user_attributes",
                 "user_identities", "environment", "ip", "context", "source_info", "mp_deviceid", "attribution_info",
                 "timestamp_unixtime_ms", "batch_id", "mpid", "consent_state", "source_request_id"}
_IDENTITY_TYPES = {"customer_id", "email", "mobile_number", "other"}
_CUSTOM_EVENT_TYPES = {"navigation", "location", "search", "transaction", "user_content", "user_preference",
                       "social", "other", "media"}
_PRODUCT_ACTIONS = {"add_to_cart", "remove_from_cart", "checkout", "purchase", "view_detail", "add_to_wishlist"}
_EVENT_REQUIRED = {"session_start": set(), "session_end": {"session_duration_ms"}, "screen_view": {"screen_name"},
                   "custom_event": {"event_name", "custom_event_type"}, "commerce_event": {"product_action"},
                   "application_state_transition": {"application_transition_type"},
                   "crash_report": {"severity", "message"}, "uninstall": set(),
                   "user_attribute_change": {"user_attribute_name"}, "user_identity_change": {"new", "old"}}


def test_batches_use_only_events_api_fields(batches):
    for b in batches:
        batch = b.batch
        assert set(batch) <= _BATCH_FIELDS
        assert batch["environment"] == "production"
        assert set(batch.get("user_identities", {})) <= _IDENTITY_TYPES
        for event in batch["events"]:
            assert set(event) == {"event_type", "data"}
            data = event["data"]
            assert _EVENT_REQUIRED[event["event_type"]] <= set(data)
            if event["event_type"] == "custom_event":
                assert data["custom_event_type"] in _CUSTOM_EVENT_TYPES
            if event["event_type"] == "commerce_event":
                assert data["product_action"]["action"] in _PRODUCT_ACTIONS
            for value in data.get("custom_attributes", {}).values():
                assert isinstance(value, str | int | float | bool)


def test_platforms_are_described_the_way_mparticle_does(batches):
    seen = Counter()
    for b in _app_batches(batches):
        platform = b.batch["device_info"]["platform"]
        os = b.batch["application_info"].get("os")
        seen[platform] += 1
        assert (platform, os) in {("iOS", "IOS"), ("Android", "Android"), ("web", None)}
        if platform == "iOS":
            assert "ios_idfv" in b.batch["device_info"]
        if platform == "web":
            assert "network_carrier" not in b.batch["device_info"]
    assert seen["iOS"] > seen["Android"] > seen["web"] > 0


def test_crm_batches_carry_identities_and_attributes_but_no_device(batches):
    crm = [b for b in batches if b.feed == CRM_FEED]
    assert crm
    for b in crm:
        assert b.workspace == US
        assert "device_info" not in b.batch and "application_info" not in b.batch
        assert "customer_id" in b.batch["user_identities"]
        assert all(e["event_type"] == "custom_event" for e in b.batch["events"])
    share = len(_mpids(crm)) / len(_mpids([b for b in batches if b.workspace == US]))
    assert 0.2 < share < 0.4


def test_user_attribute_values_have_mparticle_types(batches):
    for b in batches:
        for value in b.batch.get("user_attributes", {}).values():
            ok = isinstance(value, str | int | float | bool) or (
                isinstance(value, list) and all(isinstance(v, str) for v in value))
            assert ok, value


# -- content -----------------------------------------------------------------------------------------------------


def test_every_event_type_occurs(batches):
    types = Counter(event["event_type"] for _, event in _events(batches))
    assert set(types) == set(_EVENT_REQUIRED)
    # session_start and session_end are the most frequent pair.
    assert types["session_start"] == types["session_end"] == max(types.values())


def test_every_kind_of_custom_commerce_and_lifecycle_event_occurs(batches):
    names = {e["data"]["event_name"] for _, e in _events(batches) if e["event_type"] == "custom_event"}
    assert {"Search", "Add to Wishlist", "Video Watched", "Store Visit", "Review Submitted", "Loyalty Tier Changed",
            "attribution"} <= names
    actions = {e["data"]["product_action"]["action"] for _, e in _events(batches)
               if e["event_type"] == "commerce_event"}
    assert actions == _PRODUCT_ACTIONS
    transitions = [e["data"] for _, e in _events(batches) if e["event_type"] == "application_state_transition"]
    assert any(d.get("is_first_run") for d in transitions)
    assert any(d.get("is_upgrade") for d in transitions)
    assert {"application_background", "application_foreground"} <= {d["application_transition_type"]
                                                                      for d in transitions}


def test_both_workspaces_and_the_crm_feed_occur(batches):
    assert {(b.workspace, b.feed) for b in batches} == {(US, None), (EU, None), (US, CRM_FEED)}


def test_about_five_percent_of_profiles_are_in_both_workspaces(batches):
    workspaces = defaultdict(set)
    for b in batches:
        workspaces[b.batch["mpid"]].add(b.workspace)
    both = [mpid for mpid, seen in workspaces.items() if len(seen) == 2]
    assert 0.03 < len(both) / PROFILES < 0.08
    eu_only = sum(1 for seen in workspaces.values() if seen == {EU})
    assert 0.07 < eu_only / PROFILES < 0.13


def test_some_identities_are_known_in_only_one_workspace(batches):
    known = defaultdict(set)
    for b in _app_batches(batches):
        for kind in b.batch.get("user_identities", {}):
            known[(b.batch["mpid"], kind)].add(b.workspace)
    in_both_workspaces = {mpid for (mpid, _), seen in known.items() if len(seen) == 2}
    one_sided = {mpid for (mpid, _), seen in known.items() if len(seen) == 1 and mpid in in_both_workspaces}
    assert one_sided


def test_identity_coverage_is_roughly_as_specified(batches):
    having = defaultdict(set)
    for b in batches:
        for kind in b.batch.get("user_identities", {}):
            having[kind].add(b.batch["mpid"])
    share = {kind: len(mpids) / PROFILES for kind, mpids in having.items()}
    assert 0.50 <= share["email"] <= 0.80
    assert 0.50 <= share["customer_id"] <= 0.70
    assert 0.25 <= share["mobile_number"] <= 0.45
    assert 0.02 <= share["other"] <= 0.08
    emails = [b.batch["user_identities"]["email"] for b in batches if "email" in b.batch.get("user_identities", {})]
    assert any(e != e.lower() for e in emails)


def test_event_count_is_within_ten_percent_of_the_estimate(batches):
    count = sum(len(b.batch["events"]) for b in batches)
    assert abs(count / estimated_events(PROFILES, DAYS) - 1) < 0.10


def test_abandoned_carts_exist(batches):
    last_add: dict[int, int] = {}
    last_purchase: dict[int, int] = {}
    for b, event in _events(batches):
        action = event["data"].get("product_action", {}).get("action")
        ts = event["data"]["timestamp_unixtime_ms"]
        if action == "add_to_cart":
            last_add[b.batch["mpid"]] = max(ts, last_add.get(b.batch["mpid"], 0))
        elif action == "purchase":
            last_purchase[b.batch["mpid"]] = max(ts, last_purchase.get(b.batch["mpid"], 0))
    abandoned = [mpid for mpid, ts in last_add.items() if ts > last_purchase.get(mpid, 0)]
    never_bought = [mpid for mpid in last_add if mpid not in last_purchase]
    assert len(never_bought) / len(last_add) > 0.5  # most users who add to cart do not buy
    assert len(abandoned) > len(never_bought)


def test_purchases_follow_an_add_to_cart_and_have_realistic_totals(batches):
    carted: set[int] = set()
    totals = []
    for b, event in _events(batches):
        action = event["data"].get("product_action", {})
        if action.get("action") == "add_to_cart":
            carted.add(b.batch["mpid"])
        elif action.get("action") == "purchase":
            assert b.batch["mpid"] in carted
            assert action["transaction_id"] and action["products"]
            assert event["data"]["currency_code"] == ("USD" if b.workspace == US else "EUR")
            totals.append(action["total_amount"])
    assert totals and 15 <= min(totals) and max(totals) <= 600


def test_a_few_percent_of_users_make_two_purchases_over_50_in_30_days(batches):
    cut = END_MS - 30 * 86_400_000
    big = Counter(b.batch["mpid"] for b, e in _events(batches)
                  if e["data"].get("product_action", {}).get("action") == "purchase"
                  and e["data"]["product_action"]["total_amount"] > 50 and e["data"]["timestamp_unixtime_ms"] >= cut)
    share = sum(1 for n in big.values() if n >= 2) / PROFILES
    assert 0.01 <= share <= 0.10


def test_new_users_keep_joining_up_to_the_last_days(batches):
    installs = [e["data"]["timestamp_unixtime_ms"] for _, e in _events(batches) if e["data"].get("is_first_run")]
    assert any(ts >= END_MS - 3 * 86_400_000 for ts in installs)
    assert any(ts <= START_MS + 7 * 86_400_000 for ts in installs)


def test_activity_peaks_in_the_evening(batches):
    us_hours = Counter((datetime.fromtimestamp(e["data"]["timestamp_unixtime_ms"] / 1000, UTC).hour - 6) % 24
                       for b, e in _events(batches) if b.workspace == US and e["event_type"] == "session_start")
    assert us_hours[20] > 3 * us_hours[4]


def test_crashes_concentrate_on_the_faulty_release(batches):
    versions = Counter(b.batch["application_info"]["application_version"]
                       for b, e in _events(batches) if e["event_type"] == "crash_report")
    assert versions.most_common(1)[0][0] == "6.0.0"


def test_first_batch_in_each_workspace_carries_all_attributes(batches):
    seen: set[tuple[int, str]] = set()
    for b in _app_batches(batches):
        key = (b.batch["mpid"], b.workspace)
        if key not in seen and b.batch["events"][0]["event_type"] != "uninstall":
            seen.add(key)
            assert "user_attributes" in b.batch and "device_info" in b.batch


def test_attributes_change_and_are_sometimes_deleted(batches):
    changes = [e["data"] for _, e in _events(batches) if e["event_type"] == "user_attribute_change"]
    assert any(c["is_new_attribute"] for c in changes) and any(not c["is_new_attribute"] for c in changes)
    assert any(b.batch.get("deleted_user_attributes") == ["newsletter_opt_in"] for b in batches)


def test_attribute_values_cover_every_type_and_like_wildcards(batches):
    values = defaultdict(list)
    for b in batches:
        for name, value in b.batch.get("user_attributes", {}).items():
            values[name].append(value)
    assert {"$FirstName", "$LastName", "$Gender", "$Age", "$City", "$State", "$Zip", "$Country", "loyalty_tier",
            "lifetime_value", "newsletter_opt_in", "signup_date", "last_purchase_date", "favorite_categories",
            "preferred_store", "app_rating"} <= set(values)
    assert all(isinstance(v, bool) for v in values["newsletter_opt_in"])
    assert all(isinstance(v, list) for v in values["favorite_categories"])
    assert all(isinstance(v, float) for v in values["lifetime_value"])
    assert all(len(v) == 10 for v in values["signup_date"])
    assert any(ch in store for store in values["preferred_store"] for ch in "%_\\")


def test_os_versions_need_version_aware_comparison(batches):
    versions = {b.batch["device_info"]["os_version"] for b in _app_batches(batches)
                if "os_version" in b.batch["device_info"]}

    def key(text: str) -> tuple[int, ...]:
        return tuple(int(part) for part in text.split("."))

    assert any(a < b and key(a) > key(b) for a in versions for b in versions)


def test_consent_follows_the_regulation_of_the_workspace(batches):
    for b in _app_batches(batches):
        consent = b.batch.get("consent_state", {})
        assert set(consent) <= ({"gdpr"} if b.workspace == EU else {"ccpa"})
    states = [p["consented"] for b in batches for purposes in b.batch.get("consent_state", {}).values()
              for p in purposes.values()]
    assert True in states and False in states


def test_locations_are_real_cities_near_their_coordinates(batches):
    for b in _app_batches(batches):
        location = b.batch.get("context", {}).get("location")
        if location:
            city = next(c for c in demo_data._US_CITIES + demo_data._EU_CITIES if c.name == location["city_name"])
            assert abs(location["latitude"] - city.latitude) <= 0.05 + 1e-9
            assert ("dma_code" in location) == (location["country_code"] == "US")
