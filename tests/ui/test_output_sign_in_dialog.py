"""Sign-in a marketer can do: Sign In on screen beside Save, the address to copy when no browser opens, and the
in-app choice of the unencrypted secrets file when there is no keyring (after the same warning)."""

from __future__ import annotations

import os
import stat

import pytest
from keyring.backends import fail
from PySide6.QtWidgets import QApplication, QScrollArea

from app.connectors.outputs.secrets import PLAINTEXT_FILE_NAME, PLAINTEXT_WARNING, SecretStore
from app.models.services.outputs import OutputService
from app.ui.connections import plaintext_choice, sign_in
from app.ui.connections.output_dialog import OutputDialog
from tests.outputs.browser import ScriptedBrowser
from tests.outputs.token_server import TokenServer

TIMEOUT = 30_000


@pytest.fixture
def token_server():
    server = TokenServer(lambda requested, grant: requested)
    yield server
    server.close()


def fill_oauth(dialog: OutputDialog, server: TokenServer, name: str = "Partner API") -> None:
    dialog.name.setText(name)
    for key, value in server.settings("lists:write", "https://api.example.com/batches").items():
        if key in dialog.settings_form.inputs:
            dialog.settings_form.inputs[key].set_value(value)


def saved_oauth_dialog(qtbot, home, tasks, server) -> OutputDialog:
    dialog = OutputDialog(home, tasks, partner_key="oauth2")
    qtbot.addWidget(dialog)
    dialog.show()
    fill_oauth(dialog, server)
    with qtbot.waitSignal(dialog.saved, timeout=TIMEOUT):
        dialog.save()
    return dialog


def test_sign_in_is_beside_save_not_below_the_scrolling_fields(qtbot, retail_connection, secret_service, token_server):
    connection, tasks = retail_connection
    home = connection.open_home
    home.__dict__["outputs"] = OutputService(home.store, home.user, SecretStore(secret_service))
    dialog = saved_oauth_dialog(qtbot, home, tasks, token_server)
    button = dialog.sign_in_button
    assert button.isVisible() and button.isEnabled()
    scroll = dialog.findChild(QScrollArea)
    assert not scroll.isAncestorOf(button)
    # The OAuth form scrolls (it has many fields), yet the button stays on screen in a 1280×800 window.
    assert dialog.height() <= 800 and scroll.widget().sizeHint().height() > scroll.viewport().height()
    where = button.mapTo(dialog, button.rect().bottomRight())
    assert dialog.rect().contains(where)
    if os.environ.get("AUDIENCE_STUDIO_RENDER"):
        dialog.grab().save(os.environ["AUDIENCE_STUDIO_RENDER"])


def test_without_a_browser_the_address_is_shown_to_copy_and_the_sign_in_completes(
        qtbot, retail_connection, secret_service, token_server, monkeypatch):
    connection, tasks = retail_connection
    home = connection.open_home
    home.__dict__["outputs"] = OutputService(home.store, home.user, SecretStore(secret_service))
    monkeypatch.setattr(sign_in, "open_browser", lambda url: False)
    dialog = saved_oauth_dialog(qtbot, home, tasks, token_server)
    dialog.sign_in_button.click()
    progress = dialog.sign_in_run.progress
    qtbot.waitUntil(lambda: progress.url_box.isVisible(), timeout=TIMEOUT)
    url = progress.url.text()
    assert url.startswith(token_server.url + "/authorize?") and "code_challenge_method=S256" in url
    progress.copy_button.click()
    assert QApplication.clipboard().text() == url and progress.copy_button.text() == "Copied"

    by_hand = ScriptedBrowser()  # the admin pastes it into a browser
    with qtbot.waitSignal(dialog.signed_in, timeout=TIMEOUT) as signed_in:
        by_hand(QApplication.clipboard().text())
    by_hand.join()
    assert signed_in.args == [True] and not progress.isVisible()
    assert "Signed in" in dialog.message.text() and "Signed in" in by_hand.last_page[1]
    assert home.output_sign_in.token_source(dialog.output).tokens() is not None


def test_without_a_keyring_the_dialog_offers_the_unencrypted_file_after_the_warning(
        qtbot, retail_connection, tmp_path, monkeypatch):
    connection, tasks = retail_connection
    home = connection.open_home
    secrets_file = tmp_path / PLAINTEXT_FILE_NAME
    home.__dict__["outputs"] = OutputService(home.store, home.user, SecretStore(fail.Keyring(),
                                                                                plaintext_file=secrets_file))
    asked = []
    answers = iter([False, True])
    monkeypatch.setattr(plaintext_choice, "confirm_plaintext", lambda parent, warning: asked.append(warning)
                        or next(answers))
    dialog = OutputDialog(home, tasks, partner_key="webhook")
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.name.setText("Hook")
    dialog.settings_form.inputs["url"].set_value("https://hooks.example.com/a")
    dialog.secrets_form.inputs["signing_secret"].set_value("whsec-plain")
    dialog.save()
    qtbot.waitUntil(lambda: dialog.plaintext_button.isVisible(), timeout=TIMEOUT)
    assert "no usable keyring" in dialog.message.text() and home.outputs.list() == []

    dialog.plaintext_button.click()  # the warning, answered Cancel: nothing changes
    assert asked == [PLAINTEXT_WARNING] and dialog.plaintext_button.isVisible() and not secrets_file.exists()

    with qtbot.waitSignal(dialog.saved, timeout=TIMEOUT):
        dialog.plaintext_button.click()  # answered Yes: the output is saved, its secret in the file
    assert [o.name for o in home.outputs.list()] == ["Hook"]
    assert "whsec-plain" in secrets_file.read_text() and stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    # The choice holds for this home in later sessions (the agent, the next start), as the variable would.
    later = SecretStore(fail.Keyring(), plaintext_file=secrets_file)
    assert later.load(home.outputs.get("Hook").keyring_id, "signing_secret") == "whsec-plain"
    assert "opted in in the app" in later.describe()


def test_signing_in_without_a_keyring_offers_the_unencrypted_file_then_signs_in(
        qtbot, retail_connection, tmp_path, token_server, monkeypatch):
    connection, tasks = retail_connection
    home = connection.open_home
    secrets_file = tmp_path / PLAINTEXT_FILE_NAME
    home.__dict__["outputs"] = OutputService(home.store, home.user, SecretStore(fail.Keyring(),
                                                                                plaintext_file=secrets_file))
    output = home.outputs.create("Partner API", "oauth2", token_server.settings("lists:write"))
    asked = []
    monkeypatch.setattr(plaintext_choice, "confirm_plaintext", lambda parent, warning: asked.append(warning) or True)
    browser = ScriptedBrowser()
    monkeypatch.setattr(sign_in, "open_browser", browser)
    dialog = OutputDialog(home, tasks, output=output, secrets_present={})
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitSignal(dialog.signed_in, timeout=TIMEOUT) as signed_in:
        dialog.sign_in_button.click()
    browser.join()
    assert signed_in.args == [True] and asked == [PLAINTEXT_WARNING]
    assert home.output_sign_in.token_source(output).tokens().scope == "lists:write"
    assert "oauth_tokens" in secrets_file.read_text()


def test_a_browser_that_silently_fails_still_leaves_the_address_one_click_away(
        qtbot, retail_connection, secret_service, token_server, monkeypatch):
    # Like `gio open` on a desktop without a browser: started fine, so webbrowser says True, then nothing opens.
    connection, tasks = retail_connection
    home = connection.open_home
    home.__dict__["outputs"] = OutputService(home.store, home.user, SecretStore(secret_service))
    monkeypatch.setattr(sign_in, "open_browser", lambda url: True)
    dialog = saved_oauth_dialog(qtbot, home, tasks, token_server)
    dialog.sign_in_button.click()
    progress = dialog.sign_in_run.progress
    qtbot.waitUntil(lambda: progress.reveal_button.isVisible(), timeout=TIMEOUT)
    assert not progress.url_box.isVisible()
    progress.reveal_button.click()
    assert progress.url_box.isVisible() and progress.url.text().startswith(token_server.url + "/authorize?")
    by_hand = ScriptedBrowser()
    with qtbot.waitSignal(dialog.signed_in, timeout=TIMEOUT) as signed_in:
        by_hand(progress.url.text())
    by_hand.join()
    assert signed_in.args == [True]
