"""Audience sizes for the list: size now, adds and drops in 24 hours, volatility; refusals and cancel."""

from __future__ import annotations

import datetime as dt

import pytest

from app.engines.audience_sizes import AudienceSize, SizeCalculator
from app.engines.home import OpenHome
from app.paths import Home
from tests.builder.test_compiler_examples import NOW, profile, session
from tests.builder.workspaces import load

HOUR = dt.timedelta(hours=1)


def within(hours: int) -> dict:
    return {"type": "within", "amount": hours, "unit": "hours"}


@pytest.fixture
def opened(home_dir: Home):
    with OpenHome.open(home_dir, user="maria") as home:
        workspace = home.workspaces.create("Retail", [("platform", "iOS")])
        load(home.cache, [(workspace.id, batch) for batch in (
            profile(1, events=[session(NOW - 2 * HOUR)]),            # joined "sessions in 48 h" lately, still in
            profile(2, events=[session(NOW - 30 * HOUR)]),           # in both then and now
            profile(3, events=[session(NOW - 60 * HOUR)]),           # dropped out in the last day
            profile(4, events=[session(NOW - 10 * HOUR), session(NOW - 80 * HOUR)]),
            profile(5),                                               # never had a session
        )])
        yield home, workspace


def test_size_adds_drops_and_volatility(opened):
    home, workspace = opened
    active = {"version": 1, "root": {"id": "root", "type": "group", "match": "all", "children": [
        {"id": "s", "type": "event", "event_type": "session_start", "window": within(48)}]}}
    audience = home.audiences.create("Active in 2 days", workspace_ids=[workspace.id], criteria=active)
    empty = home.audiences.create("Nothing yet", workspace_ids=[workspace.id])
    calculator = SizeCalculator(home)
    seen = []
    sizes = calculator.sizes([audience, empty], now=NOW, progress=lambda done, total: seen.append((done, total)))
    # now: 1, 2, 4 (10 h ago); 24 h earlier: 2 (6 h before then), 3 (36 h before then); 4's 80 h session is too old
    assert sizes[audience.id] == AudienceSize(audience.id, 3, 2, 1)
    assert sizes[audience.id].volatility == pytest.approx(1.0)
    assert sizes[empty.id] == AudienceSize(empty.id, 0, 0, 0) and sizes[empty.id].volatility is None
    assert seen == [(1, 2), (2, 2)]


def test_criteria_the_cache_cannot_answer_are_named_not_raised(opened):
    home, workspace = opened
    unknown = {"version": 1, "root": {"id": "root", "type": "group", "match": "all", "children": [
        {"id": "vip", "type": "user_attribute", "attribute": "vip_level", "operator": "exists"}]}}
    audience = home.audiences.create("VIPs", workspace_ids=[workspace.id], criteria=unknown)
    size = SizeCalculator(home).sizes([audience], now=NOW)[audience.id]
    assert size.size is None and "vip_level" in size.problem and "'vip'" in size.problem


def test_now_defaults_to_the_current_time(opened):
    home, workspace = opened
    audience = home.audiences.create("Anyone with a session", workspace_ids=[workspace.id], criteria={
        "version": 1, "root": {"id": "root", "type": "group", "match": "all", "children": [
            {"id": "s", "type": "event", "event_type": "session_start", "frequency": {"operator": "ge", "value": 0}}]}})
    size = SizeCalculator(home).sizes([audience])[audience.id]
    assert size.size == 5  # ">= 0 sessions" is everyone, whatever the time


def test_each_size_is_told_as_soon_as_it_is_known(opened):
    home, workspace = opened
    first = home.audiences.create("First", workspace_ids=[workspace.id])
    second = home.audiences.create("Second", workspace_ids=[workspace.id])
    told = []
    SizeCalculator(home).sizes([first, second], now=NOW, on_size=told.append)
    assert [size.audience_id for size in told] == [first.id, second.id]


def test_a_cancelled_calculator_stops_before_the_next_audience(opened):
    from app.engines.audience_sizes import SizesCancelled

    home, workspace = opened
    audiences = [home.audiences.create(f"A{n}", workspace_ids=[workspace.id]) for n in range(3)]
    calculator = SizeCalculator(home)
    told = []

    def cancel_after_first(size):
        told.append(size)
        calculator.cancel()

    with pytest.raises(SizesCancelled):
        calculator.sizes(audiences, now=NOW, on_size=cancel_after_first)
    assert len(told) == 1
