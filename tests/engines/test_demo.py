"""The demo workspace built end to end through the command line, as a first launch does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli.main import main

END = "2026-11-01T12:00:00Z"


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("demo")
    assert main(["--home", str(home), "demo", "--profiles", "1500", "--days", "30", "--end", END]) == 0
    return home


def cli_json(capsys, home, *args):
    capsys.readouterr()
    assert main(["--home", str(home), *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_demo_creates_both_workspaces_with_their_inputs(demo_home, capsys):
    info = cli_json(capsys, demo_home, "info", "--json")
    names = [w["name"] for w in info["workspaces"]]
    assert names == ["Harbor & Pine US", "Harbor & Pine EU"]
    us = info["workspaces"][0]
    assert {(i["kind"], i["name"]) for i in us["inputs"]} >= {("platform", "iOS"), ("platform", "Android"), ("platform", "Web"), ("feed", "CRM")}
    assert us["profiles"] > 1000
    assert us["events"]["total"] > 10_000
    assert {"install", "session_start", "commerce_event", "screen_view", "custom_event"} <= set(us["events"]["by_type"])
    assert us["date_range"]["last"] <= END
    assert info["cache"]["source"] == "demo"


def test_demo_comes_with_example_audiences_drafts_and_active_and_tagged(demo_home, capsys):
    audiences = cli_json(capsys, demo_home, "audiences", "list", "--json")
    assert len(audiences) >= 5
    assert {"draft", "active"} <= {a["status"] for a in audiences}
    assert all(a["tags"] for a in audiences)
    assert any(a["scope"] == "multi" for a in audiences)


def test_demo_refuses_a_home_that_holds_work_unless_replaced(demo_home, capsys):
    capsys.readouterr()
    assert main(["--home", str(demo_home), "demo", "--profiles", "100"]) == 1
    assert "--replace" in capsys.readouterr().err
    assert main(["--home", str(demo_home), "demo", "--if-missing"]) == 0


def test_demo_is_deterministic_for_a_seed(tmp_path, capsys):
    counts = []
    for name in ("a", "b"):
        home = tmp_path / name
        assert main(["--home", str(home), "demo", "--profiles", "300", "--days", "10", "--seed", "3", "--end", END]) == 0
        info = cli_json(capsys, home, "info", "--json")
        counts.append([(w["profiles"], w["events"], w["identities"]) for w in info["workspaces"]])
    assert counts[0] == counts[1]


def test_a_demo_that_fails_half_way_leaves_nothing_behind(tmp_path, monkeypatch):
    import app.engines.demo as demo

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(demo, "create_example_audiences", broken)
    home = tmp_path / "h"
    with pytest.raises(RuntimeError):
        main(["--home", str(home), "demo", "--profiles", "200", "--days", "5", "--end", END])
    assert not (home / "store.sqlite3").exists() and not (home / "cache.duckdb").exists()


def test_replace_keeps_what_the_home_held_until_the_new_demo_is_complete(tmp_path, monkeypatch, capsys):
    import app.engines.demo as demo

    home = tmp_path / "h"
    assert main(["--home", str(home), "demo", "--profiles", "200", "--days", "5", "--end", END]) == 0
    assert main(["--home", str(home), "audiences", "create", "Precious"]) == 0
    before = cli_json(capsys, home, "audiences", "list", "--json")

    # Arguments a demo cannot be built from are refused before anything is touched.
    for bad in (["--end", "9999-12-31T00:00:00Z"], ["--days", "1000000"], ["--days", "30", "--end", "1970-01-10T00:00:00Z"]):
        assert main(["--home", str(home), "demo", "--profiles", "10", "--replace", *bad]) == 1
        assert capsys.readouterr().err.startswith(("audience-studio: --end: ", "audience-studio: --days: "))
    # A build that fails half-way leaves the home as it was, and no build folder behind.
    monkeypatch.setattr(demo, "create_example_audiences", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("disk full")))
    with pytest.raises(RuntimeError):
        main(["--home", str(home), "demo", "--profiles", "100", "--days", "5", "--end", END, "--replace"])
    assert cli_json(capsys, home, "audiences", "list", "--json") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h"]

    monkeypatch.undo()
    assert main(["--home", str(home), "demo", "--profiles", "100", "--days", "5", "--end", END, "--replace"]) == 0
    names = [a["name"] for a in cli_json(capsys, home, "audiences", "list", "--json")]
    assert "Precious" not in names and len(names) >= 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h"]


EXAMPLES = sorted((Path(__file__).parents[2] / "examples" / "criteria").glob("*.json"))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_estimates_on_the_demo(demo_home, capsys, example):
    """Each documented example runs through `estimate` on the demo: sampled, then exact with node counts."""
    sampled = cli_json(capsys, demo_home, "estimate", str(example), "--now", END, "--json")
    exact = cli_json(capsys, demo_home, "estimate", str(example), "--now", END, "--exact", "--json")
    document = json.loads(example.read_text())
    ids = {document["root"]["id"]}
    stack = [document["root"]]
    while stack:
        node = stack.pop()
        ids.add(node["id"])
        stack.extend(node.get("children", []))
    assert sampled["exact"] is False and "interval" in sampled
    assert exact["exact"] is True and set(exact["nodes"]) == ids
    assert exact["count"] == exact["nodes"]["root"] and 0 <= exact["count"] <= exact["universe"]


def test_calculated_attributes_are_defined_in_every_demo_workspace(demo_home, capsys):
    listed = cli_json(capsys, demo_home, "calculated-attributes", "list", "--json")
    names = {(a["workspace_id"], a["name"]) for a in listed}
    assert {name for _, name in names} >= {"Lifetime revenue", "Purchases (30 days)", "Favourite wishlist category"}
    assert {ws for ws, _ in names} == {1, 2}
    assert main(["--home", str(demo_home), "calculated-attributes", "create", "Crashes", "--calculation", "count",
                 "--event-type", "crash_report", "--window-days", "7"]) == 0
    assert "Defined Crashes (number)" in capsys.readouterr().out
    assert main(["--home", str(demo_home), "calculated-attributes", "create", "Crashes", "--calculation", "count",
                 "--event-type", "crash_report"]) == 1
    assert "already has a calculated attribute" in capsys.readouterr().err
    assert main(["--home", str(demo_home), "calculated-attributes", "delete", "crashes"]) == 0


def test_audiences_list_with_sizes(demo_home, capsys):
    listed = cli_json(capsys, demo_home, "audiences", "list", "--sizes", "--now", END, "--json")
    assert all({"size", "adds", "drops", "volatility"} <= set(a) for a in listed)
    sized = [a for a in listed if a["size"]]
    assert sized, "the demo's example audiences have members"
    for audience in sized:
        exact = cli_json(capsys, demo_home, "audiences", "show", str(audience["id"]), "--json")["criteria"]
        assert audience["volatility"] == round((audience["adds"] + audience["drops"]) / audience["size"], 4)
        assert exact  # the criteria the size came from


def test_most_demo_audiences_are_offered_as_priced_public_segments(demo_home):
    from app.engines.demo import DEMO_PUBLIC_SEGMENTS
    from app.engines.home import OpenHome
    from app.paths import resolve_home

    with OpenHome.open(resolve_home(demo_home)) as opened:
        settings = {a.name: opened.segments.get(a.id) for a in opened.audiences.list()}
    public = {name for name, s in settings.items() if s.visibility == "public"}
    assert public == {name for name, _, _ in DEMO_PUBLIC_SEGMENTS}
    assert len(settings) > len(public)  # some stay private, so the demo shows both
    assert all(settings[name].cpm is not None and settings[name].category for name in public)
