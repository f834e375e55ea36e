"""Revenue analytics (app/engines/revenue.py) against a reference computed in plain Python.

Random records (hypothesis) cross weeks, months and a year's end, with unreported agencies and
channels (NULL), two workspaces and two currencies; they are written through the real CacheWriter
into a real DuckDB cache - in two loads that correct each other, so the rollups are exercised too -
and every aggregation is compared with the same sums done by hand over the records.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.engines import revenue as R
from app.connectors.cache import REVENUE_TABLES, Cache
from app.errors import InvalidInput

D = dt.date
BASE = D(2025, 12, 10)  # a Wednesday; the records span 2025-12-10 .. 2026-04-09
SPAN = 120
SEGMENTS = ("Hikers", "Campers", "Anglers")
AGENCIES = ("acme", "blue", None)
CHANNELS = ("DV360", "Meta", None)

KEY = slice(0, 5)  # workspace, day, segment, agency, channel (+ currency, index 7): a record's key


def key_of(row: tuple) -> tuple:
    return (*row[KEY], row[7])


# -- data -------------------------------------------------------------------------------------------

record = st.tuples(
    st.sampled_from((1, 2)),
    st.integers(0, SPAN - 1).map(lambda n: BASE + dt.timedelta(days=n)),
    st.sampled_from(SEGMENTS),
    st.sampled_from(AGENCIES),
    st.sampled_from(CHANNELS),
    st.one_of(st.none(), st.integers(0, 50_000)),
    st.integers(1, 100_000).map(lambda cents: cents / 100),
    st.sampled_from(("USD", "USD", "EUR")),
)


def subset(values):
    return st.one_of(st.none(), st.frozensets(st.sampled_from(values), max_size=len(values)))


@st.composite
def filters(draw):
    first = draw(st.integers(-5, SPAN))
    length = draw(st.integers(0, SPAN))
    return R.RevenueFilter(
        start=BASE + dt.timedelta(days=first), end=BASE + dt.timedelta(days=first + length),
        currency=draw(st.sampled_from(("USD", "EUR"))),
        workspace_ids=draw(st.sampled_from(((), (1,), (2,), (1, 2)))),
        segments=draw(subset(SEGMENTS)), agencies=draw(subset(AGENCIES)), channels=draw(subset(CHANNELS)),
        public_segments=draw(subset(SEGMENTS)),
    )


def table(rows: list[tuple]) -> pa.Table:
    names = REVENUE_TABLES["revenue_records"][0].names
    return pa.table({name: [row[i] for row in rows] for i, name in enumerate(names)})


def loaded(loads: list[list[tuple]]) -> tuple[Cache, list[tuple]]:
    """A fresh cache holding the loads, and the records it should hold (latest wins per key)."""
    cache = Cache(":memory:")
    latest: dict[tuple, tuple] = {}
    for rows in loads:
        if rows:
            with cache.writing(source="test") as writer:
                writer.add_revenue(table(rows))
        for row in rows:
            latest[key_of(row)] = row
    return cache, list(latest.values())


# -- the reference ----------------------------------------------------------------------------------


def selected(rows: list[tuple], f: R.RevenueFilter) -> list[tuple]:
    def keep(values, value):
        return values is None or value in values

    return [r for r in rows if r[7] == f.currency and f.start <= r[1] <= f.end
            and (not f.workspace_ids or r[0] in f.workspace_ids)
            and keep(f.segments, r[2]) and keep(f.public_segments, r[2])
            and keep(f.agencies, r[3]) and keep(f.channels, r[4])]


def ref_bucket(day: dt.date, granularity: str) -> dt.date:
    if granularity == "week":
        while day.isoweekday() != 1:  # ISO Monday
            day -= dt.timedelta(days=1)
        return day
    return day.replace(day=1) if granularity == "month" else day


def ref_series(rows, f, granularity) -> tuple[list[dt.date], list[float]]:
    keys = []
    day = f.start
    while day <= f.end:
        if ref_bucket(day, granularity) not in keys:
            keys.append(ref_bucket(day, granularity))
        day += dt.timedelta(days=1)
    sums = defaultdict(float)
    for r in selected(rows, f):
        sums[ref_bucket(r[1], granularity)] += r[6]
    return keys, [sums[k] for k in keys]


def ref_breakdown(rows, f, column: int) -> dict[str | None, tuple[float, int | None]]:
    revenue, impressions = defaultdict(float), {}
    for r in selected(rows, f):
        revenue[r[column]] += r[6]
        if r[5] is not None:
            impressions[r[column]] = impressions.get(r[column], 0) + r[5]
    return {k: (v, impressions.get(k)) for k, v in revenue.items()}


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


def assert_breakdown(result: R.Breakdown, expected: dict) -> None:
    assert {p.key for p in result.parts} == set(expected)
    for part in result.parts:
        assert close(part.revenue, expected[part.key][0]), part
        assert part.impressions == expected[part.key][1], part
        assert part.label == (R.UNKNOWN if part.key is None else part.key)
    if expected:
        assert close(sum(p.share for p in result.parts), 1.0)
        assert [p.revenue for p in result.parts] == sorted((p.revenue for p in result.parts), reverse=True)


# -- aggregations against the reference -------------------------------------------------------------


# Each example builds a cache: few examples, each with several filters, keep the file under ~30 s.
FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEWER = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(first=st.lists(record, max_size=60), corrections=st.lists(record, max_size=20),
       chosen=st.lists(filters(), min_size=1, max_size=4), granularity=st.sampled_from(R.GRANULARITIES))
def test_every_aggregation_matches_a_plain_python_reference(first, corrections, chosen, granularity):
    # The second load re-sends some of the first's keys with new values: a channel's correction.
    corrections = [(*first[i % len(first)][:5], *c[5:7], first[i % len(first)][7]) if first and i % 2 else c
                   for i, c in enumerate(corrections)]
    cache, rows = loaded([first, corrections])
    cursor = cache.cursor()
    for f in chosen:
        keys, values = ref_series(rows, f, granularity)
        series = R.revenue_series(cursor, f, granularity)
        assert series.buckets == keys
        assert all(close(a, b) for a, b in zip(series.values, values, strict=True)), (series.values, values)

        expected_total = sum(r[6] for r in selected(rows, f))
        total = R.revenue_total(cursor, f)
        assert close(total.revenue, expected_total)
        assert total.records == len(selected(rows, f))

        view = R.revenue_view(cursor, f, granularity)
        assert view.series == series or all(close(a, b) for a, b in zip(view.series.values, values, strict=True))
        assert close(view.total.revenue, expected_total) and view.total.records == total.records
        assert view.total.impressions == total.impressions
        for dimension, column, result in (("segment", 2, view.by_segment), ("agency", 3, view.by_agency),
                                          ("channel", 4, view.by_channel)):
            assert_breakdown(result, ref_breakdown(rows, f, column))
            assert_breakdown(R.breakdown(cursor, f, dimension), ref_breakdown(rows, f, column))
    cache.close()


@FEWER
@given(rows=st.lists(record, max_size=60), f=filters(), granularity=st.sampled_from(R.GRANULARITIES),
       shift=st.integers(-60, 60), dimension=st.sampled_from(("segment", "agency", "channel")))
def test_compares_match_the_reference(rows, f, granularity, shift, dimension):
    cache, rows = loaded([rows])
    cursor = cache.cursor()
    values = {"segment": SEGMENTS, "agency": AGENCIES, "channel": CHANNELS}[dimension]
    comparison = R.compare(cursor, f, granularity, dimension, values[0], values[2])
    for side, value in ((comparison.a, values[0]), (comparison.b, values[2])):
        keys, expected = ref_series(rows, f.narrowed(dimension, [value]), granularity)
        assert side.buckets == keys and all(close(a, b) for a, b in zip(side.values, expected, strict=True))
        assert side.label == (R.UNKNOWN if value is None else value)

    other = f.start + dt.timedelta(days=shift)
    periods = R.compare_periods(cursor, f, granularity, other)
    for side, period in ((periods.a, f), (periods.b, f.shifted(other))):
        keys, expected = ref_series(rows, period, granularity)
        assert side.buckets == keys and all(close(a, b) for a, b in zip(side.values, expected, strict=True))
    cache.close()


# -- the rules, one example each --------------------------------------------------------------------


@pytest.fixture
def cursor():
    cache, _ = loaded([[
        (1, D(2026, 2, 27), "Hikers", "acme", "DV360", 1000, 10.0, "USD"),   # Friday
        (1, D(2026, 2, 28), "Hikers", None, "Meta", None, 4.0, "USD"),       # Saturday; Meta never reports the buyer
        (1, D(2026, 3, 1), "Hikers", "acme", None, 300, 2.0, "USD"),         # Sunday; the channel is not reported
        (1, D(2026, 3, 2), "Campers", "blue", "DV360", 500, 1.0, "USD"),     # Monday
        (1, D(2025, 12, 31), "Campers", "blue", "DV360", 100, 0.5, "USD"),   # Wednesday
        (1, D(2026, 1, 1), "Campers", None, "Meta", None, 0.25, "USD"),      # Thursday, same ISO week
        (1, D(2026, 3, 2), "Campers", "blue", "DV360", 700, 9.0, "EUR"),
    ]])
    yield cache.cursor()
    cache.close()


def test_unreported_breakdowns_are_an_unknown_part_never_zero_nor_dropped(cursor):
    f = R.RevenueFilter(D(2026, 2, 1), D(2026, 3, 31), "USD")
    by_agency = R.breakdown(cursor, f, "agency")
    unknown = by_agency.part(None)
    assert unknown is not None and unknown.unknown and unknown.label == "Unknown"
    assert unknown.revenue == 4.0 and unknown.impressions is None  # impressions not reported: None, not 0
    assert R.breakdown(cursor, f, "channel").part(None).revenue == 2.0
    assert by_agency.total == 17.0 == sum(p.revenue for p in by_agency.parts)
    # Unknown can be chosen like any agency, and is its own series in a compare.
    assert R.revenue_total(cursor, R.RevenueFilter(D(2026, 2, 1), D(2026, 3, 31), "USD", agencies={None})).revenue == 4.0
    assert sum(R.compare(cursor, f, "month", "agency", "acme", None).b.values) == 4.0
    many = R.RevenueFilter(f.start, f.end, "USD", agencies={None, "acme", *(f"agency {i}" for i in range(30))})
    assert R.revenue_total(cursor, many).revenue == 16.0  # a long list (a semi join) keeps Unknown too


def test_weeks_start_on_monday_and_months_on_the_first_across_boundaries(cursor):
    weeks = R.revenue_series(cursor, R.RevenueFilter(D(2025, 12, 29), D(2026, 3, 8), "USD"), "week")
    by_week = dict(weeks.rows())
    assert all(b.weekday() == 0 for b in weeks.buckets)
    assert by_week[D(2025, 12, 29)] == 0.75  # Dec 31 and Jan 1: one ISO week across the year's end
    assert by_week[D(2026, 2, 23)] == 16.0  # Friday to Sunday, across the end of February
    assert by_week[D(2026, 3, 2)] == 1.0
    months = dict(R.revenue_series(cursor, R.RevenueFilter(D(2025, 12, 1), D(2026, 3, 31), "USD"), "month").rows())
    assert months == {D(2025, 12, 1): 0.5, D(2026, 1, 1): 0.25, D(2026, 2, 1): 14.0, D(2026, 3, 1): 3.0}
    # A range starting mid-week: the bucket keeps its Monday but sums only the range's days.
    partial = R.revenue_series(cursor, R.RevenueFilter(D(2026, 2, 28), D(2026, 3, 2), "USD"), "week")
    assert partial.rows() == [(D(2026, 2, 23), 6.0), (D(2026, 3, 2), 1.0)]


def test_shares_add_up_to_one(cursor):
    view = R.revenue_view(cursor, R.RevenueFilter(D(2025, 12, 1), D(2026, 3, 31), "USD"), "month")
    for result in (view.by_segment, view.by_agency, view.by_channel):
        assert math.isclose(sum(p.share for p in result.parts), 1.0)
        assert math.isclose(result.total, view.total.revenue)


def test_two_periods_align_bucket_by_bucket(cursor):
    comparison = R.compare_periods(cursor, R.RevenueFilter(D(2026, 2, 27), D(2026, 3, 2), "USD"), "day", D(2025, 12, 30))
    assert comparison.rows() == [
        (0, D(2026, 2, 27), 10.0, D(2025, 12, 30), 0.0),
        (1, D(2026, 2, 28), 4.0, D(2025, 12, 31), 0.5),
        (2, D(2026, 3, 1), 2.0, D(2026, 1, 1), 0.25),
        (3, D(2026, 3, 2), 1.0, D(2026, 1, 2), 0.0),
    ]


def test_only_public_segments_earn(cursor):
    f = R.RevenueFilter(D(2025, 12, 1), D(2026, 3, 31), "USD", public_segments={"Campers"})
    assert [p.key for p in R.breakdown(cursor, f, "segment").parts] == ["Campers"]
    assert R.revenue_total(cursor, f).revenue == 1.75
    many = R.RevenueFilter(f.start, f.end, "USD", public_segments={"Campers", *(f"Segment {i}" for i in range(40))})
    assert R.revenue_view(cursor, many, "week") == R.revenue_view(cursor, f, "week")
    nothing_public = R.RevenueFilter(D(2025, 12, 1), D(2026, 3, 31), "USD", public_segments=set())
    assert R.revenue_total(cursor, nothing_public).revenue == 0.0 and not R.breakdown(cursor, nothing_public, "agency").parts


def test_currencies_are_never_added_up(cursor):
    assert R.currencies(cursor) == ["USD", "EUR"]
    assert R.revenue_total(cursor, R.RevenueFilter(D(2026, 3, 2), D(2026, 3, 2), "EUR")).revenue == 9.0
    assert R.revenue_days(cursor) == (D(2025, 12, 31), D(2026, 3, 2))


def test_agency_details_label_the_bars():
    cache, _ = loaded([[(1, D(2026, 1, 5), "Hikers", "acme", "DV360", 10, 3.0, "USD")]])
    with cache.writing(source="test") as writer:
        writer.add_agencies(pa.table({"workspace_id": [1], "agency": ["acme"], "name": ["Acme Media"],
                                      "kind": ["agency"], "country": ["US"], "contact": ["buy@acme.example"]}))
    part = R.breakdown(cache.cursor(), R.RevenueFilter(D(2026, 1, 1), D(2026, 1, 31), "USD"), "agency").parts[0]
    assert part.key == "acme" and part.label == "Acme Media"
    assert part.details == R.Agency("acme", "Acme Media", "agency", "US", "buy@acme.example")
    cache.close()


def test_bad_filters_are_refused_plainly(cursor):
    with pytest.raises(InvalidInput, match="ends .* before it starts"):
        R.RevenueFilter(D(2026, 3, 1), D(2026, 2, 1), "USD")
    with pytest.raises(InvalidInput, match="granularity 'hour'"):
        R.revenue_series(cursor, R.RevenueFilter(D(2026, 2, 1), D(2026, 3, 1), "USD"), "hour")
    with pytest.raises(InvalidInput, match="breakdown 'country'"):
        R.breakdown(cursor, R.RevenueFilter(D(2026, 2, 1), D(2026, 3, 1), "USD"), "country")


def test_csv_tables_spell_out_unknown_and_leave_missing_values_empty(cursor):
    f = R.RevenueFilter(D(2026, 2, 27), D(2026, 3, 2), "USD")
    rows = R.breakdown_table(R.breakdown(cursor, f, "agency"))
    assert rows[0] == ["agency", "revenue", "share", "impressions"]
    assert ["Unknown", 4.0, round(4.0 / 17.0, 6), ""] in rows
    table = R.series_table([R.Series("a", "day", [D(2026, 1, 1)], [1.0]), R.Series("b", "day", [D(2026, 1, 2)], [2.0])])
    assert table == [["bucket", "a", "b"], ["2026-01-01", 1.0, ""], ["2026-01-02", "", 2.0]]


def test_csv_tables_give_amounts_in_cents_without_the_noise_of_summed_floats():
    noisy = 0.1 + 0.2  # 0.30000000000000004, as summing revenue in DuckDB leaves them
    table = R.series_table([R.Series("a", "day", [D(2026, 1, 1)], [noisy]), R.Series("n", "day", [D(2026, 1, 1)], [7])])
    assert table[1] == ["2026-01-01", 0.3, 7] and str(table[1][1]) == "0.3"
    part = R.Part("Meta", "Meta", noisy, 1 / 3, None)
    assert R.breakdown_table(R.Breakdown("channel", [part], noisy))[1] == ["Meta", 0.3, 0.333333, ""]


# -- member counts ----------------------------------------------------------------------------------


def counts_cache(rows: list[tuple]) -> Cache:
    cache = Cache(":memory:")
    latest = {(w, d, s): m for w, d, s, m in rows}
    with cache.writing(source="test") as writer:
        writer.add_segment_counts(pa.table({
            "workspace_id": [k[0] for k in latest], "day": [k[1] for k in latest],
            "segment_key": [k[2] for k in latest], "members": list(latest.values())}))
    return cache


def ref_members(rows, segment, start, end, granularity, workspace_ids) -> list[tuple[dt.date, float]]:
    latest = {(w, d, s): m for w, d, s, m in rows}
    result, day = {}, start
    while day <= end:
        known = {}
        for (w, d, s), m in latest.items():
            chosen = s == segment and d <= day and (not workspace_ids or w in workspace_ids)
            if chosen and (w not in known or d > known[w][0]):
                known[w] = (d, m)
        if known:
            result[ref_bucket(day, granularity)] = float(sum(m for _, m in known.values()))  # the bucket's last day wins
        day += dt.timedelta(days=1)
    return list(result.items())


count_row = st.tuples(st.sampled_from((1, 2)), st.integers(0, SPAN - 1).map(lambda n: BASE + dt.timedelta(days=n)),
                      st.sampled_from(SEGMENTS[:2]), st.integers(0, 10_000))


@FEWER
@given(rows=st.lists(count_row, min_size=1, max_size=40), f=filters(), granularity=st.sampled_from(R.GRANULARITIES))
def test_member_counts_match_the_reference(rows, f, granularity):
    cache = counts_cache(rows)
    result = R.member_counts(cache.cursor(), list(SEGMENTS), f.start, f.end, granularity, f.workspace_ids)
    assert [s.label for s in result] == list(SEGMENTS)
    for series in result:
        assert series.rows() == ref_members(rows, series.label, f.start, f.end, granularity, f.workspace_ids)
    assert result[2].buckets == []  # no count ever reported
    cache.close()


@FEWER
@given(steps=st.lists(st.tuples(st.integers(1, 9), st.integers(0, 500)), min_size=1, max_size=30),
       granularity=st.sampled_from(R.GRANULARITIES))
def test_member_counts_only_grow_when_members_only_grow(steps, granularity):
    rows, day, members = [], BASE, 0
    for gap, added in steps:  # reports with gaps between them, on both workspaces
        day += dt.timedelta(days=gap)
        members += added
        rows += [(1, day, "Hikers", members), (2, day, "Hikers", 2 * members)]
    cache = counts_cache(rows)
    series = R.member_counts(cache.cursor(), ["Hikers"], BASE, day + dt.timedelta(days=40), granularity)[0]
    assert series.values == sorted(series.values)
    assert series.values[-1] == 3 * members
    cache.close()
