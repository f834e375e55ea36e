"""`audience-studio audiences versions | diff | restore` against a real home: the history listed (as text and
JSON), two versions compared in words, a version restored as a new one, and bad input in one line."""

from __future__ import annotations

import json

import pytest

from app.cli.main import main
from app.engines.home import SYNC_USER_KEY, OpenHome


@pytest.fixture
def run(home_dir, capsys):
    with OpenHome.open(home_dir, user="maria") as home:
        retail = home.workspaces.create("Retail", [("platform", "iOS")])
        audience = home.audiences.create("Lapsed buyers", workspace_ids=[retail.id])
        with home.cache.writing(source="sync") as writer:  # signed in to a team server as this account
            writer.set_meta(SYNC_USER_KEY, "maria@harbor.example")
        home.audiences.update(audience.id, tags=["winback"], status="active")

    def invoke(*args: str) -> tuple[int, str, str]:
        code = main(["--home", str(home_dir.root), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def test_versions_are_listed_with_who_saved_them(run):
    code, out, _ = run("audiences", "versions", "lapsed buyers")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Versions of audience 1: Lapsed buyers"
    assert [line.split()[0] for line in lines[2:]] == ["1", "2"]
    assert lines[2].split()[3] == "maria" and lines[3].split()[3] == "maria@harbor.example"
    code, out, _ = run("audiences", "versions", "1", "--json")
    listed = json.loads(out)
    assert [v["number"] for v in listed["versions"]] == [1, 2]
    assert listed["versions"][1]["document"]["tags"] == ["winback"]


def test_diff_and_restore(run):
    code, out, _ = run("audiences", "diff", "Lapsed buyers", "1", "2")
    assert code == 0
    assert out.splitlines() == ["  Status: “draft” → “active”", "  Tag added: winback"]
    code, out, _ = run("audiences", "restore", "Lapsed buyers", "1")
    assert (code, out) == (0, "Restored version 1 of audience 1: Lapsed buyers, saved as version 3.\n")
    code, out, _ = run("audiences", "diff", "Lapsed buyers", "1", "3", "--json")
    assert json.loads(out)["changes"] == []
    code, out, _ = run("audiences", "restore", "Lapsed buyers", "3")
    assert "already says what version 3 says; nothing was saved" in out


@pytest.mark.parametrize("args, message", [
    (("versions", "Lapsed buyer"), 'There is no audience named "Lapsed buyer". Did you mean "Lapsed buyers"?'),
    (("diff", "Lapsed buyers", "1", "5"), 'Audience "Lapsed buyers" has versions 1 to 2; there is no version 5.'),
    (("restore", "Lapsed buyers", "0"), 'Audience "Lapsed buyers" has versions 1 to 2; there is no version 0.'),
])
def test_bad_input_is_one_line(run, args, message):
    code, out, err = run("audiences", *args)
    assert code == 1 and out == ""
    assert err == f"audience-studio: {message}\n"
