"""Channels on a real store: toggles on and off, each wizard step's check and its message, the configuration
stored, each channel's address, the endpoints override, pushes going with their audience, and migration 0007
down and up. Pushing and taking segments off (the requests) are tests/engines/test_channel_pushes.py."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest
from alembic import command

from app.errors import InvalidInput, UserError
from app.models.services.channels import (
    CHANNELS,
    ENDPOINTS_VARIABLE,
    ChannelService,
    check_configuration,
    check_step,
    endpoints_from_environment,
)
from app.models.store.db import alembic_config
from tests.channels.fixtures import (  # noqa: F401 - the fixtures
    DSP,
    START,
    buyers,
    channel_api,
    channels,
    clock,
    pushing,
    segments,
)


def test_the_directory_has_toggle_and_configured_channels(channels):
    states = channels.channels()
    assert [s.channel.key for s in states] == [c.key for c in CHANNELS]
    assert sum(not s.channel.needs_setup for s in states) == 3 and sum(s.channel.needs_setup for s in states) == 2
    assert not any(s.enabled for s in states)


def test_a_toggle_channel_switches_on_and_off(channels, clock):
    on = channels.enable("harbor")
    assert on.enabled and on.configured_by == "maria" and on.configured_at == START
    assert next(s for s in channels.channels() if s.channel.key == "harbor").enabled
    assert not channels.disable("harbor").enabled
    assert not next(s for s in channels.channels() if s.channel.key == "harbor").enabled


def test_a_configured_channel_cannot_be_switched_on_without_set_up(channels):
    with pytest.raises(UserError, match="DSP Taxonomy API needs setting up first"):
        channels.enable("dsp_taxonomy")


@pytest.mark.parametrize(("step", "values", "message"), [
    (0, {"account_id": ""}, "Account ID: required."),
    (0, {"account_id": "204817"}, "Account ID: “204817” is not an account ID"),
    (1, {"endpoint_url": "http://api.example-dsp.com"}, "API endpoint URL: “http://api.example-dsp.com” must start with"),
    (1, {"endpoint_url": "http://10.0.0.7:8080/t"}, ("API endpoint URL: “http://10.0.0.7:8080/t” must start with "
                                                     "https:// (the taxonomy is sent encrypted); http:// is allowed "
                                                     "only for a test server on this computer")),
    (1, {"endpoint_url": "https://"}, "API endpoint URL: “https://” has no valid host name"),
    (1, {"endpoint_url": "https://bob:pw@api.example.com"}, "API endpoint URL: do not put a user name or password"),
    (2, {"taxonomy_root": "Retail > Data", "currency": "USD"}, "Taxonomy root name: “Retail > Data” contains “>”"),
    (2, {"taxonomy_root": "Harbor", "currency": "JPY"}, "Price currency: “JPY” is not one of USD, EUR, GBP."),
])
def test_each_dsp_step_is_checked_with_a_message_naming_the_field(step, values, message):
    with pytest.raises(InvalidInput) as refused:
        check_step("dsp_taxonomy", step, values)
    assert str(refused.value).startswith(message)


def test_valid_steps_are_cleaned():
    assert check_step("dsp_taxonomy", 0, {"account_id": " dsp-204817 "}) == {"account_id": "DSP-204817"}
    assert check_step("dsp_taxonomy", 1, DSP) == {"endpoint_url": DSP["endpoint_url"]}
    for local in ("http://127.0.0.1:8080/dsp", "http://localhost:9000", "http://[::1]:8000/t"):
        assert check_step("dsp_taxonomy", 1, {"endpoint_url": local}) == {"endpoint_url": local}
    assert check_step("ad_server", 0, {"seat_id": "48213"}) == {"seat_id": "48213"}
    assert check_step("ad_server", 1, {"region": "Europe"}) == {"region": "Europe"}


@pytest.mark.parametrize(("step", "values", "message"), [
    (0, {"seat_id": "12"}, "Seat ID: “12” is not a seat ID"),
    (1, {"region": ""}, "Region: required; choose one of North America, Europe, Asia Pacific."),
    (2, {"confirm": False}, "I confirm segments may be targeted by the seat's advertisers: tick the box"),
])
def test_each_ad_server_step_is_checked(step, values, message):
    with pytest.raises(InvalidInput, match="^" + message.replace("(", r"\(")):
        check_step("ad_server", step, values)


def test_configuring_checks_every_step_again_and_stores_the_settings(channels):
    with pytest.raises(InvalidInput, match="^Endpoint step: API endpoint URL"):
        channels.configure("dsp_taxonomy", {**DSP, "endpoint_url": "ftp://x.example.com"})
    assert not channels.channels()[3].settings
    state = channels.configure("dsp_taxonomy", DSP)
    assert state.enabled and state.is_set_up
    assert state.settings == {**DSP, "account_id": "DSP-204817"} == check_configuration("dsp_taxonomy", DSP)


def test_each_channel_is_reached_at_its_own_address_without_an_override(store):
    service = ChannelService(store, "maria")
    assert service.target("harbor").base_url == "https://api.harbor-data.example/v1"
    assert service.target("ad_server", {"seat_id": "48213", "region": "Asia Pacific"}).base_url == (
        "https://apac.api.adserver-segments.example/v3")
    dsp = service.target("dsp_taxonomy", DSP)
    assert (dsp.base_url, dict(dsp.headers)) == (DSP["endpoint_url"], {"X-Account-Id": "dsp-204817"})
    assert all(c.api_url.startswith("https://") and ".example/" in c.api_url for c in CHANNELS if not c.needs_setup)


def test_endpoint_overrides_come_from_the_environment():
    assert endpoints_from_environment({}) == {}
    assert endpoints_from_environment({ENDPOINTS_VARIABLE: ' {"harbor": "http://127.0.0.1:8080/h "} '}) == {
        "harbor": "http://127.0.0.1:8080/h"}
    for value, message in [("{harbor", "is not valid JSON"), ('["x"]', "must be a JSON object"),
                           ('{"nope": "https://a.example"}', "names “nope”, which is not a channel"),
                           ('{"harbor": "http://10.1.1.1/x"}', "for harbor: “http://10.1.1.1/x” must start with")]:
        with pytest.raises(UserError, match=ENDPOINTS_VARIABLE) as refused:
            endpoints_from_environment({ENDPOINTS_VARIABLE: value})
        assert message in str(refused.value)


def test_pushes_go_with_their_audience(channels, pushing, buyers, audiences):
    channels.enable("harbor")
    pushing.push(buyers.id, "harbor")
    audiences.delete(buyers.id)
    assert channels.pushes(buyers.id) == {}


def test_migration_0007_downgrades_and_upgrades(store_path, store):
    store.close()
    config = alembic_config(f"sqlite:///{store_path}")
    command.downgrade(config, "0006")
    assert not {"channel_configurations", "segment_channel_pushes"} & _tables(store_path)
    command.upgrade(config, "head")
    assert {"channel_configurations", "segment_channel_pushes"} <= _tables(store_path)


def _tables(path) -> set[str]:
    with closing(sqlite3.connect(path)) as db:
        return {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
