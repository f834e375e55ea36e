"""Braze through the real forwarding engine, against a simulator of POST /users/track."""

from __future__ import annotations

import time

import pytest

from app.connectors.outputs.braze import to_braze
from app.connectors.outputs.directory import partner
from app.engines.forwarding import FAULTED, SENT, UP_TO_DATE
from app.models.services.forwarding_runs import ForwardingRunService
from tests.outputs.homes import change_tiers, identity_example
from tests.outputs.vendors import BrazeSimulator, Sleeps, forwarding

KEY = "b7e0a1c2-0000-4000-8000-00000000beef"
EMAILS = {f"member{n}@example.com" for n in range(1, 66)}
GROUP = "0d3c1f5e-8d2b-4c11-9a5e-6a7a3c2f1b00"


@pytest.fixture
def world(opened):
    us, _, audience = identity_example(opened)
    return opened, us, audience


@pytest.fixture
def braze():
    simulator = BrazeSimulator({KEY})
    yield simulator
    simulator.close()


def connect(home, audience, simulator, settings=None, connection_settings=None, name="Braze"):
    output = home.outputs.create(name, "braze", {"api_url": simulator.url, "identity_types": ["email"],
                                                    **(settings or {})}, {"api_key": KEY})
    return home.connections.connect(audience.id, output.id, settings=connection_settings or {})


@pytest.mark.parametrize(("identity_type", "raw", "sent"), [
    ("mobile_number", "+1 (415) 555-0100", "+14155550100"), ("mobile_number", "0044 20 7946 0958", "+442079460958"),
    ("mobile_number", "415 555 0100", None), ("email", " Member1@Example.COM", "member1@example.com"),
    ("customer_id", " C-1001 ", "C-1001")])
def test_braze_gets_plain_identifiers_phones_as_e164_with_plus(identity_type, raw, sent):
    assert to_braze(identity_type, raw) == sent


def test_members_get_the_custom_attribute_true_and_leavers_false_75_users_a_request(world, braze):
    home, us, audience = world
    connection = connect(home, audience, braze)
    attribute = f"audience_{audience.id}"

    first = forwarding(home).forward_one(connection.id)

    assert (first.outcome, first.added, first.batches) == (SENT, 65, 1)
    [request] = braze.seen
    assert (request.method, request.path, request.headers["Authorization"]) == ("POST", "/users/track", f"Bearer {KEY}")
    assert set(request.body) == {"attributes"}
    assert sorted(request.body["attributes"], key=lambda a: a["email"]) == [
        {"email": e, attribute: True, "_update_existing_only": False} for e in sorted(EMAILS)]
    assert braze.with_attribute(attribute, True) == EMAILS
    assert partner("braze").max_batch == BrazeSimulator.MAX_OBJECTS == 75

    change_tiers(home, us.id, {5: "silver"})
    second = forwarding(home).forward_one(connection.id)
    assert (second.outcome, second.removed) == (SENT, 1)
    assert braze.seen[-1].body == {"attributes": [
        {"email": "member5@example.com", attribute: False, "_update_existing_only": True}]}
    assert braze.with_attribute(attribute, True) == EMAILS - {"member5@example.com"}
    assert forwarding(home).forward_one(connection.id).outcome == UP_TO_DATE


def test_a_connection_may_name_its_attribute_or_use_a_subscription_group(world, braze):
    home, us, audience = world
    named = connect(home, audience, braze, connection_settings={"attribute_name": "vip_gold"})
    assert forwarding(home).forward_one(named.id).outcome == SENT
    assert braze.with_attribute("vip_gold", True) == EMAILS

    grouped = connect(home, audience, braze, {"membership": "subscription_group", "subscription_group_id": GROUP},
                      name="Braze newsletter group")
    assert forwarding(home).forward_one(grouped.id).outcome == SENT
    assert braze.seen[-1].body["attributes"][0]["subscription_groups"] == [
        {"subscription_group_id": GROUP, "subscription_state": "subscribed"}]
    change_tiers(home, us.id, {9: "silver"})
    forwarding(home).forward_one(grouped.id)
    assert braze.in_group(GROUP, "unsubscribed") == {"member9@example.com"}
    assert braze.in_group(GROUP, "subscribed") == EMAILS - {"member9@example.com"}


def test_a_subscription_group_membership_without_the_group_is_a_configuration_fault(world, braze):
    home, _, audience = world
    connection = connect(home, audience, braze, {"membership": "subscription_group"})
    report = forwarding(home).forward_one(connection.id)
    assert report.outcome == FAULTED and "needs a Subscription group ID" in report.reason
    assert home.connections.get(connection.id).fault.category == "Configuration" and braze.seen == []


def test_per_object_errors_are_refused_records_by_index(world, braze):
    home, _, audience = world
    braze.refused["member12@example.com"] = "'member12@example.com' is on the email blocklist"
    connection = connect(home, audience, braze)

    report = forwarding(home).forward_one(connection.id)

    assert (report.outcome, report.rejected) == (SENT, 1)
    [refused] = ForwardingRunService(home.store).rejected(connection.id)
    assert (refused.action, refused.reason) == ("add", "'member12@example.com' is on the email blocklist")
    assert braze.with_attribute(f"audience_{audience.id}", True) == EMAILS - {"member12@example.com"}


def test_a_429_waits_until_x_ratelimit_reset_as_braze_sends_no_retry_after(world, braze):
    home, _, audience = world
    connection = connect(home, audience, braze)
    reset = int(time.time()) + 40
    braze.fail_next(429, path="/users/track", body={"message": "API rate limit exceeded"},
                    headers={"X-RateLimit-Limit": "3000", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)})
    sleeps = Sleeps()

    report = forwarding(home, sleeps).forward_one(connection.id)

    assert (report.outcome, report.retries, report.added) == (SENT, 1, 65)
    assert sleeps[0] >= 30  # the jittered backoff alone waits at most 1 s before the first retry


def test_shared_attributes_become_custom_attributes_of_added_users(world, braze):
    home, _, audience = world
    output = home.outputs.create("Braze", "braze", {"api_url": braze.url, "identity_types": ["email"]},
                                 {"api_key": KEY})
    connection = home.connections.connect(audience.id, output.id, shared_attributes=["loyalty_tier"])
    assert forwarding(home).forward_one(connection.id).outcome == SENT
    assert braze.with_attribute("loyalty_tier", "gold") == EMAILS
    assert braze.with_attribute(f"audience_{audience.id}", True) == EMAILS
