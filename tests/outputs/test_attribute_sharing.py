"""User attribute sharing: chosen per connection (single-workspace real-time audiences, partners that take them),
forwarded with each added identity, re-sent when the values change, kept with pending batches so a retry is identical."""

from __future__ import annotations

import csv
import json
import os
import random

import pytest

from app.errors import InvalidInput
from app.engines.home import OpenHome
from app.engines.forwarding import FAULTED, SENT, UP_TO_DATE, ForwardingEngine
from tests.builder.test_compiler_examples import profile
from tests.builder.workspaces import load
from tests.outputs.homes import GOLD, NOW, email, idfa
from tests.outputs.partners import EmailListSimulator, WebhookSimulator

SECRET = "whsec-attribute-sharing"


class RecordingWebhook(WebhookSimulator):
    """The webhook simulator, also keeping every batch body it was sent (retries included)."""

    def __init__(self, secret: str):
        self.bodies: list[dict] = []
        super().__init__(secret)

    def handle(self, method, path, headers, body):
        if path == "/hook" and body:
            self.bodies.append(json.loads(body))
        return super().handle(method, path, headers, body)

    def attributes_sent(self) -> dict[str, dict]:
        """identity value → the attributes of the last add that carried it."""
        out = {}
        for batch in self.bodies:
            if batch["action"] == "add":
                out.update({i["value"]: i.get("attributes") for i in batch["identities"]})
        return out


class RecordingEmailList(EmailListSimulator):
    def __init__(self, *args):
        self.members: list[dict] = []
        super().__init__(*args)

    def handle(self, method, path, headers, body):
        if body:
            self.members.extend(json.loads(body).get("members", []))
        return super().handle(method, path, headers, body)


def member(n: int, *, tier: str = "gold", first_name: str | None = None) -> dict:
    return profile(n, device={"ios_advertising_id": idfa(n)}, user_identities={"email": email(n)},
                   user_attributes={"loyalty_tier": tier, "first_name": first_name or f"Name{n}",
                                    "favourite_colour": "green"})


@pytest.fixture
def world(opened):
    """Six gold members (and two silver) in one workspace, each with an IDFA, an email and three attributes."""
    us = opened.workspaces.create("US", [("platform", "iOS")])
    eu = opened.workspaces.create("EU", [("platform", "iOS")])
    load(opened.cache, [(us.id, member(n, tier="gold" if n <= 6 else "silver")) for n in range(1, 9)])
    audience = opened.audiences.create("Gold members", workspace_ids=[us.id], criteria=GOLD)
    opened.audiences.activate(audience.id)
    return opened, us, eu, opened.audiences.get(audience.id)


@pytest.fixture
def webhook():
    simulator = RecordingWebhook(SECRET)
    yield simulator
    simulator.close()


def engine(home, **options) -> ForwardingEngine:
    return ForwardingEngine(home, now=lambda: NOW, sleep=lambda _s: None, rng=random.Random(3), **options)


def hook_output(home, simulator, types=("ios_idfa",)):
    return home.outputs.create("Hook", "webhook", {"url": simulator.endpoint, "identity_types": list(types)},
                               {"signing_secret": SECRET})


def test_the_choices_are_the_workspaces_attributes_and_nothing_is_shared_by_default(world, webhook):
    home, _, _, audience = world
    output = hook_output(home, webhook)
    service = home.connections
    choices = service.sharing_choices(audience.id, output.id)
    assert choices.eligible and choices.names == ("favourite_colour", "first_name", "loyalty_tier")
    assert service.connect(audience.id, output.id).shared_attributes == ()


def test_sharing_is_refused_for_multi_workspace_and_standard_audiences_unknown_names_and_hashed_partners(world, webhook):
    home, us, eu, audience = world
    service = home.connections
    output = hook_output(home, webhook)
    both = home.audiences.create("Everywhere", scope="multi", workspace_ids=[us.id, eu.id], criteria=GOLD)
    with pytest.raises(InvalidInput, match="reads 2 workspaces; only single-workspace real-time audiences"):
        service.connect(both.id, output.id, shared_attributes=["first_name"])
    assert home.connections.list(audience_id=both.id) == []  # nothing was connected

    history = home.audiences.create("Gold last spring", workspace_ids=[us.id], kind="standard")
    assert "standard audience" in service.sharing_choices(history.id, output.id).refusal

    with pytest.raises(InvalidInput, match="Not user attributes of the audience's workspace: shoe_size"):
        service.connect(audience.id, output.id, shared_attributes=["first_name", "shoe_size"])

    ads = home.outputs.create("Ads", "custom_audiences", {"ad_account_id": "123456"}, {"access_token": "t"})
    choices = service.sharing_choices(audience.id, ads.id)
    assert not choices.eligible and "identities only" in choices.refusal
    connection = service.connect(audience.id, ads.id)
    with pytest.raises(InvalidInput, match="do not accept user attributes"):
        service.set_shared_attributes(connection.id, ["first_name"])
    assert home.connections.get(connection.id).shared_attributes == ()


def test_the_webhook_gets_each_added_identity_with_its_members_values_and_changes_as_upserts(world, webhook):
    home, us, _, audience = world
    connection = home.connections.connect(audience.id, hook_output(home, webhook, ("ios_idfa", "email")).id,
                                               shared_attributes=["first_name", "loyalty_tier"])
    assert connection.shared_attributes == ("first_name", "loyalty_tier")

    first = engine(home).forward_one(connection.id)
    assert (first.outcome, first.added, first.updated) == (SENT, 12, 0)
    sent = webhook.attributes_sent()
    # Both identities of a member carry that member's values, and only the chosen attributes.
    assert sent[idfa(3).lower()] == sent[email(3).strip().lower()] == {"first_name": "Name3", "loyalty_tier": "gold"}

    # Member 2 changes a shared attribute, member 4 one that is not shared, member 7 joins the audience.
    load(home.cache, [(us.id, member(2, first_name="Renamed")),
                      (us.id, profile(4, user_attributes={"favourite_colour": "red"})), (us.id, member(7))])
    second = engine(home).forward_one(connection.id)
    assert (second.outcome, second.added, second.updated, second.removed) == (SENT, 2, 2, 0)
    last = [i for batch in webhook.bodies[-second.batches:] for i in batch["identities"]]
    assert sorted(i["value"] for i in last) == sorted([idfa(2).lower(), email(2).strip().lower(),
                                                        idfa(7).lower(), email(7).strip().lower()])
    assert webhook.attributes_sent()[idfa(2).lower()] == {"first_name": "Renamed", "loyalty_tier": "gold"}
    assert home.connections.get(connection.id).identities_held == 14

    assert engine(home).forward_one(connection.id).outcome == UP_TO_DATE


def test_choosing_attributes_later_sends_the_held_identities_again_with_them_and_removes_carry_none(world, webhook):
    home, us, _, audience = world
    output = hook_output(home, webhook)
    connection = home.connections.connect(audience.id, output.id)
    engine(home).forward_one(connection.id)
    assert all("attributes" not in i for b in webhook.bodies for i in b["identities"])

    home.connections.set_shared_attributes(connection.id, ["favourite_colour"])
    report = engine(home).forward_one(connection.id)
    assert (report.added, report.updated) == (0, 6)
    assert set(map(json.dumps, webhook.attributes_sent().values())) == {json.dumps({"favourite_colour": "green"})}

    load(home.cache, [(us.id, member(1, tier="silver"))])
    engine(home).forward_one(connection.id)
    assert webhook.bodies[-1]["action"] == "remove" and "attributes" not in webhook.bodies[-1]["identities"][0]


def test_a_retried_pending_batch_carries_the_values_it_was_planned_with(world, webhook):
    home, us, _, audience = world
    connection = home.connections.connect(audience.id, hook_output(home, webhook).id,
                                               shared_attributes=["first_name"])
    webhook.fail_next(403)
    faulted = engine(home).forward_one(connection.id)
    assert faulted.outcome == FAULTED and home.connections.get(connection.id).pending_batches == 1
    refused = webhook.bodies[-1]

    load(home.cache, [(us.id, member(5, first_name="Changed meanwhile"))])
    home.faults.resume(faulted.fault_id)
    resumed = engine(home).forward_one(connection.id)
    assert resumed.outcome == SENT
    retried = next(b for b in webhook.bodies[:-1] if b["batch_id"] == refused["batch_id"] and b is not refused)
    assert retried["identities"] == refused["identities"]
    assert {"first_name": "Name5"} in [i["attributes"] for i in retried["identities"]]
    # The change since is sent after the planned batch, as an update of member 5.
    assert webhook.bodies[-1]["identities"] == [{"type": "ios_idfa", "value": idfa(5).lower(),
                                                 "attributes": {"first_name": "Changed meanwhile"}}]
    assert (resumed.added, resumed.updated) == (6, 1)


def test_the_file_export_writes_shared_attributes_as_extra_columns(world, tmp_path):
    home, _, _, audience = world
    output = home.outputs.create("Export", "file_export", {"folder": str(tmp_path), "identity_types": ["email"]})
    connection = home.connections.connect(audience.id, output.id,
                                               shared_attributes=["loyalty_tier", "first_name"])
    engine(home).forward_one(connection.id)
    (written,) = tmp_path.rglob("*.csv")
    with written.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["action", "identity_type", "identity_value", "first_name", "loyalty_tier"]
    assert ["add", "email", "member1@example.com", "Name1", "gold"] in rows[1:] and len(rows) == 7


def test_the_email_list_gets_shared_attributes_as_merge_fields(world):
    home, _, _, audience = world
    simulator = RecordingEmailList({"k3y-us6"}, {"list1234"})
    try:
        output = home.outputs.create("Newsletter", "email_list", {"list_id": "list1234", "api_url": simulator.url},
                                     {"api_key": "k3y-us6"})
        connection = home.connections.connect(audience.id, output.id, shared_attributes=["first_name",
                                                                                                "loyalty_tier"])
        assert engine(home).forward_one(connection.id).added == 6
        first = next(m for m in simulator.members if m["email_address"] == "member1@example.com")
        assert first["merge_fields"] == {"FIRSTNAME": "Name1", "LOYALTYTIE": "gold"}
    finally:
        simulator.close()


# -- in the window: the connect dialog's "Attributes to share" and editing them later from the Connections pane --

# The window tests' autouse fixtures (collection on the GUI thread, settings kept in tmp_path), for these two too.
from tests.ui.conftest import garbage_collected_on_the_gui_thread, isolated_settings  # noqa: F401

UI_TIMEOUT = 10_000


@pytest.fixture
def pane(qtbot, home_dir, secret_service, tmp_path):
    """The Connections pane on a home with the six gold members, a file export and the hashed ads partner."""
    from app.engines.home import OpenHome
    from app.ui.connections.pane import ConnectionsPane
    from app.ui.home import HomeConnection
    from app.ui.workers import Tasks

    with OpenHome.open(home_dir, user="admin") as home:
        us = home.workspaces.create("US", [("platform", "iOS")])
        eu = home.workspaces.create("EU", [("platform", "iOS")])
        load(home.cache, [(us.id, member(n)) for n in range(1, 7)])
        for made in (home.audiences.create("Gold members", workspace_ids=[us.id], criteria=GOLD),
                     home.audiences.create("Everywhere", scope="multi", workspace_ids=[us.id, eu.id], criteria=GOLD)):
            home.audiences.activate(made.id)
        home.outputs.create("Export", "file_export", {"folder": str(tmp_path)})
        home.outputs.create("Ads", "custom_audiences", {"ad_account_id": "123456"}, {"access_token": "t"})
    tasks = Tasks()
    connection = HomeConnection(home_dir, tasks)
    pane = ConnectionsPane(connection, tasks)
    qtbot.addWidget(pane)
    pane.resize(1000, 640)
    pane.show()
    with qtbot.waitSignal(pane.loaded, timeout=UI_TIMEOUT):
        connection.start()
    yield pane
    connection.close()


def connect_dialog(qtbot, pane, output_name):
    home = pane.connection.open_home
    pane.select_output(home.outputs.get(output_name).id)
    previous = pane.dialog
    pane.connect_audiences()
    qtbot.waitUntil(lambda: pane.dialog is not previous and pane.dialog.isVisible(), timeout=UI_TIMEOUT)
    return pane.dialog


def test_the_connect_dialog_offers_the_attributes_all_off_suggesting_inactive_until_some_are_ticked(qtbot, pane):
    home = pane.connection.open_home
    gold, everywhere = home.audiences.get("Gold members").id, home.audiences.get("Everywhere").id
    dialog = connect_dialog(qtbot, pane, "Export")
    assert dialog.sharing.note.text() == "Tick one audience to see the user attributes it can share."

    dialog.choose([everywhere])
    qtbot.waitUntil(lambda: "reads 2 workspaces" in dialog.sharing.note.text(), timeout=UI_TIMEOUT)
    assert not dialog.sharing.list.isVisibleTo(dialog) and dialog.status.currentData() == "sending"

    dialog.choose([gold])
    qtbot.waitUntil(lambda: dialog.sharing.list.isVisibleTo(dialog), timeout=UI_TIMEOUT)
    items = [dialog.sharing.list.item(row) for row in range(dialog.sharing.list.count())]
    assert [i.text() for i in items] == ["favourite_colour", "first_name", "loyalty_tier"]
    assert dialog.sharing.chosen() == []
    assert dialog.status.currentData() == "inactive" and dialog.status_hint.text().startswith("Suggested: Inactive")
    if os.environ.get("AUDIENCE_STUDIO_RENDER"):  # a look at the dialog, for whoever changes it
        dialog.grab().save(os.environ["AUDIENCE_STUDIO_RENDER"])

    dialog.choose([gold, everywhere])  # several: identities only, so the suggestion is taken back
    assert dialog.status.currentData() == "sending" and not dialog.status_hint.isVisibleTo(dialog)
    dialog.choose([gold])
    qtbot.waitUntil(lambda: dialog.sharing.list.isVisibleTo(dialog), timeout=UI_TIMEOUT)
    assert dialog.status.currentData() == "inactive"

    dialog.sharing.choose(["first_name"])
    assert dialog.status.currentData() == "sending" and dialog.status_hint.text().startswith("Sending")
    with qtbot.waitSignal(dialog.connected, timeout=UI_TIMEOUT):
        dialog.connect_chosen()
    qtbot.waitUntil(lambda: len(pane.connections) == 1, timeout=UI_TIMEOUT)
    (connection,) = home.connections.list()
    assert (connection.audience_name, connection.status, connection.shared_attributes) == (
        "Gold members", "sending", ("first_name",))

    # Several audiences connect with identities only; the hashed ads partner never takes attributes.
    dialog.close()
    dialog = connect_dialog(qtbot, pane, "Ads")
    assert "do not accept user attributes" in dialog.sharing.note.text()
    dialog.choose([gold])
    assert not dialog.sharing.list.isVisibleTo(dialog) and dialog.status.currentData() == "sending"
    dialog.close()


def test_a_connections_shared_attributes_are_edited_later_from_the_connections_pane(qtbot, pane):
    home = pane.connection.open_home
    export = home.outputs.get("Export")
    connection = home.connections.connect(home.audiences.get("Gold members").id, export.id)
    pane.select_output(export.id)
    qtbot.waitUntil(lambda: len(pane.connections_of(export.id)) == 1, timeout=UI_TIMEOUT)
    pane.select_connection(connection.id)
    assert pane.attributes_action.isEnabled()
    pane.attributes_action.trigger()
    dialog = pane.dialog
    qtbot.waitUntil(lambda: dialog.sharing.list.isVisibleTo(dialog), timeout=UI_TIMEOUT)
    assert dialog.sharing.chosen() == [] and dialog.save_button.isEnabled()
    dialog.sharing.choose(["loyalty_tier", "favourite_colour"])
    with qtbot.waitSignal(dialog.saved, timeout=UI_TIMEOUT):
        dialog.save()
    assert home.connections.get(connection.id).shared_attributes == ("favourite_colour", "loyalty_tier")
    qtbot.waitUntil(lambda: "shares favourite_colour, loyalty_tier" in pane.outcome.text(), timeout=UI_TIMEOUT)


def test_the_command_line_shares_attributes_and_connects_a_variation(world, webhook, capsys):
    from app.cli.main import main
    from app.models.services.ab_tests import DraftVariation

    home, _, _, audience = world
    hook_output(home, webhook)
    root = ["--home", str(home.home.root)]
    home.close()  # the command line opens the home itself
    assert main([*root, "outputs", "connect", "Gold members", "Hook", "--share", "loyalty_tier,first_name"]) == 0
    assert "sharing first_name, loyalty_tier" in capsys.readouterr().out
    assert main([*root, "outputs", "connect", "Gold members", "Hook", "--share", "shoe_size"]) == 1
    assert "shoe_size" in capsys.readouterr().err
    assert main([*root, "outputs", "set-shared-attributes", "1"]) == 0
    assert "no user attributes" in capsys.readouterr().out

    with OpenHome.open(home.home) as reopened:
        reopened.ab_tests.save(audience.id, [DraftVariation(30, "Push")], seed="cli-test")
    assert main([*root, "outputs", "connect", "Gold members", "Hook", "--variation", "push"]) == 0
    assert "Connected Gold members - Push to Hook" in capsys.readouterr().out
    assert main([*root, "outputs", "connect", "Gold members", "Hook", "--variation", "Email"]) == 1
    assert "its variations: Control, Push" in capsys.readouterr().err
    assert main([*root, "outputs", "connections", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(c["variation"], c["shared_attributes"]) for c in listed] == [(None, []), ("Push", [])]
