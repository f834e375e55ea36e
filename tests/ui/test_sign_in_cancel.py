"""Sign In… then Cancel: the wait ends at once, the loopback listener closes, its threads stop, nothing is stored."""

from __future__ import annotations

import socket
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from app.connectors.outputs.oauth import TOKENS_ENTRY
from app.ui.connections import sign_in
from app.ui.connections.pane import ConnectionsPane
from app.ui.home import HomeConnection
from app.ui.workers import Tasks
from tests.outputs.test_oauth import oauth_settings

TIMEOUT = 30_000
#: How long the stand-in browser may wait for the sign-in page, in seconds: on a loaded machine the
#: local OAuth server has twice taken longer than first allowed (10 s, then 60 s) to answer, and the
#: test failed before the Cancel it is about. Only a failing run waits this long.
PAGE_SECONDS = 180


class AbandonedBrowser:
    """Opens the partner's sign-in page, as the system browser would, and then the user walks away."""

    def __init__(self) -> None:
        self.opened: list[str] = []
        self.login_pages: list[int] = []
        self.threads: list[threading.Thread] = []

    def __call__(self, url: str) -> bool:
        self.opened.append(url)
        thread = threading.Thread(target=self._visit, args=(url,), daemon=True)
        thread.start()
        self.threads.append(thread)
        return True

    def _visit(self, url: str) -> None:
        try:
            self.login_pages.append(requests.get(url, timeout=PAGE_SECONDS).status_code)
        except requests.RequestException as exc:  # shown by the assertion on login_pages
            self.login_pages.append(repr(exc))


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return True
    except OSError:
        return False


@pytest.fixture
def pane(qtbot, retail_home, secret_service, oauth_server):
    tasks = Tasks()
    connection = HomeConnection(retail_home, tasks)
    pane = ConnectionsPane(connection, tasks)
    qtbot.addWidget(pane)
    pane.show()
    with qtbot.waitSignal(pane.loaded, timeout=TIMEOUT):
        connection.start()
    output = connection.open_home.outputs.create("Partner API", "oauth2", oauth_settings(oauth_server))
    qtbot.waitUntil(lambda: [o.name for o in pane.outputs] == ["Partner API"], timeout=TIMEOUT)
    pane.select_output(output.id)
    yield pane
    connection.close()


def test_cancel_stops_waiting_for_the_browser_closes_the_loopback_listener_and_stores_nothing(qtbot, pane, monkeypatch):
    browser = AbandonedBrowser()
    monkeypatch.setattr(sign_in, "open_browser", browser)
    pane.sign_in_action.trigger()
    qtbot.waitUntil(lambda: bool(browser.opened), timeout=TIMEOUT)
    redirect = urlsplit(parse_qs(urlsplit(browser.opened[0]).query)["redirect_uri"][0])
    assert redirect.hostname == "127.0.0.1" and listening(redirect.port)
    for thread in browser.threads:
        thread.join(PAGE_SECONDS)
    assert browser.login_pages == [200]  # the real server showed its sign-in page; nobody signed in
    run = pane.run
    assert run.progress.isVisible() and run.running

    cancel = next(b for b in run.progress.findChildren(QPushButton) if b.text() == "Cancel")
    with qtbot.waitSignal(run.finished, timeout=TIMEOUT) as finished:
        qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    assert finished.args == [False, "Sign-in cancelled; nothing changed."]
    assert pane.outcome.text() == "Sign-in cancelled; nothing changed." and not run.progress.isVisible()
    assert not listening(redirect.port)
    assert pane.tasks.wait(TIMEOUT) and not run.running
    assert not [t for t in threading.enumerate() if t.name == "oauth-loopback"]
    home = pane.connection.open_home
    assert home.secrets.load(home.outputs.get("Partner API").keyring_id, TOKENS_ENTRY) is None
