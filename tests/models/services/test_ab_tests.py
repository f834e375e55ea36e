"""A/B tests on a real store and cache: the variation limits and Control arithmetic, sizes before and after
saving, deleting a test with its variation connections, connecting variations, and forwarding them."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator

import pytest

from app.connectors.outputs.file_export import _slug
from app.errors import InvalidInput, NotFound
from app.models.services.ab_tests import (
    CONTROL,
    DraftVariation,
    check_draft,
    control_percent,
    draft_problems,
    new_seed,
)
from app.engines.forwarding import SENT, ForwardingEngine
from app.engines import variant_sizes
from app.engines.home import OpenHome
from app.engines.members import members_sql, variation
from app.models.store.schema import ABVariant
from tests.outputs.homes import NOW, identity_example, idfa


@pytest.fixture
def home(home_dir) -> Iterator[OpenHome]:
    with OpenHome.open(home_dir, user="maria") as opened:
        yield opened


@pytest.fixture
def gold(home):
    """The outputs tests' example: 100 gold members (mpids 1-100) with an IDFA each, an active audience."""
    _us, _eu, audience = identity_example(home)
    return audience


@pytest.fixture
def export(home, tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    return home.outputs.create("Export", "file_export", {"folder": str(folder), "identity_types": ["ios_idfa"]})


def drafts(*percents: int) -> list[DraftVariation]:
    return [DraftVariation(p) for p in percents]


def count(home: OpenHome, audience, chosen=None) -> int:
    cursor = home.cache.cursor()
    try:
        sql, params = members_sql(home, audience, cursor, variation=chosen)
        return cursor.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0]
    finally:
        cursor.close()


# -- the draft's rules -------------------------------------------------------------------------------


def test_control_holds_100_minus_the_other_variations():
    assert control_percent([]) == 100
    assert control_percent([20, 30]) == 50
    assert control_percent([10] * 5) == 50
    assert draft_problems(drafts(20, 30)) == []


def test_at_most_five_variations_besides_control():
    assert draft_problems(drafts(10, 10, 10, 10, 10)) == []
    problems = draft_problems(drafts(10, 10, 10, 10, 10, 10))
    assert [p.message for p in problems] == [
        "An A/B test has at most 5 variations besides Control; this one has 6."]


def test_a_percentage_that_would_push_the_total_past_100_is_refused_with_a_message():
    (problem,) = draft_problems(drafts(60, 50))
    assert problem.row == 1
    assert problem.message == ("50 % for “Variation B” would take the total past 100 %: Control keeps at least 1 %, "
                               "so 39 % is left for it.")
    # Control keeps at least 1 %: 99 % is the most the variations can hold together.
    assert draft_problems(drafts(50, 49)) == []
    assert draft_problems(drafts(50, 50))[0].row == 1
    with pytest.raises(InvalidInput, match="would take the total past 100 %"):
        check_draft(drafts(90, 20))


@pytest.mark.parametrize("percent", [0, -5, 100, 12.5, "20", True])
def test_a_share_is_a_whole_percentage_from_1_to_99(percent):
    (problem,) = draft_problems([DraftVariation(percent, "Push")])
    assert problem.row == 0 and problem.message.startswith("“Push” needs a whole percentage from 1 to 99")


def test_names_default_by_place_and_must_differ_from_each_other_and_from_control():
    assert draft_problems([DraftVariation(10, "Email"), DraftVariation(10, " email ")])[0].message.startswith(
        "Two variations are named “email”")
    assert "Control" in draft_problems([DraftVariation(10, "control")])[0].message
    # A blank name becomes "Variation B" by its place, which clashes with a variation named so explicitly.
    assert draft_problems([DraftVariation(10, "Variation B"), DraftVariation(10, "")])[0].row == 1
    with pytest.raises(InvalidInput, match="Add at least one variation besides Control"):
        check_draft([])


# -- saving and sizes --------------------------------------------------------------------------------


def test_saving_adds_control_as_the_remainder_and_fixes_the_variations(home, gold):
    assert home.ab_tests.get(gold.id) is None
    test = home.ab_tests.save(gold.id, [DraftVariation(20, "Push"), DraftVariation(30)], seed="s33d")
    assert [(v.position, v.name, v.percent) for v in test.variations] == [
        (0, CONTROL, 50), (1, "Push", 20), (2, "Variation B", 30)]
    assert home.ab_tests.get(gold.id) == test
    assert home.ab_tests.audience_ids() == {gold.id}
    with pytest.raises(InvalidInput, match="already has an A/B test.*delete the test"):
        home.ab_tests.save(gold.id, drafts(10), seed="other")
    assert home.ab_tests.get(gold.id) == test


def test_an_invalid_draft_is_refused_and_nothing_is_stored(home, gold):
    with pytest.raises(InvalidInput, match="at most 5 variations"):
        home.ab_tests.save(gold.id, drafts(5, 5, 5, 5, 5, 5), seed="s")
    with pytest.raises(NotFound):
        home.ab_tests.save(999, drafts(10), seed="s")
    assert home.ab_tests.get(gold.id) is None


def test_the_sizes_shown_before_saving_are_the_saved_tests_sizes(home, gold):
    seed = new_seed()
    before = variant_sizes.draft_sizes(home, gold.id, [20, 30], seed)
    assert sum(before) == count(home, gold) == 100
    test = home.ab_tests.save(gold.id, drafts(20, 30), seed=seed)
    assert variant_sizes.sizes(home, gold.id) == before
    # The grouped query agrees with the members query of each variation (what forwarding sends).
    assert [count(home, gold, variation(home, v.id)) for v in test.variations] == before
    # Another seed splits the same members differently (the split depends on the seed).
    others = [variant_sizes.draft_sizes(home, gold.id, [20, 30], f"other-{n}") for n in range(3)]
    assert any(other != before for other in others) and all(sum(other) == 100 for other in others)


# -- connections -------------------------------------------------------------------------------------


def test_each_variation_and_the_whole_audience_connect_once_per_output(home, gold, export):
    test = home.ab_tests.save(gold.id, [DraftVariation(40, "Push")], seed="s")
    control, push = test.variations
    whole = home.connections.connect(gold.id, export.id)
    to_control = home.connections.connect(gold.id, export.id, variant_id=control.id)
    to_push = home.connections.connect(gold.id, export.id, variant_id=push.id)
    assert [(c.variant_id, c.variant_name) for c in (whole, to_control, to_push)] == [
        (None, None), (control.id, "Control"), (push.id, "Push")]
    with pytest.raises(InvalidInput, match='Variation "Push" of "Gold members" is already connected to "Export"'):
        home.connections.connect(gold.id, export.id, variant_id=push.id)
    with pytest.raises(InvalidInput, match='Audience "Gold members" is already connected'):
        home.connections.connect(gold.id, export.id)


def test_a_variation_of_another_audience_is_refused(home, gold, export):
    other = home.audiences.create("Someone else", workspace_ids=list(gold.workspace_ids))
    test = home.ab_tests.save(other.id, drafts(50), seed="s")
    with pytest.raises(InvalidInput, match="not a variation of the A/B test of \"Gold members\""):
        home.connections.connect(gold.id, export.id, variant_id=test.variations[1].id)
    with pytest.raises(InvalidInput, match="not a variation"):
        home.connections.connect(gold.id, export.id, variant_id=12345)


def test_bulk_connections_refuse_audiences_with_a_test(home, gold, export):
    plain = home.audiences.create("No test", workspace_ids=list(gold.workspace_ids))
    home.audiences.activate(plain.id)
    home.ab_tests.save(gold.id, drafts(50), seed="s")
    report = home.connections.bulk_connect(export.id, [gold.id, plain.id])
    assert [(r.audience_name, r.connected) for r in report.results] == [("Gold members", False), ("No test", True)]
    assert "it has an A/B test" in report.refused[0].reason


def test_deleting_a_test_tells_what_goes_then_removes_variations_and_their_connections(home, gold, export, tmp_path):
    test = home.ab_tests.save(gold.id, [DraftVariation(30, "Push"), DraftVariation(30, "Mail")], seed="s")
    second = home.outputs.create("Second export", "file_export", {"folder": str(tmp_path)})
    whole = home.connections.connect(gold.id, export.id)
    home.connections.connect(gold.id, export.id, variant_id=test.variations[0].id)
    home.connections.connect(gold.id, second.id, variant_id=test.variations[1].id)

    impact = home.ab_tests.deletion_impact(gold.id)
    assert [(c.variation_name, c.output_name) for c in impact.connections] == [
        ("Control", "Export"), ("Push", "Second export")]
    assert home.ab_tests.get(gold.id) == test  # telling changes nothing

    home.ab_tests.delete(gold.id)
    assert home.ab_tests.get(gold.id) is None
    assert [c.id for c in home.connections.list(audience_id=gold.id)] == [whole.id]
    with home.store.transaction() as session:
        assert session.query(ABVariant).count() == 0
    with pytest.raises(NotFound, match="has no A/B test"):
        home.ab_tests.delete(gold.id)
    # A new test can be set up once the old one is gone.
    assert home.ab_tests.save(gold.id, drafts(10), seed="again").percents == (90, 10)


def test_store_events_tell_the_audiences_list_and_connections_about_the_change(home, gold, export):
    events = []
    home.store.events.subscribe(lambda kind, subject: events.append((kind, subject)))
    test = home.ab_tests.save(gold.id, drafts(50), seed="s")
    assert events == [("audience_changed", gold.id)]
    connection = home.connections.connect(gold.id, export.id, variant_id=test.variations[1].id)
    events.clear()
    home.ab_tests.delete(gold.id)
    assert set(events) == {("connection_changed", connection.id), ("audience_changed", gold.id)}


def test_forwarding_a_variation_sends_its_members_under_the_variation_name(home, gold, export, tmp_path):
    test = home.ab_tests.save(gold.id, [DraftVariation(30, "Push")], seed="fixed-seed")
    control, push = test.variations
    sizes = variant_sizes.sizes(home, gold.id)
    to_control = home.connections.connect(gold.id, export.id, variant_id=control.id)
    to_push = home.connections.connect(gold.id, export.id, variant_id=push.id)

    reports = ForwardingEngine(home, now=lambda: NOW).forward([to_control.id, to_push.id])

    assert [(r.outcome, r.added) for r in reports] == [(SENT, sizes[0]), (SENT, sizes[1])]
    sent = {}
    for connection, name in ((to_control, "Gold members - Control"), (to_push, "Gold members - Push")):
        (folder,) = (tmp_path / "exports").glob(f"*-{connection.id}")
        assert folder.name == f"{_slug(name)}-{connection.id}"
        sent[name] = {row["identity_value"] for path in folder.glob("*.csv") for row in csv.DictReader(path.open())}
    # The two variations split the audience: together everyone, no one twice.
    assert not sent["Gold members - Control"] & sent["Gold members - Push"]
    assert sent["Gold members - Control"] | sent["Gold members - Push"] == {idfa(n).lower() for n in range(1, 101)}


def test_the_command_line_shows_creates_and_deletes_a_test(home_dir, capsys):
    from app.cli.main import main

    with OpenHome.open(home_dir, user="maria") as opened:
        identity_example(opened)
    cli = lambda *args: main(["--home", str(home_dir.root), "ab-test", *args])

    assert cli("create", "Gold members", "--variation", "Push=20", "--variation", "30") == 0
    out = capsys.readouterr().out
    assert "its variations are now fixed" in out and "Variation B" in out
    assert cli("create", "Gold members", "--variation", "10") == 1
    assert "already has an A/B test" in capsys.readouterr().err
    assert cli("show", "Gold members", "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert [(v["name"], v["percent"]) for v in shown["variations"]] == [("Control", 50), ("Push", 20),
                                                                         ("Variation B", 30)]
    assert sum(v["users"] for v in shown["variations"]) == 100
    assert cli("delete", "Gold members") == 1  # lists what goes, deletes nothing without --yes
    assert "Run again with --yes" in capsys.readouterr().out
    assert cli("delete", "Gold members", "--yes") == 0
    with OpenHome.open(home_dir) as opened:
        assert opened.ab_tests.get(opened.audiences.get("Gold members").id) is None
