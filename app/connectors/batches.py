"""The one mapping from an mParticle Events API batch to the cache's rows (used by import, demo and server).

A batch is checked while it is mapped: every field the cache keeps is read once, and a field of the
wrong shape raises `BatchError` naming its path (``events[3].data.timestamp_unixtime_ms``). Checking
inline instead of with a JSON-Schema validator is much faster; the mapping has to look at each of
those fields anyway. The hot paths test the common shape first (``value.__class__ is str``) and build
a field's path only when it is about to be rejected.

Rows accumulate column by column in `Rows`; a batch that fails half-way is rolled back out of the
buffers (`Rows.mark` / `Rows.rollback`), so a bad batch never leaves part of itself behind.
"""

from __future__ import annotations

import hashlib
import math
import operator
from dataclasses import dataclass, field, fields
from typing import Any

#: mParticle's application_info.os and device_info.platform values, as the platform inputs users see.
PLATFORM_NAMES: dict[str, str] = {
    "ios": "iOS",
    "unityios": "iOS",
    "android": "Android",
    "unityandroid": "Android",
    "mobileweb": "Web",
    "web": "Web",
    "desktop": "Desktop",
    "tvos": "tvOS",
    "roku": "Roku",
    "outofband": "Out of band",
    "out_of_band": "Out of band",
    "alexa": "Alexa",
    "smarttv": "Smart TV",
    "smart_tv": "Smart TV",
    "firetv": "Fire TV",
    "fire_tv": "Fire TV",
    "xbox": "Xbox",
    "windowsphone": "Windows Phone",
}

#: user_identities keys the cache keeps (mParticle's names), all of kind "user".
USER_IDENTITY_TYPES: tuple[str, ...] = (
    "customer_id", "email", "mobile_number", "phone_number_2", "phone_number_3", "other", "other_id_2",
    "other_id_3", "other_id_4", "other_id_5", "other_id_6", "other_id_7", "other_id_8", "other_id_9",
    "other_id_10", "facebook", "twitter", "google", "microsoft", "yahoo", "alias",
    "facebook_custom_audience_id",
)

#: device_info keys that identify a device, and the identity type the cache stores them under.
DEVICE_IDENTITY_TYPES: dict[str, str] = {
    "ios_advertising_id": "ios_idfa",
    "ios_idfv": "ios_idfv",
    "android_advertising_id": "android_advertising_id",
    "android_uuid": "android_uuid",
    "push_token": "push_token",
    "roku_advertising_id": "roku_advertising_id",
    "roku_publisher_id": "roku_publisher_id",
    "fire_advertising_id": "fire_advertising_id",
    "microsoft_advertising_id": "microsoft_advertising_id",
    "microsoft_publisher_id": "microsoft_publisher_id",
    "amp_id": "amp_id",
}

#: The event types the cache distinguishes. application_state_transition becomes install or upgrade
#: when its flags say so; first_run is an install too.
EVENT_TYPES: frozenset[str] = frozenset({
    "session_start", "session_end", "screen_view", "custom_event", "commerce_event", "crash_report",
    "install", "upgrade", "application_state_transition", "uninstall", "user_attribute_change",
    "user_identity_change", "opt_out", "push_registration", "push_message", "network_performance",
    "breadcrumb", "profile",
})
_ACCEPTED_EVENT_TYPES = EVENT_TYPES | {"first_run"}
_USER_IDENTITY_SET = frozenset(USER_IDENTITY_TYPES)
_CHANGE_EVENTS = frozenset({"user_attribute_change", "user_identity_change"})
_DEVICE_IDENTITY_ITEMS = tuple(DEVICE_IDENTITY_TYPES.items())

# Event types whose name is fixed by their type (they carry no event_name of their own).
_TYPE_NAMES = {
    "session_start": "Session Start", "session_end": "Session End", "install": "Install",
    "upgrade": "Upgrade", "uninstall": "Uninstall", "application_state_transition": "App State Transition",
    "opt_out": "Opt Out", "push_registration": "Push Registration", "push_message": "Push Message",
    "network_performance": "Network Performance", "breadcrumb": "Breadcrumb", "profile": "Profile",
    "user_attribute_change": "User Attribute Change", "user_identity_change": "User Identity Change",
}

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# Timestamps outside 2000..2100 are almost always seconds sent as milliseconds (or the reverse).
_TS_MIN_MS, _TS_MAX_MS = 946_684_800_000, 4_102_444_800_000


class BatchError(ValueError):
    """A batch is malformed; `path` names the field (``events[2].data.event_name``)."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


@dataclass
class Rows:
    """Column buffers for every cache table, filled batch by batch and loaded in one transaction."""

    # events
    ev_workspace: list[int] = field(default_factory=list)
    ev_mpid: list[int] = field(default_factory=list)
    ev_ts: list[int] = field(default_factory=list)
    ev_type: list[str] = field(default_factory=list)
    ev_name: list[str | None] = field(default_factory=list)
    ev_input: list[str] = field(default_factory=list)
    ev_action: list[str | None] = field(default_factory=list)
    ev_revenue: list[float | None] = field(default_factory=list)
    ev_currency: list[str | None] = field(default_factory=list)
    ev_attr_offsets: list[int] = field(default_factory=lambda: [0])
    ev_attr_keys: list[str] = field(default_factory=list)
    ev_attr_values: list[str] = field(default_factory=list)
    # products of commerce events (index into the events above)
    pr_event: list[int] = field(default_factory=list)
    pr_id: list[str | None] = field(default_factory=list)
    pr_name: list[str | None] = field(default_factory=list)
    pr_brand: list[str | None] = field(default_factory=list)
    pr_category: list[str | None] = field(default_factory=list)
    pr_price: list[float | None] = field(default_factory=list)
    pr_quantity: list[float | None] = field(default_factory=list)
    # profiles seen: one row per batch
    seen: list[tuple[int, int, int, int]] = field(default_factory=list)
    # latest-wins state, each row ends with (ts_ms, seq)
    identities: list[tuple] = field(default_factory=list)  # ws, mpid, type, kind, value, ts, seq
    attributes: list[tuple] = field(default_factory=list)  # ws, mpid, name, value, list, json_kind, deleted, ts, seq
    consent: list[tuple] = field(default_factory=list)  # ws, mpid, regulation, purpose, consented, document, ts, seq
    devices: list[tuple] = field(default_factory=list)  # ws, mpid, platform, os, os_version, model, make, carrier, app_version, build, ts, seq
    locations: list[tuple] = field(default_factory=list)  # ws, mpid, city, state, zip, dma, country, lat, lon, ts, seq
    attribution: list[tuple] = field(default_factory=list)  # ws, mpid, kind, provider, publisher, campaign, ts, seq

    @property
    def event_count(self) -> int:
        return len(self.ev_ts)

    def mark(self) -> tuple[int, ...]:
        """Where every buffer ends now, to roll a failed batch back out."""
        return tuple(map(len, _row_buffers(self)))

    def rollback(self, mark: tuple[int, ...]) -> None:
        for buffer, length in zip(_row_buffers(self), mark):
            del buffer[length:]


_row_buffers = operator.attrgetter(*(f.name for f in fields(Rows)))


@dataclass(frozen=True)
class BatchInfo:
    """What a mapped batch contributed: its input and profile, for import summaries."""

    input_name: str
    input_kind: str  # "platform" | "feed"
    mpid: int
    events: int


# ---------------------------------------------------------------------------------------------------
# Small typed readers: each names the path of the field it rejects.


def _obj(value: Any, path: str) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BatchError(path, f"expected an object, got {_kind(value)}")
    return value


def _text(value: Any, path: str) -> str | None:
    """mParticle's "String" accepts numbers and booleans too; the cache keeps their text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _num_text(value)
    raise BatchError(path, f"expected a string, got {_kind(value)}")


def _num_text(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _number(value: Any, path: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                raise BatchError(path, f"expected a number, got the string {value!r}") from None
            if math.isfinite(number):
                return number
        raise BatchError(path, f"expected a number, got {_kind(value)}")
    return float(value)


def _bool(value: Any, path: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise BatchError(path, f"expected true or false, got {_kind(value)}")


def _timestamp(value: Any, path: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise BatchError(path, f"expected milliseconds since 1970 as an integer, got {_kind(value)}")
    if not _TS_MIN_MS <= value <= _TS_MAX_MS:
        raise BatchError(path, f"{value} is not a time between 2000 and 2100 in milliseconds (seconds sent by mistake?)")
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _mpid(batch: dict) -> int:
    raw = batch.get("mpid")
    if raw is None:
        return _resolve_mpid(batch)
    if isinstance(raw, str) and raw.lstrip("-").isdigit():
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise BatchError("mpid", f"expected a 64-bit integer, got {_kind(raw)}")
    if not _INT64_MIN <= raw <= _INT64_MAX:
        raise BatchError("mpid", f"{raw} does not fit in 64 bits")
    return raw


def _resolve_mpid(batch: dict) -> int:
    """A batch without mpid gets a stable one from its strongest identity (a stand-in for IDSync)."""
    identities = batch.get("user_identities") or {}
    device = batch.get("device_info") or {}
    for source, key in (
        (identities, "customer_id"), (identities, "email"), (identities, "mobile_number"),
        (device, "ios_idfv"), (device, "android_uuid"), (device, "ios_advertising_id"),
        (device, "android_advertising_id"), (identities, "other"),
    ):
        value = source.get(key) if isinstance(source, dict) else None
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            digest = hashlib.blake2b(f"{key}:{str(value).strip().lower()}".encode(), digest_size=8).digest()
            return int.from_bytes(digest, "big", signed=True)
    raise BatchError("mpid", "missing, and the batch has no user or device identity to resolve one from")


def input_of(batch: dict, feed: str | None) -> tuple[str, str]:
    """The input a batch arrived through: the named feed, else its platform."""
    if feed:
        return "feed", feed
    app_info = _obj(batch.get("application_info"), "application_info") or {}
    device = _obj(batch.get("device_info"), "device_info") or {}
    for path, raw in (("application_info.os", app_info.get("os")), ("device_info.platform", device.get("platform"))):
        if raw is None:
            continue
        if not isinstance(raw, str):
            raise BatchError(path, f"expected a platform name, got {_kind(raw)}")
        name = PLATFORM_NAMES.get(raw.lower())
        if name is None:
            raise BatchError(path, f"unknown platform {raw!r}")
        return "platform", name
    raise BatchError(
        "application_info.os",
        "missing: a batch without a platform (application_info.os or device_info.platform) must be imported as a feed (--feed NAME)",
    )


# ---------------------------------------------------------------------------------------------------


def map_batch(batch: Any, rows: Rows, *, workspace_id: int, seq: int, feed: str | None = None,
              received_ms: int | None = None) -> BatchInfo:
    """Append one batch's rows to `rows`; on BatchError nothing of this batch stays in `rows`.

    `received_ms` is when the batch was received (the import's moment, or the server's receipt of
    the request): the time of a batch that carries none of its own and has no timed event, such as
    a profile-only batch, and of its events that carry none (both times are optional in mParticle's
    schema). Without it such a batch is refused.
    """
    if not isinstance(batch, dict):
        raise BatchError("", f"a batch must be a JSON object, got {_kind(batch)}")
    mark = rows.mark()
    try:
        return _map(batch, rows, workspace_id, seq, feed, received_ms)
    except BatchError:
        rows.rollback(mark)
        raise
    except (TypeError, AttributeError, ValueError) as exc:  # a shape no check above anticipated
        rows.rollback(mark)
        raise BatchError("", f"malformed batch ({exc})") from None


def _map(batch: dict, rows: Rows, ws: int, seq: int, feed: str | None, received_ms: int | None) -> BatchInfo:
    input_kind, input_name = input_of(batch, feed)
    mpid = _mpid(batch)
    batch_ts = _timestamp(batch.get("timestamp_unixtime_ms"), "timestamp_unixtime_ms")

    events = batch.get("events")
    if events is not None and not isinstance(events, list):
        raise BatchError("events", f"expected a list, got {_kind(events)}")
    # An untimed event takes the batch's time, else the moment the batch was received.
    event_default = batch_ts if batch_ts is not None else received_ms
    first_ts, last_ts, event_count, identity_changes = _map_events(events or (), rows, ws, mpid, input_name, event_default)
    if batch_ts is None:
        batch_ts = last_ts if last_ts is not None else received_ms
    if batch_ts is None:
        raise BatchError("timestamp_unixtime_ms", "missing, and the batch has no timed events to take a time from")
    rows.seen.append((ws, mpid, min(first_ts or batch_ts, batch_ts), max(last_ts or batch_ts, batch_ts)))

    _map_identities(batch, rows, ws, mpid, batch_ts, seq, identity_changes)
    _map_attributes(batch, rows, ws, mpid, batch_ts, seq)
    _map_consent(batch, rows, ws, mpid, batch_ts, seq)
    _map_device(batch, rows, ws, mpid, input_kind, input_name, batch_ts, seq)
    _map_location(batch, rows, ws, mpid, batch_ts, seq)
    _map_attribution(batch, rows, ws, mpid, batch_ts, seq)
    return BatchInfo(input_name, input_kind, mpid, event_count)


def _map_events(events, rows: Rows, ws: int, mpid: int, input_name: str, batch_ts: int | None):
    # The hot path: one pass per event, with the exact (slower) checks only when a cheap one fails.
    first = last = None
    ev_ts, ev_type, ev_name = rows.ev_ts.append, rows.ev_type.append, rows.ev_name.append
    ev_action, ev_revenue, ev_currency = rows.ev_action.append, rows.ev_revenue.append, rows.ev_currency.append
    keys, values, offsets = rows.ev_attr_keys, rows.ev_attr_values, rows.ev_attr_offsets
    key_append, value_append, offset_append = keys.append, values.append, offsets.append
    accepted, type_names = _ACCEPTED_EVENT_TYPES, _TYPE_NAMES
    ts_min, ts_max = _TS_MIN_MS, _TS_MAX_MS
    identity_changes = False
    for i, event in enumerate(events):
        if event.__class__ is not dict and not isinstance(event, dict):
            raise BatchError(f"events[{i}]", f"expected an event object, got {_kind(event)}")
        kind = event.get("event_type")
        if kind not in accepted:
            if kind is None:
                raise BatchError(f"events[{i}].event_type", "missing")
            raise BatchError(f"events[{i}].event_type", f"unknown event type {kind!r}")
        data = event.get("data")
        if data.__class__ is not dict and not isinstance(data, dict):
            raise BatchError(f"events[{i}].data", "missing" if data is None else f"expected an object, got {_kind(data)}")
        ts = data.get("timestamp_unixtime_ms")
        if ts.__class__ is not int or not ts_min <= ts <= ts_max:
            ts = _timestamp(ts, f"events[{i}].data.timestamp_unixtime_ms")
            if ts is None:
                if batch_ts is None:
                    raise BatchError(f"events[{i}].data.timestamp_unixtime_ms", "missing, and the batch has no timestamp_unixtime_ms")
                ts = batch_ts
        if first is None:
            first = last = ts
        elif ts < first:
            first = ts
        elif ts > last:
            last = ts

        action = revenue = currency = None
        if kind == "screen_view":
            name = data.get("screen_name")
            if name.__class__ is not str:  # the schema's "string": empty is allowed
                if not isinstance(name, str):
                    raise BatchError(f"events[{i}].data.screen_name", "missing" if name is None else f"expected a name, got {_kind(name)}")
        elif kind == "custom_event":
            name = data.get("event_name")
            if name.__class__ is not str:  # the schema's "string": empty is allowed
                if not isinstance(name, str):
                    raise BatchError(f"events[{i}].data.event_name", "missing" if name is None else f"expected a name, got {_kind(name)}")
        elif kind == "commerce_event":
            action, revenue, currency, name = _map_commerce(data, rows, i)
        else:
            if kind == "application_state_transition":
                if data.get("is_first_run") is True:
                    kind = "install"
                elif data.get("is_upgrade") is True:
                    kind = "upgrade"
            elif kind == "first_run":
                kind = "install"
            elif kind == "crash_report":
                name = _text(data.get("class_name"), f"events[{i}].data.class_name") or _text(data.get("severity"), f"events[{i}].data.severity")
                if name is None:
                    name = type_names.get(kind)
            if kind != "crash_report":
                name = type_names.get(kind)

        attrs = data.get("custom_attributes")
        start = len(keys)
        if attrs:
            if attrs.__class__ is not dict and not isinstance(attrs, dict):
                raise BatchError(f"events[{i}].data.custom_attributes", f"expected an object, got {_kind(attrs)}")
            for key, value in attrs.items():
                if value.__class__ is not str:
                    if value is None:
                        continue
                    value = _text(value, f"events[{i}].data.custom_attributes.{key}")
                key_append(key)
                value_append(value)
        if kind in _CHANGE_EVENTS:
            own = len(keys)
            _change_event_attributes(kind, data, keys, values, f"events[{i}].data")
            if own > start:
                _keep_apart(keys, start, own)
            if kind == "user_identity_change":
                identity_changes = True
        offset_append(len(keys))

        ev_ts(ts)
        ev_type(kind)
        ev_name(name)
        ev_action(action)
        ev_revenue(revenue)
        ev_currency(currency)
    count = len(events)
    if count:
        rows.ev_workspace.extend([ws] * count)
        rows.ev_mpid.extend([mpid] * count)
        rows.ev_input.extend([input_name] * count)
    return first, last, count, identity_changes


def _map_commerce(data: dict, rows: Rows, i: int):
    currency = data.get("currency_code")
    if currency.__class__ is not str and currency is not None:
        currency = _text(currency, f"events[{i}].data.currency_code")
    name = data.get("event_name")
    if name is not None and not isinstance(name, str):
        raise BatchError(f"events[{i}].data.event_name", f"expected a name, got {_kind(name)}")
    product_action = data.get("product_action")
    if product_action is None:
        return None, None, currency, name or "Commerce"
    if product_action.__class__ is not dict and not isinstance(product_action, dict):
        raise BatchError(f"events[{i}].data.product_action", f"expected an object, got {_kind(product_action)}")
    action = product_action.get("action")
    if action.__class__ is not str or not action:
        if not isinstance(action, str) or not action:
            raise BatchError(f"events[{i}].data.product_action.action", "missing" if action is None else f"expected an action name, got {_kind(action)}")
    revenue = product_action.get("total_amount")
    if revenue.__class__ is float:
        pass
    elif revenue is not None:
        revenue = _number(revenue, f"events[{i}].data.product_action.total_amount")
    products = product_action.get("products")
    if products:
        if products.__class__ is not list and not isinstance(products, list):
            raise BatchError(f"events[{i}].data.product_action.products", f"expected a list, got {_kind(products)}")
        event_index = len(rows.ev_ts)  # this event is appended right after its products
        pr_price, pr_quantity = rows.pr_price, rows.pr_quantity
        for j, product in enumerate(products):
            if product.__class__ is not dict and not isinstance(product, dict):
                raise BatchError(f"events[{i}].data.product_action.products[{j}]", f"expected a product object, got {_kind(product)}")
            get = product.get
            pid, pname, brand, category, price, quantity = (
                get("id"), get("name"), get("brand"), get("category"), get("price"), get("quantity"))
            # Common case: text fields are strings (or absent) and numbers are floats; anything else
            # goes through the exact readers, which name the field they reject.
            if pid.__class__ is not str and pid is not None:
                pid = _text(pid, _product_path(i, j, "id"))
            if pname.__class__ is not str and pname is not None:
                pname = _text(pname, _product_path(i, j, "name"))
            if brand.__class__ is not str and brand is not None:
                brand = _text(brand, _product_path(i, j, "brand"))
            if category.__class__ is not str and category is not None:
                category = _text(category, _product_path(i, j, "category"))
            if price.__class__ is not float and price is not None:
                price = _number(price, _product_path(i, j, "price"))
            if quantity.__class__ is not float and quantity is not None:
                quantity = _number(quantity, _product_path(i, j, "quantity"))
            rows.pr_event.append(event_index)
            rows.pr_id.append(pid)
            rows.pr_name.append(pname)
            rows.pr_brand.append(brand)
            rows.pr_category.append(category)
            pr_price.append(price)
            pr_quantity.append(quantity)
        if revenue is None and action == "purchase":
            revenue = sum((p or 0.0) * (q if q is not None else 1.0) for p, q in zip(pr_price[-len(products):], pr_quantity[-len(products):]))
    return action, revenue, currency, name or action


def _product_path(i: int, j: int, name: str) -> str:
    return f"events[{i}].data.product_action.products[{j}].{name}"


def _keep_apart(keys: list, start: int, own: int) -> None:
    """An event's attributes are a map, and a map's keys must differ. The change's own fields
    (`keys[own:]`, e.g. ``new``) keep their names, which "changed attribute" criteria read; a custom
    attribute of the same name (`keys[start:own]`) is kept as ``custom_attributes.<name>`` (prefixed
    again while that too is taken), so nothing is dropped and every key is unique."""
    reserved = set(keys[own:])
    if not reserved:
        return
    taken = set(keys[start:])
    for k in range(start, own):
        key = keys[k]
        if key in reserved:
            while key in taken:
                key = "custom_attributes." + key
            keys[k] = key
            taken.add(key)


def _change_event_attributes(kind: str, data: dict, keys: list, values: list, path: str) -> None:
    """Keep what changed as event attributes, so "changed attribute X" criteria can read them."""
    if kind == "user_attribute_change":
        name = _text(data.get("user_attribute_name"), f"{path}.user_attribute_name")
        if name:
            keys.append("user_attribute_name")
            values.append(name)
        new = data.get("new")
        if new is not None and not isinstance(new, (list, dict)):
            keys.append("new")
            values.append(_text(new, f"{path}.new"))
    else:
        new = _obj(data.get("new"), f"{path}.new")
        if new and new.get("identity_type") is not None:
            keys.append("identity_type")
            values.append(_text(new.get("identity_type"), f"{path}.new.identity_type"))


def _map_identities(batch: dict, rows: Rows, ws: int, mpid: int, ts: int, seq: int, identity_changes: bool = True) -> None:
    append = rows.identities.append
    identities = batch.get("user_identities")
    if identities.__class__ is not dict:
        identities = _obj(identities, "user_identities")
    if identities:
        for key, value in identities.items():
            if value is None:
                continue
            if key not in _USER_IDENTITY_SET:
                raise BatchError(f"user_identities.{key}", "unknown identity type")
            if value.__class__ is not str:
                value = _text(value, f"user_identities.{key}")
            text = value.strip()
            if text:
                append((ws, mpid, key, "user", text, ts, seq))
    device = batch.get("device_info")
    if device.__class__ is not dict:
        device = _obj(device, "device_info")
    if device:
        get = device.get
        for key, identity_type in _DEVICE_IDENTITY_ITEMS:
            value = get(key)
            if value is None:
                continue
            if value.__class__ is not str:
                value = _text(value, f"device_info.{key}")
            text = value.strip()
            if text:
                append((ws, mpid, identity_type, "device", text, ts, seq))
    if not identity_changes:
        return
    for i, event in enumerate(batch.get("events") or ()):
        # Identities that change mid-batch are applied at the event's own time.
        if event.get("event_type") == "user_identity_change":
            new = event["data"].get("new") or {}
            identity_type, value = new.get("identity_type"), new.get("identity")
            if identity_type in USER_IDENTITY_TYPES and value is not None:
                when = event["data"].get("timestamp_unixtime_ms") or ts
                append((ws, mpid, identity_type, "user", _text(value, f"events[{i}].data.new.identity"), when, seq))


def _map_attributes(batch: dict, rows: Rows, ws: int, mpid: int, ts: int, seq: int) -> None:
    attributes = batch.get("user_attributes")
    if attributes.__class__ is not dict:
        attributes = _obj(attributes, "user_attributes")
    append = rows.attributes.append
    if attributes:
        order = 2 * seq
        for name, value in attributes.items():
            cls = value.__class__
            if cls is str:
                append((ws, mpid, name, value, None, "string", False, ts, order))
            elif value is None:
                continue
            elif cls is bool:
                append((ws, mpid, name, "true" if value else "false", None, "boolean", False, ts, order))
            elif cls is float or cls is int:
                append((ws, mpid, name, _num_text(value), None, "number", False, ts, order))
            elif isinstance(value, list):
                path = f"user_attributes.{name}"
                items = [_text(v, f"{path}[{k}]") for k, v in enumerate(value)]
                append((ws, mpid, name, None, [v for v in items if v is not None], "list", False, ts, order))
            elif isinstance(value, bool):
                append((ws, mpid, name, "true" if value else "false", None, "boolean", False, ts, order))
            elif isinstance(value, (int, float)):
                append((ws, mpid, name, _num_text(value), None, "number", False, ts, order))
            elif isinstance(value, str):
                append((ws, mpid, name, value, None, "string", False, ts, order))
            else:
                raise BatchError(f"user_attributes.{name}", f"expected a string, number, boolean or list, got {_kind(value)}")
    deleted = batch.get("deleted_user_attributes")
    if deleted:
        if not isinstance(deleted, list):
            raise BatchError("deleted_user_attributes", f"expected a list of names, got {_kind(deleted)}")
        for k, name in enumerate(deleted):
            if not isinstance(name, str):
                raise BatchError(f"deleted_user_attributes[{k}]", f"expected an attribute name, got {_kind(name)}")
            # Ordered just after the batch's own values: a batch that sets and deletes ends deleted.
            append((ws, mpid, name, None, None, "string", True, ts, 2 * seq + 1))


def _map_consent(batch: dict, rows: Rows, ws: int, mpid: int, ts: int, seq: int) -> None:
    consent = _obj(batch.get("consent_state"), "consent_state")
    if not consent:
        return
    for regulation in ("gdpr", "ccpa"):
        purposes = _obj(consent.get(regulation), f"consent_state.{regulation}")
        for purpose, state in (purposes or {}).items():
            if state.__class__ is not dict:
                state = _obj(state, f"consent_state.{regulation}.{purpose}")
                if state is None:
                    continue
            consented = state.get("consented")
            if consented.__class__ is not bool:
                path = f"consent_state.{regulation}.{purpose}"
                consented = _bool(consented, f"{path}.consented")
                if consented is None:
                    raise BatchError(f"{path}.consented", "missing")
            when = state.get("timestamp_unixtime_ms")
            if when.__class__ is not int or not _TS_MIN_MS <= when <= _TS_MAX_MS:
                when = _timestamp(when, f"consent_state.{regulation}.{purpose}.timestamp_unixtime_ms") or ts
            document = state.get("document")
            if document is not None and document.__class__ is not str:
                document = _text(document, f"consent_state.{regulation}.{purpose}.document")
            rows.consent.append((ws, mpid, regulation, purpose, consented, document, when, seq))


def _str(value: Any, path: str) -> str | None:
    """`_text` for the fields read once per batch: the call is the cost, so strings skip the checks."""
    return value if value is None or value.__class__ is str else _text(value, path)


def _map_device(batch: dict, rows: Rows, ws: int, mpid: int, input_kind: str, input_name: str, ts: int, seq: int) -> None:
    device = batch.get("device_info")
    if device.__class__ is not dict:
        device = _obj(device, "device_info")
    app_info = batch.get("application_info")
    if app_info.__class__ is not dict:
        app_info = _obj(app_info, "application_info")
    if not device and not app_info:
        return
    device = device or {}
    app_info = app_info or {}
    if input_kind == "platform":
        platform = input_name
    elif device.get("platform") or app_info.get("os"):  # a feed relaying app data still names its platform
        platform = input_of(batch, None)[1]
    else:
        platform = None
    dget, aget = device.get, app_info.get
    rows.devices.append((
        ws, mpid, platform,
        _str(aget("os"), "application_info.os") or _str(dget("platform"), "device_info.platform"),
        _str(dget("os_version"), "device_info.os_version"),
        _str(dget("device_model"), "device_info.device_model"),
        _str(dget("device_manufacturer"), "device_info.device_manufacturer") or _str(dget("brand"), "device_info.brand"),
        _str(dget("network_carrier"), "device_info.network_carrier"),
        _str(aget("application_version"), "application_info.application_version"),
        _str(aget("application_build_number"), "application_info.application_build_number"),
        ts, seq,
    ))


def _map_location(batch: dict, rows: Rows, ws: int, mpid: int, ts: int, seq: int) -> None:
    context = batch.get("context")
    if context is None:
        return
    if context.__class__ is not dict:
        context = _obj(context, "context")
    location = context.get("location") if context else None
    if location.__class__ is not dict:
        location = _obj(location, "context.location")
    if not location:
        return
    get = location.get
    lat, lon = get("latitude"), get("longitude")
    if lat.__class__ is not float:
        lat = _number(lat, "context.location.latitude")
    if lon.__class__ is not float:
        lon = _number(lon, "context.location.longitude")
    if lat is not None and not -90 <= lat <= 90:
        raise BatchError("context.location.latitude", f"{lat} is outside -90..90")
    if lon is not None and not -180 <= lon <= 180:
        raise BatchError("context.location.longitude", f"{lon} is outside -180..180")
    rows.locations.append((
        ws, mpid,
        _str(get("city_name"), "context.location.city_name"),
        _str(get("region_code"), "context.location.region_code"),
        _str(get("postal_code"), "context.location.postal_code"),
        _str(get("dma_code"), "context.location.dma_code"),
        _str(get("country_code"), "context.location.country_code"),
        lat, lon, ts, seq,
    ))


def _map_attribution(batch: dict, rows: Rows, ws: int, mpid: int, ts: int, seq: int) -> None:
    info = _obj(batch.get("attribution_info"), "attribution_info")
    if not info:
        return
    # The same block describes an uninstall when the batch reports one, otherwise the install.
    kind = "uninstall" if any(isinstance(e, dict) and e.get("event_type") == "uninstall" for e in batch.get("events") or ()) else "install"
    rows.attribution.append((
        ws, mpid, kind,
        _text(info.get("service_provider"), "attribution_info.service_provider"),
        _text(info.get("publisher"), "attribution_info.publisher"),
        _text(info.get("campaign"), "attribution_info.campaign"),
        ts, seq,
    ))
