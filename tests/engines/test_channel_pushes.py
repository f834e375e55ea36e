"""Pushing segments to channels and taking them off, on a real store, against the channel API simulator on
127.0.0.1: refused pushes for private or uncategorised segments, a push PUT to the channel (what arrived there), a
refused push recorded with the channel's error, and segments DELETEd from their channels when they expire (on a
controlled clock) or are made private, with the reason the user sees; a removal the channel refuses stays
pending with its error and the next tidy retries it; a push and a removal of one segment take turns."""

from __future__ import annotations

import socket
import threading
from datetime import timedelta

import pytest

from app.connectors.channel_api import ChannelApi, ChannelTarget
from app.engines.channel_pushes import ChannelPushes
from app.errors import UserError
from app.models.services.channels import FAILED, MADE_PRIVATE, PUSHED, REMOVED, ChannelService, segment_ref
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
from tests.models.conftest import audiences, recorded_events, retail, store, store_path, workspaces  # noqa: F401


def test_a_push_puts_the_taxonomy_on_the_channel_and_records_it(channels, pushing, buyers, segments, channel_api,
                                                                  recorded_events):
    segments.update(buyers.id, cpm="2.50")
    channels.enable("harbor")
    pushed = pushing.push(buyers.id, "harbor")
    assert (pushed.state, pushed.taxonomy, pushed.pushed_at, pushed.pushed_by, pushed.error) == (
        PUSHED, "Buyers | Retail > Outdoor", START, "maria", None)
    assert channel_api.segments["harbor"] == {segment_ref(buyers.id): {
        "ref": f"audience-studio-{buyers.id}", "name": "Buyers", "category": "Retail > Outdoor",
        "taxonomy": "Buyers | Retail > Outdoor", "cpm": "2.50", "cpm_currency": "USD"}}
    assert channels.pushes(buyers.id) == {"harbor": pushed}
    assert ("audience_changed", buyers.id) in recorded_events
    assert pushed.describe().startswith("Pushed on 2026-03-01 09:00 UTC as “Buyers | Retail > Outdoor”")


def test_configured_channels_send_their_set_up_ids(channels, pushing, buyers, channel_api):
    channel_api.expect_header("dsp_taxonomy", "X-Account-Id", "DSP-204817")
    channel_api.expect_header("ad_server", "X-Seat-Id", "48213")
    channels.configure("dsp_taxonomy", DSP)
    channels.configure("ad_server", {"seat_id": "48213", "region": "Europe", "confirm": True})
    assert pushing.push(buyers.id, "dsp_taxonomy").state == PUSHED
    assert pushing.push(buyers.id, "ad_server").state == PUSHED
    dsp = channel_api.segments["dsp_taxonomy"][segment_ref(buyers.id)]
    assert (dsp["currency"], dsp["taxonomy_root"], dsp["cpm"]) == ("EUR", "Harbor Retail Data", None)
    assert "currency" not in channel_api.segments["ad_server"][segment_ref(buyers.id)]


def test_a_push_the_channel_refuses_is_recorded_as_failed_with_its_message(channels, pushing, buyers, channel_api):
    channels.enable("harbor")
    channel_api.fail_next(409, body={"error": "a segment named Buyers exists in another category"})
    failed = pushing.push(buyers.id, "harbor")
    assert failed.state == FAILED
    assert failed.error == ("Harbor Data Marketplace rejected the segment (HTTP 409): a segment named Buyers exists "
                            "in another category.")
    assert channels.pushes(buyers.id)["harbor"] == failed
    assert channel_api.segments["harbor"] == {}
    assert failed.describe() == f"Push failed on 2026-03-01 09:00 UTC: {failed.error}"
    again = pushing.push(buyers.id, "harbor")
    assert again.state == PUSHED and again.error is None and segment_ref(buyers.id) in channel_api.segments["harbor"]


def test_pushing_again_when_the_channel_refuses_keeps_the_earlier_push(channels, pushing, buyers, clock, channel_api):
    channels.enable("harbor")
    pushing.push(buyers.id, "harbor")
    clock.at = START + timedelta(days=1)
    channel_api.fail_next(503, raw=b"<html>down for maintenance</html>")
    kept = pushing.push(buyers.id, "harbor")
    # It is still on the channel: it stays "pushed" (so expiry and privacy still take it off), with the error.
    assert (kept.state, kept.pushed_at) == (PUSHED, START)
    assert kept.describe() == (
        "Pushing again failed: Harbor Data Marketplace had a server error (HTTP 503: a reply that is not JSON: "
        "“<html>down for maintenance</html>”); push again later. The earlier push stays: pushed on 2026-03-01 "
        "09:00 UTC as “Buyers | Retail > Outdoor”.")


def test_a_channel_that_cannot_be_reached_records_why(store, clock, buyers):
    with socket.socket() as s:  # a port nobody listens on: bound, then closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    service = ChannelService(store, "maria", now=clock, endpoints={"directory": f"http://127.0.0.1:{port}/v1"})
    service.enable("directory")
    failed = ChannelPushes(service, ChannelApi(timeout=(2.0, 0.5))).push(buyers.id, "directory")
    assert failed.state == FAILED and failed.error.startswith("Could not reach 127.0.0.1 (Segment Directory):")


def test_a_push_is_refused_for_a_private_or_uncategorised_segment(channels, pushing, audiences, retail, segments):
    channels.enable("harbor")
    private = audiences.create("Private one", workspace_ids=[retail.id])
    with pytest.raises(UserError, match="“Private one” is private: only public segments are pushed"):
        pushing.push(private.id, "harbor")
    segments.update(private.id, visibility="public")
    with pytest.raises(UserError, match="“Private one” has no category"):
        pushing.push(private.id, "harbor")
    assert channels.pushes(private.id) == {}


def test_a_push_to_a_switched_off_channel_is_refused(channels, pushing, buyers):
    with pytest.raises(UserError, match="Segment Directory is switched off"):
        pushing.push(buyers.id, "directory")


def test_a_push_to_a_channel_not_set_up_fails_with_the_error_recorded(channels, pushing, buyers):
    failed = pushing.push(buyers.id, "ad_server")
    assert failed.state == FAILED
    assert "Ad Server Segments is not set up completely (Seat step: Seat ID: required.)" in failed.error
    assert channels.pushes(buyers.id)["ad_server"].error == failed.error
    channels.configure("ad_server", {"seat_id": "48213", "region": "Europe", "confirm": True})
    again = pushing.push(buyers.id, "ad_server")
    assert again.state == PUSHED and again.error is None


def test_expiration_removes_from_channels_with_the_reason_on_a_controlled_clock(channels, pushing, buyers, clock,
                                                                                channel_api):
    channels.enable("harbor")
    channels.configure("dsp_taxonomy", DSP)
    pushing.push(buyers.id, "harbor")
    clock.at = START + timedelta(days=10)
    pushing.push(buyers.id, "dsp_taxonomy")

    assert pushing.remove_expired(START + timedelta(days=89, hours=23)) == []
    assert channel_api.requests_to("harbor", "DELETE") == []
    at = START + timedelta(days=90)
    removed = pushing.remove_expired(at)
    assert [(r.channel_key, r.state, r.removed_reason, r.removed_at) for r in removed] == [
        ("harbor", REMOVED, "expired after 90 days", at)]
    assert [r.ref for r in channel_api.requests_to("harbor", "DELETE")] == [segment_ref(buyers.id)]
    assert channel_api.segments["harbor"] == {}
    pushes = channels.pushes(buyers.id)
    assert pushes["harbor"].describe() == "Removed on 2026-05-30 09:00 UTC (expired after 90 days)"
    assert pushes["dsp_taxonomy"].state == PUSHED  # pushed later: not old yet
    assert segment_ref(buyers.id) in channel_api.segments["dsp_taxonomy"]
    assert [r.channel_key for r in pushing.remove_expired(START + timedelta(days=100))] == ["dsp_taxonomy"]
    assert channel_api.segments["dsp_taxonomy"] == {}
    assert pushing.remove_expired(START + timedelta(days=400)) == []  # nothing is taken off twice
    assert len(channel_api.requests_to("harbor", "DELETE")) == 1


def test_a_removal_the_channel_refuses_stays_pending_and_the_next_tidy_retries_it(channels, pushing, buyers, clock,
                                                                                   channel_api):
    channels.enable("harbor")
    pushing.push(buyers.id, "harbor")
    clock.at = START + timedelta(days=90)
    channel_api.fail_next(500)
    [kept] = pushing.tidy()
    # Still on the channel, so still "pushed"; the reason and the channel's answer are recorded.
    assert (kept.state, kept.removal_pending, kept.removed_reason, kept.removed_at) == (
        PUSHED, True, "expired after 90 days", clock.at)
    assert kept.error == "Harbor Data Marketplace had a server error (HTTP 500: simulated 500)."
    assert segment_ref(buyers.id) in channel_api.segments["harbor"]
    assert channels.pushes(buyers.id)["harbor"].describe() == (
        "Removal (expired after 90 days) failed on 2026-05-30 09:00 UTC: Harbor Data Marketplace had a server error "
        "(HTTP 500: simulated 500); it is retried automatically. Still on the channel: pushed on 2026-03-01 09:00 UTC "
        "as “Buyers | Retail > Outdoor”.")

    clock.at += timedelta(hours=1)
    [removed] = pushing.tidy()
    assert (removed.state, removed.removed_reason, removed.removed_at, removed.error) == (
        REMOVED, "expired after 90 days", clock.at, None)
    assert channel_api.segments["harbor"] == {}
    assert len(channel_api.requests_to("harbor", "DELETE")) == 2
    assert pushing.tidy() == []


def test_a_removal_failing_again_is_not_announced_again(channels, pushing, buyers, segments, channel_api, recorded_events):
    # The Segment tab reads (and tidies) again on each announcement: a channel that keeps refusing must not loop it.
    channels.enable("harbor")
    pushing.push(buyers.id, "harbor")
    segments.update(buyers.id, visibility="private")
    channel_api.refuse("harbor", 502)
    recorded_events.clear()
    assert [p.state for p in pushing.tidy()] == [PUSHED]
    assert recorded_events == [("audience_changed", buyers.id)]
    assert [p.state for p in pushing.tidy()] == [PUSHED]
    assert recorded_events == [("audience_changed", buyers.id)]
    channel_api.accept("harbor")
    assert [p.state for p in pushing.tidy()] == [REMOVED]
    assert recorded_events == [("audience_changed", buyers.id)] * 2


def test_a_removal_by_hand_that_fails_is_retried_by_tidy_with_its_reason(channels, pushing, buyers, channel_api):
    channels.enable("harbor")
    pushing.push(buyers.id, "harbor")
    channel_api.fail_next(429, retry_after=60)
    kept = pushing.remove(buyers.id, "harbor")
    assert kept.state == PUSHED and kept.removed_reason == "removed by maria"
    assert kept.error == "Harbor Data Marketplace rate limited the request (HTTP 429, retry after 60 s)."
    [removed] = pushing.tidy()
    assert (removed.state, removed.removed_reason) == (REMOVED, "removed by maria")
    assert channel_api.segments["harbor"] == {}


@pytest.fixture
def two_made_private(channels, pushing, buyers, audiences, retail, segments):
    """Two segments pushed to Harbor, then both made private: both are due to come off."""
    other = audiences.create("Others", workspace_ids=[retail.id])
    segments.update(other.id, visibility="public", category="Retail")
    channels.enable("harbor")
    pushing.push(buyers.id, "harbor")
    pushing.push(other.id, "harbor")
    segments.update(buyers.id, visibility="private")
    segments.update(other.id, visibility="private")
    return buyers, other


def test_a_channel_that_asks_to_wait_is_not_asked_again_in_the_same_tidy(channels, pushing, two_made_private, channel_api):
    channel_api.fail_next(429, retry_after=600)  # too long to wait inside the tidy

    kept = {p.audience_id: p for p in pushing.tidy()}
    assert [p.state for p in kept.values()] == [PUSHED, PUSHED] and all(p.removal_pending for p in kept.values())
    assert len(channel_api.requests_to("harbor", "DELETE")) == 1
    errors = sorted(p.error for p in kept.values())
    assert errors == ["Harbor Data Marketplace rate limited the request (HTTP 429, retry after 600 s).",
                      "Not sent: Harbor Data Marketplace asked to wait (HTTP 429) on an earlier removal; it is tried "
                      "again with the next tidy."]

    assert sorted(p.state for p in pushing.tidy()) == [REMOVED, REMOVED]
    assert channel_api.segments["harbor"] == {}


class HeldDeletes(ChannelApi):
    """The real client, whose DELETEs wait (in the tidy's thread) until the test lets them go on."""

    def __init__(self) -> None:
        super().__init__(timeout=(2.0, 0.5))
        self.deleting, self.go_on = threading.Event(), threading.Event()

    def delete_segment(self, target: ChannelTarget, ref: str) -> None:
        self.deleting.set()
        assert self.go_on.wait(10)
        super().delete_segment(target, ref)


def test_a_push_made_while_its_removal_is_on_the_way_waits_for_it_and_stays_on_the_channel(store, clock, buyers,
                                                                                          channel_api):
    api = HeldDeletes()
    channels = ChannelService(store, "maria", now=clock, endpoints=channel_api.endpoints())
    pushing = ChannelPushes(channels, api)
    channels.enable("harbor")
    pushing.push(buyers.id, "harbor")
    clock.at = START + timedelta(days=90)  # expired: the tidy takes it off
    tidied: list = []
    tidy = threading.Thread(target=lambda: tidied.extend(pushing.tidy()))
    tidy.start()
    assert api.deleting.wait(10)
    # The marketer pushes again while the DELETE is on its way: the push waits for the removal to finish...
    pushed: list = []
    push = threading.Thread(target=lambda: pushed.append(pushing.push(buyers.id, "harbor")))
    push.start()
    push.join(0.5)
    assert not pushed
    api.go_on.set()
    tidy.join(10)
    push.join(10)
    # ... so the segment is taken off and then listed again, and the store says what the channel has.
    assert [p.state for p in tidied] == [REMOVED]
    assert pushed[0].state == PUSHED and pushed[0].pushed_at == clock.at
    assert [r.method for r in channel_api.requests_to("harbor")] == ["PUT", "DELETE", "PUT"]
    assert segment_ref(buyers.id) in channel_api.segments["harbor"]
    assert channels.pushes(buyers.id)["harbor"].state == PUSHED


def test_a_removal_planned_before_a_newer_push_leaves_the_newer_push_alone(channels, pushing, buyers, clock, channel_api):
    channels.enable("harbor")
    pushing.push(buyers.id, "harbor")
    clock.at = START + timedelta(days=90)
    [planned] = channels.plan_removals(clock.at, pending=False, private=False)
    clock.at += timedelta(minutes=1)
    pushing.push(buyers.id, "harbor")  # pushed again after the removal was planned
    assert pushing.take_off([planned]) == []
    assert channel_api.requests_to("harbor", "DELETE") == []
    assert segment_ref(buyers.id) in channel_api.segments["harbor"]


def test_tidy_can_be_limited_to_one_audience(channels, pushing, two_made_private, channel_api):
    buyers, other = two_made_private
    assert [p.audience_id for p in pushing.tidy(audience_id=buyers.id)] == [buyers.id]
    assert list(channel_api.segments["harbor"]) == [segment_ref(other.id)]


def test_a_segment_deleted_from_the_channel_already_counts_as_removed(channels, pushing, buyers, segments, channel_api):
    channels.enable("harbor")
    pushing.push(buyers.id, "harbor")
    channel_api.segments["harbor"].clear()  # someone took it off on the channel's own site
    segments.update(buyers.id, visibility="private")
    [removed] = pushing.tidy()
    assert removed.state == REMOVED and removed.error is None


def test_a_segment_that_never_expires_stays(channels, pushing, buyers, segments):
    segments.update(buyers.id, expiration_days="never")
    channels.enable("harbor")
    pushing.push(buyers.id, "harbor")
    assert pushing.remove_expired(START + timedelta(days=3650)) == []


def test_making_a_segment_private_removes_it_from_its_channels(channels, pushing, buyers, segments, clock, channel_api):
    channels.enable("harbor")
    channels.enable("openaudience")
    pushing.push(buyers.id, "harbor")
    pushing.push(buyers.id, "openaudience")
    assert pushing.tidy() == []
    segments.update(buyers.id, visibility="private")
    clock.at = START + timedelta(days=1)
    removed = pushing.tidy()
    assert {(r.channel_key, r.removed_reason, r.removed_at) for r in removed} == {
        ("harbor", MADE_PRIVATE, clock.at), ("openaudience", MADE_PRIVATE, clock.at)}
    assert all(p.state == REMOVED for p in channels.pushes(buyers.id).values())
    assert channel_api.segments["harbor"] == channel_api.segments["openaudience"] == {}
    assert {r.channel for r in channel_api.received if r.method == "DELETE"} == {"harbor", "openaudience"}


def test_removing_by_hand_says_who(channels, pushing, buyers):
    channels.enable("harbor")
    pushing.push(buyers.id, "harbor")
    assert pushing.remove(buyers.id, "harbor").removed_reason == "removed by maria"
    with pytest.raises(UserError, match="not on Harbor Data Marketplace"):
        pushing.remove(buyers.id, "harbor")




def test_a_push_names_the_segment_by_its_external_name(channels, pushing, audiences, retail, segments, channel_api):
    # Issue 23: the taxonomy carried the internal working name ("Q3 lapsed - test 2") instead of the name
    # partners see.
    audience = audiences.create("Q3 lapsed - test 2", external_name="Lapsed Outdoor Buyers", workspace_ids=[retail.id])
    segments.update(audience.id, visibility="public", category="Retail > Outdoor")
    channels.enable("harbor")
    pushed = pushing.push(audience.id, "harbor")
    assert pushed.taxonomy == "Lapsed Outdoor Buyers | Retail > Outdoor"
    sent = channel_api.segments["harbor"][segment_ref(audience.id)]
    assert (sent["name"], sent["taxonomy"]) == ("Lapsed Outdoor Buyers", "Lapsed Outdoor Buyers | Retail > Outdoor")


def test_a_push_carries_the_team_servers_company_name(channels, buyers, channel_api):
    """The company named at the team server's `server init` is what pushes carry; none before any sign-in."""
    channels.enable("harbor")
    channels.enable("directory")
    company: list[str | None] = [None]
    pushing = ChannelPushes(channels, ChannelApi(timeout=(2.0, 0.5)), company=lambda: company[0])
    pushing.push(buyers.id, "directory")
    assert "company" not in channel_api.segments["directory"][segment_ref(buyers.id)]
    company[0] = "Harbor Retail"
    pushing.push(buyers.id, "harbor")
    assert channel_api.segments["harbor"][segment_ref(buyers.id)]["company"] == "Harbor Retail"
