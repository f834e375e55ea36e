"""Which revenue channels are the app's own (app/engines/revenue_channels.py), and partial buckets
(app/engines/revenue.py): the rules the Revenue pane's labels and partial markers rest on."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.engines import revenue as R
from app.engines.revenue_channels import (
    NOT_SET_UP,
    OTHER,
    SET_UP,
    AppChannel,
    ChannelSources,
    channel_sources,
    label_channels,
)
from app.engines.home import OpenHome
from app.models.services.channels import CHANNELS
from app.paths import resolve_home

SOURCES = ChannelSources((AppChannel("harbor", "Harbor Data Marketplace", True),
                          AppChannel("directory", "Segment Directory", False)))


@pytest.mark.parametrize("spelt", ["harbor", "HARBOR", "Harbor Data Marketplace", " harbor data marketplace "])
def test_an_app_channel_is_known_by_its_key_or_name_in_any_case(spelt):
    assert SOURCES.kind(spelt) == SET_UP
    assert SOURCES.label(spelt) == "Harbor Data Marketplace"


def test_other_channels_are_labelled_and_unknown_stays_unknown():
    assert SOURCES.kind("Segment Directory") == NOT_SET_UP and "not set up" in SOURCES.describe("directory")
    assert SOURCES.kind("Meta") == OTHER and SOURCES.label("Meta") == "Meta (other source)"
    assert "not one of this app's channels" in SOURCES.describe("Meta")
    assert SOURCES.kind(None) is None and SOURCES.label(None) == R.UNKNOWN
    ordered = sorted(["Meta", None, "directory", "harbor"], key=SOURCES.order)
    assert ordered == ["harbor", "directory", "Meta", None]


def test_labelling_a_breakdown_keeps_its_keys_and_numbers():
    parts = [R.Part("Meta", "Meta", 3.0, 0.6, None), R.Part("harbor", "harbor", 2.0, 0.4, 10)]
    labelled = label_channels(R.Breakdown("channel", parts, 5.0), SOURCES)
    assert [(p.key, p.label, p.revenue, p.share) for p in labelled.parts] == [
        ("Meta", "Meta (other source)", 3.0, 0.6), ("harbor", "Harbor Data Marketplace", 2.0, 0.4)]


def test_a_homes_channel_sources_follow_its_channel_set_up(tmp_path):
    with OpenHome.open(resolve_home(tmp_path / "home")) as home:
        assert {c.key for c in channel_sources(home).channels} == {c.key for c in CHANNELS}
        assert channel_sources(home).kind("harbor") == NOT_SET_UP
        home.channels.enable("harbor")
        assert channel_sources(home).kind("Harbor Data Marketplace") == SET_UP


days = st.dates(dt.date(2024, 1, 1), dt.date(2026, 12, 31))


@settings(max_examples=80, deadline=None)
@given(days, st.integers(0, 120), st.sampled_from(R.GRANULARITIES))
def test_partial_buckets_are_exactly_those_the_range_does_not_cover_whole(start, length, granularity):
    end = start + dt.timedelta(days=length)
    series = R.Series("x", granularity, R.buckets(start, end, granularity), [0.0] * len(R.buckets(start, end, granularity)),
                      days=(start, end))
    covered_total = 0
    for i, bucket in enumerate(series.buckets):
        after = R.next_bucket(bucket, granularity)
        inside = [bucket + dt.timedelta(days=k) for k in range((after - bucket).days)
                  if start <= bucket + dt.timedelta(days=k) <= end]
        covered_total += len(inside)
        expected = None if len(inside) == (after - bucket).days else (len(inside), (after - bucket).days)
        assert series.partial(i) == expected
    assert covered_total == length + 1  # every day of the range in exactly one bucket
    # Only the first and the last bucket can be partial.
    assert all(series.partial(i) is None for i in range(1, len(series.buckets) - 1))


def test_series_without_a_range_are_never_partial():
    series = R.Series("members", "week", [dt.date(2026, 3, 2)], [5.0], source=R.FROM_SERVER)
    assert series.partial(0) is None
