"""The membership engine: live audiences kept in the cache, incrementally, with entered/left times, the change
log, daily history and a state per audience; failures keep the last good members; the import hook."""

from __future__ import annotations

import datetime as dt

import duckdb
import orjson
import pytest

from app.builder.variants import variation_of
from app.connectors.cache import MEMBERSHIP_TABLES, Cache
from app.engines import membership
from app.engines.home import OpenHome
from app.engines.importing import import_into_workspace
from app.models.services.ab_tests import DraftVariation
from app.paths import Home
from tests.builder.test_compiler_examples import NOW, profile, session
from tests.builder.workspaces import load

HOUR = dt.timedelta(hours=1)


def within(hours: int) -> dict:
    return {"type": "within", "amount": hours, "unit": "hours"}


def doc(*children: dict) -> dict:
    return {"version": 1, "root": {"id": "root", "type": "group", "match": "all", "children": list(children)}}


SESSION_48H = doc({"id": "s", "type": "event", "event_type": "session_start", "window": within(48)})
GOLD = doc({"id": "g", "type": "user_attribute", "attribute": "tier", "operator": "equals", "value": "gold"})


def gold(mpid: int, tier: str = "gold", **kwargs) -> dict:
    return profile(mpid, user_attributes={"tier": tier}, **kwargs)


@pytest.fixture
def opened(home_dir: Home):
    with OpenHome.open(home_dir, user="maria") as home:
        workspace = home.workspaces.create("Retail", [("platform", "iOS")])
        load(home.cache, [(workspace.id, batch) for batch in (
            gold(1, events=[session(NOW - 2 * HOUR)]),
            gold(2, "silver", events=[session(NOW - 30 * HOUR)]),
            gold(3, events=[session(NOW - 60 * HOUR)]),
            gold(4, "silver"),
        )])
        yield home, workspace


def members(home, audience_id, variant_id=0) -> set[int]:
    return set(membership.stored_members(home, audience_id, variant_id))


def test_the_first_calculation_is_the_baseline_then_entries_and_exits_are_logged(opened):
    home, workspace = opened
    audience = home.audiences.create("Sessions in 2 days", workspace_ids=[workspace.id], criteria=SESSION_48H,
                                     status="active")
    report = membership.refresh(home, NOW)
    assert report.calculated == [(audience.id, 0)]
    assert membership.stored_members(home, audience.id) == {1: NOW, 2: NOW}
    first = membership.status(home, audience.id, NOW)
    assert (first.state, first.size, first.adds, first.drops, first.as_of) == ("ok", 2, 0, 0, NOW)
    assert membership.changes(home, audience.id) == []  # the baseline counts no adds

    later = NOW + 20 * HOUR  # 2's session (30 h before NOW) is now 50 h old: 2 leaves
    load(home.cache, [(workspace.id, gold(5, events=[session(later - HOUR)]))])  # 5 arrives
    membership.refresh(home, later)
    assert membership.stored_members(home, audience.id) == {1: NOW, 5: later}
    assert membership.changes(home, audience.id) == [(2, later, False), (5, later, True)]
    status = membership.status(home, audience.id, later)
    assert (status.size, status.adds, status.drops, status.as_of) == (2, 1, 1, later)
    assert status.volatility == pytest.approx(1.0)
    assert [(d.day, d.size, d.adds, d.drops) for d in membership.history(home, audience.id)] == [
        (NOW.date(), 2, 0, 0), (later.date(), 2, 1, 1)]
    # A day later the changes are older than 24 hours: no adds or drops, volatility 0.
    assert membership.status(home, audience.id, later + 25 * HOUR).adds == 0
    assert membership.status(home, audience.id, later + 25 * HOUR).volatility == 0


def test_only_what_changed_is_calculated_again(opened):
    home, workspace = opened
    timed = home.audiences.create("Sessions", workspace_ids=[workspace.id], criteria=SESSION_48H, status="active")
    tiers = home.audiences.create("Gold", workspace_ids=[workspace.id], criteria=GOLD, status="active")
    assert sorted(membership.refresh(home, NOW).calculated) == [(timed.id, 0), (tiers.id, 0)]
    assert membership.refresh(home, NOW).calculated == []  # nothing changed
    # The clock moved: the session window slid; the attribute criterion has no window.
    report = membership.refresh(home, NOW + HOUR)
    assert report.calculated == [(timed.id, 0)] and report.unchanged == [(tiers.id, 0)]
    # A definition edit recalculates that audience only.
    home.audiences.set_criteria(tiers.id, doc({"id": "g", "type": "user_attribute", "attribute": "tier",
                                               "operator": "equals", "value": "silver"}))
    report = membership.refresh(home, NOW + HOUR)
    assert report.calculated == [(tiers.id, 0)]
    assert members(home, tiers.id) == {2, 4}
    # New data recalculates them both, for the profile it touched only (the query is the same as before).
    load(home.cache, [(workspace.id, gold(4))])
    report = membership.refresh(home, NOW + HOUR)
    assert sorted(report.calculated) == sorted(report.incremental) == [(timed.id, 0), (tiers.id, 0)]
    assert members(home, tiers.id) == {2}
    edited = membership.status(home, tiers.id, NOW + HOUR)
    assert (edited.adds, edited.drops) == (2, 3)  # the edit: 2 and 4 in, 1 and 3 out; then 4 out


def test_the_clock_waits_for_the_workspace_interval_when_only_windows_slid(opened):
    home, workspace = opened
    audience = home.audiences.create("Sessions", workspace_ids=[workspace.id], criteria=SESSION_48H, status="active")
    membership.run_due(home, NOW)
    assert membership.run_due(home, NOW + dt.timedelta(minutes=14)).calculated == []
    assert membership.run_due(home, NOW + dt.timedelta(minutes=15)).calculated == [(audience.id, 0)]
    home.workspaces.set_membership_refresh(workspace.id, 60)
    assert membership.run_due(home, NOW + dt.timedelta(minutes=59)).calculated == []
    # Within the interval, an edit or new data is calculated at once.
    home.audiences.set_criteria(audience.id, doc({"id": "s", "type": "event", "event_type": "session_start",
                                                  "window": within(72)}))
    assert membership.run_due(home, NOW + dt.timedelta(minutes=59)).calculated == [(audience.id, 0)]
    assert members(home, audience.id) == {1, 2, 3}
    load(home.cache, [(workspace.id, gold(9, events=[session(NOW)]))])
    assert membership.run_due(home, NOW + dt.timedelta(minutes=60)).calculated == [(audience.id, 0)]


def test_drafts_and_inactive_audiences_are_not_calculated_and_deactivating_keeps_the_history(opened):
    home, workspace = opened
    draft = home.audiences.create("Draft", workspace_ids=[workspace.id], criteria=GOLD)
    audience = home.audiences.create("Gold", workspace_ids=[workspace.id], criteria=GOLD, status="active")
    membership.refresh(home, NOW)
    assert membership.status(home, draft.id, NOW).state == "not calculated"
    home.audiences.deactivate(audience.id)
    load(home.cache, [(workspace.id, gold(1, "silver")), (workspace.id, gold(7))])
    assert membership.refresh(home, NOW + HOUR).calculated == []
    assert members(home, audience.id) == {1, 3}  # kept as last calculated
    assert membership.status(home, audience.id, NOW + HOUR).as_of == NOW
    home.audiences.activate(audience.id)
    assert membership.refresh(home, NOW + 2 * HOUR).calculated == [(audience.id, 0)]
    assert members(home, audience.id) == {3, 7}
    assert membership.changes(home, audience.id) == [(1, NOW + 2 * HOUR, False), (7, NOW + 2 * HOUR, True)]


def test_a_failing_definition_records_why_and_keeps_the_last_good_members(opened):
    home, workspace = opened
    gold_audience = home.audiences.create("Gold", workspace_ids=[workspace.id], criteria=GOLD, status="active")
    of_gold = home.audiences.create("Members of Gold", workspace_ids=[workspace.id], status="active", criteria=doc(
        {"id": "m", "type": "audience_membership", "audience_id": gold_audience.id, "member": True}))
    typed = home.audiences.create("Tier typed", workspace_ids=[workspace.id], status="active", criteria=doc(
        {"id": "t", "type": "user_attribute", "attribute": "tier", "operator": "contains", "value": "old"}))
    membership.refresh(home, NOW)
    assert members(home, of_gold.id) == {1, 3} and members(home, typed.id) == {1, 3}

    home.audiences.delete(gold_audience.id)  # the audience its criterion names is gone
    home.workspaces.set_attribute_type(workspace.id, "tier", "number")  # "contains" no longer fits the type
    load(home.cache, [(workspace.id, gold(8))])
    report = membership.refresh(home, NOW + HOUR)
    assert sorted(report.failed) == [(of_gold.id, 0), (typed.id, 0)]
    for audience in (of_gold, typed):
        status = membership.status(home, audience.id, NOW + HOUR)
        assert status.state == "failed" and status.size == 2 and status.as_of == NOW
        assert members(home, audience.id) == {1, 3}
    assert f"audience {gold_audience.id} does not exist" in membership.status(home, of_gold.id).error
    assert "tier" in membership.status(home, typed.id).error
    # The deleted audience's members are pruned; the others went on.
    assert membership.stored_members(home, gold_audience.id) == {}
    # Fixed: calculated again, against the last good members.
    home.workspaces.clear_attribute_type(workspace.id, "tier")
    membership.refresh(home, NOW + 2 * HOUR)
    fixed = membership.status(home, typed.id, NOW + 2 * HOUR)
    assert (fixed.state, fixed.error, fixed.size, fixed.adds) == ("ok", None, 3, 1)


def test_variations_are_their_share_of_the_audience(opened):
    home, workspace = opened
    load(home.cache, [(workspace.id, gold(mpid)) for mpid in range(10, 60)])
    audience = home.audiences.create("Gold", workspace_ids=[workspace.id], criteria=GOLD, status="active")
    test = home.ab_tests.save(audience.id, [DraftVariation(30, "Push"), DraftVariation(20, "Email")], seed="s1")
    membership.refresh(home, NOW)
    whole = members(home, audience.id)
    assert len(whole) == 52
    parts = {v.position: members(home, audience.id, v.id) for v in test.variations}
    assert set().union(*parts.values()) == whole
    for position, found in parts.items():
        assert found == {m for m in whole if variation_of("s1", m, test.percents) == position}
    # A test saved later is calculated from the kept members, without recalculating the audience.
    other = home.audiences.create("Silver", workspace_ids=[workspace.id], status="active", criteria=doc(
        {"id": "g", "type": "user_attribute", "attribute": "tier", "operator": "equals", "value": "silver"}))
    membership.refresh(home, NOW)
    saved = home.ab_tests.save(other.id, [DraftVariation(50)], seed="s2")
    report = membership.refresh(home, NOW)
    assert sorted(report.calculated) == sorted((other.id, v.id) for v in saved.variations)


def test_an_import_brings_live_audiences_up_to_date(opened, tmp_path):
    home, workspace = opened
    audience = home.audiences.create("Gold", workspace_ids=[workspace.id], criteria=GOLD, status="active")
    membership.refresh(home)
    path = tmp_path / "more.ndjson"
    path.write_bytes(b"\n".join(orjson.dumps(b) for b in (gold(20), gold(1, "silver"))))
    import_into_workspace(home, [path], workspace="Retail")
    assert members(home, audience.id) == {3, 20}
    status = membership.status(home, audience.id)
    assert (status.size, status.adds, status.drops) == (2, 1, 1)


def test_a_cache_from_before_the_membership_tables_gets_them_and_keeps_its_data(tmp_path):
    path = tmp_path / "cache.duckdb"
    cache = Cache(path)
    load(cache, [(1, gold(1))])
    version = cache.data_version
    cache.close()
    con = duckdb.connect(str(path))
    for table in MEMBERSHIP_TABLES:
        con.execute(f"DROP TABLE {table}")
    con.close()
    cache = Cache(path)
    try:
        found = {row[0] for row in cache.cursor().execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert set(MEMBERSHIP_TABLES) <= found
        assert cache.cursor().execute("SELECT mpid FROM profiles").fetchall() == [(1,)]
        assert cache.data_version == version
    finally:
        cache.close()


def test_an_audience_found_current_is_as_of_the_run_that_found_it(opened):
    """An audience without time windows whose data did not change is not recalculated, but its members are
    current: "as of" is the run's moment, not its first calculation's (the list said "45 days ago")."""
    home, workspace = opened
    tiers = home.audiences.create("Gold", workspace_ids=[workspace.id], criteria=GOLD, status="active")
    timed = home.audiences.create("Sessions", workspace_ids=[workspace.id], criteria=SESSION_48H, status="active")
    membership.refresh(home, NOW)
    later = NOW + 3 * dt.timedelta(days=15)
    report = membership.run_due(home, later)
    assert (tiers.id, 0) in report.unchanged
    assert membership.status(home, tiers.id, later).as_of == later
    # One whose windows slid but whose interval has not passed is not current now: it keeps its time.
    soon = later + dt.timedelta(minutes=5)
    assert membership.run_due(home, soon).calculated == []
    assert membership.status(home, timed.id, soon).as_of == later
    assert membership.status(home, tiers.id, soon).as_of == soon


def test_a_load_recalculates_only_the_profiles_it_touched_and_windows_wait_for_the_clock(opened):
    home, workspace = opened
    # 5's only session leaves the 48-hour window 3 minutes after NOW.
    load(home.cache, [(workspace.id, gold(5, "silver", events=[session(NOW - 48 * HOUR + dt.timedelta(minutes=3))]))])
    timed = home.audiences.create("Sessions", workspace_ids=[workspace.id], criteria=SESSION_48H, status="active")
    tiers = home.audiences.create("Gold", workspace_ids=[workspace.id], criteria=GOLD, status="active")
    membership.run_due(home, NOW)
    assert members(home, timed.id) == {1, 2, 5} and members(home, tiers.id) == {1, 3}

    soon = NOW + dt.timedelta(minutes=5)
    load(home.cache, [(workspace.id, gold(9, events=[session(soon)])), (workspace.id, gold(1, "silver"))])
    report = membership.after_load(home, soon)  # what an import runs: run_due
    assert sorted(report.incremental) == sorted(report.calculated) == [(timed.id, 0), (tiers.id, 0)]
    # The loaded profiles are calculated now (9 enters both; 1 leaves Gold); 5, untouched, keeps its membership
    # until the clock slides the window at the workspace's interval.
    assert members(home, timed.id) == {1, 2, 5, 9}
    assert members(home, tiers.id) == {3, 9}
    assert membership.changes(home, tiers.id) == [(1, soon, False), (9, soon, True)]
    assert membership.status(home, timed.id, soon).as_of == NOW  # its windows are as of NOW
    assert membership.status(home, tiers.id, soon).as_of == soon  # no windows: exact now
    assert (membership.status(home, timed.id, soon).size, membership.status(home, tiers.id, soon).size) == (4, 2)

    report = membership.run_due(home, NOW + dt.timedelta(minutes=15))
    assert report.calculated == [(timed.id, 0)] and report.incremental == []  # the clock: whole
    assert members(home, timed.id) == {1, 2, 9}
    # refresh (by hand) does not wait for the clock: the window slides whole, new data still incremental.
    load(home.cache, [(workspace.id, gold(10))])
    report = membership.refresh(home, NOW + dt.timedelta(minutes=16))
    assert sorted(report.calculated) == [(timed.id, 0), (tiers.id, 0)] and report.incremental == [(tiers.id, 0)]
    assert members(home, tiers.id) == {3, 9, 10}


def test_a_load_into_another_workspace_leaves_an_audience_alone_unless_it_names_an_audience_there(opened):
    home, retail = opened
    online = home.workspaces.create("Online", [("platform", "iOS")])
    load(home.cache, [(online.id, gold(2, "silver"))])
    online_gold = home.audiences.create("Online gold", workspace_ids=[online.id], criteria=GOLD, status="active")
    retail_gold = home.audiences.create("Retail gold", workspace_ids=[retail.id], criteria=GOLD, status="active")
    retail_of_online = home.audiences.create("Retail's online gold", workspace_ids=[retail.id], status="active",
                                             criteria=doc({"id": "m", "type": "audience_membership",
                                                           "audience_id": online_gold.id, "member": True}))
    membership.refresh(home, NOW)
    assert members(home, online_gold.id) == set() and members(home, retail_of_online.id) == set()

    load(home.cache, [(online.id, gold(2))])  # 2 (silver in Retail) turns gold in Online
    report = membership.refresh(home, NOW + HOUR)
    assert (retail_gold.id, 0) in report.unchanged  # Online's data cannot change it
    assert membership.status(home, retail_gold.id, NOW + HOUR).as_of == NOW + HOUR  # and it is current
    assert sorted(report.incremental) == sorted([(online_gold.id, 0), (retail_of_online.id, 0)])
    assert members(home, online_gold.id) == {2} and members(home, retail_of_online.id) == {2}
    assert members(home, retail_gold.id) == {1, 3}


def test_a_change_that_is_not_a_recorded_load_recalculates_whole(opened):
    home, retail = opened
    online = home.workspaces.create("Online", [("platform", "iOS")])
    load(home.cache, [(online.id, gold(7))])
    both = home.audiences.create("Gold anywhere", scope="multi", workspace_ids=[retail.id, online.id],
                                 criteria=GOLD, status="active")
    membership.refresh(home, NOW)
    assert members(home, both.id) == {1, 3, 7}
    home.cache.forget_workspaces([online.id])  # no load: which profiles changed is not recorded
    report = membership.refresh(home, NOW)
    assert report.calculated == [(both.id, 0)] and report.incremental == []
    assert members(home, both.id) == {1, 3}


def test_the_loads_touched_profiles_are_pruned_once_every_live_audience_has_them(opened):
    home, workspace = opened
    audience = home.audiences.create("Gold", workspace_ids=[workspace.id], criteria=GOLD, status="active")
    membership.refresh(home, NOW)
    load(home.cache, [(workspace.id, gold(11))])
    cursor = home.cache.cursor()
    assert cursor.execute("SELECT count(*) FROM load_profiles WHERE mpid = 11").fetchone()[0] == 1
    membership.refresh(home, NOW)
    assert cursor.execute("SELECT count(*) FROM load_profiles").fetchone()[0] == 0
    assert members(home, audience.id) == {1, 3, 11}


def test_the_demo_calculates_its_active_audiences(home_dir: Home):
    """The welcome's demo left its Active audiences "Not calculated" until the user pressed F5."""
    from app.engines.demo import fill_demo
    from app.engines.members import members_sql

    with OpenHome.open(home_dir, user="maria") as home:
        fill_demo(home, profiles=300, days=7, end=NOW)
        active = [a for a in home.audiences.list() if a.status == "active" and a.kind == "realtime"]
        assert active
        cursor = home.cache.cursor()
        for audience in active:
            status = membership.status(home, audience.id)
            assert status.state == "ok", audience.name
            sql, params = members_sql(home, audience, cursor, now=status.as_of)
            assert members(home, audience.id) == {row[0] for row in cursor.execute(sql, params).fetchall()}


def test_a_snapshot_load_counts_as_touching_its_whole_workspace(opened, tmp_path):
    from app.connectors.cache import SNAPSHOT_PARTS

    home, retail = opened
    online = home.workspaces.create("Online", [("platform", "iOS")])
    fresh = home.workspaces.create("Online copy", [("platform", "iOS")])
    load(home.cache, [(online.id, gold(30, "silver"))])  # so the catalog knows the tier attribute
    audience = home.audiences.create("Online gold", scope="multi", workspace_ids=[online.id, fresh.id],
                                     criteria=GOLD, status="active")
    membership.refresh(home, NOW)
    assert members(home, audience.id) == set()

    # A server snapshot, written as parts and loaded into the empty workspace as a first sync does.
    source = Cache(tmp_path / "server.duckdb")
    load(source, [(1, gold(31)), (1, gold(32)), (1, gold(33, "silver"))])
    parts = {table: tmp_path / f"{table}.parquet" for table in SNAPSHOT_PARTS}
    for table, path in parts.items():
        source.cursor().execute(f"COPY (SELECT * FROM {table}) TO '{path}' (FORMAT parquet)")
    source.close()
    with home.cache.writing(source="sync") as writer:
        writer.load_snapshot(parts, workspace_id=fresh.id, batches=3)

    report = membership.refresh(home, NOW)
    assert report.incremental == [(audience.id, 0)]  # every profile of the snapshot's workspace was touched
    assert members(home, audience.id) == {31, 32}
