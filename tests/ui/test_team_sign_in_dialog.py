"""The Sync pane's e-mail and password sign-in dialog against a live server on 127.0.0.1 and the real OS keyring."""

from __future__ import annotations

import pytest

from app.server.accounts import Accounts
from tests.server.live import Deployment

PASSWORD = "correct horse battery"
TIMEOUT = 30_000


@pytest.fixture
def server(tmp_path, secret_service):
    with Deployment.start(f"sqlite:///{tmp_path / 'server.sqlite3'}") as deployment:
        Accounts(deployment.database).init("Harbor Retail", "Ada", "ada@example.com", PASSWORD)
        yield deployment


def test_the_sync_panes_email_dialog_signs_in_and_a_wrong_password_stays_in_the_dialog(server, secret_service, qtbot, open_window,
                                                                                      home_dir):
    window = open_window(home_dir)
    pane = window.pane("sync")
    if pane.account is None:
        qtbot.waitSignal(pane.loaded, timeout=TIMEOUT).wait()
    pane.open_dialog = lambda dialog: dialog.show()
    pane.server_url.setText(server.server.base_url)
    pane.email_sign_in_button.click()
    dialog = pane.sign_in_dialog
    assert dialog is not None and dialog.server_url.text() == server.server.base_url

    dialog.email.setText("ada@example.com")
    dialog.password.setText("not the password")
    with qtbot.waitSignal(pane.tasks.activity_changed, timeout=TIMEOUT, check_params_cb=lambda text: text == ""):
        dialog.sign_in_button.click()
    assert "refused the sign-in" in dialog.status.text() and dialog.isVisible()
    assert dialog.password.text() == "" and dialog.sign_in_button.isEnabled()

    dialog.password.setText(PASSWORD)
    with qtbot.waitSignal(pane.loaded, timeout=TIMEOUT):
        dialog.sign_in_button.click()
    assert not dialog.isVisible()
    assert pane.account_label.text().startswith(f"Ada on {server.server.base_url}")
    assert "Signed in as Ada" in pane.outcome.text()
    assert secret_service.get_password(f"Audience Studio server {server.server.base_url}", "token")
