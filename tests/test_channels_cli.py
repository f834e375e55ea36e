"""`audience-studio channels ...` on a demo home: switch on, set up (each value checked), push, refuse, take off."""

from __future__ import annotations

import json

import pytest

from app.cli import main


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("channels")
    assert main(["--home", str(home), "demo", "--profiles", "1500", "--days", "14"]) == 0
    return home


def run(capsys, home, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["--home", str(home), "channels", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_channels_are_switched_on_set_up_and_pushed_from_the_command_line(capsys, home):
    code, out, _ = run(capsys, home, "list", "--json")
    listed = {c["key"]: c for c in json.loads(out)}
    assert code == 0 and listed["harbor"]["needs_setup"] is False and listed["ad_server"]["set_up"] is False

    assert run(capsys, home, "enable", "harbor")[:2] == (0, "Harbor Data Marketplace is on.\n")
    code, _, err = run(capsys, home, "configure", "ad_server", "--set", "seat_id=12", "--set", "region=Europe",
                       "--set", "confirm=yes")
    assert code == 1 and "Seat ID" in err and "3 to 12 digits" in err
    code, out, _ = run(capsys, home, "configure", "ad_server", "--set", "seat_id=48213", "--set", "region=Europe",
                       "--set", "confirm=yes")
    assert code == 0 and "on and set up" in out

    code, out, _ = run(capsys, home, "push", "Campers near Denver", "harbor")
    assert code == 0 and "Campers near Denver | Retail > Outdoor > Camping" in out
    code, _, err = run(capsys, home, "push", "Big spenders gone quiet", "harbor")
    assert code == 1 and "private" in err  # the demo keeps this one private
    code, out, _ = run(capsys, home, "pushes", "Campers near Denver", "--json")
    assert [p["state"] for p in json.loads(out)] == ["pushed"]

    code, out, _ = run(capsys, home, "remove", "Campers near Denver", "harbor")
    assert code == 0 and "Removed on" in out
    assert run(capsys, home, "tidy")[:2] == (0, "Nothing to take off.\n")
