"""Small random workspaces for the compiler's property tests, loaded through the real importer.

A workspace is drawn as plain mParticle batches (`batches()`), imported with
`app.connectors.importer.import_batches` into a fresh cache, so the data the compiler reads went
through the same mapping, latest-wins merge and catalogs as a user's import.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import strategies as st

from app.connectors.cache import Cache
from app.connectors.importer import SourcedBatch, import_batches
from tests.factories import event, purchase

UTC = dt.timezone.utc
#: The moment every property test calculates at: 13:00 UTC, so midnight is 13 hours back.
NOW = dt.datetime(2025, 9, 9, 13, 0, tzinfo=UTC)
NOW_NAIVE = NOW.replace(tzinfo=None)

# Text pools: mixed case and the characters a LIKE translation could mistreat (% _ \ * ?).
STRINGS = ["Gold", "gold", "GOLD member", "Silver", "50% Outlet", "50X Outlet", "Store_1", "StoreX1",
           "back\\slash", "backXslash", "a*b", "a?b", "axb", "Café Crème", "plain text", "100%_sure", "100X-sure"]
QUERIES = ["Tent", "tent 2p", "TENTS%", "sleeping_bag", "sleepingXbag", "stove\\gas", "*star*", "what?", "Boots"]
LIST_ITEMS = ["Camping", "camping", "HIKING", "running", "50%", "a_b", "aXb", "x\\y"]
OS_VERSIONS = ["9.3", "10.1", "10.10", "17.0", "17.4", "17.4.1", "2", "17.10.0", "9.12"]
APP_VERSIONS = ["5.2.0", "5.10.1", "5.2", "6.0.0", "10.0.0", "5.9"]
MODELS = ["iPhone15,2", "Pixel 8", "SM-G991B", "iPad13,1"]
MAKERS = ["Apple", "Google", "samsung"]
CARRIERS = ["Verizon", "T-Mobile", "AT&T", "verizon wireless"]
PUBLISHERS = ["Facebook", "facebook ads", "Google_Ads", "GoogleXAds", "TikTok"]
CAMPAIGNS = ["Spring 50%", "spring_sale", "Fall*", "winter?", "Summer"]
PROVIDERS = ["AppsFlyer", "adjust", "Branch"]
CHANNELS = ["Email", "sms", "Push_Note", "PushXNote"]
SCREENS = ["Home", "Cart", "Product Detail"]
EMAILS = ["Ada@Example.com", "bob@example.com", "CAROL_1@test.io", "dave%x@test.io"]
# (city, state, zip, dma, country, latitude, longitude)
PLACES = [
    ("Denver", "CO", "80202", "751", "US", 39.7392, -104.9903),
    ("Boulder", "co", "80302", "751", "us", 40.01499, -105.27055),
    ("Colorado Springs", "CO", "80903", "752", "US", 38.8339, -104.8214),
    ("New York", "NY", "10001", "501", "US", 40.71, -74.0),
    ("Newark", "NJ", "07102", "501", "US", 40.7357, -74.1724),
    ("london", "ENG", "SW1A", None, "GB", 51.5072, -0.1276),
]
PLATFORMS = {"iOS": "IOS", "Android": "Android", "Web": "web"}
FEED = "crm"


def ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


# ---------------------------------------------------------------------------------------------------
# Strategies


def moments(days_back: int = 40) -> st.SearchStrategy[dt.datetime]:
    """Times around NOW on whole hours mostly (so window edges are hit), sometimes a ms either side."""
    return st.builds(
        lambda hours, jitter: NOW + dt.timedelta(hours=hours, milliseconds=jitter),
        st.integers(-24 * days_back, 12),
        st.sampled_from([0, 0, 0, 0, 1, -1, 60_000, -60_000, 1_800_000]),
    )


maybe = lambda strategy: st.one_of(st.none(), strategy)  # noqa: E731


@st.composite
def events_strategy(draw) -> list[dict]:
    out = []
    carts: list[int] = []
    for _ in range(draw(st.integers(0, 6))):
        at = ms(draw(moments()))
        kind = draw(st.sampled_from(["session_start", "session_start", "screen_view", "search", "search", "share",
                                     "attribution", "add_to_cart", "add_to_cart", "purchase", "purchase", "install"]))
        if kind == "session_start":
            out.append(event("session_start", at))
        elif kind == "screen_view":
            out.append(event("screen_view", at, screen_name=draw(st.sampled_from(SCREENS))))
        elif kind == "search":
            attrs = {}
            if draw(st.booleans()):
                attrs["query"] = draw(st.sampled_from(QUERIES))
            if draw(st.booleans()):
                attrs["results"] = draw(st.one_of(st.integers(0, 12), st.sampled_from([2.5, "7", "0.5"])))
            if draw(st.booleans()):
                attrs["premium"] = draw(st.sampled_from([True, False, "TRUE", "false"]))
            if draw(st.booleans()):
                attrs["searched_for"] = draw(st.sampled_from(["2025-09-01", "2025-09-08", "2025-09-09T20:00:00Z", "2025-08-20"]))
            out.append(event("custom_event", at, event_name="Search", custom_event_type="search", custom_attributes=attrs))
            if "results" in attrs and draw(st.booleans()):  # a second search, for averages and sums
                again = {**attrs, "results": draw(st.integers(0, 12))}
                out.append(event("custom_event", ms(draw(moments(days_back=10))), event_name="Search",
                                 custom_event_type="search", custom_attributes=again))
        elif kind == "share":
            attrs = {"channel": draw(st.sampled_from(CHANNELS))} if draw(st.booleans()) else {}
            out.append(event("custom_event", at, event_name="Share", custom_event_type="social", custom_attributes=attrs))
        elif kind == "attribution":
            attrs = {"network": draw(st.sampled_from(PUBLISHERS))} if draw(st.booleans()) else {}
            out.append(event("custom_event", at, event_name="attribution", custom_event_type="attribution", custom_attributes=attrs))
        elif kind == "add_to_cart":
            price = draw(st.sampled_from([5.0, 19.99, 60.0, 120.0]))
            carts.append(at)
            out.append(event("commerce_event", at, product_action={
                "action": "add_to_cart", "products": [{"id": "p1", "name": "Tent", "price": price, "quantity": 1}]}))
        elif kind == "purchase":
            for _ in range(draw(st.integers(1, 3))):  # often several, for sums, averages and frequencies
                amount = draw(st.sampled_from([0.0, 10.0, 25.5, 50.0, 100.0, 100.01, 250.0]))
                if carts and draw(st.booleans()):  # right after an add to cart, on the edge of "within 24 hours" too
                    at = draw(st.sampled_from(carts)) + draw(st.sampled_from([1, 5, 24, 24, 48, 72])) * 3_600_000
                out.append(purchase(at, amount))
                at = ms(draw(moments(days_back=10)))
        else:
            out.append(event("application_state_transition", at, application_transition_type="application_initialized",
                             is_first_run=True))
    if draw(st.integers(0, 9)) == 0:
        out.append(event("uninstall", ms(draw(moments()))))
    return out


@st.composite
def batch_strategy(draw, mpid: int) -> tuple[str | None, dict]:
    """(feed or None, batch) for one profile."""
    platform = draw(st.sampled_from(["iOS", "iOS", "Android", "Web", None]))
    at = draw(moments())
    batch: dict = {"mpid": mpid, "timestamp_unixtime_ms": ms(at), "environment": "production",
                   "events": draw(events_strategy())}
    if platform is not None:
        batch["application_info"] = {
            "os": PLATFORMS[platform],
            "application_version": draw(maybe(st.sampled_from(APP_VERSIONS))),
            "application_build_number": draw(maybe(st.sampled_from(["520", "5100", "B12"]))),
        }
        device = {"platform": platform, "os_version": draw(maybe(st.sampled_from(OS_VERSIONS))),
                  "device_model": draw(maybe(st.sampled_from(MODELS))),
                  "device_manufacturer": draw(maybe(st.sampled_from(MAKERS))),
                  "network_carrier": draw(maybe(st.sampled_from(CARRIERS)))}
        if platform == "iOS" and draw(st.booleans()):
            device["ios_advertising_id"] = draw(st.sampled_from(["AAAA-1111", "aaaa-2222", "BBBB_3333"]))
        if platform == "Android" and draw(st.booleans()):
            device["android_advertising_id"] = draw(st.sampled_from(["gaid-1", "GAID-2", "gaid%3"]))
        batch["device_info"] = device
    identities = {}
    if draw(st.booleans()):
        identities["email"] = draw(st.sampled_from(EMAILS))
    if draw(st.booleans()):
        identities["customer_id"] = f"C-{mpid % 1000}"
    if platform is None and not identities:
        identities["customer_id"] = f"C-{mpid % 1000}"
    batch["user_identities"] = identities
    attributes = {}
    if draw(st.booleans()):
        attributes["tier"] = draw(st.sampled_from(STRINGS))
    if draw(st.booleans()):
        attributes["age"] = draw(st.one_of(st.integers(16, 70), st.sampled_from([17.5, "42", 0, -1])))
    if draw(st.booleans()):
        attributes["signup"] = draw(st.sampled_from(["2025-09-01", "2025-09-04", "2025-09-08", "2025-09-09",
                                                     "2025-09-09T23:59:59Z", "2025-09-05T13:00:00Z", "2025-07-15"]))
    if draw(st.booleans()):
        attributes["vip"] = draw(st.sampled_from([True, False, "true", "FALSE"]))
    if draw(st.booleans()):
        attributes["tags"] = draw(st.lists(st.sampled_from(LIST_ITEMS), max_size=4))
    if attributes:
        batch["user_attributes"] = attributes
    if draw(st.booleans()):
        consent: dict = {}
        gdpr = {p: {"consented": draw(st.booleans()), "timestamp_unixtime_ms": ms(at)}
                for p in draw(st.lists(st.sampled_from(["marketing", "analytics"]), unique=True, max_size=2))}
        if gdpr:
            consent["gdpr"] = gdpr
        if draw(st.booleans()):
            consent["ccpa"] = {"data_sale_opt_out": {"consented": draw(st.booleans()), "timestamp_unixtime_ms": ms(at)}}
        batch["consent_state"] = consent
    if draw(st.booleans()):
        city, state, zip_code, dma, country, lat, lon = draw(st.sampled_from(PLACES))
        location = {"city_name": city, "region_code": state, "postal_code": zip_code, "country_code": country}
        if dma is not None:
            location["dma_code"] = int(dma) if draw(st.booleans()) else dma
        if draw(st.integers(0, 5)):
            # up to ~0.5 degree away: some in and some out of a 50 km circle
            location["latitude"] = round(lat + draw(st.integers(-50, 50)) / 100, 5)
            location["longitude"] = round(lon + draw(st.integers(-50, 50)) / 100, 5)
        batch["context"] = {"location": location}
    if draw(st.integers(0, 2)) == 0:
        batch["attribution_info"] = {"service_provider": draw(maybe(st.sampled_from(PROVIDERS))),
                                     "publisher": draw(maybe(st.sampled_from(PUBLISHERS))),
                                     "campaign": draw(maybe(st.sampled_from(CAMPAIGNS)))}
    return (FEED if platform is None else None), batch


class Batches(list):
    """A list of SourcedBatch with a short repr (Hypothesis prints every draw of a failing example)."""

    def __repr__(self) -> str:
        profiles = {(b.workspace_id, b.batch["mpid"]) for b in self}
        events = sum(len(b.batch.get("events") or ()) for b in self)
        return f"<{len(self)} batches: {len(profiles)} profiles in workspaces 1-2, {events} events>"


@st.composite
def workspace_batches(draw, min_profiles: int = 5, max_profiles: int = 40) -> Batches:
    """Batches for 5-40 profiles spread over workspaces 1 and 2 (some in both)."""
    count = draw(st.integers(min_profiles, max_profiles))
    mpids = draw(st.lists(st.integers(1, 2**62), min_size=count, max_size=count, unique=True))
    out = Batches()
    for index, mpid in enumerate(mpids):
        workspaces = [1] if index == 0 else draw(st.sampled_from([[1], [1], [1], [2], [1, 2]]))
        for ws in workspaces:
            for _ in range(draw(st.integers(1, 2))):
                feed, batch = draw(batch_strategy(mpid))
                out.append(SourcedBatch(ws, feed, batch, "hypothesis", f"batch {len(out) + 1}"))
    return out


# ---------------------------------------------------------------------------------------------------


def load(cache: Cache, batches: list[SourcedBatch | tuple[int, dict]], *, sample: bool = False) -> Cache:
    """Import batches (SourcedBatch, or (workspace_id, batch) pairs) through the real importer."""
    items = [b if isinstance(b, SourcedBatch) else SourcedBatch(b[0], None, b[1], "test", f"batch {i + 1}")
             for i, b in enumerate(batches)]
    import_batches(cache, items, source="test")
    if sample:
        cache.refresh_catalogs()  # the importer already did; kept explicit for the sampled tests
    return cache


def new_cache(path: Path | str = ":memory:") -> Cache:
    return Cache(path)
