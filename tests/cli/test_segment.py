"""`audience-studio audiences segment` against a real home: the defaults shown, a change saved and shown as JSON,
a price on a private segment refused with the reason, a priced segment made private with --cpm none."""

from __future__ import annotations

import json

import pytest

from app.cli.main import main
from app.engines.home import OpenHome
from app.models.services.segments import PRIVATE_PRICE_REASON


@pytest.fixture
def run(home_dir, capsys):
    with OpenHome.open(home_dir, user="maria") as home:
        retail = home.workspaces.create("Retail", [("platform", "iOS")])
        home.audiences.create("Lapsed buyers", workspace_ids=[retail.id])

    def invoke(*args: str) -> tuple[int, str, str]:
        code = main(["--home", str(home_dir.root), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def test_with_no_options_the_defaults_are_shown(run):
    code, out, _ = run("audiences", "segment", "Lapsed buyers")
    assert code == 0
    assert out.splitlines() == [
        "Segment settings of audience 1: Lapsed buyers",
        "  Expiration:  never",
        "  Visibility:  private (only you, the data provider, can buy it)",
        "  CPM price:   none",
        "  Category:    none",
        "  Last saved:  not set yet (the defaults)",
    ]


def test_changes_are_saved_and_shown_as_json(run):
    code, out, _ = run("audiences", "segment", "lapsed buyers", "--public", "--cpm", "2.5", "--expiration-days", "90",
                       "--category", "Retail>Lapsed")
    assert code == 0 and out.startswith("Saved the segment settings of audience 1: Lapsed buyers")
    assert "  CPM price:   2.50 USD per thousand users" in out.splitlines()
    code, out, _ = run("audiences", "segment", "1", "--json")
    shown = json.loads(out)
    assert {k: shown[k] for k in ("audience", "expiration_days", "visibility", "cpm", "currency", "category")} == {
        "audience": "Lapsed buyers", "expiration_days": 90, "visibility": "public", "cpm": "2.50",
        "currency": "USD", "category": "Retail > Lapsed"}
    code, out, _ = run("audiences", "segment", "1", "--expiration-days", "never", "--json")
    assert code == 0 and (json.loads(out)["expiration_days"], json.loads(out)["cpm"]) == (None, "2.50")


def test_a_price_on_a_private_segment_is_refused_with_the_reason(run):
    code, _, err = run("audiences", "segment", "Lapsed buyers", "--cpm", "1.00")
    assert code == 1 and PRIVATE_PRICE_REASON in err and err.startswith("audience-studio: CPM price:")
    assert "  CPM price:   none" in run("audiences", "segment", "Lapsed buyers")[1]


def test_a_priced_segment_is_made_private_only_with_its_price_cleared(run):
    assert run("audiences", "segment", "Lapsed buyers", "--public", "--cpm", "3")[0] == 0
    code, _, err = run("audiences", "segment", "Lapsed buyers", "--private")
    assert code == 1 and "priced at 3.00 USD; clear the price to make it private" in err
    code, out, _ = run("audiences", "segment", "Lapsed buyers", "--private", "--cpm", "none", "--json")
    assert code == 0 and (json.loads(out)["visibility"], json.loads(out)["cpm"]) == ("private", None)


@pytest.mark.parametrize(("args", "message"), [
    (("--expiration-days", "0"), "Expiration: 0 days is out of range"),
    (("--public", "--cpm", "-2"), "CPM price: -2 is negative"),
    (("--category", "Retail;"), "Category: “Retail;” contains “;”"),
])
def test_bad_values_are_refused_naming_the_field(run, args, message):
    code, _, err = run("audiences", "segment", "Lapsed buyers", *args)
    assert code == 1 and message in err


def test_an_unknown_audience_is_named(run):
    code, _, err = run("audiences", "segment", "Lapsed buyer")
    assert code == 1 and 'There is no audience named "Lapsed buyer". Did you mean "Lapsed buyers"?' in err


def test_public_and_private_together_are_refused_by_the_parser(run, capsys):
    with pytest.raises(SystemExit):
        run("audiences", "segment", "Lapsed buyers", "--public", "--private")
    assert "not allowed with argument" in capsys.readouterr().err
