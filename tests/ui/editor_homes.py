"""Homes for the builder's tests: a workspace whose cache holds a few dozen shoppers, and an audience on it."""

from __future__ import annotations

import datetime as dt

from app.connectors.importer import SourcedBatch, import_batches
from app.engines.home import OpenHome
from app.paths import Home
from tests.factories import event, purchase

UTC = dt.timezone.utc

TIERS = ["gold", "silver", "bronze", "gold", "platinum"]
CITIES = [("Denver", "CO", "US", 39.74, -104.99), ("Boston", "MA", "US", 42.36, -71.06),
          ("London", "ENG", "GB", 51.51, -0.13)]


def ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def shopper(mpid: int, now: dt.datetime) -> dict:
    """A profile whose activity depends on its number, so criteria split the users in several ways."""
    hours = lambda h: ms(now - dt.timedelta(hours=h))  # noqa: E731
    events = [event("session_start", hours(2 + mpid % 50)) for _ in range(mpid % 4)]
    if mpid % 2 == 0:
        events.append(event("custom_event", hours(5 + mpid), event_name="Search", custom_event_type="search",
                            custom_attributes={"query": ["tent", "boots", "stove"][mpid % 3]}))
    if mpid % 3 == 0:
        events.append(purchase(hours(10 + mpid), 20.0 * (mpid % 7 + 1)))
    if mpid % 5 == 0:
        events.append(event("commerce_event", hours(30 + mpid), product_action={
            "action": "add_to_cart", "products": [{"id": "p1", "name": "Tent", "price": 99.0, "quantity": 1}]}))
    if mpid % 7 == 0:
        events.append(event("install", hours(1 + mpid)))
    city, state, country, lat, lon = CITIES[mpid % 3]
    platform = ["iOS", "Android", "Web"][mpid % 3]
    batch = {
        "mpid": mpid, "timestamp_unixtime_ms": hours(1), "environment": "production", "events": events,
        "user_identities": {"email": f"user{mpid}@{'gmail.com' if mpid % 2 else 'example.com'}"},
        "user_attributes": {"tier": TIERS[mpid % 5], "age": 18 + mpid % 50},
        "context": {"location": {"city_name": city, "region_code": state, "country_code": country,
                                 "latitude": lat, "longitude": lon}},
    }
    batch["application_info"] = {"os": {"iOS": "IOS", "Android": "Android", "Web": "web"}[platform]}
    batch["device_info"] = {"platform": platform, "os_version": ["16.4", "17.2", "13"][mpid % 3]}
    return batch


def fill_home(home: Home, *, profiles: int = 40, audiences: dict[str, dict] | None = None) -> dict[str, int]:
    """Create the workspace "Retail" with `profiles` shoppers and the given audiences; returns their ids."""
    now = dt.datetime.now(UTC)
    with OpenHome.open(home, user="maria") as opened:
        retail = opened.workspaces.create("Retail", [("platform", "iOS"), ("platform", "Android"), ("platform", "Web")])
        batches = [SourcedBatch(retail.id, None, shopper(mpid, now), "test", f"batch {mpid}")
                   for mpid in range(1, profiles + 1)]
        import_batches(opened.cache, batches, source="test")
        ids = {}
        for name, criteria in (audiences or {}).items():
            ids[name] = opened.audiences.create(name, workspace_ids=[retail.id], criteria=criteria,
                                                tags=["test"]).id
        ids["workspace"] = retail.id
    return ids


def document(*children: dict, match: str = "all") -> dict:
    return {"version": 1, "root": {"id": "root", "type": "group", "match": match, "exclude": False,
                                   "children": list(children)}}


def group(node_id: str, *children: dict, match: str = "any", exclude: bool = False) -> dict:
    return {"id": node_id, "type": "group", "match": match, "exclude": exclude, "children": list(children)}


SESSIONS = {"id": "sessions", "type": "event", "exclude": False, "event_type": "session_start",
            "frequency": {"operator": "ge", "value": 1}, "window": {"type": "within", "amount": 30, "unit": "days"}}
GOLD = {"id": "gold", "type": "user_attribute", "exclude": False, "attribute": "tier", "operator": "equals",
        "value": "gold"}
BUYERS = {"id": "buyers", "type": "event", "exclude": False, "event_type": "commerce_event",
          "product_action": "purchase", "window": {"type": "within", "amount": 30, "unit": "days"}}
IOS = {"id": "ios", "type": "device", "exclude": False, "field": "platform", "operator": "equals", "value": "iOS"}


def multi_group_document() -> dict:
    """Engaged users (a session, or a purchase) who are gold or on iOS, without Londoners."""
    return document(
        group("engaged", SESSIONS, BUYERS, match="any"),
        group("valuable", GOLD, IOS, match="any"),
        {"id": "london", "type": "location", "exclude": True, "field": "city", "operator": "equals", "value": "London"},
    )
