"""Fixtures for the window tests: settings kept in tmp_path, homes with the real store and cache."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import QEvent, QSettings
from PySide6.QtWidgets import QApplication

from app.engines.home import OpenHome
from app.paths import Home
from app.ui.garbage import GuiThreadGarbageCollector
from app.ui.home import HomeConnection
from app.ui.main_window import MainWindow
from app.ui.workers import Tasks

LOAD_TIMEOUT_MS = 30_000


@pytest.fixture(autouse=True)
def garbage_collected_on_the_gui_thread(qapp) -> Iterator[None]:
    """As the app does (app/ui/garbage.py): no collection on worker threads while a window test runs."""
    collector = GuiThreadGarbageCollector(qapp)
    yield
    collector.stop()
    collector.deleteLater()


@pytest.fixture(autouse=True)
def isolated_settings(qapp, tmp_path) -> Iterator[None]:
    """QSettings written under tmp_path, never into the developer's own settings."""
    old_format = QSettings.defaultFormat()
    old_org, old_name = qapp.organizationName(), qapp.applicationName()
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    qapp.setOrganizationName("Audience Studio Tests")
    qapp.setApplicationName("Audience Studio")
    yield
    QSettings.setDefaultFormat(old_format)
    qapp.setOrganizationName(old_org)
    qapp.setApplicationName(old_name)


@pytest.fixture
def retail_home(home_dir: Home) -> Home:
    """A home with the workspace "Retail" and two audiences in it."""
    with OpenHome.open(home_dir, user="maria") as opened:
        retail = opened.workspaces.create("Retail", [("platform", "iOS"), ("platform", "Web")])
        opened.audiences.create(
            "Lapsed buyers", workspace_ids=[retail.id], tags=["retention"], external_name="lapsed_90d"
        )
        opened.audiences.create("Loyal shoppers", workspace_ids=[retail.id], tags=["loyalty", "high-value"])
    return home_dir


@pytest.fixture
def retail_connection(qtbot, retail_home: Home) -> Iterator[tuple[HomeConnection, Tasks]]:
    """A real connection to `retail_home`, opened; its background work is waited for at the end."""
    tasks = Tasks()
    connection = HomeConnection(retail_home, tasks)
    with qtbot.waitSignal(connection.opened, timeout=LOAD_TIMEOUT_MS):
        connection.start()
    yield connection, tasks
    tasks.wait()
    connection.close()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


@pytest.fixture
def open_window(qtbot) -> Iterator[Callable[[Home], MainWindow]]:
    """Opens a main window on a home the way `run_app` does; returns once its audiences and status are shown."""
    opened: list[tuple[MainWindow, HomeConnection]] = []

    def open_on(home: Home) -> MainWindow:
        tasks = Tasks()
        connection = HomeConnection(home, tasks)
        window = MainWindow(connection, tasks)
        qtbot.addWidget(window)
        opened.append((window, connection))
        window.show()
        with qtbot.waitSignals([window.pane("audiences").list.loaded, window.status.refreshed], timeout=LOAD_TIMEOUT_MS):
            connection.start()
        return window

    yield open_on
    for window, connection in opened:
        window.close()
        connection.close()
