"""`audience-studio audiences refresh-membership`, `audiences history` and `audiences activate` calculating at once,
against a real home: tables and JSON, the CSV export, and errors as one line with exit status 1."""

from __future__ import annotations

import datetime as dt
import csv
import json

import pytest

from app.cli.main import main
from app.engines.home import OpenHome
from tests.builder.test_compiler_examples import NOW, profile
from tests.builder.workspaces import load

GOLD = {"version": 1, "root": {"id": "root", "type": "group", "match": "all", "children": [
    {"id": "g", "type": "user_attribute", "attribute": "tier", "operator": "equals", "value": "gold"}]}}
LATER = "2025-09-10T09:00:00Z"


@pytest.fixture
def home(home_dir):
    with OpenHome.open(home_dir, user="maria") as opened:
        retail = opened.workspaces.create("Retail", [("platform", "iOS")])
        load(opened.cache, [(retail.id, profile(m, user_attributes={"tier": t})) for m, t in
                            ((1, "gold"), (2, "gold"), (3, "silver"))])
        opened.audiences.create("Gold", workspace_ids=[retail.id], criteria=GOLD)
        opened.audiences.create("Draft", workspace_ids=[retail.id], criteria=GOLD)
    return home_dir


@pytest.fixture
def run(home, capsys):
    def invoke(*args: str) -> tuple[int, str, str]:
        code = main(["--home", str(home.root), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def test_activating_calculates_at_once_and_refresh_prints_the_live_audiences(run, home):
    code, out, _ = run("audiences", "activate", "Gold")
    assert code == 0 and out.strip() == "Activated audience 1: Gold (2 members)"
    with OpenHome.open(home) as opened:
        retail = opened.workspaces.default()
        load(opened.cache, [(retail.id, profile(3, user_attributes={"tier": "gold"}, at=NOW))])
    # Both runs at one instant: a run re-stamps "as of", and two runs either side of a minute's end differed.
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    code, out, _ = run("audiences", "refresh-membership", "--now", now)
    assert code == 0
    header, row = out.splitlines()
    assert header.split() == ["ID", "NAME", "SIZE", "ADDS", "24H", "DROPS", "24H", "VOLATILITY", "AS", "OF", "(UTC)",
                              "STATE"]
    cells = row.split()
    assert cells[:6] == ["1", "Gold", "3", "1", "0", "33.3%"] and cells[-1] == "ok"
    code, out, _ = run("audiences", "refresh-membership", "--json", "--now", now)
    [gold] = json.loads(out)
    as_of = gold.pop("as_of")
    assert as_of.endswith("Z") and as_of[:16].replace("T", " ") == " ".join(cells[6:8])
    assert gold == {"name": "Gold", "audience_status": "active", "audience_id": 1, "variant_id": None, "state": "ok",
                    "error": None, "size": 3, "adds": 1, "drops": 0, "volatility": 0.3333,
                    "attempted_at": gold["attempted_at"]}


def test_history_as_a_table_json_and_csv(run, home, tmp_path):
    with OpenHome.open(home) as opened:
        opened.audiences.activate(1)
    run("audiences", "refresh-membership", "--now", "2025-09-09T13:00:00Z")
    code, out, _ = run("audiences", "history", "Draft")
    assert code == 0 and "has no history yet" in out
    with OpenHome.open(home) as opened:
        retail = opened.workspaces.default()
        load(opened.cache, [(retail.id, profile(1, user_attributes={"tier": "silver"}, at=NOW))])
    run("audiences", "refresh-membership", "--now", LATER)
    target = tmp_path / "gold.csv"
    code, out, _ = run("audiences", "history", "gold", "--csv", str(target))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Audience 1: Gold" and lines[-1] == f"Wrote 2 days to {target}."
    with target.open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["day", "size", "adds", "drops"]
    assert rows[-1] == ["2025-09-10", "1", "0", "1"]
    code, out, _ = run("audiences", "history", "1", "--json")
    shown = json.loads(out)
    assert shown["name"] == "Gold" and shown["days"][-1] == {"day": "2025-09-10", "size": 1, "adds": 0, "drops": 1}


def test_errors_are_one_line_with_status_1(run, tmp_path):
    code, _, err = run("audiences", "history", "Nobody")
    assert code == 1 and err.count("\n") == 1 and "Nobody" in err and "Traceback" not in err
    code, _, err = run("audiences", "history", "Gold", "--csv", str(tmp_path / "missing" / "x.csv"))
    assert code == 1 and err.count("\n") == 1 and "x.csv: cannot be written" in err
    assert not (tmp_path / "missing").exists()


def test_a_failing_audience_says_why(run, home):
    with OpenHome.open(home) as opened:
        retail = opened.workspaces.default()
        opened.audiences.create("Typed", workspace_ids=[retail.id], status="active", criteria={
            "version": 1, "root": {"id": "root", "type": "group", "match": "all", "children": [
                {"id": "v", "type": "user_attribute", "attribute": "vip_level", "operator": "exists"}]}})
    code, out, _ = run("audiences", "refresh-membership")
    assert code == 0
    [row] = [line for line in out.splitlines() if "Typed" in line]
    assert "failed: node 'v'" in row and "vip_level" in row
