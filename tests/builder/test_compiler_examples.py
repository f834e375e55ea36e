"""The compiler on hand-built data: one test per example of the criteria semantics.

Each test imports mParticle batches through the real importer into a real cache (tmp_path), then
checks the members the compiled query returns, the exact estimate's count and node counts, and that
the independent reference evaluator (tests/builder/reference.py) agrees.
"""

from __future__ import annotations

import datetime as dt
import math

import duckdb
import pytest

from app.builder.catalog import load_catalog
from app.builder.compiler import Scope, members_query
from app.builder.document import CriteriaError
from app.builder.estimator import Estimator
from app.connectors.cache import Cache, sample_bucket
from app.connectors.importer import SourcedBatch
from app.errors import UserError
from tests.builder.reference import EARTH_RADIUS, CacheData, Reference, haversine
from tests.builder.workspaces import load
from tests.factories import batch, event, purchase

UTC = dt.timezone.utc
#: "Calculated at 13:00 on 9 September" (docs/criteria.md).
NOW = dt.datetime(2025, 9, 9, 13, 0, tzinfo=UTC)


def t(text: str) -> dt.datetime:
    """A UTC moment from 'YYYY-MM-DD HH:MM[:SS[.fff]]'."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def ms(moment: dt.datetime) -> int:
    return int(round(moment.timestamp() * 1000))


def profile(mpid: int, *, events=(), at: dt.datetime | None = None, platform: str | None = "iOS",
            device: dict | None = None, app: dict | None = None, **fields) -> dict:
    """A minimal batch: only what the test names (no default identities, attributes, consent...)."""
    batch = {"mpid": mpid, "timestamp_unixtime_ms": ms(at or NOW - dt.timedelta(days=1)),
             "environment": "production", "events": list(events)}
    if platform is not None:
        batch["application_info"] = {"os": platform, **(app or {})}
        batch["device_info"] = {"platform": platform, **(device or {})}
    batch.update(fields)
    return batch


def session(at: dt.datetime) -> dict:
    return event("session_start", ms(at))


def add_to_cart(at: dt.datetime, price: float = 20.0) -> dict:
    return event("commerce_event", ms(at), product_action={
        "action": "add_to_cart", "products": [{"id": "p1", "name": "Tent", "price": price, "quantity": 1}]})


def doc(*children: dict, match: str = "all", exclude: bool = False) -> dict:
    return {"version": 1, "root": {"id": "root", "type": "group", "match": match, "exclude": exclude,
                                   "children": list(children)}}


def build(cache: Cache, *batches, feed: str | None = None) -> Cache:
    """Import (workspace_id, batch) pairs, or bare batches into workspace 1."""
    items = []
    for i, item in enumerate(batches):
        ws, batch = item if isinstance(item, tuple) else (1, item)
        items.append(SourcedBatch(ws, feed, batch, "example", f"batch {i + 1}"))
    return load(cache, items)


def evaluate(cache: Cache, document: dict, *, workspaces=(1,), inputs=None, now=NOW, realtime_days=30):
    """(members, exact estimate) of the compiler, after checking the reference agrees with both."""
    cursor = cache.cursor()
    scope = Scope(workspace_ids=tuple(workspaces), inputs=inputs or {}, realtime_days=realtime_days)
    catalog = load_catalog(cursor)
    estimate = Estimator(cursor).estimate(document, scope=scope, catalog=catalog, now=now, exact=True)
    sql, params = members_query(document, scope=scope, catalog=catalog, now=now)
    members = {row[0] for row in cursor.execute(sql, params).fetchall()}
    reference = Reference(CacheData.load(cursor), tuple(workspaces), now, inputs or {}, realtime_days)
    count, nodes = reference.evaluate(document)
    assert members == set(reference.members(document)), "the reference disagrees with the compiler's members"
    assert (estimate.count, estimate.nodes) == (count, nodes), "the reference disagrees with the estimate"
    assert estimate.count == len(members)
    return members, estimate


def matched(cache: Cache, *criteria: dict, **kwargs) -> set[int]:
    return evaluate(cache, doc(*criteria), **kwargs)[0]


def attr(node_id: str, attribute: str, operator: str, value=None, **extra) -> dict:
    node = {"id": node_id, "type": "user_attribute", "attribute": attribute, "operator": operator, **extra}
    if value is not None:
        node["value"] = value
    return node


def refused(cache: Cache, *criteria: dict, **kwargs) -> CriteriaError:
    """The compiler's refusal: a CriteriaError (a UserError), never a raw SQL or Python error."""
    with pytest.raises(CriteriaError) as caught:
        evaluate(cache, doc(*criteria), **kwargs)
    assert isinstance(caught.value, UserError) and not isinstance(caught.value, duckdb.Error)
    return caught.value


# ---------------------------------------------------------------------------------------------------
# Strings


def test_wildcards_star_and_question_mark(cache):
    stores = {1: "Store_12", 2: "store_19", 3: "Store_1", 4: "Store_123", 5: "50% Outlet Denver", 6: "Outlet"}
    build(cache, *(profile(m, user_attributes={"store": s}) for m, s in stores.items()))
    assert matched(cache, attr("q", "store", "matches", "store_1?")) == {1, 2}
    assert matched(cache, attr("s", "store", "matches", "*outlet*")) == {5, 6}
    assert matched(cache, attr("s", "store", "matches", "50% Outlet*")) == {5}
    assert matched(cache, attr("s", "store", "matches", "Store_1*")) == {1, 2, 3, 4}
    assert matched(cache, attr("s", "store", "matches", "?tore_1??")) == {4}
    assert matched(cache, attr("s", "store", "matches", "Store")) == set()  # the whole value must match
    assert matched(cache, attr("s", "store", "matches", "*")) == set(stores)


def test_matching_is_case_insensitive(cache):
    build(cache,
          profile(1, user_attributes={"tier": "Gold", "tags": ["Camping", "HIKING"]},
                  user_identities={"email": "Ada@Example.COM"}, context={"location": {"city_name": "DENVER"}},
                  events=[event("custom_event", ms(NOW - dt.timedelta(days=1)), event_name="Search",
                                custom_attributes={"query": "Big TENT"})]),
          profile(2, user_attributes={"tier": "gold", "tags": ["camping"]}, user_identities={"email": "ada@example.com"},
                  context={"location": {"city_name": "denver"}}),
          profile(3, user_attributes={"tier": "SILVER", "tags": ["running"]}, user_identities={"email": "bob@example.com"},
                  context={"location": {"city_name": "Boulder"}}))
    assert matched(cache, attr("a", "tier", "equals", "GOLD")) == {1, 2}
    assert matched(cache, attr("a", "tier", "contains", "oL")) == {1, 2}
    assert matched(cache, attr("a", "tier", "in", ["gOLD", "nothing"])) == {1, 2}
    assert matched(cache, attr("a", "tier", "not_in", ["GOLD"])) == {3}
    assert matched(cache, attr("a", "tier", "matches", "G*D")) == {1, 2}
    assert matched(cache, attr("a", "tags", "list_contains", "CAMPING")) == {1, 2}
    assert matched(cache, attr("a", "tags", "list_contains_all", ["camping", "hiking"])) == {1}
    assert matched(cache, {"id": "i", "type": "identity", "identity_type": "email", "operator": "equals",
                           "value": "ADA@example.com"}) == {1, 2}
    assert matched(cache, {"id": "l", "type": "location", "field": "city", "operator": "equals", "value": "Denver"}) == {1, 2}
    assert matched(cache, {"id": "d", "type": "device", "field": "platform", "operator": "equals", "value": "IOS"}) == {1, 2, 3}
    assert matched(cache, {"id": "e", "type": "event", "event_type": "custom_event", "event_name": "Search",
                           "conditions": [{"attribute": "query", "operator": "contains", "value": "tent"}]}) == {1}


def test_percent_underscore_and_backslash_are_literal(cache):
    values = {1: "50% Outlet", 2: "50X Outlet", 3: "Store_1", 4: "StoreX1", 5: "a\\b", 6: "aXb", 7: "100%"}
    build(cache, *(profile(m, user_attributes={"store": v}) for m, v in values.items()))
    assert matched(cache, attr("p", "store", "matches", "50% Outlet")) == {1}
    assert matched(cache, attr("p", "store", "matches", "50%*")) == {1}
    assert matched(cache, attr("p", "store", "matches", "Store_1")) == {3}
    assert matched(cache, attr("p", "store", "matches", "Store_*")) == {3}
    assert matched(cache, attr("p", "store", "matches", "a\\b")) == {5}
    assert matched(cache, attr("p", "store", "matches", "*\\*")) == {5}
    assert matched(cache, attr("p", "store", "matches", "50? Outlet")) == {1, 2}  # ? is the wildcard, not _
    assert matched(cache, attr("p", "store", "contains", "%")) == {1, 7}
    assert matched(cache, attr("p", "store", "contains", "_")) == {3}
    assert matched(cache, attr("p", "store", "equals", "store_1")) == {3}
    assert matched(cache, attr("p", "store", "not_contains", "%")) == {2, 3, 4, 5, 6}


def test_negative_operators_need_the_value(cache):
    build(cache, profile(1, user_attributes={"tier": "gold", "tags": ["a"]}), profile(2, user_attributes={"tier": "silver"}),
          profile(3))
    assert matched(cache, attr("n", "tier", "not_equals", "gold")) == {2}
    assert matched(cache, attr("n", "tier", "not_contains", "x")) == {1, 2}
    assert matched(cache, attr("n", "tier", "not_in", ["gold"])) == {2}
    assert matched(cache, attr("n", "tags", "list_not_contains", "b")) == {1}
    assert matched(cache, attr("n", "tier", "not_exists")) == {3}


# ---------------------------------------------------------------------------------------------------
# Time


def test_between_4_and_6_days_ago_at_13_00_on_9_september(cache):
    moments = {
        1: "2025-09-03 12:59", 2: "2025-09-03 12:59:59.999", 3: "2025-09-03 13:00", 4: "2025-09-04 08:00",
        5: "2025-09-05 13:00", 6: "2025-09-05 13:00:00.001", 7: "2025-09-05 13:01", 8: "2025-09-09 12:00",
    }
    build(cache, *(profile(m, events=[session(t(when))]) for m, when in moments.items()))
    node = {"id": "recent", "type": "event", "event_type": "session_start",
            "window": {"type": "between_ago", "from": 4, "to": 6, "unit": "days"}}
    members, estimate = evaluate(cache, doc(node))
    assert members == {3, 4, 5}
    assert estimate.nodes == {"recent": 3, "root": 3}
    # The same window written the other way round, and in hours.
    assert matched(cache, {**node, "window": {"type": "between_ago", "from": 6, "to": 4, "unit": "days"}}) == {3, 4, 5}
    assert matched(cache, {**node, "window": {"type": "between_ago", "from": 96, "to": 144, "unit": "hours"}}) == {3, 4, 5}
    assert matched(cache, {**node, "window": {"type": "within", "amount": 4, "unit": "days"}}) == {5, 6, 7, 8}


def test_dates_are_whole_utc_days_both_ends_included(cache):
    now = t("2025-09-12 12:00")
    moments = {
        1: "2025-09-07 23:59:59.999", 2: "2025-09-08 00:00", 3: "2025-09-08 23:59:59.999", 4: "2025-09-09 00:00",
        5: "2025-09-09 23:59:59.999", 6: "2025-09-10 00:00",
    }
    build(cache, *(profile(m, events=[session(t(when))], at=t(when)) for m, when in moments.items()))

    def window(**spec):
        return {"id": "w", "type": "event", "event_type": "session_start", "window": spec}

    assert matched(cache, window(type="before", date="2025-09-09"), now=now) == {1, 2, 3, 4, 5}
    assert matched(cache, window(type="after", date="2025-09-09"), now=now) == {4, 5, 6}
    assert matched(cache, window(type="on", date="2025-09-09"), now=now) == {4, 5}
    assert matched(cache, window(type="on", date="2025-09-08"), now=now) == {2, 3}
    assert matched(cache, window(type="between_dates", **{"from": "2025-09-08", "to": "2025-09-09"}), now=now) == {2, 3, 4, 5}
    # first_seen reads the same days (each profile was first seen at its one event)
    first = {"id": "f", "type": "first_seen", "operator": "before", "value": "2025-09-08"}
    assert matched(cache, first, now=now) == {1, 2, 3}
    assert matched(cache, {**first, "operator": "between_dates", "value": ["2025-09-09", "2025-09-09"]}, now=now) == {4, 5}


def test_date_attributes_read_as_whole_days(cache):
    signups = {1: "2025-09-09T23:59:59.999Z", 2: "2025-09-10T00:00:00Z", 3: "2025-09-09", 4: "2025-09-08T23:59:59Z"}
    build(cache, *(profile(m, user_attributes={"signup": s}) for m, s in signups.items()))
    assert matched(cache, attr("d", "signup", "before", "2025-09-09")) == {1, 3, 4}
    assert matched(cache, attr("d", "signup", "on", "2025-09-09")) == {1, 3}
    assert matched(cache, attr("d", "signup", "after", "2025-09-10")) == {2}
    assert matched(cache, attr("d", "signup", "between_dates", ["2025-09-08", "2025-09-09"])) == {1, 3, 4}
    # relative to now (13:00 on 9 September): within 24 hours is from 13:00 on the 8th
    assert matched(cache, attr("d", "signup", "within", {"amount": 24, "unit": "hours"})) == {3, 4}


def test_real_time_window_and_inputs(cache):
    build(cache,
          profile(1, events=[session(NOW - dt.timedelta(days=30))]),  # the window's first moment
          profile(2, events=[session(NOW - dt.timedelta(days=30, milliseconds=1))]),
          profile(3, events=[session(NOW + dt.timedelta(milliseconds=1))]),  # after the calculation moment
          profile(4, platform="Android", events=[session(NOW - dt.timedelta(hours=1))]),
          profile(5, events=[session(NOW - dt.timedelta(hours=1))]))
    sessions = {"id": "s", "type": "event", "event_type": "session_start"}
    assert matched(cache, sessions) == {1, 4, 5}
    assert matched(cache, sessions, inputs={1: ("iOS",)}) == {1, 5}
    assert matched(cache, sessions, realtime_days=7) == {4, 5}


# ---------------------------------------------------------------------------------------------------
# Frequency and aggregates


def test_fewer_than_3_sessions_includes_users_with_none(cache):
    recent = NOW - dt.timedelta(days=2)
    build(cache,
          profile(1),  # no sessions at all
          profile(2, events=[session(recent), session(recent)]),
          profile(3, events=[session(recent)] * 3),
          profile(4, events=[session(recent)] * 5),
          profile(5, events=[session(NOW - dt.timedelta(days=12))] * 4),  # outside the window
          profile(6, events=[event("screen_view", ms(recent), screen_name="Home")]))
    few = {"id": "few", "type": "event", "event_type": "session_start", "frequency": {"operator": "lt", "value": 3},
           "window": {"type": "within", "amount": 7, "unit": "days"}}
    members, estimate = evaluate(cache, doc(few))
    assert members == {1, 2, 5, 6}
    assert estimate.nodes["few"] == 4
    assert matched(cache, {**few, "frequency": {"operator": "eq", "value": 0}}) == {1, 5, 6}
    assert matched(cache, {**few, "frequency": {"operator": "ge", "value": 3}}) == {3, 4}
    assert matched(cache, {**few, "frequency": {"operator": "between", "value": [3, 0]}}) == {1, 2, 3, 5, 6}
    assert matched(cache, {**few, "frequency": {"operator": "lt", "value": 3}, "exclude": True}) == {3, 4}
    del few["frequency"]
    assert matched(cache, few) == {2, 3, 4}


def test_sum_of_revenue_over_100(cache):
    day = NOW - dt.timedelta(days=3)
    build(cache,
          profile(1, events=[purchase(ms(day), 60.0), purchase(ms(day), 50.0)]),  # 110
          profile(2, events=[purchase(ms(day), 100.0)]),  # exactly 100: not over
          profile(3, events=[purchase(ms(day), 100.01)]),
          profile(4, events=[add_to_cart(day, 500.0)]),  # no purchase
          profile(5),
          profile(6, events=[purchase(ms(NOW - dt.timedelta(days=40)), 500.0)]))  # out of the window
    spend = {"id": "spend", "type": "event", "event_type": "commerce_event", "product_action": "purchase",
             "aggregate": {"function": "sum", "attribute": "revenue", "operator": "gt", "value": 100},
             "window": {"type": "within", "amount": 30, "unit": "days"}}
    assert matched(cache, spend) == {1, 3}
    # a sum over no purchases is 0: "spent less than 50" includes users who bought nothing
    low = {**spend, "aggregate": {"function": "sum", "attribute": "revenue", "operator": "lt", "value": 50}}
    assert matched(cache, low) == {4, 5, 6}
    # but not when a frequency asks for at least one purchase
    assert matched(cache, {**low, "frequency": {"operator": "ge", "value": 1}}) == set()
    # avg, min and max need at least one purchase
    assert matched(cache, {**spend, "aggregate": {"function": "max", "attribute": "revenue", "operator": "lt", "value": 100}}) == {1}
    assert matched(cache, {**spend, "aggregate": {"function": "avg", "attribute": "revenue", "operator": "between", "value": [100, 55]}}) == {1, 2}


# ---------------------------------------------------------------------------------------------------
# Devices, locations, cart, consent, identities, attribution


def _devices(cache: Cache, versions: dict[int, str]) -> None:
    build(cache, *(profile(m, device={"os_version": v}, app={"application_version": v}) for m, v in versions.items()))


VERSIONS = {1: "9.3", 2: "10.1", 3: "17.4", 4: "17.4.1", 5: "10.10", 6: "9.12", 7: "2"}


def test_versions_compare_as_numbers(cache):
    _devices(cache, VERSIONS)
    build(cache, profile(8))  # no os_version

    def version(operator, value, field="os_version"):
        return {"id": "v", "type": "device", "field": field, "operator": operator, "value": value}

    assert matched(cache, version("gt", "9.3")) == {2, 3, 4, 5, 6}
    assert matched(cache, version("lt", "10.1")) == {1, 6, 7}
    assert matched(cache, version("ge", "17.4")) == {3, 4}
    assert matched(cache, version("eq", "17.4")) == {3}
    assert matched(cache, version("le", "17.4", field="app_version")) == {1, 2, 3, 5, 6, 7}
    assert matched(cache, version("ne", "9.3")) == {2, 3, 4, 5, 6, 7}
    assert matched(cache, version("contains", "17.4")) == {3, 4}  # string operators still read the text


def test_version_between(cache):
    _devices(cache, VERSIONS)
    node = {"id": "v", "type": "device", "field": "os_version", "operator": "between", "value": ["9.3", "10.1"]}
    assert matched(cache, node) == {1, 2, 6}


def test_version_between_reversed_bounds(cache):
    _devices(cache, VERSIONS)
    node = {"id": "v", "type": "device", "field": "os_version", "operator": "between", "value": ["17.4", "9.12"]}
    assert matched(cache, node) == {2, 3, 5, 6}


def test_device_rows_match_if_any_does(cache):
    build(cache, profile(1, device={"os_version": "17.4"}), profile(1, platform="Android", device={"os_version": "9.3"}),
          profile(2, device={"os_version": "17.4"}))
    assert matched(cache, {"id": "d", "type": "device", "field": "os_version", "operator": "lt", "value": "10"}) == {1}
    assert matched(cache, {"id": "d", "type": "device", "field": "platform", "operator": "not_equals", "value": "ios"}) == {1}


def _north(lat: float, lon: float, km: float) -> tuple[float, float]:
    """The point `km` due north (along a meridian) of (lat, lon)."""
    return lat + math.degrees(km / EARTH_RADIUS["km"]), lon


def test_location_within_50_km(cache):
    denver = (39.7392, -104.9903)
    points = {1: _north(*denver, 40), 2: _north(*denver, 60), 3: denver, 4: (40.01499, -105.27055),  # Boulder, ~39 km
              5: (38.8339, -104.8214)}  # Colorado Springs, ~100 km
    assert abs(haversine(*denver, *points[1], EARTH_RADIUS["km"]) - 40) < 1e-6
    build(cache, *(profile(m, context={"location": {"latitude": p[0], "longitude": p[1]}}) for m, p in points.items()),
          profile(6, context={"location": {"city_name": "Denver"}}),  # no coordinates
          profile(7))
    near = {"id": "near", "type": "location", "operator": "within", "latitude": denver[0], "longitude": denver[1],
            "radius": 50, "unit": "km"}
    assert matched(cache, near) == {1, 3, 4}
    assert matched(cache, {**near, "radius": 31.07, "unit": "mi"}) == {1, 3, 4}  # 50 km is 31.07 mi
    assert matched(cache, {**near, "radius": 37.0, "unit": "mi"}) == {1, 3, 4}  # 60 km is 37.28 mi
    assert matched(cache, {**near, "radius": 37.5, "unit": "mi"}) == {1, 2, 3, 4}
    assert matched(cache, {**near, "exclude": True}) == {2, 5, 6, 7}


def test_location_fields(cache):
    build(cache, profile(1, context={"location": {"city_name": "Denver", "region_code": "CO", "dma_code": 751, "country_code": "US"}}),
          profile(2, context={"location": {"city_name": "Newark", "region_code": "nj", "dma_code": "501", "country_code": "us"}}),
          profile(3))

    def loc(field, operator, value):
        return {"id": "l", "type": "location", "field": field, "operator": operator, "value": value}

    assert matched(cache, loc("dma", "equals", "751")) == {1}
    assert matched(cache, loc("state", "in", ["NJ", "NY"])) == {2}
    assert matched(cache, loc("country", "not_equals", "US")) == set()
    assert matched(cache, loc("city", "not_in", ["denver"])) == {2}


def test_cart_abandonment(cache):
    ago = lambda **kw: NOW - dt.timedelta(**kw)  # noqa: E731
    build(cache,
          profile(1, events=[add_to_cart(ago(days=3))]),  # abandoned
          profile(2, events=[add_to_cart(ago(days=3)), purchase(ms(ago(days=3) + dt.timedelta(hours=5)))]),  # bought within 24 h
          profile(3, events=[add_to_cart(ago(hours=2))]),  # too recent to call abandoned
          profile(4, events=[add_to_cart(ago(days=3)), purchase(ms(ago(days=3) + dt.timedelta(hours=30)))]),  # bought too late
          profile(5, events=[purchase(ms(ago(days=4))), add_to_cart(ago(days=3))]),  # the purchase came before
          profile(6, events=[add_to_cart(ago(hours=24))]),  # exactly 24 h ago: the period has passed
          profile(7, events=[add_to_cart(ago(days=3)), purchase(ms(ago(days=2)))]),  # bought exactly 24 h later
          profile(8, events=[add_to_cart(ago(days=10))]),  # outside the window
          profile(9))
    node = {"id": "cart", "type": "cart_abandonment", "window": {"type": "within", "amount": 7, "unit": "days"},
            "no_purchase_within": {"amount": 24, "unit": "hours"}}
    members, estimate = evaluate(cache, doc(node))
    assert members == {1, 4, 5, 6}
    assert matched(cache, {**node, "no_purchase_within": {"amount": 2, "unit": "days"}}) == {1, 5}


def test_consent_gdpr_and_ccpa(cache):
    def consent(gdpr=None, ccpa=None):
        state = {}
        if gdpr:
            state["gdpr"] = {p: {"consented": c, "timestamp_unixtime_ms": ms(NOW)} for p, c in gdpr.items()}
        if ccpa is not None:
            state["ccpa"] = {"data_sale_opt_out": {"consented": ccpa, "timestamp_unixtime_ms": ms(NOW)}}
        return state

    build(cache,
          profile(1, consent_state=consent(gdpr={"marketing": True})),
          profile(2, consent_state=consent(gdpr={"marketing": False})),
          profile(3),
          profile(4, consent_state=consent(gdpr={"analytics": True})),
          profile(5, consent_state=consent(ccpa=True)),
          profile(6, consent_state=consent(ccpa=False)))
    gdpr = {"id": "g", "type": "consent", "regulation": "gdpr", "purpose": "marketing", "consented": True}
    assert matched(cache, gdpr) == {1}
    assert matched(cache, {**gdpr, "consented": False}) == {2, 3, 4, 5, 6}  # no record is no consent
    ccpa = {"id": "c", "type": "consent", "regulation": "ccpa", "opted_out": True}
    assert matched(cache, ccpa) == {5}
    assert matched(cache, {**ccpa, "opted_out": False}) == {1, 2, 3, 4, 6}


def test_identities_and_attribution(cache):
    build(cache,
          profile(1, user_identities={"email": "ada@example.com"}, device={"ios_advertising_id": "AAAA"},
                  attribution_info={"publisher": "Google_Ads", "campaign": "Spring 50%", "service_provider": "AppsFlyer"}),
          profile(2, user_identities={"customer_id": "c-2"},
                  attribution_info={"publisher": "GoogleXAds", "campaign": "Spring 50X"}),
          profile(3, events=[event("uninstall", ms(NOW - dt.timedelta(days=1)))], attribution_info={"publisher": "TikTok"}))
    identity = {"id": "i", "type": "identity", "identity_type": "ios_idfa", "operator": "exists"}
    assert matched(cache, identity) == {1}
    assert matched(cache, {**identity, "operator": "not_exists"}) == {2, 3}
    assert matched(cache, {**identity, "identity_type": "email", "operator": "matches", "value": "*@EXAMPLE.com"}) == {1}
    source = {"id": "a", "type": "attribution", "kind": "install", "field": "publisher", "operator": "matches", "value": "google_*"}
    assert matched(cache, source) == {1}
    assert matched(cache, {**source, "field": "campaign", "operator": "contains", "value": "50%"}) == {1}
    assert matched(cache, {**source, "field": "service_provider", "operator": "not_exists"}) == {2, 3}
    assert matched(cache, {**source, "kind": "uninstall", "operator": "in", "value": ["tiktok"]}) == {3}


# ---------------------------------------------------------------------------------------------------
# Workspaces, groups and node counts


def test_multi_workspace_attribute_reads_the_named_workspace(cache):
    build(cache,
          (1, profile(1, user_attributes={"tier": "gold"})), (2, profile(1, user_attributes={"tier": "silver"})),
          (2, profile(2, user_attributes={"tier": "gold"})),
          (1, profile(3, user_attributes={"tier": "silver"})))
    gold = attr("gold", "tier", "equals", "gold")
    assert matched(cache, gold, workspaces=(1, 2)) == {1, 2}
    assert matched(cache, {**gold, "workspace_id": 1}, workspaces=(1, 2)) == {1}
    assert matched(cache, {**gold, "workspace_id": 2}, workspaces=(1, 2)) == {2}
    assert matched(cache, {**gold, "operator": "not_equals", "workspace_id": 2}, workspaces=(1, 2)) == {1}
    assert matched(cache, {**gold, "exclude": True, "workspace_id": 1}, workspaces=(1, 2)) == {2, 3}
    assert matched(cache, gold, workspaces=(2,)) == {2}
    error = refused(cache, {**gold, "workspace_id": 3}, workspaces=(1, 2))
    assert error.problems[0].node_id == "gold"


def test_excluded_nested_group_and_node_counts(cache):
    recent = NOW - dt.timedelta(days=1)
    build(cache,
          profile(1, events=[session(recent)], user_attributes={"tier": "gold", "vip": False}),
          profile(2, events=[session(recent)], user_attributes={"tier": "silver", "vip": True}),
          profile(3, events=[session(recent)], user_attributes={"tier": "silver", "vip": False}),
          profile(4, user_attributes={"tier": "silver"}),
          profile(5, events=[session(recent)]))
    document = doc(
        {"id": "active", "type": "event", "event_type": "session_start", "window": {"type": "within", "amount": 7, "unit": "days"}},
        {"id": "not-valued", "type": "group", "match": "any", "exclude": True, "children": [
            attr("gold", "tier", "equals", "gold"),
            attr("vip", "vip", "is_true"),
            {"id": "inner", "type": "group", "match": "all", "children": [
                attr("silver", "tier", "equals", "silver"),
                attr("no-vip", "vip", "not_exists"),
            ]},
        ]},
    )
    members, estimate = evaluate(cache, document)
    assert members == {3, 5}
    assert estimate.count == 2
    assert estimate.nodes == {"active": 4, "gold": 1, "vip": 1, "silver": 3, "no-vip": 2, "inner": 1,
                              "not-valued": 2, "root": 2}
    assert estimate.universe == 5


def test_empty_root_matches_no_one(cache):
    build(cache, profile(1), profile(2))
    members, estimate = evaluate(cache, doc())
    assert members == set() and estimate.count == 0 and estimate.nodes == {"root": 0}


# ---------------------------------------------------------------------------------------------------
# Validation: every problem a CriteriaError naming its node, never a raw SQL or Python error


@pytest.fixture
def small(cache):
    return build(cache, profile(1, user_attributes={"tier": "gold", "signup": "2025-09-01"},
                                events=[session(NOW - dt.timedelta(days=1)),
                                        event("custom_event", ms(NOW - dt.timedelta(days=1)), event_name="Search",
                                              custom_attributes={"query": "tent"})]))


def test_unknown_event_name_is_named(small):
    error = refused(small, {"id": "ev", "type": "event", "event_type": "custom_event", "event_name": "Serach"})
    assert error.problems[0].node_id == "ev" and "Serach" in str(error) and "Search" in str(error)


def test_unknown_attribute_is_named(small):
    error = refused(small, attr("ua", "tire", "equals", "gold"))
    assert error.problems[0].node_id == "ua" and "tire" in str(error)
    error = refused(small, {"id": "ev", "type": "event", "event_type": "custom_event", "event_name": "Search",
                            "conditions": [{"attribute": "qurey", "operator": "exists"}]})
    assert error.problems[0].node_id == "ev" and "qurey" in str(error)


def test_operator_not_fitting_the_type_is_named(small):
    error = refused(small, attr("ua", "tier", "gt", 3))
    assert error.problems[0].node_id == "ua" and "gt" in str(error) and "string" in str(error)
    error = refused(small, {"id": "ev", "type": "event", "event_type": "custom_event", "event_name": "Search",
                            "conditions": [{"attribute": "query", "operator": "between", "value": [1, 2]}]})
    assert error.problems[0].node_id == "ev"


def test_malformed_date_value_is_named(small):
    for value in ("2025-02-30", "9/9/2025", "2025-13-01"):
        error = refused(small, attr("ua", "signup", "before", value))
        assert error.problems[0].node_id == "ua" and value in str(error)
    error = refused(small, {"id": "fs", "type": "first_seen", "operator": "on", "value": "2025-02-30"})
    assert error.problems[0].node_id == "fs"


def test_every_problem_is_listed(small):
    error = refused(small, attr("a", "tire", "equals", "gold"), attr("b", "tier", "gt", 3),
                    {"id": "c", "type": "event", "event_type": "custom_event", "event_name": "Nope"})
    assert [p.node_id for p in error.problems] == ["a", "b", "c"]


def test_malformed_window_date_is_named(small):
    error = refused(small, {"id": "ev", "type": "event", "event_type": "session_start",
                            "window": {"type": "on", "date": "2025-02-30"}})
    assert error.problems[0].node_id == "ev"


def test_malformed_cart_window_date_is_named(small):
    error = refused(small, {"id": "cart", "type": "cart_abandonment", "window": {"type": "before", "date": "2025-02-30"},
                            "no_purchase_within": {"amount": 1, "unit": "days"}})
    assert error.problems[0].node_id == "cart"


@pytest.mark.parametrize("node", [
    {"id": "fs", "type": "first_seen", "operator": "before", "value": "9999-12-31"},
    {"id": "fs", "type": "first_seen", "operator": "within", "value": {"amount": 1_000_000, "unit": "days"}},
    {"id": "fs", "type": "event", "event_type": "session_start", "window": {"type": "within", "amount": 1_000_000, "unit": "days"}},
], ids=["date-9999-12-31", "first-seen-within-1e6-days", "window-within-1e6-days"])
def test_out_of_range_dates_are_named(small, node):
    error = refused(small, node)
    assert error.problems[0].node_id == "fs"


@pytest.mark.parametrize("comparison", [{"operator": "between", "value": 5}, {"operator": "gt", "value": "x"}])
def test_malformed_list_size_is_named(cache, comparison):
    build(cache, profile(1, user_attributes={"tags": ["a", "b"]}))
    error = refused(cache, attr("size", "tags", "list_size", comparison))
    assert error.problems[0].node_id == "size"


# ---------------------------------------------------------------------------------------------------
# Sampled estimates


def test_sampled_estimate_interval_contains_the_exact_count(tmp_path):
    sampled = [m for m in range(1, 100_000) if sample_bucket(m) < 100][:60]
    others = [m for m in range(1, 100_000) if sample_bucket(m) >= 100][:1140]
    cache = Cache(tmp_path / "c.duckdb")
    try:
        # Every third profile is gold, in the sample as in the rest.
        batches = [profile(m, user_attributes={"tier": "gold" if i % 3 == 0 else "silver"},
                           events=[session(NOW - dt.timedelta(days=i % 10 + 1))])
                   for group in (sampled, others) for i, m in enumerate(group)]
        load(cache, [SourcedBatch(1, None, b, "example", f"batch {i}") for i, b in enumerate(batches)], sample=True)
        cursor = cache.cursor()
        catalog = load_catalog(cursor)
        document = doc(attr("gold", "tier", "equals", "gold"),
                       {"id": "s", "type": "event", "event_type": "session_start",
                        "window": {"type": "within", "amount": 7, "unit": "days"}})
        scope = Scope(workspace_ids=(1,))
        exact = Estimator(cursor).estimate(document, scope=scope, catalog=catalog, now=NOW, exact=True)
        rough = Estimator(cursor).estimate(document, scope=scope, catalog=catalog, now=NOW, exact=False)
        reference = Reference(CacheData.load(cursor), (1,), NOW)
        assert exact.count == reference.evaluate(document)[0] > 0
        sample_reference = Reference(CacheData.load(cursor, prefix="sample_"), (1,), NOW)
        assert len(sample_reference.universe) == 60
        assert not rough.exact and rough.interval is not None
        low, high = rough.interval
        assert low <= exact.count <= high
        assert rough.universe == exact.universe == 1200
        # the scaled count is the sample's share of the universe
        assert rough.count == round(sample_reference.evaluate(document)[0] / 60 * 1200)
    finally:
        cache.close()


def test_cached_estimate_is_not_reused_after_an_import(tmp_path):
    cache = Cache(tmp_path / "c.duckdb")
    try:
        load(cache, [(1, batch(1))])
        estimator = Estimator(cache.cursor())
        document = {"version": 1, "root": {"id": "root", "type": "group", "match": "all", "children": [
            {"id": "all", "type": "identity", "identity_type": "email", "operator": "exists"}]}}
        moment = dt.datetime(2025, 10, 9, 12, tzinfo=dt.timezone.utc)
        first = estimator.estimate(document, scope=Scope((1,)), catalog=load_catalog(cache.cursor()), now=moment, exact=True)
        load(cache, [(1, batch(2))])
        second = estimator.estimate(document, scope=Scope((1,)), catalog=load_catalog(cache.cursor()), now=moment, exact=True)
        assert (first.count, second.count) == (1, 2)
    finally:
        cache.close()


def test_double_exclusion_counts_each_user_once(cache):
    """An excluded group holding only an excluded criterion is the criterion itself, each user once."""
    recent = NOW - dt.timedelta(days=1)
    build(cache, profile(1, events=[session(recent), session(recent)]), profile(2, events=[session(recent)]), profile(3))
    sessions = {"id": "s", "type": "event", "event_type": "session_start", "exclude": True}
    members, estimate = evaluate(cache, doc(sessions, exclude=True))
    assert members == {1, 2} and estimate.count == 2 and estimate.nodes == {"s": 1, "root": 2}
    nested = {"id": "g", "type": "group", "match": "any", "exclude": True, "children": [sessions]}
    members, estimate = evaluate(cache, doc(nested))
    assert members == {1, 2} and estimate.count == 2
