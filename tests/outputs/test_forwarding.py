"""The forwarding engine against partner simulators on 127.0.0.1: full upload, adds and drops, retries, faults, resume."""

from __future__ import annotations

import csv
import random
from collections import Counter

import pyarrow.parquet as pq
import pytest

from app.connectors.outputs.custom_audiences import hashed
from app.connectors.outputs.sending import RetryPolicy
from app.engines.forwarding import CANCELLED, FAULTED, SENT, SKIPPED, UP_TO_DATE, ForwardingEngine, plan_batches
from tests.outputs.homes import NOW, change_tiers, email, idfa, identity_example
from tests.outputs.partners import CustomAudienceSimulator, EmailListSimulator, WebhookSimulator

SECRET = "whsec-test-signing-secret"


class Sleeps(list):
    """Stands in for time.sleep: records each wait instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def world(opened):
    us, eu, audience = identity_example(opened)
    return opened, us, audience


@pytest.fixture
def webhook():
    simulator = WebhookSimulator(SECRET)
    yield simulator
    simulator.close()


@pytest.fixture
def email_list():
    simulator = EmailListSimulator({"k3y-us6"}, {"list1234"})
    yield simulator
    simulator.close()


@pytest.fixture
def ads():
    people = [("email", email(n)) for n in range(1, 66)] + [("ios_idfa", idfa(n)) for n in range(1, 121)]
    simulator = CustomAudienceSimulator({"ads-token", "weak-token"}, "123456", people)
    simulator.without_permission.add("weak-token")
    yield simulator
    simulator.close()


def engine(home, sleeps=None, **options) -> ForwardingEngine:
    return ForwardingEngine(home, now=lambda: NOW, sleep=sleeps if sleeps is not None else Sleeps(),
                            rng=random.Random(7), **options)


def connect_webhook(home, audience, simulator, secret=SECRET):
    output = home.outputs.create("Hook", "webhook", {"url": simulator.endpoint, "identity_types": ["ios_idfa"]},
                                 {"signing_secret": secret})
    return home.connections.connect(audience.id, output.id)


def test_the_issues_identity_example_ad_ids_to_the_ad_partner_emails_to_the_email_partner(world, ads, email_list):
    home, _, audience = world
    ad_output = home.outputs.create("Mobile ads", "custom_audiences", {
        "ad_account_id": "123456", "api_url": ads.api_url, "identity_types": ["ios_idfa", "android_advertising_id"]},
        {"access_token": "ads-token"})
    mail_output = home.outputs.create("Newsletter", "email_list", {"list_id": "list1234", "api_url": email_list.url},
                                      {"api_key": "k3y-us6"})
    to_ads = home.connections.connect(audience.id, ad_output.id)
    to_mail = home.connections.connect(audience.id, mail_output.id)

    reports = engine(home).forward()

    assert [(r.connection_id, r.outcome, r.added) for r in reports] == [(to_ads.id, SENT, 100), (to_mail.id, SENT, 65)]
    # 100 IDFAs, hashed from their lowercase form (including those whose emails live in the EU workspace)...
    assert ads.held == {("MADID_SHA256", hashed("ios_idfa", idfa(n))) for n in range(1, 101)}
    assert list(ads.audiences.values()) == ["Gold members"]
    # ...and the 65 emails collected in the other workspace, trimmed and lowercased, to the email list.
    assert email_list.held == {("email", f"member{n}@example.com") for n in range(1, 66)}
    assert home.connections.get(to_ads.id).identities_held == 100


def test_a_full_upload_then_only_the_adds_and_drops(world, webhook):
    home, us, audience = world
    connection = connect_webhook(home, audience, webhook)
    first = engine(home, batch_size=30).forward_one(connection.id)
    assert (first.outcome, first.added, first.removed, first.batches) == (SENT, 100, 0, 4)
    assert webhook.batch_sizes == [30, 30, 30, 10]

    change_tiers(home, us.id, {1: "silver", 2: "silver", 101: "gold"})
    second = engine(home, batch_size=30).forward_one(connection.id)
    assert (second.outcome, second.added, second.removed) == (SENT, 1, 2)
    assert webhook.removed == Counter({("ios_idfa", idfa(1).lower()): 1, ("ios_idfa", idfa(2).lower()): 1})
    assert ("ios_idfa", idfa(101).lower()) in webhook.held and len(webhook.held) == 99

    third = engine(home).forward_one(connection.id)
    assert (third.outcome, third.batches) == (UP_TO_DATE, 0)
    assert set(webhook.added.values()) == {1}


def test_429_and_5xx_are_retried_with_jittered_backoff_honouring_retry_after(world, webhook):
    home, _, audience = world
    connection = connect_webhook(home, audience, webhook)
    webhook.fail_next(429, retry_after=7)
    webhook.fail_next(503)
    webhook.fail_next(502)
    sleeps = Sleeps()
    report = engine(home, sleeps, policy=RetryPolicy(retries=5, base_seconds=1, cap_seconds=60)).forward_one(connection.id)
    assert (report.outcome, report.retries, report.added) == (SENT, 3, 100)
    assert sleeps[0] >= 7                      # Retry-After is a floor
    assert 0 <= sleeps[1] <= 2 and 0 <= sleeps[2] <= 4  # full jitter up to 2^attempt
    assert set(webhook.added.values()) == {1}


def test_a_batch_whose_reply_was_lost_is_retried_under_its_id_and_counted_once(world, webhook):
    home, _, audience = world
    connection = connect_webhook(home, audience, webhook)
    webhook.fail_next(500, after_processing=True, after=1)
    report = engine(home, batch_size=25).forward_one(connection.id)
    assert (report.outcome, report.batches, report.retries) == (SENT, 4, 1)
    assert webhook.duplicates == 1
    assert sum(webhook.added.values()) == 100 and set(webhook.added.values()) == {1}


def test_a_fault_mid_upload_stops_the_connection_until_resume_which_loses_and_repeats_nothing(world, webhook):
    home, us, audience = world
    connection = connect_webhook(home, audience, webhook)
    webhook.fail_next(500, times=4, after=3)   # the 4th batch fails on every try
    report = engine(home, batch_size=10, policy=RetryPolicy(retries=3)).forward_one(connection.id)
    assert (report.outcome, report.batches, report.added) == (FAULTED, 3, 30)
    fault = home.faults.get(report.fault_id)
    assert (fault.category, fault.status_code, fault.retries, fault.open) == ("Other", 500, 3, True)
    assert "simulated 500" in fault.message and fault.batch_id is not None
    assert home.connections.get(connection.id).pending_batches == 7

    # Nothing moves until the admin resumes, even if membership changes meanwhile.
    change_tiers(home, us.id, {5: "silver", 95: "silver"})
    skipped = engine(home, batch_size=10).forward_one(connection.id)
    assert skipped.outcome == SKIPPED and f"fault {fault.id} is open" in skipped.reason
    assert webhook.requests == 3 + 4

    home.faults.resume(fault.id)
    resumed = engine(home, batch_size=10).forward_one(connection.id)
    assert resumed.outcome == SENT
    # The 7 pending batches (70 ids, among them 95), then the drops of 5 and 95.
    assert (resumed.added, resumed.removed) == (70, 2)
    assert sum(webhook.added.values()) == 100 and set(webhook.added.values()) == {1}
    assert webhook.held == {("ios_idfa", idfa(n).lower()) for n in range(1, 101) if n not in (5, 95)}
    assert webhook.duplicates == 0
    assert home.faults.list() == [] and home.faults.list(open_only=False)[0].resolved_by == "admin"


@pytest.mark.parametrize(("status", "category"), [(429, "Rate limiting"), (503, "Other")])
def test_retries_exhausted_fault_with_the_category_and_the_retries_made(world, webhook, status, category):
    home, _, audience = world
    connection = connect_webhook(home, audience, webhook)
    webhook.fail_next(status, times=10, retry_after=1 if status == 429 else None)
    sleeps = Sleeps()
    report = engine(home, sleeps, policy=RetryPolicy(retries=4)).forward_one(connection.id)
    fault = home.faults.get(report.fault_id)
    assert (report.outcome, fault.category, fault.status_code, fault.retries, len(sleeps)) == (FAULTED, category, status, 4, 4)


def test_a_retry_after_too_long_to_wait_faults_at_once(world, webhook):
    home, _, audience = world
    connection = connect_webhook(home, audience, webhook)
    webhook.fail_next(429, retry_after=3600)
    report = engine(home).forward_one(connection.id)
    assert home.faults.get(report.fault_id).retries == 0 and home.faults.get(report.fault_id).category == "Rate limiting"
    assert home.faults.get(report.fault_id).message.endswith(
        "It asked to wait 3,600 s, longer than the 15 minutes waited in the background: resume once that time has passed.")


def test_a_redirect_is_a_configuration_fault_never_a_batch_counted_as_sent(world, webhook):
    # requests would follow a 302 after a POST as a GET without the body: the batch would be lost.
    home, _, audience = world
    connection = connect_webhook(home, audience, webhook)
    webhook.fail_next(302, headers={"Location": webhook.url + "/moved"})
    report = engine(home).forward_one(connection.id)
    fault = home.faults.get(report.fault_id)
    assert (report.outcome, fault.category, fault.status_code, fault.retries) == (FAULTED, "Configuration", 302, 0)
    assert f"sending the request on to {webhook.url}/moved; nothing was sent there" in fault.message
    assert webhook.seen_batches == set() and webhook.requests == 1


def test_authentication_permission_and_configuration_refusals_fault_without_retrying(world, webhook, email_list, ads):
    home, _, audience = world
    wrong_secret = connect_webhook(home, audience, webhook, secret="not-the-secret")
    email_list.revoked.add("k3y-us6")
    mail = home.outputs.create("Mail", "email_list", {"list_id": "list1234", "api_url": email_list.url}, {"api_key": "k3y-us6"})
    wrong_list = home.outputs.create("Other list", "email_list", {"list_id": "nolist99", "api_url": email_list.url},
                                     {"api_key": "k3y-us6"})
    weak = home.outputs.create("Ads", "custom_audiences", {"ad_account_id": "123456", "api_url": ads.api_url},
                               {"access_token": "weak-token"})
    ids = [wrong_secret.id] + [home.connections.connect(audience.id, o.id).id for o in (mail, weak)]
    email_list.revoked.clear()
    ids.append(home.connections.connect(audience.id, wrong_list.id).id)
    email_list.revoked.add("k3y-us6")
    sleeps = Sleeps()
    reports = engine(home, sleeps).forward(ids)
    email_list.revoked.clear()
    faults = [home.faults.get(r.fault_id) for r in reports]
    assert [(f.category, f.status_code, f.retries) for f in faults] == [
        ("Authentication", 401, 0), ("Authentication", 401, 0), ("Permissions", 403, 0), ("Authentication", 401, 0)]
    assert "API Key Invalid" in faults[1].message or "API key may be invalid" in faults[1].message
    assert "(#200)" in faults[2].message
    assert sleeps == []
    home.faults.resume(faults[3].id)
    unknown_list = home.faults.get(engine(home).forward_one(ids[3]).fault_id)
    assert (unknown_list.category, unknown_list.status_code) == ("Configuration", 404)
    assert "nolist99 does not exist" in unknown_list.message
    assert home.faults.open_counts_by_audience() == {audience.id: 4}


def test_the_ad_partner_refuses_unhashed_and_badly_normalised_values(ads):
    from app.connectors.outputs.batches import Batch, Destination, Identity
    from app.connectors.outputs.custom_audiences import CustomAudienceClient
    from app.connectors.outputs.errors import PartnerError
    from app.connectors.outputs.identities import sha256_hex
    from app.connectors.outputs.partner import PartnerContext
    import requests

    client = CustomAudienceClient(PartnerContext({"api_url": ads.api_url, "ad_account_id": "123456"},
                                                 {"access_token": "ads-token"}.get, requests.Session()))
    destination = Destination(1, 1, "Gold", {}, None)
    destination = Destination(1, 1, "Gold", {}, client.prepare(destination))
    for value, message in ((email(3).strip().lower(), "not SHA-256 hashed"),
                           (sha256_hex(email(3)), "not normalised"),
                           (sha256_hex(idfa(3)), "not normalised")):
        kind = "ios_idfa" if "ABCD" in value or value == sha256_hex(idfa(3)) else "email"
        with pytest.raises(PartnerError, match=message) as refused:
            client.send(Batch(Batch.new_id(), 1, "add", (Identity(kind, value),)), destination)
        assert refused.value.status == 400 and refused.value.category == "Configuration"
    client.send(Batch(Batch.new_id(), 1, "add", (Identity("email", hashed("email", email(3))),)), destination)
    assert len(ads.held) == 1


def test_inactive_connections_and_draft_audiences_are_skipped_with_the_reason(world, webhook):
    home, _, audience = world
    connection = connect_webhook(home, audience, webhook)
    home.connections.set_status(connection.id, "inactive")
    assert engine(home).forward_one(connection.id).reason == "the connection is Inactive"
    home.connections.set_status(connection.id, "sending")
    home.audiences.deactivate(audience.id)
    assert engine(home).forward_one(connection.id).reason == "the audience is inactive; activate it to forward it"
    assert webhook.requests == 0


def test_an_empty_cache_never_drops_everyone(world, webhook, tmp_path):
    home, us, audience = world
    connection = connect_webhook(home, audience, webhook)
    engine(home).forward_one(connection.id)
    home.cache.cursor().execute("DELETE FROM profiles")
    report = engine(home).forward_one(connection.id)
    assert report.outcome == SKIPPED and "no profiles" in report.reason
    assert len(webhook.held) == 100


def test_cancel_stops_between_batches_and_the_next_run_continues(world, webhook):
    home, _, audience = world
    connection = connect_webhook(home, audience, webhook)
    forwarding = engine(home, batch_size=10)
    webhook_send = webhook.dispatch

    def cancel_after_two(*args):
        reply = webhook_send(*args)
        if len(webhook.seen_batches) == 2:
            forwarding.cancel()
        return reply

    webhook.dispatch = cancel_after_two
    assert forwarding.forward_one(connection.id).outcome == CANCELLED
    assert len(webhook.seen_batches) == 2
    webhook.dispatch = webhook_send
    assert engine(home, batch_size=10).forward_one(connection.id).added == 80
    assert set(webhook.added.values()) == {1} and len(webhook.added) == 100


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_file_export_writes_a_file_per_batch_into_the_folder(world, tmp_path, file_format):
    home, us, audience = world
    folder = tmp_path / "exports"
    folder.mkdir()
    output = home.outputs.create("Files", "file_export", {"folder": str(folder), "format": file_format,
                                                          "identity_types": ["ios_idfa"]})
    connection = home.connections.connect(audience.id, output.id)
    assert engine(home, batch_size=60).forward_one(connection.id).batches == 2
    change_tiers(home, us.id, {7: "silver"})
    assert engine(home, batch_size=60).forward_one(connection.id).removed == 1
    files = sorted((folder / f"Gold-members-{connection.id}").iterdir())
    assert [f.name.split("-")[:2] for f in files] == [["000001", "add"], ["000002", "add"], ["000003", "remove"]]
    if file_format == "csv":
        rows = [row for f in files for row in csv.DictReader(f.open())]
    else:
        rows = [row for f in files for row in pq.read_table(f).to_pylist()]
    assert len(rows) == 101 and rows[-1] == {"action": "remove", "identity_type": "ios_idfa", "identity_value": idfa(7).lower()}


def test_file_export_to_a_missing_folder_is_a_configuration_fault(world, tmp_path):
    home, _, audience = world
    output = home.outputs.create("Files", "file_export", {"folder": str(tmp_path / "gone")})
    report = engine(home).forward_one(home.connections.connect(audience.id, output.id).id)
    fault = home.faults.get(report.fault_id)
    assert (fault.category, fault.status_code) == ("Configuration", None) and "does not exist" in fault.message


def test_batches_are_planned_adds_first_within_the_limit_with_fresh_ids():
    batches = plan_batches({("email", f"{n}") for n in range(5)}, {("email", "x")}, 2, 10)
    assert [(b.sequence, b.action, len(b)) for b in batches] == [(10, "add", 2), (11, "add", 2), (12, "add", 1), (13, "remove", 1)]
    assert len({b.id for b in batches}) == 4
