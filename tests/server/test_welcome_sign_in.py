"""The first-run welcome's "Connect to your team's server" against a live server on 127.0.0.1 and the real
OS keyring: it signs in, syncs the team's workspaces into the open home, and a refused token says so."""

from __future__ import annotations

from app.paths import resolve_home
from app.ui.home import HomeConnection
from app.ui.welcome import WelcomeDialog
from app.ui.workers import Tasks
from tests.server.batches import demo_batches
from tests.server.test_sync import _send, _set_up_us

TIMEOUT_MS = 120_000


def _dialog(qtbot, tmp_path):
    tasks = Tasks()
    connection = HomeConnection(resolve_home(tmp_path / "laptop"), tasks)
    with qtbot.waitSignal(connection.opened, timeout=TIMEOUT_MS):
        connection.start()
    dialog = WelcomeDialog(connection, tasks)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog, connection, tasks


def test_signing_in_from_the_welcome_syncs_the_teams_workspaces(qtbot, secret_service, start_server, tmp_path):
    deployment = start_server(page_batches=40)
    _, inputs = _set_up_us(deployment)
    pairs = demo_batches(profiles=30)
    _send(deployment, inputs, pairs)
    sent = {batch["mpid"] for _, batch in pairs}
    token = deployment.user_token("ann", ["US"])["Authorization"].removeprefix("Bearer ")
    dialog, connection, tasks = _dialog(qtbot, tmp_path)
    try:
        dialog.server_button.click()
        dialog.server_url.setText(deployment.server.base_url)
        dialog.token.setText(token)
        with qtbot.waitSignal(dialog.finished_setup, timeout=TIMEOUT_MS) as done:
            dialog.sign_in_button.click()
        assert done.args[0] == "Signed in as ann. Synced: US."
        home = connection.open_home
        assert [w.name for w in home.workspaces.list()] == ["US"]
        assert home.cache.cursor().execute("SELECT count(DISTINCT mpid) FROM profiles").fetchone()[0] == len(sent)
        assert secret_service.get_password(f"Audience Studio server {deployment.server.base_url}", "token")
        qtbot.waitUntil(lambda: not tasks.is_busy(), timeout=TIMEOUT_MS)
        qtbot.wait(20)
    finally:
        connection.close()


def test_a_refused_token_is_said_plainly_and_nothing_is_kept(qtbot, secret_service, deployment, tmp_path):
    dialog, connection, tasks = _dialog(qtbot, tmp_path)
    try:
        dialog.server_button.click()
        dialog.server_url.setText(deployment.server.base_url)
        dialog.token.setText("not-a-token")
        dialog.sign_in_button.click()
        qtbot.waitUntil(lambda: not tasks.is_busy(), timeout=TIMEOUT_MS)
        assert "token" in dialog.status.text().lower()
        assert dialog.isVisible() and dialog.sign_in_button.isEnabled()
        assert connection.open_home.workspaces.list() == []
        assert secret_service.get_password(f"Audience Studio server {deployment.server.base_url}", "token") is None
        qtbot.wait(20)
    finally:
        connection.close()
