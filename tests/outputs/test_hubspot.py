"""HubSpot through the real forwarding engine, against a simulator of its CRM lists and contacts APIs and its tokens."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from app.connectors.outputs.directory import partner
from app.connectors.outputs.hubspot import NO_CONTACT
from app.connectors.outputs.oauth import OAuthClient, Tokens
from app.engines.forwarding import FAULTED, SENT, UP_TO_DATE
from app.models.services.forwarding_runs import ForwardingRunService
from tests.outputs.homes import change_tiers, identity_example
from tests.outputs.vendors import HubSpotSimulator, Sleeps, forwarding

EMAILS = {f"member{n}@example.com" for n in range(1, 66)}
#: 60 of the 65 are HubSpot contacts; 61–65 are not.
CONTACTS = {f"member{n}@example.com": str(5000 + n) for n in range(1, 61)}


@pytest.fixture
def world(opened):
    us, _, audience = identity_example(opened)
    return opened, us, audience


@pytest.fixture
def hubspot():
    simulator = HubSpotSimulator("hs-client", "hs-secret", CONTACTS, {"123": "MANUAL", "456": "DYNAMIC"})
    yield simulator
    simulator.close()


def connect(home, audience, simulator, list_id="123", name="HubSpot"):
    output = home.outputs.create(name, "hubspot", {"list_id": list_id, "client_id": "hs-client",
                                                   "token_url": simulator.url + "/oauth/v1/token",
                                                   "api_url": simulator.url}, {"client_secret": "hs-secret"})
    issued = simulator.issue()  # as the browser sign-in would have stored them
    home.output_sign_in.token_source(home.outputs.get(output.id)).save(
        Tokens(issued["access_token"], issued["refresh_token"], time.time() + issued["expires_in"]))
    return home.connections.connect(audience.id, output.id)


def test_the_oauth_presets_are_hubspots(opened):
    output = opened.outputs.create("HubSpot", "hubspot", {"list_id": "123", "client_id": "hs-client"},
                                   {"client_secret": "hs-secret"})
    client = OAuthClient.from_settings(output.settings)
    assert (client.authorize_url, client.token_url) == ("https://app.hubspot.com/oauth/authorize",
                                                        "https://api.hubapi.com/oauth/v1/token")
    assert {"crm.lists.read", "crm.lists.write"} <= set(client.scopes)
    assert output.settings["api_url"] == "https://api.hubapi.com"


def test_signing_in_asks_hubspot_for_the_list_scopes_and_the_tokens_it_issues_send_batches(world, hubspot):
    home, _, audience = world
    output = home.outputs.create("HubSpot", "hubspot", {
        "list_id": "123", "client_id": "hs-client", "authorize_url": hubspot.url + "/oauth/authorize",
        "token_url": hubspot.url + "/oauth/v1/token", "api_url": hubspot.url}, {"client_secret": "hs-secret"})
    opened_urls = []

    def browser(url):  # the system browser: HubSpot's consent page approves and redirects to the loopback
        opened_urls.append(url)
        threading.Thread(target=requests.get, args=(url,), kwargs={"timeout": 30}, daemon=True).start()

    home.output_sign_in.authorize(output.id, open_browser=browser, timeout=60)

    [authorize] = hubspot.requests_to("GET", "/oauth/authorize")
    assert len(opened_urls) == 1 and opened_urls[0].startswith(hubspot.url + "/oauth/authorize?")
    assert authorize.query["scope"] == "crm.lists.read crm.lists.write crm.objects.contacts.read"
    assert authorize.query["code_challenge_method"] == "S256"
    assert authorize.query["redirect_uri"].startswith("http://127.0.0.1:")
    connection = home.connections.connect(audience.id, output.id)
    assert forwarding(home).forward_one(connection.id).outcome == SENT
    [issued] = hubspot.access  # the one access token HubSpot issued, for the sign-in's code
    assert {s.headers["Authorization"] for s in hubspot.seen if s.path.startswith("/crm/")} == {f"Bearer {issued}"}
    assert hubspot.members("123") == set(CONTACTS)


def test_contacts_are_read_by_email_then_added_by_record_id_and_emails_without_a_contact_refused(world, hubspot):
    home, us, audience = world
    connection = connect(home, audience, hubspot)

    first = forwarding(home).forward_one(connection.id)

    assert (first.outcome, first.rejected) == (SENT, 5)
    [read] = hubspot.requests_to("POST", "/crm/v3/objects/contacts/batch/read")
    assert read.body["idProperty"] == "email" and read.body["properties"] == ["email"]
    assert {i["id"] for i in read.body["inputs"]} == EMAILS
    [add] = hubspot.requests_to("PUT", "/crm/v3/lists/123/memberships/add")
    assert sorted(add.body) == sorted(CONTACTS.values())
    assert {s.headers["Authorization"] for s in hubspot.seen} == {"Bearer hs-access-1"}
    assert hubspot.members("123") == set(CONTACTS)
    refused = ForwardingRunService(home.store).rejected(connection.id)
    assert [(r.action, r.reason) for r in refused] == [("add", NO_CONTACT)] * 5

    change_tiers(home, us.id, {2: "silver", 62: "silver"})
    second = forwarding(home).forward_one(connection.id)
    assert (second.outcome, second.removed) == (SENT, 1)  # 62 was never in the list: only 2 is removed
    [remove] = hubspot.requests_to("PUT", "/crm/v3/lists/123/memberships/remove")
    assert remove.body == ["5002"]
    assert hubspot.members("123") == set(CONTACTS) - {"member2@example.com"}
    assert forwarding(home).forward_one(connection.id).outcome == UP_TO_DATE
    assert partner("hubspot").max_batch == HubSpotSimulator.MAX_INPUTS


def test_an_expired_access_token_is_renewed_with_the_client_secret_and_the_batch_sent(world, hubspot):
    home, us, audience = world
    connection = connect(home, audience, hubspot)
    assert forwarding(home).forward_one(connection.id).outcome == SENT
    hubspot.expire_access_tokens()  # HubSpot's tokens last 30 minutes

    change_tiers(home, us.id, {3: "silver"})
    report = forwarding(home).forward_one(connection.id)

    assert (report.outcome, report.removed) == (SENT, 1)
    [renewal] = hubspot.requests_to("POST", "/oauth/v1/token")
    assert "grant_type=refresh_token" in renewal.body and "client_secret=hs-secret" in renewal.body
    assert hubspot.seen[-1].headers["Authorization"] == "Bearer hs-access-2"
    assert "member3@example.com" not in hubspot.members("123")


def test_a_dynamic_list_is_a_configuration_fault_naming_hubspots_reason(world, hubspot):
    home, _, audience = world
    connection = connect(home, audience, hubspot, list_id="456")
    report = forwarding(home).forward_one(connection.id)
    assert report.outcome == FAULTED and "only MANUAL or SNAPSHOT lists take memberships" in report.reason
    assert home.connections.get(connection.id).fault.category == "Configuration"


def test_a_429_is_retried_with_backoff(world, hubspot):
    home, _, audience = world
    connection = connect(home, audience, hubspot)
    hubspot.fail_next(429, path="/memberships/add", body={
        "status": "error", "message": "You have reached your ten_secondly_rolling limit.", "errorType": "RATE_LIMIT",
        "correlationId": "1", "policyName": "TEN_SECONDLY_ROLLING"})
    sleeps = Sleeps()
    report = forwarding(home, sleeps).forward_one(connection.id)
    assert (report.outcome, report.retries, len(sleeps)) == (SENT, 1, 1)
    assert len(hubspot.requests_to("PUT", "/crm/v3/lists/123/memberships/add")) == 2
    assert hubspot.members("123") == set(CONTACTS)
