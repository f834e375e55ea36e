"""One queue per output (a slow partner never delays another) and per-output token buckets from the partner's
declared rate limit, shared by every connection to the output."""

from __future__ import annotations

import random
import threading

import pytest

from app.connectors.outputs.directory import partner
from app.engines import membership
from app.engines.activation import Activator
from app.engines.forwarding import SENT, ForwardingEngine
from app.engines.rate_limits import RateLimits, TokenBucket
from tests.activation.conftest import SECRET
from tests.activation.helpers import quick_engines, wait_for
from tests.outputs.homes import identity_example
from tests.outputs.partners import EmailListSimulator, WebhookSimulator


class HeldWebhook(WebhookSimulator):
    """A webhook that does not answer until the test lets it (a partner that hangs)."""

    def __init__(self, secret: str):
        self.release = threading.Event()
        self.waiting = threading.Event()
        super().__init__(secret)

    def dispatch(self, method, path, headers, body):
        self.waiting.set()
        self.release.wait(30)
        return super().dispatch(method, path, headers, body)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_a_hanging_partner_never_delays_another_outputs_queue(opened):
    _, _, audience = identity_example(opened)
    membership.refresh(opened)
    slow, fast = HeldWebhook(SECRET), WebhookSimulator(SECRET)
    activator = Activator(opened, poll_seconds=3600, engine_factory=quick_engines).start()
    try:
        for name, simulator in (("Slow", slow), ("Fast", fast)):
            output = opened.outputs.create(name, "webhook", {"url": simulator.endpoint, "identity_types": ["ios_idfa"]},
                                           {"signing_secret": SECRET})
            opened.connections.connect(audience.id, output.id)
        activator.wake()
        wait_for(lambda: slow.waiting.is_set() and len(fast.held) == 100, "the fast output served while the slow hangs")
        assert slow.held == set()
        slow.release.set()
        wait_for(lambda: len(slow.held) == 100 and activator.idle(), "the slow output catches up")
    finally:
        slow.release.set()
        activator.stop()
        slow.close()
        fast.close()


def test_the_bucket_waits_for_the_declared_rate_after_the_burst():
    clock = FakeClock()
    bucket = TokenBucket(4.0, burst=2, clock=clock, sleep=clock.sleep)
    waits = [bucket.take() for _ in range(5)]
    assert waits[:2] == [0.0, 0.0]
    assert waits[2:] == pytest.approx([0.25, 0.25, 0.25])  # then one request every 1/rate seconds
    clock.now += 10  # a quiet spell refills the bucket up to the burst, not beyond
    assert [bucket.take() for _ in range(3)] == pytest.approx([0.0, 0.0, 0.25])


def test_the_buckets_are_per_output_and_shared_by_its_connections():
    limits = RateLimits()
    assert limits.bucket(1, 5.0, 5) is limits.bucket(1, 5.0, 5)
    assert limits.bucket(1, 5.0, 5) is not limits.bucket(2, 5.0, 5)
    assert limits.bucket(3, None) is None


def test_forwarding_to_a_rate_limited_partner_waits_for_its_bucket_across_connections(opened):
    us, _, audience = identity_example(opened)
    second = opened.audiences.create("Everyone gold too", workspace_ids=[us.id], criteria=audience.criteria)
    opened.audiences.activate(second.id)
    mail = EmailListSimulator({"k3y-us6"}, {"list1234"})
    try:
        output = opened.outputs.create("Newsletter", "email_list", {"list_id": "list1234", "api_url": mail.url},
                                       {"api_key": "k3y-us6"})
        first = opened.connections.connect(audience.id, output.id)
        other = opened.connections.connect(second.id, output.id)
        clock = FakeClock()
        limits = RateLimits(clock=clock, sleep=clock.sleep)
        engine = ForwardingEngine(opened, rate_limits=limits, batch_size=20, sleep=lambda _s: None,
                                  rng=random.Random(1))
        reports = [engine.forward_one(first.id), engine.forward_one(other.id)]
    finally:
        mail.close()
    assert [(r.outcome, r.added, r.batches) for r in reports] == [(SENT, 65, 4), (SENT, 65, 4)]
    declared = partner("email_list")
    # 8 requests through one bucket: the burst goes at once, each later one waits 1/rate.
    expected = 8 - declared.burst
    assert len(clock.sleeps) == expected
    assert clock.sleeps == pytest.approx([1 / declared.requests_per_second] * expected)



class AckHeldEngine(ForwardingEngine):
    """The real engine, whose first acknowledgement waits until the test lets it (the partner has the batch)."""

    def __init__(self, home):
        super().__init__(home, trigger="automatic", sleep=lambda _s: None)
        self.holding, self.release = threading.Event(), threading.Event()

    def _acknowledge(self, connection_id, batch, *rejected):
        self.holding.set()
        self.release.wait(30)
        return super()._acknowledge(connection_id, batch, *rejected)


def test_two_runs_of_one_connection_at_once_take_turns_and_send_nothing_twice(opened):
    """Forward Now pressed while automatic forwarding sends the same connection (a regression: the second run
    re-sent the first one's batch and counted its identities as updates)."""
    _, _, audience = identity_example(opened)
    partner = WebhookSimulator(SECRET)
    try:
        output = opened.outputs.create("Hook", "webhook", {"url": partner.endpoint, "identity_types": ["ios_idfa"]},
                                       {"signing_secret": SECRET})
        connection = opened.connections.connect(audience.id, output.id)
        automatic = AckHeldEngine(opened)
        reports = {}
        first = threading.Thread(target=lambda: reports.setdefault("automatic", automatic.forward_one(connection.id)))
        second = threading.Thread(target=lambda: reports.setdefault("manual", ForwardingEngine(
            opened, sleep=lambda _s: None).forward_one(connection.id)))
        first.start()
        wait_for(automatic.holding.is_set, "the automatic run's batch taken by the partner")
        second.start()
        second.join(3)  # a window for the manual run to go ahead, which it must not while the other runs
        automatic.release.set()
        first.join(30)
        second.join(30)
    finally:
        automatic.release.set()
        partner.close()
    assert (reports["automatic"].outcome, reports["automatic"].added) == ("sent", 100)
    assert reports["manual"].outcome == "up to date"
    assert partner.duplicates == 0 and set(partner.added.values()) == {1}
