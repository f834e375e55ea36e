"""The command line's read commands beside a running app: another process holds the cache open for writing
(as the desktop app does, with its last import still in DuckDB's write-ahead log), and info, audiences list
and show, estimate and export still answer, from a snapshot that is removed afterwards; a command that writes
the cache still says the cache is in use."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import orjson
import pytest

from app.cli.main import main
from tests.factories import batch

#: The "app": opens the home like the desktop app does, imports a second batch file (so that commit sits in
#: the write-ahead log, not yet in the cache file) and keeps the cache open until its standard input closes.
HOLDER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from app.engines.home import OpenHome
    from app.engines.importing import import_into_workspace
    from app.paths import resolve_home

    opened = OpenHome.open(resolve_home(sys.argv[1]))
    import_into_workspace(opened, [Path(sys.argv[2])], workspace=None, feed=None, skip_bad=False)
    print("holding", flush=True)
    sys.stdin.read()
    opened.close()
""")


@pytest.fixture
def home(tmp_path, capsys):
    home = tmp_path / "home"
    first = tmp_path / "first.ndjson"
    first.write_bytes(b"\n".join(orjson.dumps(batch(mpid)) for mpid in (1, 2, 3)))
    assert main(["--home", str(home), "import", str(first)]) == 0
    criteria = tmp_path / "everyone.json"
    criteria.write_text(json.dumps({"version": 1, "root": {"id": "root", "type": "group", "match": "all", "exclude": False,
                                                              "children": [{"id": "email", "type": "identity",
                                                                            "identity_type": "email", "operator": "exists"}]}}))
    assert main(["--home", str(home), "audiences", "create", "Everyone", "--criteria", str(criteria)]) == 0
    capsys.readouterr()
    return home


@pytest.fixture
def app_holding(home, tmp_path):
    later = tmp_path / "later.ndjson"
    later.write_bytes(b"\n".join(orjson.dumps(batch(mpid)) for mpid in (4, 5)))
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(home), str(later)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2])
    try:
        assert holder.stdout.readline().strip() == "holding"
        assert (home / "cache.duckdb.wal").exists()  # the later import is in the log, which a snapshot must take
        yield holder
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)


def run(capsys, home, *args):
    code = main(["--home", str(home), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_read_commands_work_while_the_app_holds_the_cache(home, app_holding, capsys, tmp_path):
    code, out, err = run(capsys, home, "info", "--json")
    assert code == 0, err
    assert json.loads(out)["workspaces"][0]["profiles"] == 5  # the app's import, still only in the log, counts
    assert "reading a snapshot" in err

    code, out, err = run(capsys, home, "audiences", "list", "--json")
    assert code == 0, err
    assert [a["name"] for a in json.loads(out)] == ["Everyone"]
    code, out, err = run(capsys, home, "audiences", "show", "Everyone")
    assert code == 0 and "Audience 1: Everyone" in out, err

    criteria = tmp_path / "everyone.json"
    code, out, err = run(capsys, home, "estimate", str(criteria), "--exact", "--json")
    assert code == 0, err
    assert json.loads(out)["count"] == 5

    target = tmp_path / "everyone.zip"
    code, out, err = run(capsys, home, "export", "Everyone", "--out", str(target), "--identities", "email")
    assert code == 0, err
    with zipfile.ZipFile(target) as written:
        assert json.loads(written.read("manifest.json"))["total_rows"] == 5

    assert not list(home.glob(".cache-snapshot-*"))  # every snapshot was removed when its command ended
    assert app_holding.poll() is None  # and the app kept its cache throughout


def test_a_command_that_writes_the_cache_still_says_it_is_in_use(home, app_holding, capsys, tmp_path):
    again = tmp_path / "again.ndjson"
    again.write_bytes(orjson.dumps(batch(9)))
    code, out, err = run(capsys, home, "import", str(again))
    assert code == 1 and "is in use by another Audience Studio" in err and "Traceback" not in err
