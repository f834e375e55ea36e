"""A real home for the Insights window's tests: 40 shoppers in "Retail" and a few audiences over them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QApplication

from app.engines.home import OpenHome
from app.engines.insights.subjects import Subject, subject
from app.paths import Home
from app.ui.home import HomeConnection
from app.ui.insights.window import InsightsWindow
from app.ui.workers import Tasks
from tests.ui.editor_homes import GOLD, IOS, SESSIONS, document, fill_home

TIMEOUT_MS = 30_000
NOBODY = {**GOLD, "id": "nobody", "value": "diamond"}


@pytest.fixture
def shop(home_dir: Home) -> tuple[Home, dict[str, int]]:
    ids = fill_home(home_dir, audiences={"Gold": document(GOLD), "iPhone users": document(IOS),
                                         "Active": document(SESSIONS), "Nobody": document(NOBODY)})
    return home_dir, ids


@pytest.fixture
def connection(qtbot, shop) -> Iterator[tuple[HomeConnection, Tasks]]:
    tasks = Tasks()
    made = HomeConnection(shop[0], tasks)
    with qtbot.waitSignal(made.opened, timeout=TIMEOUT_MS):
        made.start()
    yield made, tasks
    tasks.wait()
    made.close()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


@pytest.fixture
def open_insights(qtbot, connection):
    """Opens the Insights window on a saved audience (by name) or a Subject; closed at the end."""
    made: list[InsightsWindow] = []
    conn, tasks = connection

    def open_on(name_or_subject: str | Subject) -> InsightsWindow:
        chosen = subject(conn.open_home, name_or_subject) if isinstance(name_or_subject, str) else name_or_subject
        window = InsightsWindow(conn, tasks, chosen)
        # Kept after closing, so a test can look at what closing did.
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        made.append(window)
        window.show()
        return window

    yield open_on
    for window in made:
        window.close()
    tasks.wait()


def engine_home(connection) -> OpenHome:
    return connection[0].open_home
