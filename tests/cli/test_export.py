"""`audience-studio export`: the ZIP it writes from a real home, its choices, and how it refuses."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest

from app.cli.main import main
from app.engines.home import OpenHome
from app.models.store.schema import ABTest, ABVariant
from app.paths import resolve_home
from tests.outputs.homes import NOW, identity_example


@pytest.fixture
def home(tmp_path):
    """The outputs' identity example: "Gold members", 100 IDFAs from US and 65 emails from EU."""
    home = tmp_path / "home"
    with OpenHome.open(resolve_home(home), user="maria") as opened:
        identity_example(opened)
    return home


@pytest.fixture
def run(home, capsys):
    def invoke(*args: str) -> tuple[int, str, str]:
        code = main(["--home", str(home), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def contents(path) -> tuple[dict, dict[str, list[dict[str, str]]]]:
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        files = {name: list(csv.DictReader(io.TextIOWrapper(archive.open(name), encoding="utf-8", newline="")))
                 for name in archive.namelist() if name != "manifest.json"}
    return manifest, files


def test_export_writes_the_zip_and_says_what_it_wrote(run, tmp_path):
    out = tmp_path / "gold.zip"
    code, stdout, stderr = run("export", "Gold members", "--out", str(out), "--now", NOW.isoformat())
    assert (code, stderr) == (0, "")
    assert stdout.strip() == f"Wrote 165 rows (email, ios_idfa) in 1 CSV file to {out}."
    manifest, files = contents(out)
    assert manifest["rows_by_identity"] == {"email": 65, "ios_idfa": 100}
    assert len(files["Gold members.csv"]) == manifest["total_rows"] == 165


def test_export_of_chosen_identities_and_variations(run, home, tmp_path):
    with OpenHome.open(resolve_home(home)) as opened, opened.store.transaction() as session:
        audience = opened.audiences.get("Gold members")
        session.add(ABTest(audience_id=audience.id, seed="cli", created_by="maria", variants=[
            ABVariant(position=0, name="Control", percent=50), ABVariant(position=1, name="Half off", percent=50)]))
    out = tmp_path / "split.zip"
    code, stdout, _ = run("export", "gold members", "--out", str(out), "--identities", "email",
                          "--variants", "all", "--now", NOW.isoformat())
    assert code == 0 and "in 2 CSV files" in stdout
    manifest, files = contents(out)
    assert list(files) == ["Gold members - Control.csv", "Gold members - Half off.csv"]
    assert manifest["included_identities"] == ["email"]
    assert sum(len(rows) for rows in files.values()) == manifest["total_rows"] == 65


def test_export_refuses_plainly_and_writes_nothing(run, tmp_path):
    out = tmp_path / "gold.zip"
    code, _, stderr = run("export", "Gold members", "--out", str(out), "--identities", "fax")
    assert code == 1 and "no identities of type fax; types present: email, ios_idfa" in stderr
    code, _, stderr = run("export", "Platinum", "--out", str(out))
    assert code == 1 and stderr.startswith("audience-studio: ") and "Platinum" in stderr
    code, _, stderr = run("export", "Gold members", "--out", str(out), "--variants", "Control")
    assert code == 1 and "There is no variation Control" in stderr and "none has a saved A/B test" in stderr
    code, _, stderr = run("export", "Gold members", "--out", str(tmp_path / "gold.csv"))
    assert code == 1 and "ending in .zip" in stderr
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == []


def test_export_help_names_its_options(capsys):
    with pytest.raises(SystemExit) as done:
        main(["export", "--help"])
    text = capsys.readouterr().out
    assert done.value.code == 0
    assert all(option in text for option in ("--out", "--identities", "--variants", "AUDIENCE"))
