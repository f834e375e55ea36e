"""`audience-studio audiences members | why | overlap | breakdown` on a real home (the engine tests' fixture)."""

from __future__ import annotations

import csv
import json

import pytest

from app.cli.main import main
from tests.builder.test_compiler_examples import NOW
from tests.engines.test_insights import opened  # noqa: F401 - the fixture

AT = ["--now", NOW.isoformat()]


@pytest.fixture
def run(opened, home_dir, capsys):  # noqa: F811
    home = opened[0]
    home.close()  # the command opens the home itself

    def invoke(*args: str) -> tuple[int, str, str]:
        code = main(["--home", str(home_dir.root), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def test_members_page_and_csv(run, tmp_path):
    code, out, _ = run("audiences", "members", "Gold", "--json", "--limit", "2", "--attribute", "tier", *AT)
    page = json.loads(out)
    assert code == 0 and page["total"] == 3 and [m["mpid"] for m in page["members"]] == [1, 3]
    assert page["members"][0]["attributes"] == {"tier": "gold"}
    code, out, _ = run("audiences", "members", "Gold", "--search", "carol", *AT)
    assert code == 0 and out.splitlines()[0] == "Gold: 1 members matching (showing 1-1)" and "carol@example.com" in out
    target = tmp_path / "gold.csv"
    code, out, _ = run("audiences", "members", "Gold", "--csv", str(target), *AT)
    assert code == 0 and out.strip() == f"Wrote 3 members of Gold to {target}"
    assert [r["mpid"] for r in csv.DictReader(target.open())] == ["1", "3", "5"]


def test_why_by_email_and_the_messages_for_bad_lookups(run):
    code, out, _ = run("audiences", "why", "Active", "--email", "carol@example.com", *AT)
    assert code == 0
    assert out.splitlines()[0] == "Profile 3 (email carol@example.com) is NOT in Active"
    assert "[no ] s (event): 0 session_start events counted" in out
    code, out, _ = run("audiences", "why", "Active", "--customer-id", "C1", "--json", *AT)
    result = json.loads(out)
    assert code == 0 and result["in_audience"] is True and result["nodes"][1]["details"]["events"] == 2
    code, _, err = run("audiences", "why", "Active", "--email", "zed@example.com", *AT)
    assert code == 1 and err.strip() == "audience-studio: No profile in the cache has email 'zed@example.com'."
    code, _, err = run("audiences", "why", "Active", "--email", "eve@eu.example", *AT)
    assert code == 1 and 'in workspace EU, not in the workspaces of "Active" (US)' in err


def test_overlap_and_a_region(run):
    code, out, _ = run("audiences", "overlap", "Gold", "iOS", "--json", *AT)
    result = json.loads(out)
    assert code == 0 and result["sizes"] == [3, 5] and result["matrix"] == [[3, 2], [2, 5]]
    assert [(r["mask"], r["profiles"]) for r in result["regions"]] == [(1, 1), (2, 3), (3, 2)]
    code, out, _ = run("audiences", "overlap", "Gold", "iOS", "--region", "3", *AT)
    assert code == 0 and out.split() == ["1", "5"]
    code, _, err = run("audiences", "overlap", "Active", "EU active", *AT)
    assert code == 1 and "share no workspace" in err


def test_breakdown_table_and_json(run):
    code, out, _ = run("audiences", "breakdown", "iOS", "--by", "attribute:tier", *AT)
    assert code == 0
    assert out.splitlines()[0] == "iOS by attribute:tier: 5 members, workspace 7 profiles"
    code, out, _ = run("audiences", "breakdown", "Gold", "--by", "os", "--json", *AT)
    assert code == 0 and {r["value"]: r["audience"] for r in json.loads(out)["rows"]} == {"iOS": 2, "Android": 1}
    code, _, err = run("audiences", "breakdown", "Nobody", "--by", "os", *AT)
    assert code == 1 and "has no members now" in err
