"""The channel taxonomy API client against the simulator on 127.0.0.1: what a PUT and a DELETE carry, and each
way a channel can refuse turned into one ChannelRefused whose message names the channel and what to do."""

from __future__ import annotations

import socket

import pytest
import requests

from app.connectors.channel_api import (
    ChannelApi,
    ChannelRefused,
    ChannelTarget,
    _connection_problem,
)
from app.errors import UserError

SEGMENT = {"ref": "audience-studio-7", "name": "Buyers", "category": "Retail > Outdoor",
           "taxonomy": "Buyers | Retail > Outdoor", "cpm": "2.50", "cpm_currency": "USD"}


@pytest.fixture
def slept() -> list[float]:
    """The waits the client asked for (the tests see them instead of spending them)."""
    return []


@pytest.fixture
def api(slept) -> ChannelApi:
    # A short read timeout keeps the stalled-channel test fast; the others answer at once.
    return ChannelApi(timeout=(2.0, 0.5), sleep=slept.append)


@pytest.fixture
def harbor(channel_api) -> ChannelTarget:
    return ChannelTarget("Harbor Data Marketplace", channel_api.endpoint("harbor"))


def refusal(call) -> ChannelRefused:
    with pytest.raises(ChannelRefused) as refused:
        call()
    assert isinstance(refused.value, UserError)
    return refused.value


def test_a_put_sends_the_segment_and_a_delete_takes_it_off(api, channel_api, harbor):
    api.put_segment(harbor, SEGMENT)
    assert channel_api.segments["harbor"] == {"audience-studio-7": SEGMENT}
    [put] = channel_api.requests_to("harbor", "PUT")
    assert put.ref == "audience-studio-7" and put.body == SEGMENT
    assert put.headers["Content-Type"] == "application/json"

    api.put_segment(harbor, {**SEGMENT, "cpm": None})  # pushing again replaces it
    assert channel_api.segments["harbor"]["audience-studio-7"]["cpm"] is None
    api.delete_segment(harbor, "audience-studio-7")
    assert channel_api.segments["harbor"] == {}


def test_a_delete_of_a_segment_the_channel_does_not_have_counts_as_removed(api, channel_api, harbor):
    api.delete_segment(harbor, "audience-studio-99")
    [delete] = channel_api.requests_to("harbor", "DELETE")
    assert delete.ref == "audience-studio-99"


def test_the_ref_is_quoted_in_the_address(api, channel_api, harbor):
    api.put_segment(harbor, {**SEGMENT, "ref": "a/b c"})
    assert list(channel_api.segments["harbor"]) == ["a/b c"]


def test_set_up_ids_travel_as_headers_and_a_wrong_one_is_refused(api, channel_api):
    channel_api.expect_header("dsp_taxonomy", "X-Account-Id", "DSP-204817")
    dsp = ChannelTarget("DSP Taxonomy API", channel_api.endpoint("dsp_taxonomy"), {"X-Account-Id": "DSP-204817"})
    api.put_segment(dsp, SEGMENT)
    assert channel_api.requests_to("dsp_taxonomy")[0].headers["X-Account-Id"] == "DSP-204817"

    wrong = ChannelTarget("DSP Taxonomy API", dsp.base_url, {"X-Account-Id": "DSP-1111"})
    refused = refusal(lambda: api.put_segment(wrong, SEGMENT))
    assert refused.status == 403
    assert str(refused).startswith("DSP Taxonomy API refused permission (HTTP 403: X-Account-Id DSP-1111 may not")
    refused = refusal(lambda: api.put_segment(ChannelTarget("DSP Taxonomy API", dsp.base_url), SEGMENT))
    assert str(refused).startswith("DSP Taxonomy API refused the credentials (HTTP 401: missing X-Account-Id)")
    assert "check the channel's set-up" in str(refused)


def test_the_simulator_checks_the_segment_and_its_message_is_shown(api, harbor):
    refused = refusal(lambda: api.put_segment(harbor, {**SEGMENT, "taxonomy": "Buyers"}))
    assert str(refused) == ("Harbor Data Marketplace rejected the segment (HTTP 422): taxonomy must be "
                            "'<name> | <category>'.")
    missing = {k: v for k, v in SEGMENT.items() if k != "category"}
    assert "missing field(s): category" in str(refusal(lambda: api.put_segment(harbor, missing)))


@pytest.mark.parametrize(("status", "body", "raw", "message"), [
    (401, None, None, ("Harbor Data Marketplace refused the credentials (HTTP 401: simulated 401); check the "
                       "channel's set-up (account or seat) in Channel Settings.")),
    (403, {"message": "seat suspended"}, None, ("Harbor Data Marketplace refused permission (HTTP 403: seat "
                                                "suspended); check the channel's set-up")),
    (404, None, None, "Harbor Data Marketplace has no taxonomy API at http://127.0.0.1:"),
    (409, {"error": "a segment with this name exists in another category"}, None,
     "Harbor Data Marketplace rejected the segment (HTTP 409): a segment with this name exists in another category."),
    (422, {"message": {"message": "category too deep"}}, None,
     "Harbor Data Marketplace rejected the segment (HTTP 422): category too deep."),
    (422, {"detail": "odd"}, None,
     "Harbor Data Marketplace rejected the segment (HTTP 422): a JSON reply without an error message."),
    (500, None, None, "Harbor Data Marketplace had a server error (HTTP 500: simulated 500); push again later."),
    (502, None, b"<html>Bad gateway</html>", ("Harbor Data Marketplace had a server error (HTTP 502: a reply "
                                             "that is not JSON: “<html>Bad gateway</html>”); push again later.")),
    (503, None, b"", "Harbor Data Marketplace had a server error (HTTP 503: an empty reply); push again later."),
])
def test_each_refusal_of_a_push_says_what_happened(api, channel_api, harbor, status, body, raw, message):
    channel_api.fail_next(status, body=body, raw=raw)
    refused = refusal(lambda: api.put_segment(harbor, SEGMENT))
    assert str(refused).startswith(message) and refused.status == status
    assert channel_api.segments["harbor"] == {}


def test_rate_limiting_says_when_to_push_again(api, channel_api, harbor, slept):
    channel_api.fail_next(429, retry_after=30)
    refused = refusal(lambda: api.put_segment(harbor, SEGMENT))
    assert str(refused) == "Harbor Data Marketplace rate limited the request (HTTP 429); push again after 30 s."
    assert refused.retry_after == 30
    assert slept == [] and len(channel_api.requests_to("harbor", "PUT")) == 1  # too long to wait inside a push
    channel_api.fail_next(429)
    assert str(refusal(lambda: api.put_segment(harbor, SEGMENT))).endswith("push again later.")
    channel_api.fail_next(429, retry_after=12)
    assert str(refusal(lambda: api.delete_segment(harbor, "x"))) == (
        "Harbor Data Marketplace rate limited the request (HTTP 429, retry after 12 s).")


def test_a_short_retry_after_is_waited_out_and_the_request_sent_again(api, channel_api, harbor, slept):
    channel_api.fail_next(429, retry_after=2)
    api.put_segment(harbor, SEGMENT)
    assert slept == [2.0]
    assert len(channel_api.requests_to("harbor", "PUT")) == 2
    assert list(channel_api.segments["harbor"]) == ["audience-studio-7"]


def test_a_busy_channel_is_asked_again_at_most_twice(api, channel_api, harbor, slept):
    channel_api.fail_next(503, retry_after=1, times=2)
    api.delete_segment(harbor, "audience-studio-7")
    assert slept == [1.0, 1.0]

    slept.clear()
    channel_api.fail_next(503, retry_after=1, times=3)
    refused = refusal(lambda: api.put_segment(harbor, SEGMENT))
    assert str(refused) == ("Harbor Data Marketplace had a server error (HTTP 503: simulated 503); push again "
                            "after 1 s.")
    assert slept == [1.0, 1.0] and refused.status == 503
    assert channel_api.segments["harbor"] == {}


def test_a_refused_delete_gives_no_push_advice(api, channel_api, harbor):
    channel_api.fail_next(500)
    assert str(refusal(lambda: api.delete_segment(harbor, "x"))) == (
        "Harbor Data Marketplace had a server error (HTTP 500: simulated 500).")


def test_a_channel_that_does_not_answer_in_time(api, channel_api, harbor):
    channel_api.stall_next(1.5)
    refused = refusal(lambda: api.put_segment(harbor, SEGMENT))
    assert str(refused) == "Harbor Data Marketplace did not answer within 0.5 s (127.0.0.1); push again later."


def test_a_channel_that_cannot_be_reached(api):
    with socket.socket() as s:  # a port nobody listens on: bound, then closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gone = ChannelTarget("Segment Directory", f"http://127.0.0.1:{port}/v1")
    refused = refusal(lambda: api.put_segment(gone, SEGMENT))
    assert str(refused) == ("Could not reach 127.0.0.1 (Segment Directory): the connection was refused; check the "
                            "network and the channel's address, then push again.")
    assert str(refusal(lambda: api.delete_segment(gone, "x"))).endswith("check the network and the channel's address.")


def test_a_redirect_is_not_followed(api, channel_api, harbor):
    channel_api.fail_next(301, body={})
    refused = refusal(lambda: api.put_segment(harbor, SEGMENT))
    assert "redirected" in str(refused) and "update the channel's address" in str(refused)
    assert len(channel_api.requests_to("harbor")) == 1


def test_an_unknown_host_is_named_as_such():
    # Only the wording: the suite never asks a DNS server (tests talk to 127.0.0.1 only).
    failure = requests.ConnectionError("Failed to resolve 'api.harbor-data.example' ([Errno -2] Name or service not known)")
    assert _connection_problem(failure) == "the host name was not found"
