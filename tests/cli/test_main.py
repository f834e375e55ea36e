"""The command line: its subcommands against a real home, and how it reports user errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from app import __version__
from app.cli.main import main
from tests.factories import batch, event


@pytest.fixture
def run(tmp_path, capsys):
    home = tmp_path / "home"

    def invoke(*args: str) -> tuple[int, str, str]:
        code = main(["--home", str(home), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def write_batches(path: Path, batches: list) -> Path:
    path.write_bytes(b"\n".join(orjson.dumps(b) for b in batches))
    return path


def test_version_and_help_are_available_for_every_command(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and __version__ in capsys.readouterr().out
    for command in ([], ["demo"], ["import"], ["info"], ["audiences"], ["audiences", "create"]):
        with pytest.raises(SystemExit) as done:
            main([*command, "--help"])
        assert done.value.code == 0
        assert "usage: audience-studio" in capsys.readouterr().out


def test_info_on_an_empty_home_says_how_to_start(run):
    code, out, _ = run("info")
    assert code == 0
    assert "No workspaces yet" in out


def test_import_then_info_json_counts_what_was_imported(run, tmp_path):
    path = write_batches(tmp_path / "b.ndjson", [batch(1), batch(2, application_info={"os": "Android"}, device_info={"platform": "Android"})])
    code, out, _ = run("import", str(path))
    assert code == 0 and "Imported 2 batches (4 events)" in out
    code, out, _ = run("info", "--json")
    info = json.loads(out)
    workspace = info["workspaces"][0]
    assert workspace["name"] == "My workspace"
    assert workspace["profiles"] == 2
    assert workspace["events"] == {"total": 4, "by_type": {"custom_event": 2, "session_start": 2}}
    assert {i["name"] for i in workspace["inputs"]} == {"iOS", "Android"}
    assert workspace["identities"]["email"] == 2
    assert info["cache"]["last_load"]["source"] == "import"


def test_broken_batch_fails_cleanly_and_leaves_info_unchanged(run, tmp_path):
    run("import", str(write_batches(tmp_path / "good.ndjson", [batch(1)])))
    _, before, _ = run("info", "--json")
    broken = batch(2, events=[event(), {"event_type": "screen_view", "data": {"timestamp_unixtime_ms": 1_760_000_000_000}}])
    code, out, err = run("import", str(write_batches(tmp_path / "broken.ndjson", [batch(3), broken])))
    assert code == 1
    assert "broken.ndjson, line 2, field events[1].data.screen_name: missing" in err
    assert "Traceback" not in err
    _, after, _ = run("info", "--json")
    assert json.loads(after) == json.loads(before)


def test_skip_bad_imports_the_rest_and_lists_the_bad(run, tmp_path):
    broken = batch(mpid="not-a-number")
    code, out, err = run("import", "--skip-bad", str(write_batches(tmp_path / "b.ndjson", [batch(1), broken])))
    assert code == 0
    assert "Imported 1 batch (2 events)" in out
    assert "b.ndjson, line 2, field mpid" in err


def test_import_into_a_named_workspace_as_a_feed(run, tmp_path):
    code, out, _ = run("import", "--workspace", "CRM data", "--feed", "Salesforce", str(write_batches(tmp_path / "b.json", [batch(1)])))
    assert code == 0 and "'CRM data'" in out
    info = json.loads(run("info", "--json")[1])
    assert info["workspaces"][0]["inputs"] == [{"kind": "feed", "name": "Salesforce"}]


def test_audiences_create_list_show_activate_clone(run, tmp_path):
    run("import", str(write_batches(tmp_path / "b.ndjson", [batch(1)])))
    criteria = tmp_path / "criteria.json"
    criteria.write_text(json.dumps({"version": 1, "root": {"id": "root", "type": "group", "match": "all", "exclude": False, "children": []}}))
    code, out, _ = run("audiences", "create", "Summer campers", "--tag", "summer", "--tag", "camping", "--criteria", str(criteria))
    assert code == 0 and "Created draft audience" in out
    code, out, _ = run("audiences", "show", "summer campers", "--json")
    shown = json.loads(out)
    assert shown["external_name"] == "Summer campers" and not shown["external_name_set"]
    assert shown["tags"] == ["camping", "summer"] and shown["status"] == "draft"
    assert run("audiences", "activate", str(shown["id"]))[0] == 0
    code, out, _ = run("audiences", "clone", "Summer campers", "--json")
    clone = json.loads(out)
    assert clone["name"] == "Summer campers (copy)" and clone["tags"] == ["camping", "summer"] and clone["status"] == "draft"
    listed = json.loads(run("audiences", "list", "--json")[1])
    assert [(a["name"], a["status"]) for a in listed] == [("Summer campers", "active"), ("Summer campers (copy)", "draft")]
    code, out, _ = run("audiences", "list")
    assert "Summer campers (copy)" in out and "STATUS" in out


def test_user_errors_are_one_line_without_traceback(run, tmp_path):
    run("import", str(write_batches(tmp_path / "b.ndjson", [batch(1)])))
    code, _, err = run("audiences", "show", "Nobody")
    assert code == 1 and "Traceback" not in err and "Nobody" in err
    code, _, err = run("audiences", "create", "X", "--tag", "a-tag-much-too-long-for-this")
    assert code == 1 and "18 characters" in err
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    code, _, err = run("audiences", "create", "Y", "--criteria", str(bad))
    assert code == 1 and "bad.json: not valid JSON at line 1" in err


def test_the_installed_entry_point_runs(tmp_path):
    done = subprocess.run([sys.executable, "-m", "app", "--home", str(tmp_path), "info", "--json"], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout)["workspaces"] == []


@pytest.mark.parametrize("command", [["outputs", "partners"], ["--help"], ["info"]])
def test_output_into_a_pipe_closed_early_ends_quietly(tmp_path, command):
    # Issue 23: `audience-studio outputs partners | head` ended in a BrokenPipeError traceback. The reading
    # end is closed before the command writes, so every write meets the closed pipe.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run([sys.executable, "-m", "app", "--home", str(tmp_path), *command], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
    assert done.returncode in (0, 141)
