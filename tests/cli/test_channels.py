"""`audience-studio channels ...` on a demo home, its channels pointed at the simulator on 127.0.0.1 through
AUDIENCE_STUDIO_CHANNEL_ENDPOINTS: switch on, set up (each value checked), push (the segment arrives), refuse,
take off (it is deleted there); a channel's refusal exits 1 with its message, and tidy retries a failed removal."""

from __future__ import annotations

import json

import pytest

from app.cli.main import main
from app.models.services.channels import ENDPOINTS_VARIABLE
from tests.channels.simulator import ChannelSimulator


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("channels")
    assert main(["--home", str(home), "demo", "--profiles", "1500", "--days", "14"]) == 0
    return home


@pytest.fixture
def channel_api(monkeypatch):
    with ChannelSimulator() as simulator:
        monkeypatch.setenv(ENDPOINTS_VARIABLE, json.dumps(simulator.endpoints()))
        yield simulator


def run(capsys, home, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["--home", str(home), "channels", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_channels_are_switched_on_set_up_and_pushed_from_the_command_line(capsys, home, channel_api):
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
    [segment] = channel_api.segments["harbor"].values()
    assert segment["taxonomy"] == "Campers near Denver | Retail > Outdoor > Camping"
    code, _, err = run(capsys, home, "push", "Big spenders gone quiet", "harbor")
    assert code == 1 and "private" in err  # the demo keeps this one private
    code, out, _ = run(capsys, home, "pushes", "Campers near Denver", "--json")
    assert [p["state"] for p in json.loads(out)] == ["pushed"]

    code, out, _ = run(capsys, home, "remove", "Campers near Denver", "harbor")
    assert code == 0 and "Removed on" in out
    assert channel_api.segments["harbor"] == {}
    assert run(capsys, home, "tidy")[:2] == (0, "Nothing to take off.\n")


def test_a_refused_push_or_removal_exits_1_with_the_channels_message(capsys, home, channel_api):
    run(capsys, home, "enable", "openaudience")
    channel_api.fail_next(401)
    code, out, err = run(capsys, home, "push", "Campers near Denver", "openaudience")
    assert code == 1 and out == ""
    assert "Push failed on" in err and "OpenAudience Exchange refused the credentials (HTTP 401" in err
    assert run(capsys, home, "push", "Campers near Denver", "openaudience")[0] == 0

    channel_api.fail_next(503)
    code, _, err = run(capsys, home, "remove", "Campers near Denver", "openaudience")
    assert code == 1 and "Removal (removed by" in err and "HTTP 503" in err and "retried automatically" in err
    code, out, _ = run(capsys, home, "pushes", "Campers near Denver", "--json")
    pending = {p["channel"]: p for p in json.loads(out)}["openaudience"]
    assert (pending["state"], pending["removal_pending"]) == ("pushed", True)  # still there, and recorded so
    assert channel_api.segments["openaudience"]

    channel_api.fail_next(500)
    code, out, err = run(capsys, home, "tidy")
    assert code == 1 and "1 could not be taken off" in err
    code, out, _ = run(capsys, home, "tidy")
    assert code == 0 and "1 push(es) taken off." in out and channel_api.segments["openaudience"] == {}


def test_a_malformed_endpoints_variable_is_named(capsys, home, monkeypatch):
    monkeypatch.setenv(ENDPOINTS_VARIABLE, "{harbor: 1}")
    code, _, err = run(capsys, home, "tidy")
    assert code == 1 and f"{ENDPOINTS_VARIABLE} is not valid JSON" in err
