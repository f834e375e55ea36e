"""`audience-studio standard` and `credits` against a real home: create, the credits shown before calculating,
refusal when short, calculate, list, the ledger."""

from __future__ import annotations

import json

import pytest

from app.cli.main import main
from app.engines.home import OpenHome
from tests.models.services.test_standard_audiences import SESSIONS, sessions_workspace


@pytest.fixture
def run(home_dir, capsys, tmp_path):
    with OpenHome.open(home_dir, user="maria") as home:
        sessions_workspace(home)
    criteria = tmp_path / "sessions.json"
    criteria.write_text(json.dumps(SESSIONS))

    def invoke(*args: str) -> tuple[int, str, str]:
        code = main(["--home", str(home_dir.root), *[str(criteria) if a == "CRITERIA" else a for a in args]])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def test_create_then_calculate_spends_the_credits_shown(run):
    assert run("standard", "create", "2019 visitors", "--from", "2019-01-01", "--to", "2019-12-31",
               "--criteria", "CRITERIA")[0] == 0
    code, _, err = run("standard", "calculate", "2019 visitors", "--yes")
    assert code == 1 and "This needs 1 credit; workspace \"Retail\" has 0" in err

    code, out, _ = run("credits", "add", "Retail", "2", "--note", "Order 7")
    assert code == 0 and "the balance is 2" in out
    code, out, _ = run("standard", "calculate", "2019 visitors", "--yes")
    assert code == 0
    assert '365 days scanned: 1 credit of 2 in workspace "Retail".' in out
    assert "2019 visitors: Ready, 2 members" in out

    code, out, _ = run("standard", "list", "--json")
    listed = json.loads(out)
    assert [(a["name"], a["status"], a["size"], a["tab"]) for a in listed] == [("2019 visitors", "Ready", 2, "ready")]
    code, out, _ = run("credits", "show", "--workspace", "Retail")
    assert "Added: Order 7" in out and "-1" in out and out.strip().endswith("Balance: 1")


def test_a_bad_date_is_refused_by_the_parser(run, capsys):
    with pytest.raises(SystemExit):
        run("standard", "create", "X", "--from", "2019-13-01", "--to", "2019-12-31")
    assert "is not a date" in capsys.readouterr().err


def test_audiences_list_and_show_give_a_standard_audience_its_state(run):
    # Issue 23: `audiences list` showed a Ready standard audience as "draft" (the audience row's status, which a
    # standard audience never leaves; its state lives with its calculation).
    run("standard", "create", "2019 visitors", "--from", "2019-01-01", "--to", "2019-12-31", "--criteria", "CRITERIA")
    run("standard", "create", "2020 visitors", "--from", "2020-01-01", "--to", "2020-12-31", "--criteria", "CRITERIA")
    run("credits", "add", "Retail", "2", "--note", "Order 7")
    assert run("standard", "calculate", "2019 visitors", "--yes")[0] == 0

    listed = json.loads(run("audiences", "list", "--json")[1])
    assert [(a["name"], a["kind"], a["status"]) for a in listed] == [
        ("2019 visitors", "standard", "ready"), ("2020 visitors", "standard", "draft")]
    table = run("audiences", "list")[1].splitlines()
    assert [line.split("  ")[2] for line in table[1:]] == ["ready", "draft"]
    assert "  Status:        ready" in run("audiences", "show", "2019 visitors")[1]
    assert json.loads(run("audiences", "show", "2019 visitors", "--json")[1])["status"] == "ready"
