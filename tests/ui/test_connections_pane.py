"""The Connections pane: outputs created through the generated form (secrets to the keyring), refusals, connecting audiences."""

from __future__ import annotations

import pytest
from keyring.backends import fail

from app.connectors.outputs.directory import PARTNERS
from app.connectors.outputs.secrets import SecretStore
from app.engines.home import OpenHome
from app.models.services.outputs import OutputService
from app.ui.connections.pane import ConnectionsPane
from app.ui.home import HomeConnection
from app.ui.workers import Tasks

TIMEOUT = 30_000


@pytest.fixture
def pane(qtbot, retail_home, secret_service):
    """The pane on a home with two audiences; outputs keep their secrets in the session's Secret Service."""
    tasks = Tasks()
    connection = HomeConnection(retail_home, tasks)
    pane = ConnectionsPane(connection, tasks)
    qtbot.addWidget(pane)
    pane.resize(1000, 640)
    pane.show()
    with qtbot.waitSignal(pane.loaded, timeout=TIMEOUT):
        connection.start()
    yield pane
    connection.close()


def new_output_dialog(qtbot, pane, partner_key):
    pane.new_output(partner_key)
    qtbot.waitUntil(lambda: pane.dialog is not None and pane.dialog.isVisible(), timeout=TIMEOUT)
    return pane.dialog


def save(qtbot, dialog, *, succeeds=True):
    if succeeds:
        with qtbot.waitSignal(dialog.saved, timeout=TIMEOUT):
            dialog.save()
    else:
        dialog.save()
        qtbot.waitUntil(lambda: dialog.message.isVisible() and dialog.buttons.isEnabled(), timeout=TIMEOUT)


def test_the_directory_filters_partners_by_name_auth_and_identity_type(pane):
    directory = pane.directory
    assert directory.partner_keys() == [p.key for p in PARTNERS]
    directory.auth.setCurrentIndex(directory.auth.findData("oauth2"))
    assert directory.partner_keys() == ["oauth2", "oauth2_entra", "meta_custom_audiences", "google_customer_match",
                                        "mailchimp_oauth", "hubspot"]
    directory.auth.setCurrentIndex(0)
    directory.search.setText("webhook")
    assert directory.partner_keys() == ["webhook"]
    directory.search.clear()
    directory.identity_type.setCurrentIndex(directory.identity_type.findData("ios_idfa"))
    assert "email_list" not in directory.partner_keys() and "custom_audiences" in directory.partner_keys()
    directory.category.setCurrentIndex(directory.category.findData("Advertising"))
    assert directory.partner_keys() == ["custom_audiences", "meta_custom_audiences"]


def test_a_file_export_output_is_created_from_its_generated_form_without_secrets(qtbot, pane, tmp_path):
    dialog = new_output_dialog(qtbot, pane, "file_export")
    assert not dialog.secrets_box.isVisibleTo(dialog) and not dialog.sign_in_button.isVisibleTo(dialog)
    dialog.name.setText("Nightly export")
    dialog.settings_form.inputs["folder"].set_value(str(tmp_path))
    dialog.settings_form.inputs["format"].set_value("parquet")
    with qtbot.waitSignal(pane.loaded, timeout=TIMEOUT):
        save(qtbot, dialog)
    assert [(o.name, o.partner, o.settings["format"]) for o in pane.outputs] == [
        ("Nightly export", "file_export", "parquet")]
    assert pane.output_model.item(0, 3).text() == "No connections"


def test_a_webhooks_signing_secret_goes_to_the_keyring_and_never_back_into_the_form(qtbot, pane):
    dialog = new_output_dialog(qtbot, pane, "webhook")
    secret_input = dialog.secrets_form.inputs["signing_secret"]
    assert secret_input.editor.echoMode() == secret_input.editor.EchoMode.Password
    dialog.name.setText("CRM hook")
    dialog.settings_form.inputs["url"].set_value("https://hooks.example.com/audiences")
    secret_input.set_value("whsec-from-the-form")
    save(qtbot, dialog)
    home = pane.connection.open_home
    output = home.outputs.get("CRM hook")
    assert home.secrets.load(output.keyring_id, "signing_secret") == "whsec-from-the-form"
    assert "whsec-from-the-form" not in repr(output.settings)

    qtbot.waitUntil(lambda: [o.name for o in pane.outputs] == ["CRM hook"], timeout=TIMEOUT)
    pane.select_output(output.id)
    pane.edit_output()
    qtbot.waitUntil(lambda: pane.dialog is not dialog and pane.dialog is not None and pane.dialog.isVisible(),
                    timeout=TIMEOUT)
    editor = pane.dialog.secrets_form.inputs["signing_secret"].editor
    assert editor.text() == "" and "Stored in the keyring" in editor.placeholderText()


def test_refusals_appear_beside_their_fields(qtbot, pane):
    dialog = new_output_dialog(qtbot, pane, "webhook")
    dialog.settings_form.inputs["url"].set_value("http://hooks.example.com/plain")
    save(qtbot, dialog, succeeds=False)
    assert "name" in dialog.message.text()

    dialog.name.setText("Hook")
    save(qtbot, dialog, succeeds=False)
    url_problem = dialog.settings_form.inputs["url"].problem
    assert url_problem.isVisibleTo(dialog) and "https" in url_problem.text()
    assert "required" in dialog.secrets_form.inputs["signing_secret"].problem.text()
    assert pane.connection.open_home.outputs.list() == []


def test_a_braze_output_is_made_from_its_declared_fields_with_the_instance_checked(qtbot, pane):
    dialog = new_output_dialog(qtbot, pane, "braze")
    assert not dialog.sign_in_button.isVisibleTo(dialog)
    dialog.name.setText("Braze")
    dialog.settings_form.inputs["api_url"].set_value("https://braze.example.com")
    dialog.secrets_form.inputs["api_key"].set_value("braze-rest-key")
    save(qtbot, dialog, succeeds=False)
    assert "rest.iad-01.braze.com" in dialog.settings_form.inputs["api_url"].problem.text()

    dialog.settings_form.inputs["api_url"].set_value("https://rest.fra-01.braze.eu")
    dialog.settings_form.inputs["membership"].set_value("subscription_group")
    dialog.settings_form.inputs["subscription_group_id"].set_value("0d3c1f5e-8d2b-4c11-9a5e-6a7a3c2f1b00")
    save(qtbot, dialog)
    home = pane.connection.open_home
    output = home.outputs.get("Braze")
    assert (output.partner, output.settings["membership"]) == ("braze", "subscription_group")
    assert home.secrets.load(output.keyring_id, "api_key") == "braze-rest-key"


def test_a_hubspot_output_comes_with_hubspots_sign_in_presets(qtbot, pane):
    dialog = new_output_dialog(qtbot, pane, "hubspot")
    inputs = dialog.settings_form.inputs
    # Shown in the empty fields, and taken when they are left empty.
    assert inputs["authorize_url"].editor.placeholderText() == "https://app.hubspot.com/oauth/authorize"
    assert inputs["token_url"].editor.placeholderText() == "https://api.hubapi.com/oauth/v1/token"
    assert "crm.lists.write" in inputs["scopes"].editor.placeholderText()
    dialog.name.setText("HubSpot")
    inputs["list_id"].set_value("123")
    inputs["client_id"].set_value("hs-client")
    dialog.secrets_form.inputs["client_secret"].set_value("hs-secret")
    save(qtbot, dialog)
    output = pane.connection.open_home.outputs.get("HubSpot")
    assert output.settings["token_url"] == "https://api.hubapi.com/oauth/v1/token"
    assert dialog.sign_in_button.isVisibleTo(dialog)  # an OAuth output stays open to be signed in


def test_with_no_keyring_the_dialog_says_so_plainly_and_nothing_is_created(qtbot, pane):
    home = pane.connection.open_home
    home.__dict__["outputs"] = OutputService(home.store, home.user, SecretStore(fail.Keyring(), allow_plaintext=False))
    dialog = new_output_dialog(qtbot, pane, "webhook")
    dialog.name.setText("Hook")
    dialog.settings_form.inputs["url"].set_value("https://hooks.example.com/a")
    dialog.secrets_form.inputs["signing_secret"].set_value("whsec-x")
    save(qtbot, dialog, succeeds=False)
    assert "no usable keyring" in dialog.message.text()
    assert home.outputs.list() == []


def test_connect_one_audience_then_bulk_connect_several_with_the_report(qtbot, pane, tmp_path):
    home: OpenHome = pane.connection.open_home
    output = home.outputs.create("Export", "file_export", {"folder": str(tmp_path)})
    qtbot.waitUntil(lambda: [o.name for o in pane.outputs] == ["Export"], timeout=TIMEOUT)
    lapsed, loyal = (home.audiences.activate(home.audiences.get(name).id).id for name in ("Lapsed buyers", "Loyal shoppers"))

    pane.connect_audiences()
    qtbot.waitUntil(lambda: pane.dialog is not None and pane.dialog.isVisible(), timeout=TIMEOUT)
    dialog = pane.dialog
    dialog.choose([lapsed])
    with qtbot.waitSignal(dialog.connected, timeout=TIMEOUT):
        dialog.connect_chosen()
    qtbot.waitUntil(lambda: len(pane.connections_of(output.id)) == 1, timeout=TIMEOUT)
    assert pane.connection_model.item(0, 0).text() == "Lapsed buyers"
    assert pane.connection_model.item(0, 1).text() == "Sending"
    dialog.close()

    pane.connect_audiences()
    qtbot.waitUntil(lambda: pane.dialog is not dialog and pane.dialog.isVisible(), timeout=TIMEOUT)
    bulk = pane.dialog
    bulk.choose([lapsed, loyal])
    bulk.status.setCurrentIndex(bulk.status.findData("inactive"))
    with qtbot.waitSignal(bulk.connected, timeout=TIMEOUT) as connected:
        bulk.connect_chosen()
    report = connected.args[0]
    assert [(r.audience_name, r.connected) for r in report.results] == [("Lapsed buyers", False), ("Loyal shoppers", True)]
    lines = [bulk.report.item(row).text() for row in range(bulk.report.count())]
    assert "already connected" in lines[0] and lines[1] == "✓ Loyal shoppers: connected"
    assert bulk.message.text() == "1 connected, 1 not connected."
    qtbot.waitUntil(lambda: len(pane.connections_of(output.id)) == 2, timeout=TIMEOUT)
    assert pane.output_model.item(0, 3).text() == "Lapsed buyers, Loyal shoppers"

    # Loyal shoppers came in Inactive; make it Sending, then disconnect Lapsed buyers.
    loyal_connection = next(c for c in pane.connections if c.audience_id == loyal)
    assert loyal_connection.status == "inactive"
    pane.select_connection(loyal_connection.id)
    assert pane.status_action.text() == "Make &Sending"
    pane.status_action.trigger()
    qtbot.waitUntil(lambda: home.connections.get(loyal_connection.id).status == "sending", timeout=TIMEOUT)
    qtbot.waitUntil(lambda: pane.current_connection() is not None
                    and pane.current_connection().status == "sending", timeout=TIMEOUT)
    lapsed_connection = next(c for c in pane.connections if c.audience_id == lapsed)
    pane.select_connection(lapsed_connection.id)
    pane.disconnect_action.trigger()
    qtbot.waitUntil(lambda: [c.audience_name for c in pane.connections_of(output.id)] == ["Loyal shoppers"],
                    timeout=TIMEOUT)


def test_forward_now_runs_the_engine_in_the_background_and_shows_the_outcome(qtbot, home_dir, tmp_path, monkeypatch):
    from app.engines.forwarding import ForwardingEngine
    from app.ui.connections import forward
    from tests.outputs.homes import NOW, identity_example

    with OpenHome.open(home_dir, user="admin") as home:
        _, _, audience = identity_example(home)
        output = home.outputs.create("Export", "file_export", {"folder": str(tmp_path), "identity_types": ["ios_idfa"]})
        connection = home.connections.connect(audience.id, output.id)
    monkeypatch.setattr(forward, "make_engine", lambda opened: ForwardingEngine(opened, now=lambda: NOW))
    tasks = Tasks()
    home_connection = HomeConnection(home_dir, tasks)
    pane = ConnectionsPane(home_connection, tasks)
    qtbot.addWidget(pane)
    pane.show()
    with qtbot.waitSignal(pane.loaded, timeout=TIMEOUT):
        home_connection.start()
    try:
        pane.select_connection(connection.id)
        assert pane.forward_action.isEnabled()
        pane.forward_action.trigger()
        assert pane.run.progress.isVisible() and pane.run.progress.labelText().startswith("Forwarding")
        qtbot.waitUntil(lambda: pane.outcome.text().startswith("Forwarded"), timeout=TIMEOUT)
        assert "100 added" in pane.outcome.text() and not pane.run.progress.isVisible()
        qtbot.waitUntil(lambda: pane.connection_model.item(0, 2).text() == "100", timeout=TIMEOUT)
        assert pane.connection_model.item(0, 3).text() != "Never"
    finally:
        home_connection.close()


def test_a_draft_audience_is_refused_as_sending_in_the_dialog_and_by_make_sending(qtbot, pane, tmp_path):
    home: OpenHome = pane.connection.open_home
    output = home.outputs.create("Export", "file_export", {"folder": str(tmp_path)})
    qtbot.waitUntil(lambda: [o.name for o in pane.outputs] == ["Export"], timeout=TIMEOUT)
    lapsed = home.audiences.get("Lapsed buyers").id  # a draft
    pane.connect_audiences()
    qtbot.waitUntil(lambda: pane.dialog is not None and pane.dialog.isVisible(), timeout=TIMEOUT)
    dialog = pane.dialog
    dialog.choose([lapsed])
    assert dialog.status.currentData() == "sending"
    with qtbot.waitSignal(dialog.connected, timeout=TIMEOUT) as connected:
        dialog.connect_chosen()
    assert not connected.args[0].results[0].connected
    assert 'Lapsed buyers: not connected, Audience "Lapsed buyers" is a draft' in dialog.report.item(0).text()
    dialog.close()

    inactive = home.connections.connect(lapsed, output.id, status="inactive")
    qtbot.waitUntil(lambda: len(pane.connections_of(output.id)) == 1, timeout=TIMEOUT)
    pane.select_connection(inactive.id)
    assert pane.status_action.text() == "Make &Sending"
    pane.status_action.trigger()
    qtbot.waitUntil(lambda: "is a draft, so nothing would be sent" in pane.outcome.text(), timeout=TIMEOUT)
    assert home.connections.get(inactive.id).status == "inactive"
