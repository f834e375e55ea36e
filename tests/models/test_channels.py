"""Channels on a real store: toggles on and off, each wizard step's check and its message, pushes refused for private
or uncategorised segments, a failed push recorded with its error, and segments taken off their channels when they
expire (on a controlled clock) or are made private, with the reason the user sees; migration 0007 down and up."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command

from app.errors import InvalidInput, UserError
from app.models.channels import (
    CHANNELS,
    FAILED,
    MADE_PRIVATE,
    PUSHED,
    REMOVED,
    ChannelService,
    check_configuration,
    check_step,
)
from app.models.db import alembic_config
from app.models.segments import SegmentSettingsService

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
DSP = {"account_id": "dsp-204817", "endpoint_url": "https://api.example-dsp.com/taxonomy",
       "taxonomy_root": "Harbor Retail Data", "currency": "EUR"}


class Clock:
    def __init__(self) -> None:
        self.at = START

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def channels(store, clock) -> ChannelService:
    return ChannelService(store, "maria", now=clock)


@pytest.fixture
def segments(store) -> SegmentSettingsService:
    return SegmentSettingsService(store, "maria")


@pytest.fixture
def buyers(audiences, retail, segments):
    audience = audiences.create("Buyers", workspace_ids=[retail.id])
    segments.update(audience.id, visibility="public", category="Retail > Outdoor", expiration_days=90)
    return audience


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


def test_a_push_records_the_taxonomy_and_when(channels, buyers, recorded_events):
    channels.enable("harbor")
    pushed = channels.push(buyers.id, "harbor")
    assert (pushed.state, pushed.taxonomy, pushed.pushed_at, pushed.pushed_by) == (
        PUSHED, "Buyers | Retail > Outdoor", START, "maria")
    assert channels.pushes(buyers.id) == {"harbor": pushed}
    assert ("audience_changed", buyers.id) in recorded_events
    assert pushed.describe().startswith("Pushed on 2026-03-01 09:00 UTC as “Buyers | Retail > Outdoor”")


def test_a_push_is_refused_for_a_private_or_uncategorised_segment(channels, audiences, retail, segments):
    channels.enable("harbor")
    private = audiences.create("Private one", workspace_ids=[retail.id])
    with pytest.raises(UserError, match="“Private one” is private: only public segments are pushed"):
        channels.push(private.id, "harbor")
    segments.update(private.id, visibility="public")
    with pytest.raises(UserError, match="“Private one” has no category"):
        channels.push(private.id, "harbor")
    assert channels.pushes(private.id) == {}


def test_a_push_to_a_switched_off_channel_is_refused(channels, buyers):
    with pytest.raises(UserError, match="Segment Directory is switched off"):
        channels.push(buyers.id, "directory")


def test_a_push_to_a_channel_not_set_up_fails_with_the_error_recorded(channels, buyers):
    failed = channels.push(buyers.id, "ad_server")
    assert failed.state == FAILED
    assert "Ad Server Segments is not set up completely (Seat step: Seat ID: required.)" in failed.error
    assert channels.pushes(buyers.id)["ad_server"].error == failed.error
    channels.configure("ad_server", {"seat_id": "48213", "region": "Europe", "confirm": True})
    again = channels.push(buyers.id, "ad_server")
    assert again.state == PUSHED and again.error is None


def test_expiration_removes_from_channels_with_the_reason_on_a_controlled_clock(channels, buyers, clock):
    channels.enable("harbor")
    channels.configure("dsp_taxonomy", DSP)
    channels.push(buyers.id, "harbor")
    clock.at = START + timedelta(days=10)
    channels.push(buyers.id, "dsp_taxonomy")

    assert channels.remove_expired(START + timedelta(days=89, hours=23)) == []
    at = START + timedelta(days=90)
    removed = channels.remove_expired(at)
    assert [(r.channel_key, r.state, r.removed_reason, r.removed_at) for r in removed] == [
        ("harbor", REMOVED, "expired after 90 days", at)]
    pushes = channels.pushes(buyers.id)
    assert pushes["harbor"].describe() == "Removed on 2026-05-30 09:00 UTC (expired after 90 days)"
    assert pushes["dsp_taxonomy"].state == PUSHED  # pushed later: not old yet
    assert [r.channel_key for r in channels.remove_expired(START + timedelta(days=100))] == ["dsp_taxonomy"]
    assert channels.remove_expired(START + timedelta(days=400)) == []  # nothing is taken off twice


def test_a_segment_that_never_expires_stays(channels, buyers, segments):
    segments.update(buyers.id, expiration_days="never")
    channels.enable("harbor")
    channels.push(buyers.id, "harbor")
    assert channels.remove_expired(START + timedelta(days=3650)) == []


def test_making_a_segment_private_removes_it_from_its_channels(channels, buyers, segments, clock):
    channels.enable("harbor")
    channels.enable("openaudience")
    channels.push(buyers.id, "harbor")
    channels.push(buyers.id, "openaudience")
    assert channels.tidy() == []
    segments.update(buyers.id, visibility="private")
    clock.at = START + timedelta(days=1)
    removed = channels.tidy()
    assert {(r.channel_key, r.removed_reason, r.removed_at) for r in removed} == {
        ("harbor", MADE_PRIVATE, clock.at), ("openaudience", MADE_PRIVATE, clock.at)}
    assert all(p.state == REMOVED for p in channels.pushes(buyers.id).values())


def test_removing_by_hand_says_who(channels, buyers):
    channels.enable("harbor")
    channels.push(buyers.id, "harbor")
    assert channels.remove(buyers.id, "harbor").removed_reason == "removed by maria"
    with pytest.raises(UserError, match="not on Harbor Data Marketplace"):
        channels.remove(buyers.id, "harbor")


def test_pushes_go_with_their_audience(channels, buyers, audiences):
    channels.enable("harbor")
    channels.push(buyers.id, "harbor")
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
