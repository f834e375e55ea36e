"""Audience downloads on a real home: the ZIP read back, its manifest checked against its CSVs, formulas
neutralised, variations splitting the members exactly, and Cancel or a failure leaving no file behind."""

from __future__ import annotations

import csv
import io
import json
import os
import threading
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from app.builder.variants import variation_of
from app.errors import InvalidInput, UserError
from app.engines.downloads import (
    CSV_COLUMNS,
    MANIFEST_NAME,
    DownloadCancelled,
    Part,
    download,
    neutralised,
    parts_for,
    read_choices,
    saved_variations,
    unique_file_names,
)
from app.engines.home import OpenHome
from app.models.store.schema import ABTest, ABVariant
from tests.builder.test_compiler_examples import profile
from tests.builder.workspaces import load
from tests.outputs.homes import NOW, email, identity_example, idfa

GOLD = {"loyalty_tier": "gold"}
FORMULA_EMAIL = '=HYPERLINK("http://evil.example","click")'
FORMULA_CUSTOMER_ID = "@SUM(A1:A9)"


@pytest.fixture
def home(home_dir):
    with OpenHome.open(home_dir, user="maria") as opened:
        yield opened


@pytest.fixture
def gold(home):
    """The outputs' identity example (100 gold members with an IDFA in US, 65 with an email from EU),
    plus one gold member whose identities look like spreadsheet formulas."""
    us, _eu, audience = identity_example(home)
    load(home.cache, [(us.id, profile(500, user_attributes=GOLD,
                                      user_identities={"email": FORMULA_EMAIL, "customer_id": FORMULA_CUSTOMER_ID}))])
    return audience


def read_zip(path: Path) -> tuple[dict, dict[str, list[dict[str, str]]]]:
    """The manifest and every CSV's rows, parsed back from the ZIP."""
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read(MANIFEST_NAME))
        files = {}
        for name in archive.namelist():
            if name == MANIFEST_NAME:
                continue
            with archive.open(name) as raw:
                reader = csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
                assert tuple(reader.fieldnames) == CSV_COLUMNS
                files[name] = list(reader)
    return manifest, files


def figures_of(rows: list[dict[str, str]], types: list[str]) -> dict:
    stamps = [int(r["scanned_timestamp_ms"]) for r in rows if r["scanned_timestamp_ms"]]
    return {
        "min_timestamp_ms": min(stamps, default=None), "max_timestamp_ms": max(stamps, default=None),
        "total_users": len({r["mpid"] for r in rows}), "total_rows": len(rows),
        "rows_by_identity": {t: sum(1 for r in rows if r["identity_type"] == t) for t in types},
    }


def assert_manifest_agrees(manifest: dict, files: dict[str, list[dict[str, str]]]) -> None:
    types = manifest["included_identities"]
    assert [f["file_name"] for f in manifest["files"]] == list(files)
    for entry in manifest["files"]:
        expected = figures_of(files[entry["file_name"]], types)
        assert {k: entry[k] for k in expected} == expected, entry["file_name"]
    every_row = [row for rows in files.values() for row in rows]
    overall = figures_of(every_row, types)
    del overall["total_users"]
    assert {k: manifest[k] for k in overall} == overall


def test_the_manifest_agrees_with_the_csvs_and_a_formula_is_neutralised(home, gold, tmp_path):
    out = tmp_path / "gold.zip"
    reported = []
    result = download(home, [Part(gold)], out, identity_types=["email", "ios_idfa", "customer_id"], now=NOW,
                      progress=lambda done, total: reported.append((done, total)))

    manifest, files = read_zip(out)
    assert_manifest_agrees(manifest, files)
    assert result.manifest == manifest and result.path == out
    assert list(files) == ["Gold members.csv"]
    assert manifest["archive_name"] == "gold.zip"
    assert manifest["audience_ids"] == [gold.id]
    assert manifest["included_identities"] == ["email", "ios_idfa", "customer_id"]
    assert manifest["manifest_generated"].endswith("Z") and "T" in manifest["manifest_generated"]
    # 100 IDFAs, 65 emails from the EU workspace, and member 500's email and customer id.
    assert manifest["rows_by_identity"] == {"email": 66, "ios_idfa": 100, "customer_id": 1}
    assert manifest["files"][0]["total_users"] == 101
    # Last seen a day before NOW in the example: the one timestamp in the file.
    assert manifest["min_timestamp_ms"] == manifest["max_timestamp_ms"] == int((NOW.timestamp() - 86_400) * 1000)

    rows = files["Gold members.csv"]
    member_500 = {r["identity_type"]: r["identity_value"] for r in rows if r["mpid"] == "500"}
    assert member_500 == {"email": "'" + FORMULA_EMAIL, "customer_id": "'" + FORMULA_CUSTOMER_ID}
    assert not any(r["identity_value"].startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows)
    assert reported[-1] == (manifest["total_rows"], manifest["total_rows"])


def test_a_profile_with_two_identities_has_two_rows_one_of_them_from_another_workspace(home, gold, tmp_path):
    out = tmp_path / "gold.zip"
    download(home, [Part(gold)], out, identity_types=["email", "ios_idfa"], now=NOW)
    _, files = read_zip(out)
    rows = files["Gold members.csv"]
    # Member 7's IDFA is from the US workspace the audience reads, its email from the EU workspace.
    assert sorted((r["identity_type"], r["identity_value"]) for r in rows if r["mpid"] == "7") == [
        ("email", email(7).strip()), ("ios_idfa", idfa(7))]
    assert [r["identity_type"] for r in rows if r["mpid"] == "80"] == ["ios_idfa"]  # no email collected
    assert Counter(r["mpid"] for r in rows)["1"] == 2


def test_only_the_chosen_identity_types_are_written(home, gold, tmp_path):
    out = tmp_path / "emails.zip"
    result = download(home, [Part(gold)], out, identity_types=["email"], now=NOW)
    manifest, files = read_zip(out)
    assert {r["identity_type"] for r in files["Gold members.csv"]} == {"email"}
    assert result.total_rows == manifest["rows_by_identity"]["email"] == 66
    assert manifest["files"][0]["total_users"] == 66  # members without an email have no rows


def test_the_same_identity_in_two_workspaces_of_a_profile_is_one_row(home, gold, tmp_path):
    eu = home.workspaces.get("EU")
    load(home.cache, [(eu.id, profile(1, device={"ios_advertising_id": idfa(1)}))])  # the US IDFA again
    out = tmp_path / "gold.zip"
    download(home, [Part(gold)], out, identity_types=["ios_idfa"], now=NOW)
    manifest, files = read_zip(out)
    assert [r["identity_value"] for r in files["Gold members.csv"] if r["mpid"] == "1"] == [idfa(1)]
    assert_manifest_agrees(manifest, files)


def save_test(home: OpenHome, audience_id: int, variations: list[tuple[str, int]]) -> None:
    with home.store.transaction() as session:
        session.add(ABTest(audience_id=audience_id, seed="download-seed", created_by="maria", variants=[
            ABVariant(position=i, name=name, percent=percent) for i, (name, percent) in enumerate(variations)]))


def test_variations_split_the_members_exactly(home, gold, tmp_path):
    save_test(home, gold.id, [("Control", 50), ("Ten off", 30), ("Free shipping", 20)])
    variations = saved_variations(home, gold.id)
    assert [(v.name, v.percent) for v in variations] == [("Control", 50), ("Ten off", 30), ("Free shipping", 20)]
    parts = [Part(gold)] + [Part(gold, v) for v in variations]
    out = tmp_path / "split.zip"
    download(home, parts, out, identity_types=["email", "ios_idfa", "customer_id"], now=NOW)

    manifest, files = read_zip(out)
    assert_manifest_agrees(manifest, files)
    assert list(files) == ["Gold members.csv", "Gold members - Control.csv", "Gold members - Ten off.csv",
                           "Gold members - Free shipping.csv"]
    whole = {r["mpid"] for r in files["Gold members.csv"]}
    split = [{r["mpid"] for r in files[f"Gold members - {v.name}.csv"]} for v in variations]
    assert set().union(*split) == whole
    assert sum(len(s) for s in split) == len(whole)  # no one in two variations
    for index, members in enumerate(split):
        assert all(variation_of("download-seed", int(m), (50, 30, 20)) == index for m in members)
    assert sum(f["total_rows"] for f in manifest["files"][1:]) == manifest["files"][0]["total_rows"]


def test_the_command_lines_variation_choice(home, gold):
    assert parts_for(home, [gold], None) == [Part(gold)]
    save_test(home, gold.id, [("Control", 60), ("B", 40)])
    control, b = saved_variations(home, gold.id)
    assert parts_for(home, [gold], ["all"]) == [Part(gold, control), Part(gold, b)]
    assert parts_for(home, [gold], ["b"]) == [Part(gold, b)]
    assert parts_for(home, [gold], [str(control.id)]) == [Part(gold, control)]
    with pytest.raises(InvalidInput, match="no variation Treatment"):
        parts_for(home, [gold], ["B", "Treatment"])


def test_the_dialogs_choices_name_the_identity_types_of_the_audiences_workspaces(home, gold):
    save_test(home, gold.id, [("Control", 100)])
    choices = read_choices(home, [gold.id])
    assert [a.id for a in choices.audiences] == [gold.id]
    assert set(choices.identity_types) == {"email", "ios_idfa", "customer_id"}
    assert [v.name for v in choices.variations[gold.id]] == ["Control"]


def test_cancel_leaves_no_file(home, gold, tmp_path):
    out = tmp_path / "gold.zip"
    cancelled = threading.Event()

    def progress(done: int, total: int) -> None:
        if done:  # after the first chunk was written
            cancelled.set()

    with pytest.raises(DownloadCancelled):
        download(home, [Part(gold)], out, identity_types=["email", "ios_idfa"], now=NOW, progress=progress,
                 cancelled=cancelled, chunk_rows=10)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == []


def test_an_existing_target_is_untouched_when_the_download_fails(home, gold, tmp_path):
    out = tmp_path / "gold.zip"
    out.write_bytes(b"last week's download")

    def failing(done: int, total: int) -> None:
        if done:  # half-way through the CSV
            raise OSError(28, "No space left on device")

    with pytest.raises(UserError, match="No space left on device. Nothing was written"):
        download(home, [Part(gold)], out, identity_types=["email", "ios_idfa"], now=NOW, progress=failing,
                 chunk_rows=10)
    assert out.read_bytes() == b"last week's download"
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["gold.zip"]


def test_an_existing_target_is_replaced_when_the_download_succeeds(home, gold, tmp_path):
    out = tmp_path / "gold.zip"
    out.write_bytes(b"last week's download")
    download(home, [Part(gold)], out, identity_types=["email"], now=NOW)
    manifest, _ = read_zip(out)
    assert manifest["total_rows"] == 66
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # an ordinary file, not a private temporary one


def test_refusals_say_what_to_do(home, gold, tmp_path):
    with pytest.raises(InvalidInput, match="ending in .zip"):
        download(home, [Part(gold)], tmp_path / "gold.csv", identity_types=["email"], now=NOW)
    with pytest.raises(UserError, match="does not exist"):
        download(home, [Part(gold)], tmp_path / "missing" / "gold.zip", identity_types=["email"], now=NOW)
    with pytest.raises(InvalidInput, match="at least one identity type"):
        download(home, [Part(gold)], tmp_path / "gold.zip", identity_types=[], now=NOW)


def test_cells_and_file_names():
    assert [neutralised(v) for v in ["=1+1", "+44 20", "-2", "@x", "\tx", "\rx", "plain", "a=b", ""]] == [
        "'=1+1", "'+44 20", "'-2", "'@x", "'\tx", "'\rx", "plain", "a=b", ""]
    assert unique_file_names(["Gold: VIP / EU", "gold: vip / eu", "CON", "Spring sale - B. ", "manifest"]) == [
        "Gold_ VIP _ EU.csv", "gold_ vip _ eu (2).csv", "_CON.csv", "Spring sale - B.csv", "manifest.csv"]


def test_a_large_file_written_in_slices_holds_the_same_rows(home, gold, tmp_path):
    whole, sliced = tmp_path / "whole.zip", tmp_path / "sliced.zip"
    download(home, [Part(gold)], whole, identity_types=["email", "ios_idfa"], now=NOW)
    download(home, [Part(gold)], sliced, identity_types=["email", "ios_idfa"], now=NOW, slice_rows=20, chunk_rows=7)
    (manifest, files), (sliced_manifest, sliced_files) = read_zip(whole), read_zip(sliced)
    assert_manifest_agrees(sliced_manifest, sliced_files)
    key = lambda r: (r["mpid"], r["identity_type"], r["identity_value"])
    assert sorted(map(key, sliced_files["Gold members.csv"])) == sorted(map(key, files["Gold members.csv"]))
    assert sliced_manifest["files"][0]["total_users"] == manifest["files"][0]["total_users"] == 101
    mpids = [int(r["mpid"]) for r in sliced_files["Gold members.csv"]]
    assert mpids == sorted(mpids)  # slices are mpid ranges, in order
