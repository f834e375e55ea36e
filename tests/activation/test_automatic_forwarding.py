"""Automatic forwarding: an Active audience connected as Sending reaches its partner with nobody clicking."""

from __future__ import annotations

from collections import Counter

import pytest

from app.engines import membership
from app.engines.activation import Activator, due_connections
from app.engines.forwarding import ForwardingEngine
from app.engines.importing import import_into_workspace
from tests.activation.conftest import SECRET
from tests.activation.helpers import quick_engines, tier_files, wait_for
from tests.outputs.homes import idfa, identity_example


def connect(home, audience, simulator, *, status="sending"):
    output = home.outputs.create("Hook", "webhook", {"url": simulator.endpoint, "identity_types": ["ios_idfa"]},
                                 {"signing_secret": SECRET})
    return home.connections.connect(audience.id, output.id, status=status)


@pytest.fixture
def world(opened):
    us, _eu, audience = identity_example(opened)
    membership.refresh(opened)  # the audience's baseline, as activating it in the app does
    return opened, us, audience


@pytest.fixture
def activator(world):
    home = world[0]
    running = Activator(home, holder="app", poll_seconds=3600, engine_factory=quick_engines).start()
    yield running
    running.stop()


def test_connecting_as_sending_then_importing_reaches_the_partner_with_nobody_clicking(world, webhook, activator,
                                                                                        tmp_path):
    home, us, audience = world
    connection = connect(home, audience, webhook)
    activator.wake()  # what the app does when a connection is made; nobody presses Forward Now
    wait_for(lambda: len(webhook.held) == 100, "the current members sent at once")

    # New data comes in through the real importer: 2 members leave, 1 profile joins.
    import_into_workspace(home, tier_files(tmp_path / "crm", us.id, {1: "silver", 2: "silver", 101: "gold"}),
                          workspace="US")
    wait_for(lambda: sum(webhook.removed.values()) == 2 and activator.idle(), "the change forwarded")

    assert webhook.removed == Counter({("ios_idfa", idfa(1).lower()): 1, ("ios_idfa", idfa(2).lower()): 1})
    assert ("ios_idfa", idfa(101).lower()) in webhook.held and len(webhook.held) == 99
    assert set(webhook.added.values()) == {1}  # nothing sent twice
    assert home.connections.get(connection.id).identities_held == 99
    assert due_connections(home) == []


def test_inactive_connections_and_other_audiences_are_not_due(world, webhook):
    home, _, audience = world
    inactive = connect(home, audience, webhook, status="inactive")
    assert due_connections(home) == []
    home.connections.set_status(inactive.id, "sending")
    assert [c.id for c in due_connections(home)] == [inactive.id]
    home.audiences.deactivate(audience.id)
    assert due_connections(home) == []


def test_an_unchanged_membership_run_forwards_nothing_more(world, webhook, activator):
    home, _, audience = world
    connect(home, audience, webhook)
    activator.wake()
    wait_for(lambda: len(webhook.held) == 100 and activator.idle(), "the first upload")
    requests = webhook.requests
    membership.refresh(home, full=True)  # recalculated, same members
    wait_for(activator.idle, "the planner's pass")
    assert due_connections(home) == []
    assert webhook.requests == requests


def test_a_variations_connection_follows_its_variations_changes(world, webhook, activator, tmp_path):
    from app.models.services.ab_tests import DraftVariation

    home, us, audience = world
    test = home.ab_tests.save(audience.id, [DraftVariation(50, "Push")], seed="activation")
    push = next(v for v in test.variations if v.name == "Push")
    output = home.outputs.create("Hook", "webhook", {"url": webhook.endpoint, "identity_types": ["ios_idfa"]},
                                 {"signing_secret": SECRET})
    home.connections.connect(audience.id, output.id, variant_id=push.id)
    membership.refresh(home)  # the variations' first calculation, as saving the test in the app does
    activator.wake()
    wait_for(lambda: webhook.held and activator.idle(), "the variation's members sent at once")
    first = set(webhook.held)
    assert 0 < len(first) < 100  # the variation's share, not the whole audience

    leaving = {("ios_idfa", idfa(n).lower()) for n in range(1, 21)}
    import_into_workspace(home, tier_files(tmp_path / "crm", us.id, {n: "silver" for n in range(1, 21)}),
                          workspace="US")
    expected = first - leaving
    wait_for(lambda: webhook.held == expected and activator.idle(), "the variation's drops forwarded")
    assert set(webhook.removed) == first & leaving and webhook.removed  # only its own members were removed


def test_a_membership_run_that_began_before_the_last_forwarding_still_makes_its_connections_due(world, webhook):
    """A regression: a run logs its changes at its start; a forwarding that ended meanwhile hid them."""
    home, _, audience = world
    connection = connect(home, audience, webhook)
    ForwardingEngine(home, sleep=lambda _s: None).forward_one(connection.id)
    assert due_connections(home) == []  # the change log holds nothing after the forwarding
    assert [c.id for c in due_connections(home, {(audience.id, 0)})] == [connection.id]
    assert due_connections(home, {(audience.id, 99)}) == []  # another variation's run is not this connection's
