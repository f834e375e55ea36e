"""How fresh the cache is, in the few words the status bar shows ("imported 3 h ago"). No Qt."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any


def parse_utc(text: str | None) -> dt.datetime | None:
    """An ISO-8601 time as aware UTC; None when missing or unreadable (a status line must not crash)."""
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        # The cache writes UTC; a time without a zone is read the same way.
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def age(then: dt.datetime, now: dt.datetime) -> str:
    """How long ago `then` was: "just now", "5 min ago", "3 h ago", "1 day ago", "12 days ago"."""
    seconds = (now - then).total_seconds()
    # A time slightly in the future (clocks of two machines disagree) still reads as recent.
    if seconds < 60:
        return "just now"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min ago"
    hours = minutes // 60
    if hours < 24:
        return f"{hours} h ago"
    days = hours // 24
    return "1 day ago" if days == 1 else f"{days} days ago"


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
    return f"{what} {when.astimezone().strftime('%Y-%m-%d %H:%M')} (local time)."
