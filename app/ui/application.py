"""Starting the desktop app: the QApplication, the main window, and the home opened in the background."""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QApplication

from app import __version__
from app.paths import Home
from app.ui import resources
from app.ui.garbage import GuiThreadGarbageCollector
from app.ui.home import HomeConnection
from app.ui.main_window import MainWindow
from app.ui.workers import Tasks

log = logging.getLogger(__name__)

APP_NAME = "Audience Studio"


def _follow_platform_style(app: QApplication) -> None:
    # Qt picks the platform's own style (and palette) by itself. Only when it found none and fell
    # back to the bare "Windows" style of old is Fusion better looking, still with the OS palette.
    if app.style().name().casefold() == "windows":
        app.setStyle("Fusion")


def run_app(home: Home, argv: list[str], *, self_test: bool = False) -> int:
    """Show the main window on `home` and run until the user quits; returns the exit code.

    With `self_test`, compute one estimate in the builder and quit (app/ui/self_test.py).
    """
    app = QApplication.instance() or QApplication(argv)
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setApplicationVersion(__version__)
    _follow_platform_style(app)
    # Wayland and the Linux docks match the window to installers/linux/audience-studio.desktop by this.
    app.setDesktopFileName("audience-studio")
    resources.apply(app)

    collector = GuiThreadGarbageCollector(app)
    app.aboutToQuit.connect(collector.stop)
    tasks = Tasks()
    connection = HomeConnection(home, tasks)
    window = MainWindow(connection, tasks, welcome=not self_test)
    if self_test:
        from app.ui.self_test import SelfTest

        SelfTest(window, app)
    window.show()
    connection.start()
    app.aboutToQuit.connect(connection.close)
    log.info("Audience Studio %s started on %s", __version__, home.root)
    return app.exec()
