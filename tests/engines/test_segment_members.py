"""The Revenue pane's member counts on a real demo home: a segment that is one of the home's audiences takes
its sizes from the membership engine's history (so they agree with the Audiences list), a segment the home
does not have keeps the server's counts, labelled as such (issue 20, cumulative segment count)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from app.cli import main as cli
from app.connectors.cache import REVENUE_TABLES
from app.engines import membership
from app.engines import revenue as R
from app.engines.home import OpenHome
from app.engines.revenue_report import Request, load_charts, load_setup
from app.engines.segment_members import NOT_CALCULATED_SUFFIX, SERVER_SUFFIX, history_series, member_series
from app.paths import resolve_home

#: Demo audiences and the keys they are sold under (external name, else name).
ONBOARDING = ("New installers, under 3 sessions", "HP - Onboarding nudge")  # Active
GMAIL = ("High-value Gmail shoppers (US)", "High-value Gmail shoppers (US)")  # Active
CAMPERS = ("Campers near Denver", "Campers near Denver")  # a draft: never calculated
ELSEWHERE = "Outdoor enthusiasts (another home)"


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> OpenHome:
    root = tmp_path_factory.mktemp("segment-members") / "home"
    assert cli.main(["--home", str(root), "demo", "--profiles", "2000", "--days", "14"]) == 0
    opened = OpenHome.open(resolve_home(root))
    now = dt.datetime.now(dt.UTC)
    # Three days of history, as the app's clock would leave it (each day's calculation is its row).
    for days_ago in (9, 3, 0):
        membership.refresh(opened, now - dt.timedelta(days=days_ago), full=True)
    # A segment only the server knows: its counts arrive with revenue.
    today = now.date()
    counts = pa.table({"workspace_id": [1, 1], "day": [today - dt.timedelta(days=20), today - dt.timedelta(days=2)],
                       "segment_key": [ELSEWHERE] * 2, "members": [5_000, 5_400]},
                      schema=REVENUE_TABLES["segment_counts"][0])
    with opened.cache.writing(source="test") as writer:
        writer.add_segment_counts(counts)
    yield opened
    opened.close()


def audience_id(home: OpenHome, name: str) -> int:
    return home.audiences.get(name).id


def test_a_home_audiences_daily_counts_are_its_membership_history(home):
    rows = membership.history(home, audience_id(home, ONBOARDING[0]))
    assert len(rows) == 3
    keys = load_setup(home).home_segments
    (series,) = member_series(home.cache.cursor(), [ONBOARDING[1]], keys, rows[0].day - dt.timedelta(days=5),
                              rows[-1].day, "day")
    assert series.source == R.FROM_MEMBERSHIP and series.label == ONBOARDING[1]
    # Every day from the first row on: the day's size, carried over the days the engine did not run.
    days = [rows[0].day + dt.timedelta(days=k) for k in range((rows[-1].day - rows[0].day).days + 1)]
    assert series.buckets == days
    expected = {row.day: row.size for row in rows}
    carried = []
    for day in days:
        carried.append(float(expected.get(day, carried[-1] if carried else None)))
    assert series.values == carried


def test_weekly_counts_take_each_weeks_last_day_and_the_last_point_is_the_lists_size(home):
    for name, key in (ONBOARDING, GMAIL):
        rows = membership.history(home, audience_id(home, name))
        start, end = rows[0].day - dt.timedelta(days=30), rows[-1].day
        (series,) = member_series(home.cache.cursor(), [key], load_setup(home).home_segments, start, end, "week")
        for bucket, value in series.rows():
            last_day = min(bucket + dt.timedelta(days=6), end)
            assert value == [r.size for r in rows if r.day <= last_day][-1]
        status = membership.status(home, audience_id(home, name))
        assert series.values[-1] == status.size  # what the Audiences list shows


def test_the_panes_request_reads_home_audiences_from_the_history_not_the_servers_invented_counts(home):
    """The regression: the Revenue pane's member counts used the server's segment_counts for every segment,
    and the demo's are invented (thousands where the audience has tens)."""
    setup = load_setup(home)
    last_revenue_day = setup.days[1]
    f = R.RevenueFilter(last_revenue_day - dt.timedelta(days=89), last_revenue_day, setup.currencies[0],
                        public_segments=setup.public_segments)
    request = Request(f, "week", (ONBOARDING[1], CAMPERS[1], ELSEWHERE), "period", None, None, f.start,
                      setup.history_last, setup.home_segments, setup.channel_sources)
    onboarding, campers, elsewhere = load_charts(home, request, ("members",)).members
    status = membership.status(home, audience_id(home, ONBOARDING[0]))
    assert onboarding.values[-1] == status.size
    server = R.member_counts(home.cache.cursor(), [ONBOARDING[1]], f.start, f.end, "week")[0]
    assert server.values and server.values[-1] != status.size  # the demo's invented count disagrees
    # A draft has no history: no line, and the label says why (never the server's number).
    assert campers.buckets == [] and campers.label == CAMPERS[1] + NOT_CALCULATED_SUFFIX
    # A segment the home does not have keeps the server's counts, labelled as reported by it.
    assert elsewhere.source == R.FROM_SERVER and elsewhere.label == ELSEWHERE + SERVER_SUFFIX
    assert elsewhere.values == R.member_counts(home.cache.cursor(), [ELSEWHERE], f.start, f.end, "week")[0].values
    assert elsewhere.values[-1] == 5_400


def test_history_before_a_range_is_carried_into_it_and_bad_ranges_are_refused(home):
    gmail = audience_id(home, GMAIL[0])
    rows = membership.history(home, gmail)
    later = rows[-1].day + dt.timedelta(days=40)
    buckets, values = history_series(home.cache.cursor(), [gmail], later - dt.timedelta(days=1), later, "day")[gmail]
    assert values == [float(rows[-1].size)] * 2
    with pytest.raises(R.InvalidInput, match="ends .* before it starts"):
        history_series(home.cache.cursor(), [gmail], later, later - dt.timedelta(days=1), "day")


def test_the_counts_say_nothing_for_an_audience_before_its_first_calculation(home):
    onboarding = audience_id(home, ONBOARDING[0])
    first = membership.history(home, onboarding)[0].day
    buckets, _values = history_series(home.cache.cursor(), [onboarding], first - dt.timedelta(days=30),
                                      first - dt.timedelta(days=1), "day")[onboarding]
    assert buckets == []


def test_home_segments_map_sold_keys_to_audiences(home):
    keys = load_setup(home).home_segments
    assert keys[ONBOARDING[1]].audience_id == audience_id(home, ONBOARDING[0])
    assert keys[GMAIL[1]].audience_name == GMAIL[0]
    assert ELSEWHERE not in keys


def test_a_home_without_any_history_has_no_last_history_day(tmp_path: Path):
    root = tmp_path / "empty"
    assert cli.main(["--home", str(root), "info"]) == 0
    with OpenHome.open(resolve_home(root)) as opened:
        from app.engines.segment_members import last_history_day
        assert last_history_day(opened) is None
