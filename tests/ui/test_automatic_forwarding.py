"""Automatic forwarding in the desktop app: a Sending connection of an Active audience reaches the partner with
nobody clicking, the Connections pane says who forwards and shows the last run, and a fault is notified."""

from __future__ import annotations

import pytest

from PySide6.QtWidgets import QSystemTrayIcon
from app.engines import membership
from app.engines.home import OpenHome
from app.engines.importing import import_into_workspace
from app.ui.fault_notifier import TITLE, FaultNotifier
from tests.activation.helpers import tier_files
from tests.outputs.homes import idfa, identity_example
from tests.outputs.partners import WebhookSimulator

SECRET = "whsec-window-secret"
TIMEOUT = 30_000


@pytest.fixture
def webhook():
    simulator = WebhookSimulator(SECRET)
    yield simulator
    simulator.close()


@pytest.fixture
def connected_home(home_dir, secret_service, webhook):
    with OpenHome.open(home_dir, user="admin") as home:
        us, _eu, audience = identity_example(home)
        membership.refresh(home)
        output = home.outputs.create("Hook", "webhook", {"url": webhook.endpoint, "identity_types": ["ios_idfa"]},
                                     {"signing_secret": SECRET})
        home.connections.connect(audience.id, output.id)
    return home_dir, us.id


def test_the_open_app_forwards_on_its_own_shows_the_last_run_and_notifies_a_fault(qtbot, open_window, connected_home,
                                                                                  webhook, tmp_path):
    home_dir, workspace_id = connected_home
    window = open_window(home_dir)
    qtbot.waitUntil(lambda: len(webhook.held) == 100, timeout=TIMEOUT)  # nobody pressed Forward Now
    pane = window.pane("connections")
    qtbot.waitUntil(lambda: pane.connection_model.rowCount() == 1
                    and pane.connection_model.item(0, 5).text().endswith("sent: 100 added, 0 removed"), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: "this app forwards" in pane.forwarder.text(), timeout=TIMEOUT)

    # New data arrives; the partner refuses it: the connection faults and the user is told.
    webhook.fail_next(403)
    home = window.connection.open_home
    files = tier_files(tmp_path / "crm", workspace_id, {1: "silver"})
    with qtbot.waitSignal(window.fault_notifier.notified, timeout=TIMEOUT) as told:
        import_into_workspace(home, files, workspace="US")
    assert told.args[0].startswith("“Gold members” → “Hook”: ") and "403" in told.args[0]
    assert "Faults pane" in told.args[0]
    assert ("ios_idfa", idfa(1).lower()) in webhook.held  # nothing more was sent after the refusal


def test_with_a_system_tray_the_fault_is_a_tray_message(qtbot, open_window, retail_home, monkeypatch):
    window = open_window(retail_home)
    notifier = FaultNotifier(window.automatic_forwarding, window, tray_available=True)
    shown = []
    # Every message as the platform gets it. Never Qt's own: with no real tray (offscreen) it falls back to a balloon
    # widget whose 15-second timer outlives this test's tray and crashed a later test.
    monkeypatch.setattr(QSystemTrayIcon, "showMessage", lambda _tray, *args: shown.append(args))

    class Report:
        audience_name, output_name, reason = "Gold", "Ads", "ads.example answered 401: token expired."

    notifier.notify(Report())
    notifier.notify(Report())
    assert len(shown) == 2
    assert notifier.tray.toolTip() == "Audience Studio"
    assert shown[0][0] == TITLE and shown[0][1].startswith("“Gold” → “Ads”: ads.example answered 401")
    with qtbot.waitSignal(notifier.open_faults):
        notifier.tray.messageClicked.emit()


def test_closing_the_home_stops_forwarding_even_when_the_window_stays_open(qtbot, open_window, retail_home):
    # A window whose close is refused (unsaved work) never stopped the forwarding threads; the home closed under
    # them and their reports reached a deleted window (a crash in a later test).
    window = open_window(retail_home)
    qtbot.waitUntil(lambda: window.automatic_forwarding.forwarding, timeout=TIMEOUT)
    activator = window.automatic_forwarding.activator
    window.connection.close()
    assert window.automatic_forwarding.activator is None and not activator.forwarding
