"""Partial failures (a partner refuses some records, takes the rest) and the run history, against partner
simulators on 127.0.0.1 that answer per-record errors the way each partner's API documents them."""

from __future__ import annotations

import json
import logging
import random

import pytest

from app.cli.main import main
from app.connectors.outputs.custom_audiences import hashed
from app.engines.forwarding import FAULTED, SENT, UP_TO_DATE, ForwardingEngine
from app.models.services.forwarding_runs import ForwardingRunService
from tests.activation.conftest import SECRET
from tests.outputs.homes import change_tiers, idfa, identity_example
from tests.outputs.partners import CustomAudienceSimulator, EmailListSimulator, Reply, WebhookSimulator


class RefusingWebhook(WebhookSimulator):
    """Takes each batch but refuses the identities in `refused`, naming them in {"rejected": [...]}."""

    def __init__(self, secret: str, refused: set[tuple[str, str]]):
        self.refused = refused
        super().__init__(secret)

    def handle(self, method, path, headers, body):
        reply = super().handle(method, path, headers, body)
        if reply.status != 200:
            return reply
        batch = json.loads(body)
        rejected = [i for i in batch["identities"] if (i["type"], i["value"]) in self.refused]
        for item in rejected:  # the partner never kept them
            self.held.discard((item["type"], item["value"]))
            self.added.pop((item["type"], item["value"]), None)
        return Reply(200, {"ok": True, "rejected": [{**i, "reason": "device opted out"} for i in rejected]})


class RefusingEmailList(EmailListSimulator):
    """Mailchimp's batch subscribe reply: refused members in "errors" with "error_count"; the rest subscribed."""

    def __init__(self, refused: set[str]):
        self.refused = refused
        super().__init__({"k3y-us6"}, {"list1234"})

    def handle(self, method, path, headers, body):
        reply = super().handle(method, path, headers, body)
        if reply.status != 200:
            return reply
        members = [m["email_address"] for m in json.loads(body)["members"]]
        errors = [e for e in members if e in self.refused]
        for address in errors:
            self.held.discard(("email", address))
            self.added.pop(("email", address), None)
        return Reply(200, {"total_created": len(members) - len(errors), "error_count": len(errors),
                           "errors": [{"email_address": e, "error": f"{e} is in a compliance state",
                                       "error_code": "ERROR_CONTACT_EXISTS"} for e in errors]})


class RefusingAds(CustomAudienceSimulator):
    """Meta's reply to /users: "num_invalid_entries" and samples of the invalid entries with their reason."""

    def __init__(self, refused: set[str]):
        self.refused = refused
        super().__init__({"ads-token"}, "123456")

    def handle(self, method, path, headers, body):
        reply = super().handle(method, path, headers, body)
        if reply.status != 200 or not path.endswith("/users"):
            return reply
        values = [v for row in json.loads(body)["payload"]["data"] for v in row if v]
        invalid = [v for v in values if v in self.refused]
        for value in invalid:
            self.held.discard(("MADID_SHA256", value))
            self.added.pop(("MADID_SHA256", value), None)
        return Reply(200, {**reply.body, "num_invalid_entries": len(invalid),
                           "invalid_entry_samples": {v: "Invalid MADID format" for v in invalid}})


def engine(home) -> ForwardingEngine:
    return ForwardingEngine(home, sleep=lambda _s: None, rng=random.Random(5))


@pytest.fixture
def world(opened):
    us, _eu, audience = identity_example(opened)
    return opened, us, audience


def test_refused_records_are_recorded_the_rest_delivered_and_never_resent(world, caplog, capsys):
    home, us, audience = world
    refused = {("ios_idfa", idfa(n).lower()) for n in (1, 2, 3)}
    partner = RefusingWebhook(SECRET, refused)
    try:
        output = home.outputs.create("Hook", "webhook", {"url": partner.endpoint, "identity_types": ["ios_idfa"]},
                                     {"signing_secret": SECRET})
        connection = home.connections.connect(audience.id, output.id)
        with caplog.at_level(logging.DEBUG):
            first = engine(home).forward_one(connection.id)
        assert (first.outcome, first.added, first.rejected) == (SENT, 97, 3)
        assert len(partner.held) == 97
        info = home.connections.get(connection.id)
        assert info.fault is None and info.identities_held == 97
        runs = ForwardingRunService(home.store)
        rejected = runs.rejected(connection.id)
        assert sorted((r.identity_type, r.action, r.reason) for r in rejected) == [
            ("ios_idfa", "add", "device opted out")] * 3
        # The values are members' identities: never in a log line.
        assert not any(value in record.getMessage() for record in caplog.records for _, value in refused)

        requests = partner.requests
        again = engine(home).forward_one(connection.id)
        assert again.outcome == UP_TO_DATE and partner.requests == requests  # not offered again

        assert main(["--home", str(home.home.root), "outputs", "rejected", str(connection.id)]) == 0
        listed = capsys.readouterr().out
        assert listed.count("ios_idfa  add") == 3 and "device opted out" in listed
        assert not any(value in listed for _, value in refused)  # type and reason, never the value

        change_tiers(home, us.id, {1: "silver"})  # a refused member leaves: forgotten, no remove sent for it
        third = engine(home).forward_one(connection.id)
        assert third.outcome == UP_TO_DATE and partner.removed == {}
        assert len(runs.rejected(connection.id)) == 2
    finally:
        partner.close()


def test_the_email_lists_per_member_errors_are_rejections_not_faults(world):
    home, _, audience = world
    refused = {f"member{n}@example.com" for n in (4, 5)}
    partner = RefusingEmailList(refused)
    try:
        output = home.outputs.create("Newsletter", "email_list", {"list_id": "list1234", "api_url": partner.url},
                                     {"api_key": "k3y-us6"})
        connection = home.connections.connect(audience.id, output.id)
        report = engine(home).forward_one(connection.id)
    finally:
        partner.close()
    assert (report.outcome, report.added, report.rejected) == (SENT, 63, 2)
    assert {r.reason for r in ForwardingRunService(home.store).rejected(connection.id)} == {
        f"{address} is in a compliance state" for address in refused}


def test_the_ad_networks_invalid_entry_samples_are_rejections(world):
    home, _, audience = world
    refused = {hashed("ios_idfa", idfa(n)) for n in (7, 8)}
    partner = RefusingAds(refused)
    try:
        output = home.outputs.create("Ads", "custom_audiences", {
            "ad_account_id": "123456", "api_url": partner.api_url, "identity_types": ["ios_idfa"]},
            {"access_token": "ads-token"})
        connection = home.connections.connect(audience.id, output.id)
        report = engine(home).forward_one(connection.id)
    finally:
        partner.close()
    assert (report.outcome, report.added, report.rejected) == (SENT, 98, 2)
    assert len(partner.held) == 98


def test_each_run_is_kept_with_its_counts_and_fault_and_listed_by_the_cli(world, capsys):
    home, us, audience = world
    partner = WebhookSimulator(SECRET)
    try:
        output = home.outputs.create("Hook", "webhook", {"url": partner.endpoint, "identity_types": ["ios_idfa"]},
                                     {"signing_secret": SECRET})
        connection = home.connections.connect(audience.id, output.id)
        forwarding = ForwardingEngine(home, sleep=lambda _s: None, rng=random.Random(5), batch_size=40)
        forwarding.forward_one(connection.id)
        change_tiers(home, us.id, {1: "silver", 2: "silver", 101: "gold"})
        partner.fail_next(401)
        faulted = forwarding.forward_one(connection.id)
    finally:
        partner.close()
    assert faulted.outcome == FAULTED
    runs = ForwardingRunService(home.store).list(connection_ids=[connection.id])
    newest, first = runs
    assert (first.outcome, first.trigger, first.adds_planned, first.adds_sent, first.batches) == (SENT, "manual", 100, 100, 3)
    assert first.started_at <= first.ended_at
    assert (newest.outcome, newest.adds_planned, newest.removes_planned, newest.adds_sent) == (FAULTED, 1, 2, 0)
    assert newest.fault_id == faulted.fault_id and "401" in newest.message

    code = main(["--home", str(home.home.root), "outputs", "runs", "--json"])
    listed = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [(r["id"], r["outcome"], r["adds_sent"], r["fault_id"]) for r in listed] == [
        (newest.id, FAULTED, 0, faulted.fault_id), (first.id, SENT, 100, None)]
    assert main(["--home", str(home.home.root), "outputs", "runs", "--connection", "999"]) == 1
    assert "no connection with id 999" in capsys.readouterr().err
