"""Deterministic generator of realistic mParticle Events API batches for the "Harbor & Pine" demo workspaces."""

from __future__ import annotations

import bisect
import dataclasses
import heapq
import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

__all__ = ["CRM_FEED", "DemoBatch", "WORKSPACES", "estimated_events", "generate"]

WORKSPACES: tuple[str, ...] = ("Harbor & Pine US", "Harbor & Pine EU")
US_WORKSPACE, EU_WORKSPACE = WORKSPACES
CRM_FEED = "CRM"


@dataclass(frozen=True, slots=True)
class DemoBatch:
    """One mParticle batch and where it arrives: a workspace, and the CRM feed or (None) the app platform.

    Treat `batch` as read-only: profile-level parts (device_info, application_info, user_identities,
    consent_state, context, attribution_info) are shared between the batches of one profile.
    """

    workspace: str
    feed: str | None
    batch: dict


MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000

# --------------------------------------------------------------------------------------------------------------
# Model parameters. estimated_events() derives its figure from these, so change them together.
# --------------------------------------------------------------------------------------------------------------

SHARE_US_ONLY = 0.85
SHARE_EU_ONLY = 0.10  # the rest is in both workspaces
SHARE_NEW_USERS = 0.55  # first seen inside the window (these install the app); the rest were users before it
SHARE_CHURNING = 0.35
CHURN_MEAN_DAYS = 12.0
# Sessions per active day follow a log-normal law: most users come back rarely, a few come every day.
RATE_LOG_MEAN = math.log(0.036)
RATE_LOG_SIGMA = 1.25
# Events between session_start and session_end: floor of an exponential, mean 1 / (e^(1/3.7) - 1) ≈ 3.22.
INNER_EVENTS_SCALE = 3.7
SHARE_SECOND_DEVICE = 0.12
MAX_BATCH_EVENTS = 30
# Extra events per session (purchase funnels, upgrades, installs, uninstalls...), measured on the model.
EXTRA_EVENTS_PER_SESSION = 0.32
EXTRA_EVENTS_PER_PROFILE = 0.65

# --------------------------------------------------------------------------------------------------------------
# Reference data
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _City:
    name: str
    latitude: float
    longitude: float
    region_code: str
    postal_code: str
    dma_code: int | None
    country_code: str
    state_name: str


_US_CITIES = (
    _City("New York", 40.7128, -74.0060, "NY", "10001", 501, "US", "New York"),
    _City("Los Angeles", 34.0522, -118.2437, "CA", "90012", 803, "US", "California"),
    _City("Chicago", 41.8781, -87.6298, "IL", "60601", 602, "US", "Illinois"),
    _City("Seattle", 47.6062, -122.3321, "WA", "98101", 819, "US", "Washington"),
    _City("Denver", 39.7392, -104.9903, "CO", "80202", 751, "US", "Colorado"),
    _City("Austin", 30.2672, -97.7431, "TX", "78701", 635, "US", "Texas"),
    _City("Boston", 42.3601, -71.0589, "MA", "02108", 506, "US", "Massachusetts"),
    _City("Portland", 45.5152, -122.6784, "OR", "97204", 820, "US", "Oregon"),
    _City("San Francisco", 37.7749, -122.4194, "CA", "94103", 807, "US", "California"),
    _City("Miami", 25.7617, -80.1918, "FL", "33130", 528, "US", "Florida"),
    _City("Salt Lake City", 40.7608, -111.8910, "UT", "84101", 770, "US", "Utah"),
    _City("Minneapolis", 44.9778, -93.2650, "MN", "55401", 613, "US", "Minnesota"),
    _City("Atlanta", 33.7490, -84.3880, "GA", "30303", 524, "US", "Georgia"),
    _City("Phoenix", 33.4484, -112.0740, "AZ", "85004", 753, "US", "Arizona"),
    _City("Boulder", 40.0150, -105.2705, "CO", "80302", 751, "US", "Colorado"),
)
# Bigger markets get more users.
_US_CITY_WEIGHTS = (14, 10, 8, 9, 8, 6, 6, 7, 7, 5, 4, 4, 5, 4, 3)

_EU_CITIES = (
    _City("London", 51.5074, -0.1278, "ENG", "EC1A 1BB", None, "GB", "England"),
    _City("Manchester", 53.4808, -2.2426, "ENG", "M1 1AE", None, "GB", "England"),
    _City("Paris", 48.8566, 2.3522, "IDF", "75001", None, "FR", "Île-de-France"),
    _City("Lyon", 45.7640, 4.8357, "ARA", "69001", None, "FR", "Auvergne-Rhône-Alpes"),
    _City("Berlin", 52.5200, 13.4050, "BE", "10115", None, "DE", "Berlin"),
    _City("München", 48.1351, 11.5820, "BY", "80331", None, "DE", "Bayern"),
    _City("Madrid", 40.4168, -3.7038, "MD", "28013", None, "ES", "Comunidad de Madrid"),
    _City("Barcelona", 41.3874, 2.1686, "CT", "08002", None, "ES", "Cataluña"),
    _City("Amsterdam", 52.3676, 4.9041, "NH", "1012 JS", None, "NL", "Noord-Holland"),
    _City("Dublin", 53.3498, -6.2603, "D", "D02 X285", None, "IE", "Dublin"),
    _City("Milan", 45.4642, 9.1900, "25", "20121", None, "IT", "Lombardia"),
)
_EU_CITY_WEIGHTS = (14, 5, 10, 4, 9, 6, 7, 6, 6, 5, 5)

_LANGUAGE = {"US": "en", "GB": "en", "IE": "en", "FR": "fr", "DE": "de", "ES": "es", "NL": "nl", "IT": "it"}
_PHONE_PREFIX = {"GB": "+447", "IE": "+3538", "FR": "+336", "DE": "+4915", "ES": "+346", "NL": "+316", "IT": "+393"}
_US_AREA_CODES = ("212", "310", "312", "206", "303", "512", "617", "503", "415", "305", "801", "612", "404", "602")

_FIRST_NAMES_F = ("Emma", "Olivia", "Ava", "Sophia", "Mia", "Harper", "Ella", "Grace", "Chloe", "Zoe", "Léa",
                  "Hannah", "Lucía", "Sofia", "Aoife", "Giulia", "Maya", "Nora", "Ingrid", "Amélie")
_FIRST_NAMES_M = ("Liam", "Noah", "Oliver", "James", "Lucas", "Mason", "Ethan", "Logan", "Owen", "Caleb", "Hugo",
                  "Leon", "Mateo", "Finn", "Luca", "Jonas", "Diego", "Daniel", "Jack", "Théo")
_LAST_NAMES = ("Smith", "Johnson", "Williams", "Brown", "Garcia", "Miller", "Davis", "Martinez", "Anderson",
               "Taylor", "Thomas", "Moore", "Martin", "Lee", "Walker", "Young", "Hill", "Murphy", "Schmidt",
               "Müller", "Dubois", "Rossi", "Fernández", "de Vries", "O'Brien", "Kelly", "Nguyen", "Patel",
               "Larsen", "Bianchi")
_FREE_MAIL = ("gmail.com", "gmail.com", "gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com")
_EU_MAIL = ("gmail.com", "gmail.com", "outlook.com", "gmx.de", "orange.fr", "yahoo.co.uk", "icloud.com")
_COMPANY_MAIL = ("acme-corp.com", "northwind.io", "contoso.com", "globex.net", "initech.com", "umbrella.co")

_CATEGORIES = ("camping", "hiking", "climbing", "apparel", "footwear", "water sports", "cycling", "fishing",
               "snow sports", "travel")
_LOYALTY_TIERS = ("bronze", "silver", "gold", "platinum")
_US_STORES = ("Store_12", "Store_7", "Store_31", "Seattle Flagship", "Portland Pearl District", "50% Outlet",
              "Denver_Outlet", "Boston Back Bay", "Outlet 100% Off-Price", "Store\\Annex 3",
              "Austin_South_Congress", "SLC Trailhead")
_EU_STORES = ("London Covent Garden", "Berlin_Mitte", "Paris 20% Outlet", "Store_101", "Dublin Docklands",
              "Amsterdam\\Noord")

# (id, name, brand, category, price in USD)
_PRODUCTS = (
    ("HP-TNT-2P", "Ridgeline 2P Tent", "Harbor & Pine", "camping", 289.0),
    ("HP-TNT-4P", "Basecamp 4P Tent", "Harbor & Pine", "camping", 429.0),
    ("NR-SLB-15", "Alpine 15°F Sleeping Bag", "Northridge", "camping", 199.95),
    ("NR-PAD-UL", "Ultralight Sleeping Pad", "Northridge", "camping", 129.0),
    ("SS-STV-01", "Pocket Camp Stove", "Summit Supply Co.", "camping", 49.95),
    ("SS-LNT-02", "Rechargeable Lantern", "Summit Supply Co.", "camping", 39.0),
    ("SS-FLT-01", "Squeeze Water Filter", "Summit Supply Co.", "camping", 34.95),
    ("TC-HDL-400", "400-Lumen Headlamp", "TrailCraft", "camping", 44.0),
    ("HP-BPK-40", "Traverse 40L Backpack", "Harbor & Pine", "hiking", 179.0),
    ("HP-BPK-22", "Daytrip 22L Pack", "Harbor & Pine", "hiking", 89.0),
    ("TC-POL-CF", "Carbon Trekking Poles", "TrailCraft", "hiking", 139.0),
    ("TC-HYD-2L", "2L Hydration Reservoir", "TrailCraft", "hiking", 36.5),
    ("CO-BTW-W", "Women's Summit Hiking Boot", "Cascade Outfitters", "footwear", 189.0),
    ("CO-BTM-M", "Men's Summit Hiking Boot", "Cascade Outfitters", "footwear", 189.0),
    ("CO-TRS-01", "Trail Runner GTX", "Cascade Outfitters", "footwear", 149.0),
    ("HP-SCK-MR", "Merino Hiking Socks", "Harbor & Pine", "apparel", 18.0),
    ("HP-JKT-RN", "Stormline Rain Jacket", "Harbor & Pine", "apparel", 169.0),
    ("HP-JKT-DN", "Featherlite Down Jacket", "Harbor & Pine", "apparel", 229.0),
    ("BF-FLC-01", "Harbor Fleece Pullover", "Blue Fjord", "apparel", 79.0),
    ("BF-BSL-01", "Merino Base Layer Top", "Blue Fjord", "apparel", 69.0),
    ("HP-CAP-01", "Harbor & Pine Logo Cap", "Harbor & Pine", "apparel", 24.0),
    ("NR-HRN-01", "Crux Climbing Harness", "Northridge", "climbing", 74.95),
    ("NR-SHO-01", "Edge Climbing Shoes", "Northridge", "climbing", 129.0),
    ("NR-CHK-01", "Chalk Bag", "Northridge", "climbing", 22.0),
    ("NR-ROP-60", "Dynamic Rope 60m", "Northridge", "climbing", 219.0),
    ("BF-DRY-20", "20L Dry Bag", "Blue Fjord", "water sports", 29.95),
    ("BF-PFD-01", "Touring PFD", "Blue Fjord", "water sports", 119.0),
    ("BF-PDL-01", "Carbon Kayak Paddle", "Blue Fjord", "water sports", 249.0),
    ("TC-HLM-01", "Gravel Bike Helmet", "TrailCraft", "cycling", 99.0),
    ("TC-LGT-01", "Bike Light Set", "TrailCraft", "cycling", 54.0),
    ("SS-ROD-01", "Telescopic Fishing Rod", "Summit Supply Co.", "fishing", 84.0),
    ("SS-TCK-01", "Tackle Box Kit", "Summit Supply Co.", "fishing", 32.0),
    ("CO-SNW-01", "Backcountry Snowshoes", "Cascade Outfitters", "snow sports", 189.0),
    ("CO-GLV-01", "Insulated Gloves", "Cascade Outfitters", "snow sports", 49.0),
    ("HP-TRV-01", "Packable Travel Duffel", "Harbor & Pine", "travel", 99.0),
)
_EUR_PER_USD = 0.92

_SCREENS = ("Home",) * 30 + ("Search Results",) * 14 + ("Product Detail",) * 22 + ("Cart",) * 8 + (
    "Account",) * 7 + ("Store Locator",) * 4 + ("Wishlist",) * 5 + ("Trail Guides",) * 5 + ("Checkout",) * 2
_SEARCH_QUERIES = ("tent", "2 person tent", "rain jacket", "hiking boots women", "trail running shoes",
                   "sleeping bag", "headlamp", "kayak paddle", "camp stove", "merino socks", "backpack 40l",
                   "water filter", "gore-tex jacket", "climbing harness", "snowshoes", "bike helmet",
                   "fishing rod", "down jacket", "trekking poles", "dry bag", "gift card", "Ridgeline")
_VIDEOS = (("Pitching the Ridgeline 2P in 3 minutes", 180.0), ("Layering 101", 420.0),
           ("Boot fitting guide", 305.0), ("Leave No Trace basics", 240.0),
           ("Spring hiking gear checklist", 510.0), ("Kayak safety essentials", 366.0))
_CAMPAIGNS = ("spring_hiking_2026", "trail_ready_sale", "camp_season_launch", "brand_always_on", "retarget_cart")
_PUBLISHERS = (("Facebook Ads", 30), ("Google Ads", 25), ("TikTok", 15), ("Apple Search Ads", 10), ("Organic", 20))
_ATTRIBUTION_PROVIDERS = ("AppsFlyer", "Adjust", "Branch")

# (model, manufacturer, brand, screen width, screen height)
_IOS_DEVICES = (("iPhone15,2", 1179, 2556), ("iPhone15,4", 1179, 2556), ("iPhone16,1", 1179, 2556),
                ("iPhone16,2", 1290, 2796), ("iPhone14,5", 1170, 2532), ("iPhone14,7", 1170, 2532),
                ("iPhone17,1", 1206, 2622), ("iPhone12,1", 828, 1792), ("iPhone13,2", 1170, 2532))
_ANDROID_DEVICES = (("Pixel 8", "Google", "google", 1080, 2400), ("Pixel 7a", "Google", "google", 1080, 2400),
                    ("SM-S918B", "samsung", "samsung", 1440, 3088), ("SM-A546B", "samsung", "samsung", 1080, 2340),
                    ("SM-G991U", "samsung", "samsung", 1080, 2400), ("moto g power 5G", "motorola", "motorola",
                                                                     1080, 2400),
                    ("CPH2449", "OnePlus", "OnePlus", 1440, 3216), ("2201117TG", "Xiaomi", "Redmi", 1080, 2400))
# Mixed lengths and a two-digit major make version-aware comparison matter ("9" < "10", "16.7.8" < "16.7.10").
_IOS_VERSIONS = (("18.3.1", 18), ("18.2", 14), ("17.7.2", 12), ("17.4.1", 10), ("17.5", 6), ("16.7.10", 6),
                 ("16.7.8", 4), ("15.8.3", 2), ("9.3.5", 1))
_ANDROID_VERSIONS = (("15", 14), ("14", 24), ("13", 18), ("12", 10), ("11", 7), ("10", 5), ("9", 3), ("8.1.0", 2))
_US_CARRIERS = ("Verizon", "AT&T", "T-Mobile", "Verizon", "AT&T", "T-Mobile", "US Cellular")
_EU_CARRIERS = {"GB": ("Vodafone", "EE", "O2"), "IE": ("Vodafone", "Three"), "FR": ("Orange", "SFR"),
                "DE": ("Telekom.de", "Vodafone", "O2"), "ES": ("Movistar", "Orange"), "NL": ("KPN", "Vodafone"),
                "IT": ("TIM", "Vodafone")}
_BROWSERS = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
             "Version/17.4 Safari/605.1.15",
             "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/124.0.0.0 Safari/537.36",
             "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
             "Version/17.4 Mobile/15E148 Safari/604.1",
             "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
             "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/124.0.0.0 Mobile Safari/537.36")

# (version, build, days before `end` it was released, crash multiplier). 6.0.0 shipped a crashing checkout.
_APP_VERSIONS = (("5.9.4", "5094", 160, 1.0), ("5.10.0", "5100", 95, 1.0), ("5.10.2", "5102", 48, 1.0),
                 ("6.0.0", "6000", 21, 10.0), ("6.0.1", "6001", 9, 1.0))
_PACKAGES = {"iOS": "com.harborandpine.app", "Android": "com.harborandpine.android"}
_APP_OS = {"iOS": "IOS", "Android": "Android"}

_CRASHES = {
    "iOS": (("HPCheckoutViewController", "Fatal error: Unexpectedly found nil while unwrapping an Optional value"),
            ("NSInternalInconsistencyException", "Invalid update: invalid number of rows in section 0"),
            ("HPImageLoader", "EXC_BAD_ACCESS (SIGSEGV)")),
    "Android": (("com.harborandpine.android.cart.CartFragment",
                 "java.lang.NullPointerException: Attempt to invoke virtual method on a null object reference"),
                ("com.harborandpine.android.media.ImageCache", "java.lang.OutOfMemoryError: Failed to allocate"),
                ("com.harborandpine.android.search.SearchAdapter",
                 "java.lang.IndexOutOfBoundsException: Index: 3, Size: 3")),
}

# Hour-of-day activity in local time: quiet nights, a lunch bump, evening peak.
_HOUR_WEIGHTS = (0.25, 0.15, 0.10, 0.08, 0.08, 0.12, 0.30, 0.55, 0.70, 0.75, 0.80, 0.90,
                 1.00, 0.95, 0.85, 0.85, 0.95, 1.15, 1.40, 1.65, 1.75, 1.55, 1.05, 0.55)
# Monday first; an outdoor retailer is busiest at weekends.
_WEEKDAY_WEIGHTS = (0.90, 0.88, 0.90, 0.95, 1.05, 1.30, 1.25)
_UTC_OFFSET_HOURS = {"US": -6, "EU": 1}


# --------------------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------------------


def _uuid4(bits: int) -> str:
    """str(uuid.UUID(int=bits, version=4)), formatted directly because the UUID class is slow in hot loops."""
    h = (bits & _UUID_CLEAR | _UUID_SET).to_bytes(16).hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# The version (4) and variant (RFC 4122) bits, as uuid.UUID(version=4) sets them.
_UUID_CLEAR = ~((0xC000 << 48) | (0xF000 << 64)) & ((1 << 128) - 1)
_UUID_SET = (0x8000 << 48) | (0x4000 << 64)


def _weighted(pairs: Sequence[tuple[Any, float]], size: int = 1000) -> tuple:
    """A lookup table of exactly `size` slots where each value fills its share: picking is one index."""
    total = sum(w for _, w in pairs)
    table: list = []
    cumulative = 0.0
    for value, weight in pairs:
        cumulative += weight
        table.extend([value] * (round(size * cumulative / total) - len(table)))
    return tuple(table)


def _pick(rnd: Callable[[], float], seq: Sequence) -> Any:
    return seq[int(rnd() * len(seq))]


@lru_cache(maxsize=8192)
def _date_of_day(day: int) -> str:
    return date.fromordinal(_EPOCH_ORDINAL + day).isoformat()


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _iso_date(ms: int) -> str:
    return _date_of_day(ms // DAY_MS)


def _iso_datetime(ms: int) -> str:
    seconds = ms // 1000 % 86_400
    return f"{_date_of_day(ms // DAY_MS)}T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}Z"


def _mpid_for(index: int, key: int) -> int:
    """A signed 64-bit id unique per index: a keyed bijection of 64-bit integers, so no set of used ids is kept."""
    mask = (1 << 64) - 1
    x = (index * 0x9E3779B97F4A7C15 + key) & mask
    x ^= x >> 31
    x = (x * 0xBF58476D1CE4E5B9) & mask
    x ^= x >> 29
    return x - (1 << 64) if x >= 1 << 63 else x


def _customer_id(index: int) -> str:
    # 7919 is prime to 10^8, so distinct indexes below 10^8 get distinct ids.
    return f"HP{(index * 7_919 + 1_000_003) % 100_000_000:08d}"


# --------------------------------------------------------------------------------------------------------------
# Time: when in the window users are active
# --------------------------------------------------------------------------------------------------------------


class _Clock:
    """Samples instants with weekly and daily seasonality (a piecewise-uniform density over hours)."""

    def __init__(self, start_ms: int, end_ms: int, utc_offset_hours: int, promo_day_ms: int) -> None:
        self.start_ms = start_ms
        self.end_ms = end_ms
        slots = -(-(end_ms - start_ms) // HOUR_MS)
        first_hour = datetime.fromtimestamp(start_ms / 1000, UTC)
        weights = []
        for i in range(slots):
            local = first_hour + timedelta(hours=i + utc_offset_hours)
            weight = _HOUR_WEIGHTS[local.hour] * _WEEKDAY_WEIGHTS[local.weekday()]
            # A one-day spring sale shows up as a spike in the charts.
            if promo_day_ms <= start_ms + i * HOUR_MS < promo_day_ms + DAY_MS:
                weight *= 1.8
            weights.append(weight)
        self.weights = weights
        self.cumulative = [0.0]
        for weight in weights:
            self.cumulative.append(self.cumulative[-1] + weight)

    def _position(self, ms: int) -> float:
        if ms >= self.end_ms:
            return self.cumulative[-1]
        x = (ms - self.start_ms) / HOUR_MS
        i = min(int(x), len(self.weights) - 1)
        return self.cumulative[i] + self.weights[i] * (x - i)

    def sample(self, rnd: Callable[[], float], a_ms: int, b_ms: int, n: int = 1) -> list[int]:
        """n instants in [a_ms, b_ms], sorted, distributed like the activity between them."""
        lo = self._position(a_ms) if a_ms > self.start_ms else 0.0
        span = self._position(b_ms) - lo
        cumulative, weights, start_ms = self.cumulative, self.weights, self.start_ms
        last = len(weights) - 1
        out = []
        for _ in range(n):
            target = lo + rnd() * span
            i = bisect.bisect_right(cumulative, target) - 1
            if i > last:
                i = last
            out.append(start_ms + int((i + (target - cumulative[i]) / weights[i]) * HOUR_MS))
        out.sort()
        # Rounding can step a hair outside the span.
        out[0] = max(out[0], a_ms)
        out[-1] = min(out[-1], b_ms)
        return out


# --------------------------------------------------------------------------------------------------------------
# Profiles
# --------------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Device:
    workspace: str
    platform: str  # "iOS", "Android" or "web"
    info: dict  # device_info as sent; never mutated once built, so batches share it
    mp_deviceid: str
    ip: str
    update_lag_ms: int  # how long after a release this user installs it
    context: dict  # batch context: data plan and location
    version: int  # index in _APP_VERSIONS last reported; -1 before the app is seen in the window
    app_info: dict  # application_info of that version
    upgrade_at_ms: int  # from when this user has the next release (checking is cheaper than looking it up)
    installs_in_window: bool


@dataclass(slots=True)
class _Profile:
    index: int
    mpid: int
    region: str  # "US" or "EU": currency, stores, carriers
    devices: list[_Device]
    identities: dict[str, str]
    hidden: dict[str, tuple[str, ...]]  # workspace -> identity types not known there
    visible: dict[str, dict]  # workspace -> user_identities as sent there (replaced on change, never mutated)
    attributes: dict[str, Any]
    location: dict | None
    consent: dict[str, dict]  # workspace -> consent_state (replaced on change, never mutated)
    buy_rate: float  # chance that a cart ends in a purchase
    start_ms: int
    stop_ms: int
    is_new: bool
    in_crm: bool
    attribution: dict | None
    sessions: int


@dataclass
class _World:
    """Everything fixed for one run: the window, the clocks, releases, device templates."""

    start_ms: int
    end_ms: int
    clocks: dict[str, _Clock]
    release_ms: tuple[int, ...]
    mpid_key: int
    app_infos: tuple[dict[str, dict], ...]  # per release: platform -> application_info
    device_templates: dict[tuple[str, str], tuple[dict, ...]]  # (platform, country) -> device_info without ids
    activity: float = 1.0  # multiplies every profile's session rate (benchmarks need denser worlds)


_DATA_PLAN = {"plan_id": "harbor_pine_core", "plan_version": 3}
_NO_CONTEXT = {"data_plan": _DATA_PLAN}
_WEB_APP_INFO = {"application_name": "Harbor & Pine"}
# Device models, OS versions and carriers are drawn once per run into this many templates per platform and
# country; a device copies one and adds its own identifiers. Cheaper than drawing every field per profile.
_TEMPLATES_PER_KIND = 96


def _make_world(rng: random.Random, end_ms: int, days: int) -> _World:
    start_ms = end_ms - days * DAY_MS
    promo_day_ms = end_ms - min(days, 12) * DAY_MS
    clocks = {region: _Clock(start_ms, end_ms, offset, promo_day_ms) for region, offset in _UTC_OFFSET_HOURS.items()}
    release_ms = tuple(end_ms - d * DAY_MS for _, _, d, _ in _APP_VERSIONS)
    app_infos = tuple(
        {platform: {"application_name": "Harbor & Pine", "application_version": version,
                    "application_build_number": build, "package": _PACKAGES[platform], "os": _APP_OS[platform]}
         for platform in ("iOS", "Android")}
        for version, build, _, _ in _APP_VERSIONS)
    templates = {(platform, country): tuple(_device_template(rng.random, platform, country)
                                            for _ in range(_TEMPLATES_PER_KIND))
                 for country in _LANGUAGE for platform in ("iOS", "Android", "web")}
    return _World(start_ms, end_ms, clocks, release_ms, rng.getrandbits(64), app_infos, templates)


def _release_at(world: _World, ms: int) -> int:
    """Index in _APP_VERSIONS of the newest release out at `ms` (the oldest one for earlier instants)."""
    return max(bisect.bisect_right(world.release_ms, ms) - 1, 0)


def _set_version(world: _World, device: _Device, version: int) -> None:
    device.version = version
    device.app_info = world.app_infos[version][device.platform]
    following = version + 1
    device.upgrade_at_ms = (world.release_ms[following] + device.update_lag_ms if following < len(world.release_ms)
                            else 1 << 62)


_IOS_OS_TABLE = _weighted(_IOS_VERSIONS)
_ANDROID_OS_TABLE = _weighted(_ANDROID_VERSIONS)
_PUBLISHER_TABLE = _weighted(_PUBLISHERS)
_US_CITY_TABLE = _weighted(tuple(zip(_US_CITIES, _US_CITY_WEIGHTS)))
_EU_CITY_TABLE = _weighted(tuple(zip(_EU_CITIES, _EU_CITY_WEIGHTS)))
# Ages skew to 25-45; ratings skew high, as app store ratings do.
_AGE_TABLE = _weighted([(age, math.exp(-((age - 36) / 13) ** 2)) for age in range(18, 80)])
_RATING_TABLE = _weighted(((1, 6), (2, 5), (3, 12), (4, 30), (5, 47)))
_TIER_TABLE = _weighted((("bronze", 5), ("silver", 3), ("gold", 2), ("platinum", 1)))
# 45 % iOS, 35 % Android, 20 % web.
_PLATFORM_TABLE = ("iOS",) * 9 + ("Android",) * 7 + ("web",) * 4


def _device_template(rnd: Callable[[], float], platform: str, country: str) -> dict[str, Any]:
    """device_info of one kind of device, without the identifiers unique to a device."""
    info: dict[str, Any] = {"platform": platform}
    if platform == "iOS":
        model, width, height = _pick(rnd, _IOS_DEVICES)
        tracking = rnd() < 0.70  # App Tracking Transparency: IDFA only when the user allowed it
        status = "authorized" if tracking else "denied" if rnd() < 0.8 else "not_determined"
        info |= {"device_manufacturer": "Apple", "brand": "Apple", "device_model": model,
                 "os_version": _pick(rnd, _IOS_OS_TABLE), "screen_width": width, "screen_height": height,
                 "att_authorization_status": status, "limit_ad_tracking": not tracking}
    elif platform == "Android":
        model, manufacturer, brand, width, height = _pick(rnd, _ANDROID_DEVICES)
        info |= {"device_manufacturer": manufacturer, "brand": brand, "device_model": model,
                 "os_version": _pick(rnd, _ANDROID_OS_TABLE), "screen_width": width, "screen_height": height,
                 "limit_ad_tracking": rnd() < 0.20}
    else:
        info["http_header_user_agent"] = _pick(rnd, _BROWSERS)
    if platform != "web":
        info["network_carrier"] = _pick(rnd, _US_CARRIERS if country == "US" else _EU_CARRIERS[country])
        info["is_tablet"] = False
    offset = -4 - int(rnd() * 4) if country == "US" else 0 if country in ("GB", "IE") else 1
    info |= {"locale_country": country, "locale_language": _LANGUAGE[country], "device_country": country,
             "timezone_offset": offset}
    return info


def _make_device(rng: random.Random, world: _World, workspace: str, platform: str, country: str) -> _Device:
    rnd = rng.random
    bits = rng.getrandbits
    info = _pick(rnd, world.device_templates[(platform, country)]).copy()
    if platform == "iOS":
        info["ios_idfv"] = _uuid4(bits(128))
        if not info["limit_ad_tracking"]:
            info["ios_advertising_id"] = _uuid4(bits(128))
    elif platform == "Android":
        info["android_uuid"] = "%016x" % bits(64)
        if not info["limit_ad_tracking"]:
            info["android_advertising_id"] = _uuid4(bits(128))
    if platform != "web" and rnd() < 0.40:
        info["push_token"] = "%064x" % bits(256)
    ip = bits(32)
    ip = f"{ip % 200 + 23}.{ip >> 8 & 255}.{ip >> 16 & 255}.{(ip >> 24) % 254 + 1}"
    # Most users update within days of a release; a few never do within the window.
    lag_days = -6.0 * math.log(1.0 - rnd()) if rnd() < 0.9 else 400.0
    return _Device(workspace, platform, info, _uuid4(bits(128)), ip, int(lag_days * DAY_MS), _NO_CONTEXT, -1,
                   _WEB_APP_INFO, 0, False)


_ASCII = str.maketrans("éèüöáíÉ", "eeuoaiE")


def _ascii_names(names: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """Each name with the form of it that goes into an email address."""
    return tuple((name, name.translate(_ASCII).replace(" ", "").replace("'", "")) for name in names)


_FIRST_F = _ascii_names(_FIRST_NAMES_F)
_FIRST_M = _ascii_names(_FIRST_NAMES_M)
_LAST = _ascii_names(_LAST_NAMES)


def _make_email(rnd: Callable[[], float], index: int, region: str, first: str, last: str) -> str:
    u = rnd()
    # The profile index in the local part keeps addresses unique across profiles.
    if u < 0.45:
        local = f"{first}.{last}{index}"
    elif u < 0.75:
        local = f"{first[0]}{last}{index}"
    else:
        local = f"{last}_{first}{index}"
    domain = _pick(rnd, _COMPANY_MAIL) if rnd() < 0.15 else _pick(rnd, _FREE_MAIL if region == "US" else _EU_MAIL)
    email = f"{local}@{domain}"
    # Sign-up forms keep whatever case people type.
    return email if rnd() < 0.12 else email.lower()


def _make_phone(rnd: Callable[[], float], country: str) -> str:
    digits = f"{int(rnd() * 100_000_000):08d}"
    if country == "US":
        area = _pick(rnd, _US_AREA_CODES)
        exchange = f"{2 + int(rnd() * 8)}{digits[:2]}"  # exchanges never start with 0 or 1
        # Most numbers arrive in E.164; some systems still send them as typed.
        return f"+1{area}{exchange}{digits[2:6]}" if rnd() < 0.9 else f"({area}) {exchange}-{digits[2:6]}"
    return f"{_PHONE_PREFIX[country]}{digits}"


def _make_identities(rnd: Callable[[], float], index: int, region: str, country: str, first: str,
                     last: str) -> dict[str, str]:
    identities: dict[str, str] = {}
    if rnd() < 0.52:
        identities["customer_id"] = _customer_id(index)
    if rnd() < 0.65:
        identities["email"] = _make_email(rnd, index, region, first, last)
    if rnd() < 0.35:
        identities["mobile_number"] = _make_phone(rnd, country)
    if rnd() < 0.05:
        identities["other"] = f"LC-{index:07d}-{int(rnd() * 90) + 10}"
    return identities


def _make_attributes(rng: random.Random, world: _World, is_new: bool, start_ms: int, region: str, city: _City,
                     names: tuple[str, str, str], known: bool) -> dict[str, Any]:
    """User attributes; people who gave us an email or account id have told us more about themselves."""
    rnd = rng.random
    first, last, gender = names
    boost = 1.0 if known else 0.45
    attrs: dict[str, Any] = {}
    if rnd() < 0.85 * boost:
        attrs["$FirstName"] = first
        attrs["$LastName"] = last
    if rnd() < 0.55 * boost:
        attrs["$Gender"] = gender
    if rnd() < 0.50 * boost:
        attrs["$Age"] = _AGE_TABLE[int(rnd() * len(_AGE_TABLE))]
    if rnd() < 0.60 * boost:
        attrs |= {"$City": city.name, "$State": city.region_code if region == "US" else city.state_name,
                  "$Zip": city.postal_code, "$Country": city.country_code}
    if rnd() < 0.55 * boost:
        attrs["loyalty_tier"] = _TIER_TABLE[int(rnd() * len(_TIER_TABLE))]
    if rnd() < 0.60 * boost:
        attrs["lifetime_value"] = round(math.exp(5.2 + 0.9 * rng.gauss()), 2)
    if rnd() < 0.65 * boost:
        attrs["newsletter_opt_in"] = rnd() < 0.55
    if rnd() < 0.80 * boost:
        signup = start_ms if is_new else world.start_ms - int((1 + rnd() * 900) * DAY_MS)
        attrs["signup_date"] = _iso_date(signup)
    if not is_new and rnd() < 0.45 * boost:
        attrs["last_purchase_date"] = _iso_datetime(world.start_ms - int((1 + rnd() * 300) * DAY_MS))
    if rnd() < 0.45 * boost:
        attrs["favorite_categories"] = _categories(rnd)
    if rnd() < 0.25 * boost:
        attrs["preferred_store"] = _pick(rnd, _US_STORES if region == "US" else _EU_STORES)
    if rnd() < 0.18:
        attrs["app_rating"] = _RATING_TABLE[int(rnd() * len(_RATING_TABLE))]
    return attrs


def _categories(rnd: Callable[[], float]) -> list[str]:
    chosen = {_pick(rnd, _CATEGORIES) for _ in range(1 + int(rnd() * 3))}
    return sorted(chosen)


def _make_consent(rnd: Callable[[], float], world: _World, workspace: str) -> dict:
    ts = world.start_ms - int(rnd() * 200 * DAY_MS)
    if workspace == EU_WORKSPACE:
        if rnd() < 0.08:
            return {}
        return {"gdpr": {
            "marketing": {"consented": rnd() < 0.62, "timestamp_unixtime_ms": ts, "document": "privacy_v3",
                          "regulation": "gdpr", "location": "app_onboarding"},
            "analytics": {"consented": rnd() < 0.85, "timestamp_unixtime_ms": ts, "document": "privacy_v3",
                          "regulation": "gdpr", "location": "app_onboarding"},
        }}
    if rnd() < 0.45:
        return {"ccpa": {"data_sale_opt_out": {"consented": rnd() < 0.18, "timestamp_unixtime_ms": ts,
                                               "document": "ccpa_notice_v2", "regulation": "ccpa"}}}
    return {}


def _flip_consent(consent: dict, ms: int) -> dict:
    """A copy of `consent` where the user changed their mind on its first purpose."""
    law, purposes = next(iter(consent.items()))
    purpose, state = next(iter(purposes.items()))
    changed = dict(state, consented=not state["consented"], timestamp_unixtime_ms=ms)
    return {**consent, law: {**purposes, purpose: changed}}


def _make_location(rnd: Callable[[], float], city: _City) -> dict:
    location = {"latitude": round(city.latitude + rnd() * 0.1 - 0.05, 5),
                "longitude": round(city.longitude + rnd() * 0.1 - 0.05, 5),
                "city_name": city.name, "region_code": city.region_code, "postal_code": city.postal_code,
                "country_code": city.country_code}
    if city.dma_code is not None:
        location["dma_code"] = city.dma_code
    return location


def _visible_identities(identities: dict[str, str], hidden: tuple[str, ...]) -> dict[str, str]:
    return {k: v for k, v in identities.items() if k not in hidden}


_SHOPPER_BUY_RATE = 0.9
_BUY_RATES = (0.2,) * 6 + (0.5,) * 3 + (_SHOPPER_BUY_RATE,)
_BUY_RATES_FREQUENT = (0.2,) * 3 + (0.5,) * 3 + (_SHOPPER_BUY_RATE,) * 4


def _make_profile(rng: random.Random, world: _World, index: int) -> _Profile:
    rnd = rng.random
    u = rnd()
    if u < SHARE_US_ONLY:
        workspaces: tuple[str, ...] = (US_WORKSPACE,)
    elif u < SHARE_US_ONLY + SHARE_EU_ONLY:
        workspaces = (EU_WORKSPACE,)
    else:
        workspaces = (US_WORKSPACE, EU_WORKSPACE) if rnd() < 0.7 else (EU_WORKSPACE, US_WORKSPACE)
    region = "US" if workspaces[0] == US_WORKSPACE else "EU"
    cities = _US_CITY_TABLE if region == "US" else _EU_CITY_TABLE
    city = cities[int(rnd() * len(cities))]
    country = city.country_code
    gender = "F" if rnd() < 0.5 else "M"
    firsts = _FIRST_F if gender == "F" else _FIRST_M
    first, first_ascii = firsts[int(rnd() * len(firsts))]
    last, last_ascii = _LAST[int(rnd() * len(_LAST))]

    is_new = rnd() < SHARE_NEW_USERS
    start_ms = world.clocks[region].sample(rnd, world.start_ms, world.end_ms)[0] if is_new else world.start_ms
    stop_ms = world.end_ms
    if rnd() < SHARE_CHURNING:
        stop_ms = min(stop_ms, start_ms + int(-CHURN_MEAN_DAYS * math.log(1.0 - rnd()) * DAY_MS))
    rate = world.activity * math.exp(RATE_LOG_MEAN + RATE_LOG_SIGMA * rng.gauss())
    sessions = 1 + int(rate * (stop_ms - start_ms) / DAY_MS + rnd())
    if len(workspaces) == 2 and sessions == 1:
        sessions = 2  # seen in both workspaces takes a session in each

    platform = _PLATFORM_TABLE[int(rnd() * len(_PLATFORM_TABLE))]
    devices = [_make_device(rng, world, workspaces[0], platform, country)]
    if len(workspaces) == 2:
        other = _PLATFORM_TABLE[int(rnd() * len(_PLATFORM_TABLE))]
        devices.append(_make_device(rng, world, workspaces[1], other, country))
    elif rnd() < SHARE_SECOND_DEVICE:
        second = "web" if platform != "web" else ("iOS" if rnd() < 0.55 else "Android")
        devices.append(_make_device(rng, world, workspaces[0], second, country))

    identities = _make_identities(rnd, index, region, country, first_ascii, last_ascii)
    in_crm = US_WORKSPACE in workspaces and rnd() < 0.30
    if in_crm and "customer_id" not in identities:
        identities["customer_id"] = _customer_id(index)
    known = "email" in identities or "customer_id" in identities
    attributes = _make_attributes(rng, world, is_new, start_ms, region, city, (first, last, gender), known)
    if in_crm and "loyalty_tier" not in attributes:
        attributes["loyalty_tier"] = "bronze"
    location = _make_location(rnd, city) if rnd() < 0.70 else None
    context = {"data_plan": _DATA_PLAN, "location": location} if location else _NO_CONTEXT
    for device in devices:
        device.context = context
        if device.platform != "web":
            device.installs_in_window = is_new
            if not is_new:
                _set_version(world, device, _release_at(world, world.start_ms - device.update_lag_ms))

    if len(workspaces) == 1:
        workspace = workspaces[0]
        hidden: dict[str, tuple[str, ...]] = {workspace: ()}
        visible = {workspace: identities}
        consent = {workspace: _make_consent(rnd, world, workspace)}
    else:
        hidden = dict.fromkeys(workspaces, ())
        visible = dict.fromkeys(workspaces, identities)
        consent = {ws: _make_consent(rnd, world, ws) for ws in workspaces}
        # The US CRM is keyed on customer_id, so the US workspace always knows a CRM customer's.
        kinds = tuple(k for k in identities if not (in_crm and k == "customer_id"))
        if kinds and rnd() < 0.6:
            # Someone who shops in both regions: one workspace never learnt one of their identities.
            kind = "email" if "email" in kinds and rnd() < 0.7 else _pick(rnd, kinds)
            workspace = US_WORKSPACE if rnd() < 0.75 else EU_WORKSPACE
            hidden[workspace] = (kind,)
            visible[workspace] = _visible_identities(identities, (kind,))

    # Frequent visitors are likelier buyers: this is what makes "2+ purchases in 30 days" a real segment.
    buy_rate = _pick(rnd, _BUY_RATES_FREQUENT if rate > 0.08 else _BUY_RATES)
    attribution = None
    if is_new and rnd() < 0.5:
        attribution = {"service_provider": _pick(rnd, _ATTRIBUTION_PROVIDERS),
                       "publisher": _pick(rnd, _PUBLISHER_TABLE), "campaign": _pick(rnd, _CAMPAIGNS)}
    return _Profile(index, _mpid_for(index, world.mpid_key), region, devices, identities, hidden, visible,
                    attributes, location, consent, buy_rate, start_ms, stop_ms, is_new, in_crm, attribution,
                    sessions)


# --------------------------------------------------------------------------------------------------------------
# Events. The inner-event builders take the session and the event's instant and return one event; each builds
# its `data` as a single literal because this is where the generator spends its time.
# --------------------------------------------------------------------------------------------------------------


class _Session:
    """Mutable state while one profile's timeline is written: the clock, the cart, attributes to resend."""

    __slots__ = ("rnd", "bits", "t", "sid", "st", "profile", "device", "currency", "products", "cart",
                 "purchase_in", "pending_until", "changed", "end_ms", "shopper")

    def __init__(self, rng: random.Random, profile: _Profile, end_ms: int) -> None:
        self.rnd = rng.random
        self.bits = rng.getrandbits
        self.t = 0  # current instant, for the events written outside the inner loop
        self.sid = ""  # session_uuid
        self.st = 0  # session start
        self.profile = profile
        self.device = profile.devices[0]
        self.currency = "USD"  # and the catalogue priced in it: set per session from the workspace
        self.products = _PRODUCT_DICTS["USD"]
        self.cart: list[dict] = []
        self.purchase_in = 0  # inner events left before this session's checkout; 0 = none planned
        self.pending_until = 0  # the user comes back to buy this cart before this instant
        self.changed: set[str] = set()
        self.end_ms = end_ms
        self.shopper = int(profile.buy_rate >= _SHOPPER_BUY_RATE)

    def data(self) -> dict:
        return {"timestamp_unixtime_ms": self.t, "event_id": self.bits(63), "session_uuid": self.sid,
                "session_start_unixtime_ms": self.st}


def _product_dicts(currency: str) -> tuple[dict, ...]:
    rate = 1.0 if currency == "USD" else _EUR_PER_USD
    return tuple({"id": pid, "name": name, "brand": brand, "category": category, "price": round(price * rate, 2),
                  "quantity": 1} for pid, name, brand, category, price in _PRODUCTS)


_PRODUCT_DICTS = {"USD": _product_dicts("USD"), "EUR": _product_dicts("EUR")}
_CURRENCY = {US_WORKSPACE: "USD", EU_WORKSPACE: "EUR"}
_N_PRODUCTS = len(_PRODUCTS)
_N_SCREENS = len(_SCREENS)
_N_QUERIES = len(_SEARCH_QUERIES)


def _ev_screen(s: _Session, t: int) -> dict:
    rnd = s.rnd
    data = {"timestamp_unixtime_ms": t, "event_id": s.bits(63), "session_uuid": s.sid,
            "session_start_unixtime_ms": s.st, "screen_name": _SCREENS[int(rnd() * _N_SCREENS)]}
    if rnd() < 0.3:
        data["custom_attributes"] = {"source": "tab_bar" if rnd() < 0.6 else "deep_link"}
    return {"event_type": "screen_view", "data": data}


def _product_event(s: _Session, t: int, action: str, product: dict) -> dict:
    return {"event_type": "commerce_event", "data": {
        "timestamp_unixtime_ms": t, "event_id": s.bits(63), "session_uuid": s.sid, "session_start_unixtime_ms": s.st,
        "product_action": {"action": action, "products": [product]}, "currency_code": s.currency}}


def _ev_view_detail(s: _Session, t: int) -> dict:
    return _product_event(s, t, "view_detail", s.products[int(s.rnd() * _N_PRODUCTS)].copy())


def _ev_add_to_cart(s: _Session, t: int) -> dict:
    rnd = s.rnd
    product = s.products[int(rnd() * _N_PRODUCTS)].copy()
    if rnd() < 0.15:
        product["quantity"] = 2
    if sum(p["price"] * p["quantity"] for p in s.cart) + product["price"] * product["quantity"] > 520:
        return _ev_view_detail(s, t)  # the cart is full enough; keeps order totals realistic
    if not s.cart and not s.purchase_in and rnd() < s.profile.buy_rate:
        # Half of the buyers check out in this visit, the others come back within two days.
        if rnd() < 0.5:
            s.purchase_in = 1 + int(rnd() * 3)
        else:
            s.pending_until = t + HOUR_MS + int(rnd() * 47 * HOUR_MS)
    s.cart.append(product)
    return _product_event(s, t, "add_to_cart", product.copy())


def _ev_remove_from_cart(s: _Session, t: int) -> dict:
    if not s.cart:
        return _ev_view_detail(s, t)
    product = s.cart.pop(int(s.rnd() * len(s.cart)))
    if not s.cart:
        s.purchase_in = s.pending_until = 0  # nothing left to buy
    return _product_event(s, t, "remove_from_cart", product)


def _ev_wishlist_commerce(s: _Session, t: int) -> dict:
    return _product_event(s, t, "add_to_wishlist", s.products[int(s.rnd() * _N_PRODUCTS)].copy())


def _custom(s: _Session, t: int, name: str, kind: str, attributes: dict) -> dict:
    return {"event_type": "custom_event", "data": {
        "timestamp_unixtime_ms": t, "event_id": s.bits(63), "session_uuid": s.sid, "session_start_unixtime_ms": s.st,
        "event_name": name, "custom_event_type": kind, "custom_attributes": attributes}}


def _ev_search(s: _Session, t: int) -> dict:
    rnd = s.rnd
    attributes = {"query": _SEARCH_QUERIES[int(rnd() * _N_QUERIES)],
                  "results": 0 if rnd() < 0.08 else int(rnd() * 120) + 1}
    return _custom(s, t, "Search", "search", attributes)


def _ev_wishlist(s: _Session, t: int) -> dict:
    pid, _, _, category, _ = _PRODUCTS[int(s.rnd() * _N_PRODUCTS)]
    return _custom(s, t, "Add to Wishlist", "user_preference", {"product_id": pid, "category": category})


def _ev_video(s: _Session, t: int) -> dict:
    title, length = _pick(s.rnd, _VIDEOS)
    watched = round(length * min(1.0, s.rnd() * 1.3), 1)
    return _custom(s, t, "Video Watched", "media", {"title": title, "duration_s": watched,
                                                   "completed": watched >= length})


def _ev_store_visit(s: _Session, t: int) -> dict:
    attributes = {"store_id": f"store_{int(s.rnd() * 48) + 1:03d}", "curbside_pickup": s.rnd() < 0.2}
    return _custom(s, t, "Store Visit", "location", attributes)


def _ev_review(s: _Session, t: int) -> dict:
    attributes = {"rating": _pick(s.rnd, _RATING_TABLE), "product_id": _PRODUCTS[int(s.rnd() * _N_PRODUCTS)][0]}
    return _custom(s, t, "Review Submitted", "user_content", attributes)


def _ev_foreground(s: _Session, t: int) -> dict:
    return {"event_type": "application_state_transition", "data": {
        "timestamp_unixtime_ms": t, "event_id": s.bits(63), "session_uuid": s.sid, "session_start_unixtime_ms": s.st,
        "application_transition_type": "application_background" if s.rnd() < 0.5 else "application_foreground"}}


def _ev_crash(s: _Session, t: int) -> dict:
    class_name, message = _pick(s.rnd, _CRASHES[s.device.platform])
    fatal = s.rnd() < 0.6
    return {"event_type": "crash_report", "data": {
        "timestamp_unixtime_ms": t, "event_id": s.bits(63), "session_uuid": s.sid, "session_start_unixtime_ms": s.st,
        "severity": "fatal" if fatal else "error", "message": message, "class_name": class_name,
        "exception_handled": not fatal}}


_CHANGEABLE = ("favorite_categories", "app_rating", "newsletter_opt_in", "preferred_store")


def _new_attribute_value(s: _Session, name: str, old: Any) -> Any:
    rnd = s.rnd
    if name == "favorite_categories":
        return sorted({*(old or ()), _pick(rnd, _CATEGORIES)}) if rnd() < 0.7 else _categories(rnd)
    if name == "app_rating":
        return _pick(rnd, _RATING_TABLE)
    if name == "newsletter_opt_in":
        return not old if old is not None else rnd() < 0.5
    return _pick(rnd, _US_STORES if s.currency == "USD" else _EU_STORES)


def _ev_attribute_change(s: _Session, t: int) -> dict:
    """The user edits a preference in the app; attribute values are replaced, never mutated in place."""
    attrs = s.profile.attributes
    name = _pick(s.rnd, _CHANGEABLE)
    old = attrs.get(name)
    new = _new_attribute_value(s, name, old)
    if new == old:
        return _ev_screen(s, t)
    attrs[name] = new
    s.changed.add(name)
    return {"event_type": "user_attribute_change", "data": {
        "timestamp_unixtime_ms": t, "event_id": s.bits(63), "session_uuid": s.sid, "session_start_unixtime_ms": s.st,
        "user_attribute_name": name, "new": new, "old": old, "deleted": False, "is_new_attribute": old is None}}


# The mix of events inside sessions. Each type stays below one per session, so session_start and session_end
# remain the most frequent events, as in real mParticle data.
_INNER_COMMON = (
    (_ev_screen, 0.25), (_ev_remove_from_cart, 0.012), (_ev_wishlist_commerce, 0.012), (_ev_search, 0.14),
    (_ev_wishlist, 0.02), (_ev_video, 0.05), (_ev_review, 0.01), (_ev_attribute_change, 0.008),
)
_BROWSER = ((_ev_add_to_cart, 0.075), (_ev_view_detail, 0.115))
_SHOPPER = ((_ev_add_to_cart, 0.13), (_ev_view_detail, 0.08))  # users who mostly buy what they put in the cart
_APP_ONLY = ((_ev_store_visit, 0.035), (_ev_foreground, 0.22))
_WEB_ONLY = ((_ev_screen, 0.09), (_ev_search, 0.06), (_ev_video, 0.03), (_ev_view_detail, 0.03))
_TABLE_SIZE = 4000


def _inner_table(platform: str, crash_rate: float, shopper: bool) -> tuple:
    pairs = _INNER_COMMON + (_SHOPPER if shopper else _BROWSER)
    pairs += _WEB_ONLY if platform == "web" else _APP_ONLY + ((_ev_crash, crash_rate),)
    return _weighted(pairs, _TABLE_SIZE)


def _checkout_and_purchase(s: _Session, out: list) -> None:
    """The end of a funnel at s.t: checkout then purchase of the whole cart; lifetime value follows."""
    rnd = s.rnd
    products = s.cart
    s.cart = []
    s.purchase_in = 0
    s.pending_until = 0
    data = s.data()
    data |= {"product_action": {"action": "checkout", "checkout_step": 1, "products": [p.copy() for p in products]},
             "currency_code": s.currency}
    out.append({"event_type": "commerce_event", "data": data})
    s.t += 20_000 + int(rnd() * 100_000)
    subtotal = sum(p["price"] * p["quantity"] for p in products)
    shipping = 0.0 if subtotal >= 75 else 6.95
    tax = round(subtotal * 0.0825, 2) if s.currency == "USD" else 0.0  # EU prices include VAT
    total = round(subtotal + shipping + tax, 2)
    action = {"action": "purchase", "transaction_id": f"HP-{s.bits(40):010X}", "total_amount": total,
              "tax_amount": tax, "shipping_amount": shipping,
              "affiliation": "Harbor & Pine Web" if s.device.platform == "web" else "Harbor & Pine App",
              "products": products}
    if rnd() < 0.1:
        action["coupon_code"] = "TRAIL10"
    data = s.data()
    data |= {"product_action": action, "currency_code": s.currency}
    out.append({"event_type": "commerce_event", "data": data})
    attrs = s.profile.attributes
    attrs["lifetime_value"] = round(attrs.get("lifetime_value", 0.0) + total, 2)
    attrs["last_purchase_date"] = _iso_datetime(min(s.t, s.end_ms))
    s.changed.update(("lifetime_value", "last_purchase_date"))


def _app_transition(s: _Session, first_run: bool) -> dict:
    data = s.data()
    data |= {"application_transition_type": "application_initialized", "is_first_run": first_run,
             "is_upgrade": not first_run, "successfully_closed": True}
    return {"event_type": "application_state_transition", "data": data}


def _change_email(s: _Session, out: list) -> None:
    profile = s.profile
    old = profile.identities["email"]
    local, _, domain = old.lower().partition("@")
    new = f"{local.rstrip('0123456789')}.{profile.index}@{'gmail.com' if domain == 'outlook.com' else 'outlook.com'}"
    profile.identities = {**profile.identities, "email": new}
    profile.visible = {ws: _visible_identities(profile.identities, hidden) for ws, hidden in profile.hidden.items()}
    data = s.data()
    data["new"] = {"identity_type": "email", "identity": new, "timestamp_unixtime_ms": s.t, "created_this_batch": True}
    data["old"] = {"identity_type": "email", "identity": old, "timestamp_unixtime_ms": profile.start_ms}
    out.append({"event_type": "user_identity_change", "data": data})


def _write_session(s: _Session, world: _World, device: _Device, start: int, change_email: bool) -> list:
    """All events of one session from `start`, in time order, never past the end of the window."""
    rnd = s.rnd
    bits = s.bits
    s.device = device
    s.t = s.st = start
    s.sid = sid = _uuid4(bits(128))
    currency = _CURRENCY[device.workspace]
    if currency != s.currency:
        # Prices are per workspace; a cart does not travel to the other one.
        s.currency, s.products = currency, _PRODUCT_DICTS[currency]
        s.cart, s.purchase_in, s.pending_until = [], 0, 0
    out: list = []
    if device.platform == "web":
        table = _WEB_TABLES[s.shopper]
    else:
        if device.version < 0:
            # A fresh install comes from the store: the newest release, whatever the user's update habits.
            _set_version(world, device, _release_at(world, start))
            if device.installs_in_window:
                out.append(_app_transition(s, first_run=True))
        elif start >= device.upgrade_at_ms:
            _set_version(world, device, _release_at(world, start - device.update_lag_ms))
            out.append(_app_transition(s, first_run=False))
        table = _APP_TABLES[s.shopper][device.version]
    out.append({"event_type": "session_start", "data": {"timestamp_unixtime_ms": start, "event_id": bits(63),
                                                        "session_uuid": sid, "session_start_unixtime_ms": start}})
    if s.cart:
        if s.pending_until >= start:
            s.t += 5_000
            _checkout_and_purchase(s, out)
        else:
            s.cart = []  # abandoned: the user did not come back for it in time
            s.pending_until = 0
    if change_email:
        _change_email(s, out)

    append = out.append
    t = s.t
    for _ in range(_INNER_COUNTS[int(rnd() * _INNER_COUNTS_SIZE)]):
        t += 4_000 + int(rnd() * 70_000)
        append(table[int(rnd() * _TABLE_SIZE)](s, t))
        if s.purchase_in:
            s.purchase_in -= 1
            if not s.purchase_in:
                s.t = t + 30_000
                _checkout_and_purchase(s, out)
                t = s.t
    if s.purchase_in:
        s.t = t + 30_000
        _checkout_and_purchase(s, out)
        t = s.t
    s.t = t = t + 2_000 + int(rnd() * 30_000)
    append({"event_type": "session_end", "data": {"timestamp_unixtime_ms": t, "event_id": bits(63),
                                                  "session_uuid": sid, "session_start_unixtime_ms": start,
                                                  "session_duration_ms": t - start}})
    if t > world.end_ms:
        _clamp(out, world.end_ms, start)
        s.t = world.end_ms
    return out


# How many inner events a session has: quantiles of floor(exponential), looked up rather than computed.
_INNER_COUNTS_SIZE = 4096
_INNER_COUNTS = tuple(int(-INNER_EVENTS_SCALE * math.log(1 - (i + 0.5) / _INNER_COUNTS_SIZE))
                      for i in range(_INNER_COUNTS_SIZE))
# Inner-event tables by [shopper]; for apps also by release: one release crashes more than the others.
_WEB_TABLES = (_inner_table("web", 0, False), _inner_table("web", 0, True))
_APP_TABLES = tuple(tuple(_inner_table("app", 0.0012 * crashes, shopper) for _, _, _, crashes in _APP_VERSIONS)
                    for shopper in (False, True))


def _clamp(events: list, end_ms: int, start: int) -> None:
    """Pull the tail of a session that began just before the end of the window back inside it."""
    for event in events:
        data = event["data"]
        if data["timestamp_unixtime_ms"] > end_ms:
            data["timestamp_unixtime_ms"] = end_ms
    events[-1]["data"]["session_duration_ms"] = end_ms - start


# --------------------------------------------------------------------------------------------------------------
# Batches. Profile-level parts (device_info, application_info, user_identities, consent_state, context,
# attribution_info) are shared between batches: the generator replaces them on change, never mutates them.
# --------------------------------------------------------------------------------------------------------------


def _crm_batch(s: _Session, ms: int, first: bool) -> dict:
    """A nightly CRM sync: identities and loyalty data, sometimes a tier change event; no device, no app."""
    profile = s.profile
    attrs = profile.attributes
    events: list = []
    tier = attrs.get("loyalty_tier", "bronze")
    i = _LOYALTY_TIERS.index(tier)
    if not first and s.rnd() < 0.2:
        up = i == 0 or (i < 3 and s.rnd() < 0.75)
        new_tier = _LOYALTY_TIERS[i + 1 if up else i - 1]
        attrs["loyalty_tier"] = new_tier
        s.changed.add("loyalty_tier")
        events.append({"event_type": "custom_event", "data": {
            "timestamp_unixtime_ms": ms, "event_id": s.bits(63), "event_name": "Loyalty Tier Changed",
            "custom_event_type": "other",
            "custom_attributes": {"old_tier": tier, "new_tier": new_tier,
                                  "reason": "spend_threshold" if up else "annual_review"}}})
    keys = _CRM_ATTRIBUTES if first else ("loyalty_tier", "lifetime_value")
    # The CRM is keyed on customer_id; of the other identities it has only those the US workspace knows.
    identities = {"customer_id": profile.identities["customer_id"]}
    identities |= {k: v for k, v in profile.visible[US_WORKSPACE].items() if k in ("email", "mobile_number")}
    return {
        "events": events,
        "user_identities": identities,
        "user_attributes": {k: attrs[k] for k in keys if k in attrs},
        "mpid": profile.mpid,
        "environment": "production",
        "batch_id": s.bits(63),
        "source_request_id": _uuid4(s.bits(128)),
        "source_info": {"channel": "server_to_server"},
        "timestamp_unixtime_ms": ms,
    }


_CRM_ATTRIBUTES = ("$FirstName", "$LastName", "loyalty_tier", "lifetime_value", "signup_date", "last_purchase_date")


def _uninstall_batch(s: _Session, device: _Device, ms: int) -> dict:
    """What the push provider reports once the app is gone: an uninstall event on the device."""
    batch = {
        "events": [{"event_type": "uninstall", "data": {"timestamp_unixtime_ms": ms, "event_id": s.bits(63)}}],
        "device_info": device.info,
        "application_info": device.app_info,
        "mpid": s.profile.mpid,
        "mp_deviceid": device.mp_deviceid,
        "environment": "production",
        "batch_id": s.bits(63),
        "timestamp_unixtime_ms": ms,
    }
    if s.profile.attribution is not None and s.rnd() < 0.5:
        batch["attribution_info"] = s.profile.attribution
    return batch


def _attribution_event(s: _Session, t: int, attribution: dict) -> dict:
    """The attribution partner's install event (custom_event_type "other": the Events API has no "attribution")."""
    source = "organic" if attribution["publisher"] == "Organic" else "paid"
    return _custom(s, t, "attribution", "other", {"publisher": attribution["publisher"],
                                                  "campaign": attribution["campaign"], "source": source})


def _session_starts(rnd: Callable[[], float], world: _World, profile: _Profile) -> list[int]:
    clock = world.clocks[profile.region]
    if not profile.is_new:
        return clock.sample(rnd, profile.start_ms, profile.stop_ms, profile.sessions)
    # A new user's first session is their install, at the instant they joined.
    if profile.sessions == 1:
        return [profile.start_ms]
    return [profile.start_ms, *clock.sample(rnd, profile.start_ms, profile.stop_ms, profile.sessions - 1)]


def _scheduled(s: _Session, extra: list, until: int, crm_sent: list[bool]) -> Iterator[DemoBatch]:
    """The CRM syncs and uninstalls due by `until`, oldest first."""
    while extra and extra[0][0] <= until:
        ms, _, which = heapq.heappop(extra)
        if which < 0:
            yield DemoBatch(US_WORKSPACE, CRM_FEED, _crm_batch(s, ms, not crm_sent[0]))
            crm_sent[0] = True
        else:
            device = s.profile.devices[which]
            yield DemoBatch(device.workspace, None, _uninstall_batch(s, device, ms))


def _split(batch: dict, bits: Callable[[int], int]) -> Iterator[dict]:
    """A long session's batch cut into batches of at most MAX_BATCH_EVENTS; profile data rides on the first."""
    events = batch["events"]
    for j in range(0, len(events), MAX_BATCH_EVENTS):
        chunk = events[j:j + MAX_BATCH_EVENTS]
        if j == 0:
            part = batch
        else:
            part = {k: v for k, v in batch.items()
                    if k not in ("user_attributes", "deleted_user_attributes", "attribution_info")}
            part["batch_id"] = bits(63)
        part["events"] = chunk
        part["timestamp_unixtime_ms"] = chunk[-1]["data"]["timestamp_unixtime_ms"]
        yield part


def _profile_batches(rng: random.Random, world: _World, profile: _Profile) -> Iterator[DemoBatch]:
    """Every batch of one profile, by timestamp: app and web sessions, CRM syncs, uninstalls."""
    rnd = rng.random
    bits = rng.getrandbits
    end_ms = world.end_ms
    s = _Session(rng, profile, end_ms)
    starts = _session_starts(rnd, world, profile)
    n = len(starts)
    devices = profile.devices
    if len(devices) == 1:
        on_device = [0] * n
    else:
        on_device = [0] + [0 if rnd() < 0.7 else 1 for _ in range(n - 1)]
        if devices[1].workspace != devices[0].workspace:
            on_device[1] = 1  # a profile in two workspaces has a session in each
    # Uninstalls come after a churned user's last session on an app.
    churned = profile.stop_ms < end_ms
    last_session = {d: i for i, d in enumerate(on_device)} if churned else {}
    change_email_at = int(rnd() * n) if "email" in profile.identities and rnd() < 0.012 else -1

    # Batches that are not sessions, by time: (ms, tie-breaker, device index or -1 for a CRM sync).
    extra: list[tuple[int, int, int]] = []
    if profile.in_crm:
        for k in range(1 + (rnd() < 0.5) + (rnd() < 0.25)):
            day = world.start_ms + int(rnd() * (end_ms - world.start_ms) / DAY_MS) * DAY_MS
            heapq.heappush(extra, (min(day + 6 * HOUR_MS + int(rnd() * HOUR_MS), end_ms), k, -1))
    crm_sent = [False]
    full_sent: set[str] = set()
    attrs = profile.attributes
    mpid = profile.mpid
    previous_end = 0

    for i in range(n):
        start = starts[i]
        if extra and extra[0][0] <= start:
            yield from _scheduled(s, extra, start, crm_sent)
        device = devices[on_device[i]]
        workspace = device.workspace
        if start <= previous_end:
            start = min(previous_end + MINUTE_MS, end_ms)
        installing = device.installs_in_window and device.version < 0
        change_email = i == change_email_at and "email" in profile.visible[workspace]
        events = _write_session(s, world, device, start, change_email)
        previous_end = s.t
        batch = {"events": events, "device_info": device.info, "application_info": device.app_info, "mpid": mpid,
                 "mp_deviceid": device.mp_deviceid, "environment": "production", "ip": device.ip,
                 "batch_id": bits(63), "timestamp_unixtime_ms": s.t, "context": device.context}
        identities = profile.visible[workspace]
        if identities:
            batch["user_identities"] = identities

        if rnd() < 0.004 and "newsletter_opt_in" in attrs:
            # The user cleared a setting: mParticle forgets the attribute.
            del attrs["newsletter_opt_in"]
            s.changed.discard("newsletter_opt_in")
            batch["deleted_user_attributes"] = ["newsletter_opt_in"]
        # A workspace's first batch of the profile carries all attributes; later ones what changed, at times all.
        if workspace not in full_sent or rnd() < 0.12:
            full_sent.add(workspace)
            batch["user_attributes"] = attrs.copy()
        elif s.changed:
            batch["user_attributes"] = {k: attrs[k] for k in s.changed if k in attrs}
        if s.changed:
            s.changed.clear()

        consent = profile.consent[workspace]
        if consent:
            batch["consent_state"] = consent
            if rnd() < 0.004:
                profile.consent[workspace] = _flip_consent(consent, start)
        if installing and profile.attribution is not None:
            batch["attribution_info"] = profile.attribution
            if rnd() < 0.4:
                events.insert(2, _attribution_event(s, events[1]["data"]["timestamp_unixtime_ms"] + 1_000,
                                                    profile.attribution))
        if extra and extra[0][0] <= previous_end:
            # A sync or an uninstall on another device that happened during this session goes first.
            yield from _scheduled(s, extra, previous_end, crm_sent)
        if len(events) <= MAX_BATCH_EVENTS:
            yield DemoBatch(workspace, None, batch)
        else:
            for part in _split(batch, bits):
                yield DemoBatch(workspace, None, part)

        if churned and last_session[on_device[i]] == i and device.platform != "web" and rnd() < 0.16:
            ms = previous_end + 2 * HOUR_MS + int(rnd() * 3 * DAY_MS)
            if ms <= end_ms:
                heapq.heappush(extra, (ms, 100 + i, on_device[i]))
    if extra:
        yield from _scheduled(s, extra, end_ms, crm_sent)


# --------------------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------------------


def _end_ms(end: datetime) -> int:
    if end.tzinfo is None or end.utcoffset() is None:
        raise ValueError("end must be a timezone-aware datetime (UTC)")
    return int(end.timestamp() * 1000)


def generate(*, profiles: int = 200_000, days: int = 60, seed: int = 7, end: datetime,
             activity: float = 1.0) -> Iterator[DemoBatch]:
    """Stream the demo workspaces' batches, profile after profile (a profile's batches in time order).

    The timeline covers [end - days, end]. Same arguments, same batches: all randomness comes from one
    random.Random(seed). Memory stays bounded: only the current profile is held. `activity` scales
    how often profiles come back (2.0: about twice the sessions).
    """
    if profiles < 0 or days < 1 or activity <= 0:
        raise ValueError("profiles must be >= 0, days >= 1 and activity > 0")
    rng = random.Random(seed)
    world = dataclasses.replace(_make_world(rng, _end_ms(end), days), activity=activity)
    for index in range(profiles):
        yield from _profile_batches(rng, world, _make_profile(rng, world, index))


def _expected_active_days(days: float) -> float:
    """E[time from a profile's start to its stop], from the join and churn model."""
    mean = CHURN_MEAN_DAYS
    whole = mean * -math.expm1(-days / mean)  # churn clock started at the window start
    joined = mean * (1 - mean / days * -math.expm1(-days / mean))  # averaged over a uniform join instant
    new = (1 - SHARE_CHURNING) * days / 2 + SHARE_CHURNING * joined
    old = (1 - SHARE_CHURNING) * days + SHARE_CHURNING * whole
    return SHARE_NEW_USERS * new + (1 - SHARE_NEW_USERS) * old


def estimated_events(profiles: int, days: int, activity: float = 1.0) -> int:
    """About how many events generate() emits for these arguments (for progress bars)."""
    sessions = 1 + activity * math.exp(RATE_LOG_MEAN + RATE_LOG_SIGMA**2 / 2) * _expected_active_days(days)
    inner = sum(_INNER_COUNTS) / _INNER_COUNTS_SIZE
    return round(profiles * (sessions * (2 + inner + EXTRA_EVENTS_PER_SESSION) + EXTRA_EVENTS_PER_PROFILE))
