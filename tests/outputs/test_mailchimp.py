"""Mailchimp through the real forwarding engine, against a simulator of the Marketing API's batch subscribe."""

from __future__ import annotations

import base64

import pytest

from app.connectors.outputs.directory import partner
from app.connectors.outputs.email_list import api_base
from app.connectors.outputs.oauth import Tokens
from app.engines.forwarding import FAULTED, SENT, UP_TO_DATE
from app.models.services.forwarding_runs import ForwardingRunService
from tests.outputs.homes import change_tiers, identity_example
from tests.outputs.vendors import MailchimpSimulator, Sleeps, forwarding

KEY = "0123456789abcdef0123456789abcdef-us6"
EMAILS = {f"member{n}@example.com" for n in range(1, 66)}


@pytest.fixture
def world(opened):
    us, _, audience = identity_example(opened)
    return opened, us, audience


@pytest.fixture
def mailchimp():
    simulator = MailchimpSimulator({KEY}, {"a1b2c3d4e5"}, tokens={"mc-oauth-token"})
    yield simulator
    simulator.close()


def connect(home, audience, simulator, key=KEY):
    output = home.outputs.create("Newsletter", "mailchimp", {"list_id": "a1b2c3d4e5", "api_url": simulator.url},
                                 {"api_key": key})
    return home.connections.connect(audience.id, output.id)


def test_the_data_centre_comes_from_the_api_key():
    assert api_base({}, KEY) == "https://us6.api.mailchimp.com"


def test_members_are_batch_subscribed_then_leavers_unsubscribed_exactly_as_documented(world, mailchimp):
    home, us, audience = world
    connection = connect(home, audience, mailchimp)

    first = forwarding(home).forward_one(connection.id)

    assert (first.outcome, first.added, first.batches) == (SENT, 65, 1)
    [request] = mailchimp.seen
    assert (request.method, request.path) == ("POST", "/3.0/lists/a1b2c3d4e5")
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(f"audience-studio:{KEY}".encode()).decode()
    assert request.body["update_existing"] is True and set(request.body) == {"members", "update_existing"}
    assert sorted(request.body["members"], key=lambda m: m["email_address"]) == sorted(
        ({"email_address": e, "status": "subscribed"} for e in EMAILS), key=lambda m: m["email_address"])
    assert mailchimp.subscribed("a1b2c3d4e5") == EMAILS

    change_tiers(home, us.id, {1: "silver", 2: "silver"})
    second = forwarding(home).forward_one(connection.id)
    assert (second.outcome, second.removed) == (SENT, 2)
    last = mailchimp.seen[-1]
    assert (last.method, last.path, last.body["update_existing"]) == ("POST", "/3.0/lists/a1b2c3d4e5", True)
    assert sorted(last.body["members"], key=lambda m: m["email_address"]) == [
        {"email_address": "member1@example.com", "status": "unsubscribed"},
        {"email_address": "member2@example.com", "status": "unsubscribed"}]
    assert mailchimp.subscribed("a1b2c3d4e5") == EMAILS - {"member1@example.com", "member2@example.com"}
    assert forwarding(home).forward_one(connection.id).outcome == UP_TO_DATE


def test_a_batch_is_at_most_500_members(world, mailchimp):
    home, _, audience = world
    connection = connect(home, audience, mailchimp)
    report = forwarding(home, batch_size=30).forward_one(connection.id)
    assert report.batches == 3
    assert [len(s.body["members"]) for s in mailchimp.seen] == [30, 30, 5]
    assert partner("mailchimp").max_batch == MailchimpSimulator.MAX_MEMBERS


def test_per_member_errors_are_refused_records_and_the_rest_is_delivered(world, mailchimp):
    home, _, audience = world
    mailchimp.refused["member7@example.com"] = (
        "ERROR_FAKE_EMAIL", "member7@example.com looks fake or invalid, please enter a real email address.")
    connection = connect(home, audience, mailchimp)

    report = forwarding(home).forward_one(connection.id)

    assert (report.outcome, report.rejected) == (SENT, 1)
    assert home.connections.get(connection.id).fault is None
    [refused] = ForwardingRunService(home.store).rejected(connection.id)
    assert (refused.identity_type, refused.action) == ("email", "add")
    assert refused.reason.startswith("ERROR_FAKE_EMAIL: ") and "looks fake" in refused.reason
    assert mailchimp.subscribed("a1b2c3d4e5") == EMAILS - {"member7@example.com"}


def test_429_is_retried_after_retry_after_and_a_bad_key_is_an_authentication_fault(world, mailchimp):
    home, _, audience = world
    connection = connect(home, audience, mailchimp)
    mailchimp.fail_next(429, path="/3.0/lists/", headers={"Retry-After": "12"},
                        body={"title": "Too Many Requests", "status": 429,
                              "detail": "You have exceeded the limit of 10 simultaneous connections."})
    sleeps = Sleeps()
    report = forwarding(home, sleeps).forward_one(connection.id)
    assert (report.outcome, report.retries, report.added) == (SENT, 1, 65)
    assert sleeps[0] >= 12

    other = home.outputs.create("Old key", "mailchimp", {"list_id": "a1b2c3d4e5", "api_url": mailchimp.url},
                                {"api_key": "revoked-us6"})
    refused = forwarding(home).forward_one(home.connections.connect(audience.id, other.id).id)
    assert refused.outcome == FAULTED and "answered 401: Your API key may be invalid" in refused.reason
    assert home.connections.get(refused.connection_id).fault.category == "Authentication"


def test_signed_in_with_oauth_the_data_centre_comes_from_the_metadata_once(world, mailchimp):
    home, us, audience = world
    output = home.outputs.create("Newsletter (OAuth)", "mailchimp_oauth", {
        "list_id": "a1b2c3d4e5", "client_id": "123456789", "metadata_url": mailchimp.url + "/oauth2/metadata"},
        {"client_secret": "app-secret"})
    assert output.settings["authorize_url"] == "https://login.mailchimp.com/oauth2/authorize"
    assert output.settings["token_url"] == "https://login.mailchimp.com/oauth2/token"
    # Mailchimp's tokens never expire: no expiry, no refresh token.
    home.output_sign_in.token_source(home.outputs.get(output.id)).save(Tokens("mc-oauth-token"))
    connection = home.connections.connect(audience.id, output.id)

    assert forwarding(home).forward_one(connection.id).outcome == SENT
    change_tiers(home, us.id, {3: "silver"})
    assert forwarding(home).forward_one(connection.id).removed == 1

    metadata = mailchimp.requests_to("GET", "/oauth2/metadata")
    assert len(metadata) == 1 and metadata[0].headers["Authorization"] == "OAuth mc-oauth-token"
    batches = mailchimp.requests_to("POST", "/3.0/lists/a1b2c3d4e5")
    assert len(batches) == 2 and {b.headers["Authorization"] for b in batches} == {"Bearer mc-oauth-token"}
    assert mailchimp.subscribed("a1b2c3d4e5") == EMAILS - {"member3@example.com"}


def test_shared_attributes_go_as_merge_fields(world, mailchimp):
    home, _, audience = world
    output = home.outputs.create("Newsletter", "mailchimp", {"list_id": "a1b2c3d4e5", "api_url": mailchimp.url},
                                 {"api_key": KEY})
    connection = home.connections.connect(audience.id, output.id, shared_attributes=["loyalty_tier"])
    assert forwarding(home).forward_one(connection.id).outcome == SENT
    [request] = mailchimp.seen
    assert {str(m.get("merge_fields")) for m in request.body["members"]} == {"{'LOYALTYTIE': 'gold'}"}
