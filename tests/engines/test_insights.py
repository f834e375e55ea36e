"""Audience insights on a small real home: members pages and CSV, why / why not, overlaps, breakdowns,
and the messages for bad input."""

from __future__ import annotations

import csv
import datetime as dt
import itertools

import pytest

from app.builder.compiler import members_query
from app.engines.estimates import catalog_for, membership_resolver, scope_for
from app.engines.home import OpenHome
from app.engines.insights.breakdown import NONE, breakdown
from app.engines.insights.members_page import export_csv, members_page
from app.engines.insights.overlap import overlap, region_members
from app.engines.insights.subjects import Subject, subject
from app.engines.insights.why import explain, find_profile
from app.errors import InvalidInput, NotFound, UserError
from app.paths import Home
from tests.builder.test_compiler_examples import NOW, doc, profile, session
from tests.builder.workspaces import load

HOUR = dt.timedelta(hours=1)
SESSIONS_48H = {"id": "s", "type": "event", "event_type": "session_start", "window": {"type": "within", "amount": 48, "unit": "hours"}}
GOLD = {"id": "gold", "type": "user_attribute", "attribute": "tier", "operator": "equals", "value": "gold"}
IOS = {"id": "ios", "type": "device", "field": "platform", "operator": "equals", "value": "iOS"}


def person(mpid: int, email: str, tier: str | None, platform: str, sessions: list[dt.datetime]) -> dict:
    extra = {"user_identities": {"email": email, "customer_id": f"C{mpid}"}}
    if tier:
        extra["user_attributes"] = {"tier": tier}
    return profile(mpid, events=[session(at) for at in sessions], platform=platform, **extra)


@pytest.fixture
def opened(home_dir: Home):
    with OpenHome.open(home_dir, user="maria") as home:
        us = home.workspaces.create("US", [("platform", "iOS")])
        eu = home.workspaces.create("EU", [("platform", "iOS")])
        load(home.cache, [(us.id, batch) for batch in (
            person(1, "ada@example.com", "gold", "iOS", [NOW - 2 * HOUR, NOW - 5 * HOUR]),
            person(2, "bob@example.com", "silver", "Android", [NOW - 30 * HOUR]),
            person(3, "carol@example.com", "gold", "Android", [NOW - 60 * HOUR]),
            person(4, "dave@test.io", None, "iOS", []),
            person(5, "erin@test.io", "gold", "iOS", [NOW - 1 * HOUR]),
            person(6, "shared@test.io", None, "iOS", []),
            person(7, "shared@test.io", None, "iOS", []),
        )] + [(eu.id, person(9, "eve@eu.example", "gold", "iOS", [NOW - HOUR]))])
        audiences = {
            "active": home.audiences.create("Active", workspace_ids=[us.id], criteria=doc(SESSIONS_48H)),
            "gold": home.audiences.create("Gold", workspace_ids=[us.id], criteria=doc(GOLD)),
            "ios": home.audiences.create("iOS", workspace_ids=[us.id], criteria=doc(IOS)),
            "eu": home.audiences.create("EU active", workspace_ids=[eu.id], criteria=doc(SESSIONS_48H)),
            "empty": home.audiences.create("Nobody", workspace_ids=[us.id], criteria=doc(
                {**GOLD, "value": "platinum"})),
        }
        yield home, us, eu, audiences


def members_of(home, audience) -> set[int]:
    cursor = home.cache.cursor()
    sql, params = members_query(audience.criteria, scope=scope_for(home, audience.workspace_ids), catalog=catalog_for(home, cursor),
                                now=NOW, memberships=membership_resolver(home))
    return {r[0] for r in cursor.execute(sql, params).fetchall()}


def test_members_page_search_sort_paging_and_attributes(opened):
    home, us, _, audiences = opened
    gold = Subject.of(audiences["gold"])
    page = members_page(home, gold, attributes=["tier"], now=NOW)
    assert page.total == 3 and [m.mpid for m in page.members] == [1, 3, 5]
    assert page.members[0].identities == {"customer_id": ["C1"], "email": ["ada@example.com"]}
    assert all(m.attributes == {"tier": "gold"} for m in page.members)
    second = members_page(home, gold, sort="mpid", descending=True, offset=1, limit=1, now=NOW)
    assert second.total == 3 and [m.mpid for m in second.members] == [3]
    found = members_page(home, gold, search="CAROL@", now=NOW)
    assert (found.total, [m.mpid for m in found.members]) == (1, [3])
    assert members_page(home, gold, search="5", now=NOW).total == 1  # an mpid, or C5
    assert members_page(home, gold, search="nobody@", now=NOW).total == 0


def test_an_unsaved_draft_pages_like_a_saved_audience(opened):
    home, us, _, _ = opened
    draft = Subject.draft(doc(GOLD, IOS), [us.id])
    assert [m.mpid for m in members_page(home, draft, now=NOW).members] == [1, 5]


def test_csv_export_has_every_member_and_no_partial_file(opened, tmp_path):
    home, _, _, audiences = opened
    out = tmp_path / "gold.csv"
    assert export_csv(home, Subject.of(audiences["gold"]), out, attributes=["tier"], now=NOW) == 3
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["mpid"] for r in rows] == ["1", "3", "5"]
    assert rows[1]["email"] == "carol@example.com" and rows[1]["tier"] == "gold" and rows[1]["customer_id"] == "C3"
    assert not list(tmp_path.glob("*.partial"))
    with pytest.raises(InvalidInput, match="cannot be written"):
        export_csv(home, Subject.of(audiences["gold"]), tmp_path / "missing" / "x.csv", now=NOW)


def test_why_names_each_card_with_its_evidence(opened):
    home, us, _, _ = opened
    draft = Subject.draft(doc(SESSIONS_48H, GOLD, {**IOS, "exclude": True}, match="all"), [us.id], name="Draft")
    mpid = find_profile(home, draft, "email", "Carol@Example.com")
    assert mpid == 3
    why = explain(home, draft, mpid, now=NOW)
    verdicts = {n.node_id: n for n in why.nodes}
    assert not why.in_audience and not verdicts["root"].matches
    assert not verdicts["s"].matches and verdicts["s"].details["events"] == 0  # the 60 h old session is outside 48 h
    assert verdicts["gold"].matches and verdicts["gold"].details["values"] == ["gold"]
    assert verdicts["ios"].matches and verdicts["ios"].evidence.startswith("excluded: device platform: Android")
    assert verdicts["root"].details == {"children_matching": 2, "children": 3}

    ada = explain(home, draft, find_profile(home, draft, "customer_id", "C1"), now=NOW)
    sessions = {n.node_id: n for n in ada.nodes}["s"]
    assert ada.in_audience is False  # iOS is excluded
    assert sessions.matches and sessions.details["events"] == 2
    assert sessions.details["latest_times"] == [(NOW - 2 * HOUR).replace(tzinfo=None), (NOW - 5 * HOUR).replace(tzinfo=None)]


def test_why_agrees_with_the_members_of_every_saved_audience(opened):
    home, us, _, audiences = opened
    for name in ("active", "gold", "ios", "empty"):
        audience = audiences[name]
        members = members_of(home, audience)
        for mpid in range(1, 8):
            assert explain(home, Subject.of(audience), mpid, now=NOW).in_audience == (mpid in members), (name, mpid)


def test_why_refuses_unknown_ambiguous_and_foreign_profiles(opened):
    home, _, _, audiences = opened
    active = subject(home, "Active")
    with pytest.raises(NotFound, match="No profile in the cache has email 'zed@example.com'"):
        find_profile(home, active, "email", "zed@example.com")
    with pytest.raises(UserError, match="2 profiles have email 'shared@test.io'.*--mpid"):
        find_profile(home, active, "email", "shared@test.io")
    with pytest.raises(UserError, match='in workspace EU, not in the workspaces of "Active" \\(US\\)'):
        find_profile(home, active, "email", "eve@eu.example")
    with pytest.raises(InvalidInput, match="not a number"):
        find_profile(home, active, "mpid", "abc")
    assert find_profile(home, active, "mpid", "4") == 4


def test_overlap_regions_are_exact_for_two_and_three_audiences(opened):
    home, _, _, audiences = opened
    chosen = [audiences[n] for n in ("active", "gold", "ios")]
    sets = [members_of(home, a) for a in chosen]
    result = overlap(home, [Subject.of(a) for a in chosen], now=NOW)
    assert len(result.regions) == 7
    everyone = set().union(*sets)
    for mask in range(1, 8):
        expected = {m for m in everyone if all((m in s) == bool(mask >> i & 1) for i, s in enumerate(sets))}
        assert result.regions[mask] == len(expected), mask
        assert region_members(home, [Subject.of(a) for a in chosen], mask, now=NOW) == sorted(expected)
    for i, j in itertools.product(range(3), repeat=2):
        assert result.matrix()[i][j] == len(sets[i] & sets[j])
    two = overlap(home, [Subject.of(audiences["gold"]), Subject.of(audiences["ios"])], now=NOW)
    assert two.regions == {1: 1, 2: 3, 3: 2}  # gold only: 3; iOS only: 4, 6, 7; both: 1, 5


def test_overlap_refuses_other_workspaces_and_wrong_counts(opened):
    home, _, _, audiences = opened
    with pytest.raises(UserError, match='"EU active" and "Active" share no workspace'):
        overlap(home, [Subject.of(audiences["active"]), Subject.of(audiences["eu"])], now=NOW)
    with pytest.raises(InvalidInput, match="choose 2 to 6 audiences"):
        overlap(home, [Subject.of(audiences["active"])], now=NOW)


def test_breakdown_shares_and_index(opened):
    home, _, _, audiences = opened
    result = breakdown(home, Subject.of(audiences["ios"]), "attribute:tier", now=NOW)
    # iOS: 1 (gold), 4, 5 (gold), 6, 7; the workspace: 7 profiles, gold 3, silver 1, none 3
    assert (result.audience_size, result.workspace_size) == (5, 7)
    rows = {r.value: r for r in result.rows}
    assert [r.value for r in result.rows] == ["gold", NONE]
    assert rows["gold"].audience == 2 and rows["gold"].workspace == 3
    assert rows["gold"].index == round(100 * (2 / 5) / (3 / 7), 1)
    assert rows[NONE].audience == 3
    platforms = {r.value: r.audience for r in breakdown(home, Subject.of(audiences["gold"]), "device", now=NOW).rows}
    assert platforms == {"iOS": 2, "Android": 1}


def test_breakdown_refuses_empty_audiences_and_unknown_kinds(opened):
    home, _, _, audiences = opened
    with pytest.raises(UserError, match='"Nobody" has no members now'):
        breakdown(home, Subject.of(audiences["empty"]), "os", now=NOW)
    with pytest.raises(UserError, match='no user attribute "shoe_size"'):
        breakdown(home, Subject.of(audiences["gold"]), "attribute:shoe_size", now=NOW)
    with pytest.raises(InvalidInput, match="break down by one of"):
        breakdown(home, Subject.of(audiences["gold"]), "weather", now=NOW)


def test_why_shows_a_calculated_count_as_zero_without_events(opened):
    from app.builder.calculated import CalculatedAttribute

    home, us, _, _ = opened
    home.calculated_attributes.create(us.id, CalculatedAttribute("Sessions", "count", "session_start", None, None, 30))
    fewer = {"id": "few", "type": "user_attribute", "attribute": "Sessions", "calculated": True, "operator": "lt", "value": 2}
    draft = Subject.draft(doc(fewer), [us.id])
    verdicts = {mpid: {n.node_id: n for n in explain(home, draft, mpid, now=NOW).nodes}["few"] for mpid in (1, 4)}
    assert not verdicts[1].matches and verdicts[1].details["value"] == 2
    assert verdicts[4].matches and verdicts[4].details["value"] == 0 and "Sessions = 0" in verdicts[4].evidence
