"""The demo's year of revenue and member counts: deterministic, shaped like a marketplace's, loaded by
the demo build."""

from __future__ import annotations

import datetime as dt
import statistics

import pytest

from app.engines import revenue as R
from app.cli.main import main
from app.connectors.cache import Cache
from app.connectors.demo_revenue import AGENCIES, CHANNELS, DemoSegment, generate
from app.engines.demo import example_audiences
from app.engines.home import OpenHome
from app.paths import resolve_home

END = dt.date(2026, 10, 31)
SEGMENTS = [DemoSegment(1, f"Segment {i}", "USD") for i in range(6)] + [DemoSegment(2, "Segment 5", "EUR")]


@pytest.fixture(scope="module")
def demo():
    return generate(SEGMENTS, end=END, seed=7, profiles=50_000)


@pytest.fixture(scope="module")
def cursor(demo):
    cache = Cache(":memory:")
    with cache.writing(source="demo") as writer:
        writer.add_agencies(demo.agencies)
        writer.add_segment_counts(demo.counts)
        writer.add_revenue(demo.records)
    yield cache.cursor()
    cache.close()


def test_the_same_seed_gives_the_same_year_and_another_seed_another(demo):
    again = generate(SEGMENTS, end=END, seed=7, profiles=50_000)
    assert demo.records.equals(again.records) and demo.counts.equals(again.counts)
    assert not demo.records.equals(generate(SEGMENTS, end=END, seed=8, profiles=50_000).records)


def test_a_year_of_daily_counts_for_every_segment_and_revenue_up_to_the_end(demo, cursor):
    assert demo.counts.num_rows == 365 * len(SEGMENTS)
    assert R.revenue_days(cursor, [1]) == (END - dt.timedelta(days=364), END)
    assert R.currencies(cursor) == ["USD", "EUR"]


def test_two_channels_never_name_the_agency_and_unknowns_stay_unknown(cursor):
    year = R.RevenueFilter(END - dt.timedelta(days=364), END, "USD")
    by_channel = {p.key: p for p in R.breakdown(cursor, year, "channel").parts}
    assert set(by_channel) == {c[0] for c in CHANNELS} | {None}  # None: direct deals without a channel
    for channel in ("Meta", "Google Ads"):
        only = R.RevenueFilter(year.start, year.end, "USD", channels={channel})
        assert [p.key for p in R.breakdown(cursor, only, "agency").parts] == [None]
        assert by_channel[channel].impressions is None  # they report spend only
    agencies = R.breakdown(cursor, year, "agency")
    assert agencies.part(None).revenue > 0
    named = [p for p in agencies.parts if p.key is not None]
    assert named and all(p.details is not None and p.label == p.details.name for p in named)
    assert {p.key for p in named} <= {a[0] for a in AGENCIES}


def test_buying_is_quieter_at_weekends_and_peaks_before_the_holidays(cursor):
    year = R.RevenueFilter(END - dt.timedelta(days=364), END, "USD")
    days = R.revenue_series(cursor, year, "day").rows()
    weekdays = statistics.mean(v for d, v in days if d.weekday() < 5)
    weekends = statistics.mean(v for d, v in days if d.weekday() >= 5)
    assert weekends < 0.85 * weekdays
    months = dict(R.revenue_series(cursor, year, "month").rows())
    assert months[dt.date(2025, 12, 1)] > months[dt.date(2026, 2, 1)]


def test_segments_grow_or_shrink_and_some_were_not_sold_all_year(cursor):
    series = R.member_counts(cursor, [s.key for s in SEGMENTS[:6]], END - dt.timedelta(days=364), END, "month", [1])
    changes = [s.values[-1] / s.values[0] for s in series]
    assert all(len(s.values) == 12 for s in series)
    assert any(c > 1.05 for c in changes) and any(c < 0.95 for c in changes)
    by_month = R.compare(cursor, R.RevenueFilter(END - dt.timedelta(days=364), END, "USD"), "month", "segment",
                         "Segment 2", "Segment 4")
    assert by_month.a.values[0] == 0 and by_month.a.values[-1] > 0  # sold from the spring
    assert by_month.b.values[0] > 0 and by_month.b.values[-1] == 0  # no longer sold in the autumn


def test_the_demo_build_loads_revenue_for_the_example_audiences(tmp_path):
    home = tmp_path / "demo"
    assert main(["--home", str(home), "demo", "--profiles", "300", "--days", "5", "--end", "2026-11-01T12:00:00Z"]) == 0
    with OpenHome.open(resolve_home(home)) as opened:
        cursor = opened.cache.cursor()
        us, eu = (w.id for w in opened.workspaces.list())
        keys = {spec["external_name"] or spec["name"] for spec in example_audiences(us, eu)}
        assert R.revenue_days(cursor) == (dt.date(2025, 11, 1), dt.date(2026, 10, 31))
        sold = {p.key for p in R.breakdown(cursor, R.RevenueFilter(dt.date(2025, 11, 1), END, "USD"), "segment").parts}
        assert sold <= keys and len(sold) >= 5
        assert R.currencies(cursor, [eu]) == ["EUR"]
        counted = R.member_counts(cursor, sorted(keys), dt.date(2026, 10, 1), END, "week")
        assert all(s.values for s in counted)
        assert opened.cache.meta("source") == "demo"
