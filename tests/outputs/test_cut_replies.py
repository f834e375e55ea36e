"""Partners that close the connection half-way through a reply: retried like a 5xx, faulted cleanly if it persists,
and a custom audience whose creation reply was lost is found again rather than made twice."""

from __future__ import annotations

import random

import pytest

from app.connectors.outputs.sending import RetryPolicy
from app.engines.forwarding import FAULTED, SENT, ForwardingEngine
from tests.outputs.homes import NOW, change_tiers, email, idfa, identity_example
from tests.outputs.partners import CustomAudienceSimulator, EmailListSimulator, WebhookSimulator

SECRET = "whsec-test-signing-secret"


@pytest.fixture
def world(opened):
    us, _, audience = identity_example(opened)
    return opened, us, audience


@pytest.fixture
def webhook():
    simulator = WebhookSimulator(SECRET)
    yield simulator
    simulator.close()


@pytest.fixture
def ads():
    people = [("email", email(n)) for n in range(1, 66)] + [("ios_idfa", idfa(n)) for n in range(1, 121)]
    simulator = CustomAudienceSimulator({"ads-token"}, "123456", people)
    yield simulator
    simulator.close()


def engine(home, **options) -> ForwardingEngine:
    return ForwardingEngine(home, now=lambda: NOW, sleep=lambda s: None, rng=random.Random(3), **options)


def connect_webhook(home, audience, simulator):
    output = home.outputs.create("Hook", "webhook", {"url": simulator.endpoint, "identity_types": ["ios_idfa"]},
                                 {"signing_secret": SECRET})
    return home.connections.connect(audience.id, output.id)


def connect_ads(home, audience, simulator, name="Mobile ads"):
    output = home.outputs.create(name, "custom_audiences", {"ad_account_id": "123456", "api_url": simulator.api_url,
                                                           "identity_types": ["ios_idfa"]},
                                 {"access_token": "ads-token"})
    return home.connections.connect(audience.id, output.id)


@pytest.mark.parametrize("cut", ["length", "chunked"])
def test_a_reply_cut_half_way_is_retried_and_the_batch_counted_once(world, webhook, cut):
    home, _, audience = world
    connection = connect_webhook(home, audience, webhook)
    # The 2nd batch is processed, then its reply stops half-way; so does the reply to its first retry, before it is
    # processed again (the partner would see it as a duplicate anyway).
    webhook.fail_next(200, after_processing=True, after=1, cut=cut)
    webhook.fail_next(200, after=0, cut=cut)
    report = engine(home, batch_size=25).forward_one(connection.id)
    assert (report.outcome, report.added, report.retries) == (SENT, 100, 2)
    assert webhook.duplicates == 1 and set(webhook.added.values()) == {1} and len(webhook.held) == 100


def test_a_partner_that_keeps_cutting_its_replies_faults_with_a_clear_message(world, webhook):
    home, _, audience = world
    connection = connect_webhook(home, audience, webhook)
    webhook.fail_next(200, times=10, cut="length")
    report = engine(home, policy=RetryPolicy(retries=2)).forward_one(connection.id)
    fault = home.faults.get(report.fault_id)
    assert report.outcome == FAULTED and fault.category == "Other" and fault.retries == 2
    assert "closed the connection before its reply was complete" in fault.message
    assert home.connections.get(connection.id).identities_held == 0  # nothing counted as sent


def test_an_email_list_reply_cut_half_way_is_retried(world):
    home, _, audience = world
    simulator = EmailListSimulator({"k3y-us6"}, {"list1234"})
    try:
        output = home.outputs.create("Newsletter", "email_list", {"list_id": "list1234", "api_url": simulator.url},
                                     {"api_key": "k3y-us6"})
        connection = home.connections.connect(audience.id, output.id)
        simulator.fail_next(200, after_processing=True, cut="chunked")
        report = engine(home).forward_one(connection.id)
        assert (report.outcome, report.added, report.retries) == (SENT, 65, 1)
        assert set(simulator.added.values()) == {1}
    finally:
        simulator.close()


@pytest.mark.parametrize("cut", ["length", "chunked"])
def test_a_lost_reply_to_create_audience_does_not_create_a_second_one(world, ads, cut):
    home, us, audience = world
    # Other audiences of the ad account fill more than one page of its listing.
    for n in range(30):
        ads.audiences[str(1000 + n)] = f"Someone else's {n}"
    ads.cut_creations.append(cut)
    connection = connect_ads(home, audience, ads)
    report = engine(home).forward_one(connection.id)
    assert (report.outcome, report.added) == (SENT, 100)
    ours = [i for i, name in ads.audiences.items() if name == "Gold members"]
    assert len(ours) == 1 and len(ads.audiences) == 31
    assert ads.held and all(batch_id.startswith(ours[0] + "/") for batch_id in ads.seen_batches)

    change_tiers(home, us.id, {5: "silver"})  # later runs use the audience found
    assert engine(home).forward_one(connection.id).removed == 1 and len(ads.audiences) == 31


def test_two_connections_of_one_audience_each_get_their_own_custom_audience(world, ads):
    home, _, audience = world
    first = connect_ads(home, audience, ads, "Ads A")
    second = connect_ads(home, audience, ads, "Ads B")
    assert engine(home).forward_one(first.id).outcome == SENT
    ads.cut_creations.append("length")
    assert engine(home).forward_one(second.id).outcome == SENT
    # Same name at the partner, but each connection found (or made) its own.
    assert list(ads.audiences.values()) == ["Gold members", "Gold members"]
