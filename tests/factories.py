"""Small, valid mParticle batches for tests, each field overridable."""

from __future__ import annotations

import copy
from typing import Any

T0 = 1_760_000_000_000  # 2025-10-09T08:53:20Z


def event(event_type: str = "custom_event", at: int = T0, **data: Any) -> dict:
    if event_type == "custom_event":
        data.setdefault("event_name", "Search")
        data.setdefault("custom_event_type", "search")
    if event_type == "screen_view":
        data.setdefault("screen_name", "Home")
    data["timestamp_unixtime_ms"] = at
    return {"event_type": event_type, "data": data}


def purchase(at: int = T0, amount: float = 120.5, **extra: Any) -> dict:
    return event("commerce_event", at, product_action={
        "action": "purchase", "total_amount": amount, "transaction_id": "t-1",
        "products": [{"id": "p1", "name": "Tent", "category": "camping", "price": amount, "quantity": 1}],
    }, currency_code="USD", **extra)


def batch(mpid: int = 1001, *, events: list | None = None, at: int = T0, **overrides: Any) -> dict:
    base = {
        "mpid": mpid,
        "timestamp_unixtime_ms": at,
        "environment": "production",
        "application_info": {"os": "IOS", "application_version": "5.2.0", "application_build_number": "520"},
        "device_info": {"platform": "iOS", "ios_advertising_id": "607258d9-c28b-43ad-95ed-e9593025d5a1",
                        "ios_idfv": "11111111-2222-4333-8444-555555555555", "os_version": "17.4.1",
                        "device_model": "iPhone15,2", "network_carrier": "Verizon"},
        "user_identities": {"email": "Ada@Example.com", "customer_id": "c-1001"},
        "user_attributes": {"$Age": 31, "loyalty_tier": "gold", "favorite_categories": ["camping", "hiking"],
                            "newsletter_opt_in": True, "signup_date": "2025-03-14"},
        "consent_state": {"gdpr": {"marketing": {"consented": True, "timestamp_unixtime_ms": at}},
                          "ccpa": {"data_sale_opt_out": {"consented": False, "timestamp_unixtime_ms": at}}},
        "context": {"location": {"latitude": 40.71, "longitude": -74.0, "city_name": "New York", "region_code": "NY",
                                 "postal_code": "10001", "dma_code": 501, "country_code": "US"}},
        "events": events if events is not None else [event("session_start", at - 1000), event(at=at)],
    }
    for key, value in overrides.items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = value
    return copy.deepcopy(base)
