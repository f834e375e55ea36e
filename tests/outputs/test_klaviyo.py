"""Klaviyo through the real forwarding engine, against a simulator of its JSON:API lists and profiles endpoints."""

from __future__ import annotations

import json

import pytest
import requests

from app.connectors.outputs.batches import ADD, Batch, Destination, Identity
from app.connectors.outputs.klaviyo import REVISION, KlaviyoClient, lookup_filter, to_klaviyo
from app.connectors.outputs.partner import PartnerContext
from app.engines.forwarding import FAULTED, SENT, UP_TO_DATE
from app.models.services.forwarding_runs import ForwardingRunService
from tests.outputs.homes import change_tiers, identity_example
from tests.outputs.vendors import KlaviyoSimulator, Sleeps, forwarding

KEY = "pk_0123456789abcdef0123456789abcdef01"
EMAILS = {f"member{n}@example.com" for n in range(1, 66)}
PROFILES = "/api/lists/Y6nRLr/relationships/profiles"


@pytest.fixture
def world(opened):
    us, _, audience = identity_example(opened)
    return opened, us, audience


def simulator(**options) -> KlaviyoSimulator:
    partner = KlaviyoSimulator({KEY}, {"Y6nRLr"}, **options)
    for n in range(1, 21):  # 20 of the 65 already have a Klaviyo profile
        partner.add_profile(email=f"member{n}@example.com")
    return partner


@pytest.fixture
def klaviyo():
    partner = simulator()
    yield partner
    partner.close()


def connect(home, audience, partner, **options):
    output = home.outputs.create("Klaviyo", "klaviyo", {"list_id": "Y6nRLr", "api_url": partner.url}, {"api_key": KEY})
    return home.connections.connect(audience.id, output.id, **options)


def test_the_lookup_filter_is_klaviyos_any_with_json_strings():
    assert lookup_filter("email", ['a@x.com', 'o"neil@x.com']) == 'any(email,["a@x.com","o\\"neil@x.com"])'


def test_profiles_are_looked_up_created_when_new_and_added_to_the_list_then_removed(world, klaviyo):
    home, us, audience = world
    connection = connect(home, audience, klaviyo)

    first = forwarding(home).forward_one(connection.id)

    assert (first.outcome, first.added) == (SENT, 65)
    for request in klaviyo.seen:
        assert request.headers["Authorization"] == f"Klaviyo-API-Key {KEY}"
        assert request.headers["Revision"] == REVISION and request.headers["Accept"] == "application/vnd.api+json"
    [lookup] = klaviyo.requests_to("GET", "/api/profiles")
    assert lookup.query["page[size]"] == "100"
    assert set(json.loads(lookup.query["filter"].removeprefix("any(email,").removesuffix(")"))) == EMAILS
    imports = klaviyo.requests_to("POST", "/api/profile-import")
    assert sorted(i.body["data"]["attributes"]["email"] for i in imports) == sorted(
        f"member{n}@example.com" for n in range(21, 66))  # only the 45 without a profile
    assert all(i.body["data"]["type"] == "profile" for i in imports)
    [added] = klaviyo.requests_to("POST", PROFILES)
    assert added.headers["Content-Type"] == "application/vnd.api+json"
    assert len(added.body["data"]) == 65 and {d["type"] for d in added.body["data"]} == {"profile"}
    assert klaviyo.members("Y6nRLr") == EMAILS

    change_tiers(home, us.id, {1: "silver", 30: "silver"})
    second = forwarding(home).forward_one(connection.id)
    assert (second.outcome, second.removed) == (SENT, 2)
    [removed] = klaviyo.requests_to("DELETE", PROFILES)
    assert len(removed.body["data"]) == 2
    assert klaviyo.members("Y6nRLr") == EMAILS - {"member1@example.com", "member30@example.com"}
    assert len(klaviyo.requests_to("POST", "/api/profile-import")) == 45  # a remove creates no profile
    assert forwarding(home).forward_one(connection.id).outcome == UP_TO_DATE


def test_lookups_follow_the_next_page_link(world):
    home, _, audience = world
    partner = simulator(page_limit=8)
    try:
        connection = connect(home, audience, partner)
        assert forwarding(home).forward_one(connection.id).outcome == SENT
        assert len(partner.requests_to("GET", "/api/profiles")) == 3  # 20 known profiles, 8 a page
        assert len(partner.requests_to("POST", "/api/profile-import")) == 45  # none of the 20 created twice
        assert partner.members("Y6nRLr") == EMAILS
    finally:
        partner.close()


def test_a_profile_klaviyo_refuses_is_a_refused_record_and_the_rest_is_delivered(world, klaviyo):
    home, _, audience = world
    klaviyo.invalid.add("member40@example.com")
    connection = connect(home, audience, klaviyo)

    report = forwarding(home).forward_one(connection.id)

    assert (report.outcome, report.rejected) == (SENT, 1)
    [refused] = ForwardingRunService(home.store).rejected(connection.id)
    assert (refused.identity_type, refused.action) == ("email", "add")
    assert refused.reason.endswith("answered 400: Invalid email address")  # the JSON:API error's detail
    assert klaviyo.members("Y6nRLr") == EMAILS - {"member40@example.com"}
    assert home.connections.get(connection.id).fault is None


def test_429_with_retry_after_is_waited_and_the_retried_batch_changes_nothing_twice(world, klaviyo):
    home, _, audience = world
    connection = connect(home, audience, klaviyo)
    klaviyo.fail_next(429, path="/relationships/profiles", headers={"Retry-After": "7"},
                      body={"errors": [{"id": "1", "status": 429, "code": "throttled", "title": "Request was throttled.",
                                        "detail": "Request was throttled. Expected available in 7 seconds."}]})
    sleeps = Sleeps()

    report = forwarding(home, sleeps).forward_one(connection.id)

    assert (report.outcome, report.retries, report.added) == (SENT, 1, 65)
    assert sleeps[0] >= 7
    assert len(klaviyo.requests_to("POST", PROFILES)) == 2
    # The retry found the 45 profiles the first attempt created: it created none again.
    assert len(klaviyo.requests_to("POST", "/api/profile-import")) == 45 and len(klaviyo.profiles) == 65
    assert klaviyo.members("Y6nRLr") == EMAILS


def test_shared_attributes_go_to_the_profiles_properties(world, klaviyo):
    home, _, audience = world
    connection = connect(home, audience, klaviyo, shared_attributes=["loyalty_tier"])

    assert forwarding(home).forward_one(connection.id).outcome == SENT

    imports = klaviyo.requests_to("POST", "/api/profile-import")
    assert len(imports) == 65  # known profiles too: their properties are updated
    assert {json.dumps(i.body["data"]["attributes"]["properties"]) for i in imports} == {'{"loyalty_tier": "gold"}'}
    assert {p.get("properties", {}).get("loyalty_tier") for p in klaviyo.profiles.values()} == {"gold"}


def test_a_refused_key_is_an_authentication_fault_with_klaviyos_own_words(world, klaviyo):
    home, _, audience = world
    output = home.outputs.create("Old key", "klaviyo", {"list_id": "Y6nRLr", "api_url": klaviyo.url},
                                 {"api_key": "pk_revoked"})
    report = forwarding(home).forward_one(home.connections.connect(audience.id, output.id).id)
    assert report.outcome == FAULTED and report.reason.endswith("answered 401: Missing or invalid private key.")
    assert home.connections.get(report.connection_id).fault.category == "Authentication"


def test_phones_and_customer_ids_are_matched_on_phone_number_and_external_id(klaviyo):
    known = klaviyo.add_profile(phone_number="+14155550100")
    context = PartnerContext({"list_id": "Y6nRLr", "api_url": klaviyo.url}, {"api_key": KEY}.get, requests.Session())
    identities = (Identity("mobile_number", to_klaviyo("mobile_number", "+1 (415) 555-0100")),
                  Identity("mobile_number", to_klaviyo("mobile_number", "+44 20 7946 0958")),
                  Identity("customer_id", to_klaviyo("customer_id", " C-1001 ")))
    batch = Batch(Batch.new_id(), 1, ADD, identities)

    assert KlaviyoClient(context).send(batch, Destination(1, 1, "Gold members", {})) == []

    lookups = {s.query["filter"] for s in klaviyo.requests_to("GET", "/api/profiles")}
    assert lookups == {'any(phone_number,["+14155550100","+442079460958"])', 'any(external_id,["C-1001"])'}
    imported = [s.body["data"]["attributes"] for s in klaviyo.requests_to("POST", "/api/profile-import")]
    assert imported == [{"phone_number": "+442079460958"}, {"external_id": "C-1001"}]
    [added] = klaviyo.requests_to("POST", PROFILES)
    assert known in {d["id"] for d in added.body["data"]} and len(klaviyo.lists["Y6nRLr"]) == 3
