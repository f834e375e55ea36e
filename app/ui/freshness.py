"""How fresh the cache is, in the few words the status bar shows ("imported 3 h ago").

The words for times are the kit's (app/ui/kit/times.py), shared with every pane."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from app.ui.kit.times import age, minute, parse_utc


def _last_change(cache: Mapping[str, Any]) -> dt.datetime | None:
    if cache.get("source") == "sync":
        synced = parse_utc(cache.get("last_sync"))
        if synced is not None:
            return synced
    last_load = cache.get("last_load") or {}
    return parse_utc(last_load.get("at"))


def cache_freshness(cache: Mapping[str, Any], now: dt.datetime) -> str:
    """The status bar's words for `home_info(...)["cache"]`: where the data came from and how long ago."""
    source = cache.get("source")
    if source in (None, "", "empty"):
        return "empty cache"
    if source == "demo":
        return "demo data"
    verb = {"import": "imported", "sync": "synced"}.get(source, source)
    when = _last_change(cache)
    return verb if when is None else f"{verb} {age(when, now)}"


def cache_freshness_detail(cache: Mapping[str, Any]) -> str:
    """A longer sentence for the tooltip: the exact time of the last import or sync, in local time."""
    source = cache.get("source")
    if source in (None, "", "empty"):
        return "The cache holds no profiles or events yet: run `audience-studio demo` or import your data."
    when = _last_change(cache)
    what = {"demo": "Demo data generated", "import": "Imported", "sync": "Synced"}.get(source, f"Loaded from {source}")
    if when is None:
        return f"{what}."
    return f"{what} {minute(when)} (local time)."
