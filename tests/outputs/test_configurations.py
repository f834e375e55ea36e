"""Output configurations and connections in the store: secrets only in the keyring, bulk connect, faults and resume."""

from __future__ import annotations

import pytest
from keyring.backends import fail

from app.connectors.outputs.errors import Failure
from app.connectors.outputs.secrets import KeyringUnavailable, SecretStore
from app.connectors.outputs.settings import SettingsProblems
from app.errors import InvalidInput, NotFound, UserError
from app.models.services.connections import ConnectionService
from tests.builder.test_compiler_examples import doc

HOOK = {"url": "https://hooks.example.com/audiences"}


@pytest.fixture
def audiences(opened):
    workspace = opened.workspaces.create("Retail", [("platform", "iOS")])
    made = [opened.audiences.create(name, workspace_ids=[workspace.id], criteria=doc()) for name in ("Alpha", "Beta", "Gamma")]
    return [opened.audiences.activate(a.id) for a in made]  # Sending connections are for active audiences


def test_a_configuration_keeps_settings_in_the_store_and_secrets_only_in_the_keyring(opened):
    output = opened.outputs.create("Partner hook", "webhook", HOOK, {"signing_secret": "whsec-SUPERSECRET-1"})
    assert output.settings == {**HOOK, "identity_types": list(output.settings["identity_types"])}
    assert opened.outputs.secrets_present(output.id) == {"signing_secret": True}
    assert opened.secrets.load(output.keyring_id, "signing_secret") == "whsec-SUPERSECRET-1"
    opened.store.close()
    for path in opened.home.root.iterdir():
        if path.is_file():
            assert b"SUPERSECRET" not in path.read_bytes(), path


def test_names_are_unique_ignoring_case_and_edits_merge_settings(opened):
    first = opened.outputs.create("Newsletter", "email_list", {"list_id": "list1234"}, {"api_key": "abc-us6"})
    with pytest.raises(InvalidInput, match="already exists"):
        opened.outputs.create("NEWSLETTER", "webhook", HOOK, {"signing_secret": "x"})
    edited = opened.outputs.edit("newsletter", name="Weekly newsletter", settings={"api_url": "https://us6.example.com"},
                                 secrets={"api_key": "def-us6"})
    assert (edited.id, edited.name, edited.settings["list_id"], edited.settings["api_url"]) == (
        first.id, "Weekly newsletter", "list1234", "https://us6.example.com")
    assert opened.secrets.load(first.keyring_id, "api_key") == "def-us6"
    assert [o.name for o in opened.outputs.list()] == ["Weekly newsletter"]
    with pytest.raises(SettingsProblems) as refused:
        opened.outputs.edit(first.id, settings={"list_id": "no spaces please"})
    assert list(refused.value.problems) == ["list_id"]


def test_required_secrets_and_unknown_partners_are_refused(opened):
    with pytest.raises(SettingsProblems, match="signing_secret: Signing secret is required"):
        opened.outputs.create("Hook", "webhook", HOOK)
    with pytest.raises(NotFound, match="no partner"):
        opened.outputs.create("Hook", "carrier-pigeon", {})
    assert opened.outputs.list() == []


def test_without_a_keyring_nothing_is_created(opened, monkeypatch):
    monkeypatch.delenv("AUDIENCE_STUDIO_PLAINTEXT_SECRETS", raising=False)
    opened.outputs.secrets = SecretStore(fail.Keyring(), plaintext_file=opened.home.root / "plain.json")
    with pytest.raises(KeyringUnavailable, match="no usable keyring"):
        opened.outputs.create("Hook", "webhook", HOOK, {"signing_secret": "s3cret"})
    assert opened.outputs.list() == [] and not (opened.home.root / "plain.json").exists()


def test_connections_of_a_configuration_and_deleting_it(opened, audiences):
    output = opened.outputs.create("Hook", "webhook", HOOK, {"signing_secret": "s3cret"})
    connection = opened.connections.connect(audiences[0].id, output.id)
    assert (connection.status, connection.output_name, connection.audience_name) == ("sending", "Hook", "Alpha")
    assert opened.outputs.get(output.id).connection_count == 1
    assert [c.audience_name for c in opened.connections.list(configuration_id=output.id)] == ["Alpha"]
    with pytest.raises(InvalidInput, match="already connected"):
        opened.connections.connect(audiences[0].id, output.id)
    with pytest.raises(UserError, match="used by 1 connection"):
        opened.outputs.delete(output.id)
    assert opened.connections.set_status(connection.id, "inactive").status == "inactive"
    with pytest.raises(InvalidInput, match="paused"):
        opened.connections.set_status(connection.id, "paused")
    assert opened.connections.counts_by_audience() == {audiences[0].id: 1}
    opened.connections.disconnect(connection.id)
    opened.outputs.delete(output.id)
    assert opened.secrets.load(output.keyring_id, "signing_secret") is None


def test_connection_settings_are_the_partners_connection_fields(opened, audiences):
    ads = opened.outputs.create("Ads", "custom_audiences", {"ad_account_id": "123456"}, {"access_token": "t"})
    connection = opened.connections.connect(audiences[0].id, ads.id, {"audience_name": "Alpha (US)"}, status="inactive")
    assert connection.settings == {"audience_name": "Alpha (US)"} and connection.status == "inactive"
    with pytest.raises(SettingsProblems, match="colour"):
        opened.connections.connect(audiences[1].id, ads.id, {"colour": "red"})


def test_bulk_connect_reports_each_audience_and_why_it_was_refused(opened, audiences):
    output = opened.outputs.create("Hook", "webhook", HOOK, {"signing_secret": "s3cret"})
    opened.connections.connect(audiences[1].id, output.id)
    report = opened.connections.bulk_connect(output.id, [audiences[0].id, audiences[1].id, audiences[2].id, 999])
    assert [(r.audience_name, r.connected) for r in report.results] == [
        ("Alpha", True), ("Beta", False), ("Gamma", True), ("audience 999", False)]
    assert "already connected" in report.results[1].reason and report.results[3].reason == "it no longer exists"
    assert all(r.connection_id for r in report.connected)


def test_bulk_connect_refuses_audiences_with_an_ab_test_through_its_hook(opened, audiences):
    """A/B tests arrive with issue 7; the hook refuses nothing today and is where it plugs in."""
    output = opened.outputs.create("Hook", "webhook", HOOK, {"signing_secret": "s3cret"})
    assert len(opened.connections.bulk_connect(output.id, [a.id for a in audiences]).connected) == 3

    other = opened.outputs.create("Hook 2", "webhook", HOOK, {"signing_secret": "s3cret"})
    with_test = {audiences[1].id}
    service = ConnectionService(opened.store, "admin", refusals=[
        lambda session, audience_id: "it has an A/B test" if audience_id in with_test else None])
    report = service.bulk_connect(other.id, [a.id for a in audiences])
    assert [(r.audience_name, r.reason) for r in report.refused] == [("Beta", "it has an A/B test")]


def test_bad_shared_settings_stop_a_bulk_connect_before_anything_connects(opened, audiences):
    ads = opened.outputs.create("Ads", "custom_audiences", {"ad_account_id": "123456"}, {"access_token": "t"})
    with pytest.raises(SettingsProblems):
        opened.connections.bulk_connect(ads.id, [a.id for a in audiences], {"colour": "red"})
    assert opened.connections.list() == []


def test_a_fault_is_listed_with_its_audience_and_output_and_resumed_once(opened, audiences):
    output = opened.outputs.create("Hook", "webhook", HOOK, {"signing_secret": "s3cret"})
    connection = opened.connections.connect(audiences[0].id, output.id)
    fault = opened.faults.record(connection.id, Failure("Permissions", "403: forbidden", 403, 0, "batch-1"))
    assert (fault.audience_name, fault.output_name, fault.category, fault.open) == ("Alpha", "Hook", "Permissions", True)
    assert opened.connections.get(connection.id).fault == fault
    resumed = opened.faults.resume(fault.id)
    assert not resumed.open and resumed.resolved_by == "admin"
    assert opened.connections.get(connection.id).fault is None
    with pytest.raises(UserError, match="already resumed"):
        opened.faults.resume(fault.id)
    with pytest.raises(NotFound):
        opened.faults.resume(12345)


def test_store_events_tell_the_ui_about_outputs_connections_and_faults(opened, audiences):
    seen = []
    opened.store.events.subscribe(lambda kind, subject: seen.append(kind))
    output = opened.outputs.create("Hook", "webhook", HOOK, {"signing_secret": "s3cret"})
    connection = opened.connections.connect(audiences[0].id, output.id)
    opened.faults.resume(opened.faults.record(connection.id, Failure("Other", "x", 500, 5)).id)
    assert seen == ["output_changed", "connection_changed", "audience_changed", "fault_changed", "fault_changed"]
