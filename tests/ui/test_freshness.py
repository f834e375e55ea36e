"""The status bar's cache freshness words, from home_info's "cache" section."""

from __future__ import annotations

import datetime as dt

import pytest

from app.ui.freshness import cache_freshness, cache_freshness_detail
from app.ui.kit.times import age, parse_utc

NOW = dt.datetime(2026, 9, 9, 13, 0, tzinfo=dt.UTC)


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def imported(ago: dt.timedelta) -> dict:
    return {"source": "import", "last_load": {"at": _iso(NOW - ago)}, "last_sync": None}


def test_demo_data_says_demo_data_whatever_its_age():
    cache = {"source": "demo", "last_load": {"at": _iso(NOW - dt.timedelta(days=40))}, "last_sync": None}
    assert cache_freshness(cache, NOW) == "demo data"


@pytest.mark.parametrize("source", ["empty", None])
def test_a_cache_never_loaded_says_empty_cache(source):
    assert cache_freshness({"source": source, "last_load": None, "last_sync": None}, NOW) == "empty cache"


def test_an_import_says_how_long_ago_in_hours():
    assert cache_freshness(imported(dt.timedelta(hours=3, minutes=40)), NOW) == "imported 3 h ago"


def test_a_sync_says_how_long_ago_from_the_last_sync_not_the_last_load():
    cache = {
        "source": "sync",
        "last_load": {"at": _iso(NOW - dt.timedelta(days=2))},
        "last_sync": _iso(NOW - dt.timedelta(minutes=5, seconds=20)),
    }
    assert cache_freshness(cache, NOW) == "synced 5 min ago"


def test_a_sync_without_a_sync_time_falls_back_to_the_last_load():
    cache = {"source": "sync", "last_load": {"at": _iso(NOW - dt.timedelta(hours=1))}, "last_sync": None}
    assert cache_freshness(cache, NOW) == "synced 1 h ago"


@pytest.mark.parametrize(
    ("ago", "words"),
    [
        (dt.timedelta(seconds=0), "just now"),
        (dt.timedelta(seconds=59), "just now"),
        (dt.timedelta(minutes=1), "1 min ago"),
        (dt.timedelta(minutes=59, seconds=59), "59 min ago"),
        (dt.timedelta(hours=1), "1 h ago"),
        (dt.timedelta(hours=23, minutes=59), "23 h ago"),
        (dt.timedelta(days=1), "1 day ago"),
        (dt.timedelta(days=1, hours=23), "1 day ago"),
        (dt.timedelta(days=12), "12 days ago"),
    ],
)
def test_ages_are_rounded_down_to_minutes_hours_or_days(ago, words):
    assert age(NOW - ago, NOW) == words


def test_a_time_slightly_in_the_future_reads_as_just_now():
    assert cache_freshness(imported(-dt.timedelta(minutes=2)), NOW) == "imported just now"


def test_times_without_a_zone_are_read_as_utc_and_garbage_as_unknown():
    assert parse_utc("2026-09-09T12:00:00") == dt.datetime(2026, 9, 9, 12, tzinfo=dt.UTC)
    assert parse_utc("2026-09-09T14:00:00+02:00") == dt.datetime(2026, 9, 9, 12, tzinfo=dt.UTC)
    assert parse_utc("yesterday") is None
    assert cache_freshness({"source": "import", "last_load": {"at": "yesterday"}}, NOW) == "imported"


def test_the_tooltip_gives_the_exact_local_time_of_the_import():
    moment = NOW - dt.timedelta(hours=3)
    detail = cache_freshness_detail(imported(dt.timedelta(hours=3)))
    assert detail == f"Imported {moment.astimezone().strftime('%Y-%m-%d %H:%M')} (local time)."
