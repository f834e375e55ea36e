"""The Faults pane: a partner's 401 becomes an Authentication fault; Re-authenticate and Resume finish the upload."""

from __future__ import annotations

import pytest

from app.engines.forwarding import FAULTED, ForwardingEngine
from app.engines.home import OpenHome
from app.ui.connections import forward, sign_in
from tests.outputs.browser import ScriptedBrowser
from tests.outputs.homes import NOW, identity_example
from tests.outputs.partners import OAuthApiSimulator
from tests.outputs.services import PARTNER_API_SECRET
from tests.outputs.test_oauth import oauth_settings

TIMEOUT = 20_000


@pytest.fixture
def partner_api(oauth_server):
    simulator = OAuthApiSimulator(oauth_server.introspection_url, "partner-api", PARTNER_API_SECRET, "audiences:write")
    yield simulator
    simulator.close()


def quick_engine(home):
    return ForwardingEngine(home, now=lambda: NOW, sleep=lambda _seconds: None, batch_size=40)


@pytest.fixture
def faulted_home(home_dir, secret_service, oauth_server, partner_api):
    """Gold members forwarded to an OAuth partner that took the first batch, then answered 401 (twice: the
    engine asks for a fresh token once) so the connection faulted with 60 identities still to send."""
    with OpenHome.open(home_dir, user="admin") as home:
        _, _, audience = identity_example(home)
        output = home.outputs.create("Partner API", "oauth2", oauth_settings(oauth_server, partner_api.endpoint))
        connection = home.connections.connect(audience.id, output.id)
        browser = ScriptedBrowser()
        home.output_sign_in.authorize(output.id, open_browser=browser, timeout=120)
        browser.join()
        partner_api.fail_next(401, times=2, after=1)
        report = quick_engine(home).forward_one(connection.id)
        assert (report.outcome, report.added) == (FAULTED, 40)
    return home_dir


def _faults_item(window) -> str:
    titles = [window.navigation.item(row).text() for row in range(window.navigation.count())]
    return next(title for title in titles if title.startswith("Faults"))


def test_the_faults_pane_says_when_nothing_is_wrong(open_window, retail_home):
    window = open_window(retail_home)
    assert window.pane("faults").stack.currentWidget() is window.pane("faults").empty
    assert window.pane("faults").empty.title.text() == "No faults: forwarding is running normally"
    titles = [window.navigation.item(row).text() for row in range(window.navigation.count())]
    assert titles == ["Audiences", "Standard audiences", "Connections", "Faults", "Revenue", "Sources", "Activity", "Sync"]


def test_reauthenticate_and_resume_from_the_faults_pane_deliver_every_identity_once(
        qtbot, open_window, faulted_home, partner_api, monkeypatch):
    browser = ScriptedBrowser()
    monkeypatch.setattr(sign_in, "open_browser", browser)
    monkeypatch.setattr(forward, "make_engine", quick_engine)
    window = open_window(faulted_home)
    pane = window.pane("faults")
    qtbot.waitUntil(lambda: len(pane.faults) == 1, timeout=TIMEOUT)
    assert _faults_item(window) == "Faults (1)"
    row = [pane.model.item(0, column).text() for column in range(pane.model.columnCount())]
    assert row[:4] == ["⚠ Gold members", "Partner API", "Authentication", "401"]
    assert row[4] and row[6] == "0"
    assert pane.reauthenticate_action.isEnabled() and pane.resume_action.isEnabled()
    connections = window.pane("connections")
    qtbot.waitUntil(lambda: connections.connection_model.rowCount() == 1, timeout=TIMEOUT)
    assert connections.connection_model.item(0, 4).text() == "⚠ Authentication"

    pane.reauthenticate_action.trigger()
    with qtbot.waitSignal(pane.run.finished, timeout=TIMEOUT) as signed_in:
        pass
    browser.join()
    assert signed_in.args[0] is True, signed_in.args[1]
    assert "Press Resume" in pane.outcome.text()
    assert len(pane.faults) == 1  # only Resume restarts forwarding

    pane.resume_action.trigger()
    qtbot.waitUntil(lambda: pane.outcome.text().startswith("Forwarded"), timeout=TIMEOUT)
    assert "60 added, 0 removed" in pane.outcome.text()
    qtbot.waitUntil(lambda: pane.stack.currentWidget() is pane.empty, timeout=TIMEOUT)
    assert _faults_item(window) == "Faults"
    # Nothing lost, nothing sent twice: the partner was asked to add each of the 100 identities exactly once.
    assert set(partner_api.added.values()) == {1} and len(partner_api.added) == 100
    assert len(partner_api.held) == 100
