"""The first-run welcome: shown while the home holds no workspace, it offers the demo workspace or the
team's server, and does either in the background with progress and Cancel.

The demo goes into the home the window already has open (app.engines.demo.fill_demo), so nothing
restarts; a cancelled or failed build removes what it added. Connecting signs in with an API token
(kept in the OS keyring by app.engines.sync) and pulls the team's workspaces.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCommandLinkButton,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import UserError
from app.engines.home import OpenHome
from app.ui.home import HomeConnection
from app.ui.workers import Tasks, failure_message
from app.ui.kit.dialogs import keep_whole

#: The welcome's demo: big enough to feel real, small enough to be ready in about half a minute.
WELCOME_DEMO_PROFILES = 20_000
WELCOME_DEMO_DAYS = 60


class Cancelled(UserError):
    """The user pressed Cancel; what was started is undone."""


class WelcomeDialog(QDialog):
    """Demo workspace, team server, or not now. `finished_setup` fires once the home holds workspaces."""

    #: fires on success with what to tell the user ("The demo workspace is ready: ...")
    finished_setup = Signal(str)

    def __init__(self, connection: HomeConnection, tasks: Tasks, parent: QWidget | None = None,
                 *, demo_profiles: int = WELCOME_DEMO_PROFILES, home_empty: bool = True) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome to Audience Studio")
        self._connection = connection
        self._tasks = tasks
        self._demo_profiles = demo_profiles
        self._cancel = threading.Event()
        self._busy = False

        title = QLabel("Welcome to Audience Studio")
        title.setObjectName("welcomeTitle")
        intro = QLabel("Build audiences by dragging criteria together and watch their size as you go, "
                       "offline, from data kept on this computer. Where would you like to start?")
        intro.setWordWrap(True)

        self.demo_button = QCommandLinkButton(
            "Explore the demo workspace",
            # "&&": a command link's text would take a single "&" as a keyboard mnemonic.
            f"Harbor && Pine, a fictional retailer with iOS, Android and web apps and a CRM feed: "
            f"{demo_profiles:,} people and {WELCOME_DEMO_DAYS} days of events, with example audiences. "
            "Built on this computer in about half a minute.")
        self.demo_button.setAccessibleName("Explore the demo workspace")
        self.demo_button.clicked.connect(self.build_demo)
        if not home_empty:
            self.demo_button.setEnabled(False)
            self.demo_button.setToolTip("The demo goes into an empty home, and this one already holds workspaces. "
                                        "To try it, start the app with --home and a new folder.")
        self._home_empty = home_empty
        self.server_button = QCommandLinkButton(
            "Connect to your team's server",
            "Sign in with the API token your admin gave you; your team's workspaces are copied to this "
            "computer so you can work offline.")
        self.server_button.setAccessibleName("Connect to your team's server")
        self.server_button.clicked.connect(self._show_server_form)

        self.server_form = QWidget()
        form = QFormLayout(self.server_form)
        form.setContentsMargins(24, 0, 0, 0)
        self.server_url = QLineEdit()
        self.server_url.setPlaceholderText("https://audiences.example.com")
        self.server_url.setAccessibleName("Server address")
        self.token = QLineEdit()
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText("API token")
        self.token.setAccessibleName("API token")
        self.token.setToolTip("Kept in the system keyring, never in a file.")
        self.sign_in_button = QPushButton("Sign In and Sync")
        self.sign_in_button.setDefault(True)
        self.sign_in_button.clicked.connect(self.connect_to_server)
        form.addRow("Server:", self.server_url)
        form.addRow("Token:", self.token)
        sign_in_row = QHBoxLayout()
        sign_in_row.addStretch(1)
        sign_in_row.addWidget(self.sign_in_button)
        form.addRow(sign_in_row)
        self.server_form.setVisible(False)

        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Progress message")
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Progress")
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop and undo what was started")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setVisible(False)
        self.close_button = QPushButton("Not Now")
        self.close_button.setToolTip("Start with an empty home; Help › Welcome brings this back")
        self.close_button.clicked.connect(self.reject)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        keep_whole(self, 560)
        layout.setSpacing(10)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addWidget(self.demo_button)
        layout.addWidget(self.server_button)
        layout.addWidget(self.server_form)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        layout.addLayout(buttons)

    # -- actions ------------------------------------------------------------------------------------

    def build_demo(self) -> None:
        home = self._open_home()
        if home is None:
            return
        profiles, cancel = self._demo_profiles, self._cancel
        end = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)

        def work(report: Callable[[int, int], None]) -> str:
            from app.engines.demo import fill_demo

            def progress(done: int, total: int | None) -> None:
                if cancel.is_set():
                    raise Cancelled("Cancelled; the demo workspace was removed again.")
                report(min(done, total or done), total or 0)

            summary = fill_demo(home, profiles=profiles, days=WELCOME_DEMO_DAYS, end=end, progress=progress)
            return (f"The demo workspace is ready: {summary.profiles:,} people, {summary.events:,} events and "
                    f"{summary.audiences} example audiences.")

        self._start("Building the demo workspace…")
        self._tasks.run_reporting(work, label="Building the demo workspace", on_success=self._on_done,
                                  on_failure=self._on_failed).progressed.connect(self._on_progress)

    def connect_to_server(self) -> None:
        home = self._open_home()
        if home is None:
            return
        url, token, cancel = self.server_url.text(), self.token.text(), self._cancel

        def work() -> str:
            from app.engines.sync import sign_in, sync_home

            user, workspaces = sign_in(home, url, token)
            synced = sync_home(home, url, cancelled=cancel.is_set)
            if cancel.is_set():
                raise Cancelled("Cancelled; you are signed in, and the next sync continues where this one stopped.")
            names = ", ".join(w.name for w in synced) or "no workspaces yet"
            return f"Signed in as {user}. Synced: {names}."

        self._start("Signing in and syncing…")
        self.progress.setRange(0, 0)  # a sync does not know its total up front
        self._tasks.run(work, label="Connecting to the server", on_success=self._on_done, on_failure=self._on_failed)

    def cancel(self) -> None:
        self._cancel.set()
        self.cancel_button.setEnabled(False)
        self.status.setText("Cancelling…")

    def reject(self) -> None:
        if self._busy:  # Escape or the close box while working means Cancel, not "leave it running"
            self.cancel()
            return
        super().reject()

    # -- plumbing -------------------------------------------------------------------------------------

    def _open_home(self) -> OpenHome | None:
        home = self._connection.open_home
        if home is None:
            self.status.setText("The home is still opening; try again in a moment.")
        return home

    def _show_server_form(self) -> None:
        self.server_form.setVisible(True)
        self.server_url.setFocus(Qt.FocusReason.OtherFocusReason)

    def _start(self, message: str) -> None:
        self._busy = True
        self._cancel.clear()
        for widget in (self.demo_button, self.server_button, self.server_form, self.close_button):
            widget.setEnabled(False)
        self.status.setText(message)
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.cancel_button.setEnabled(True)
        self.cancel_button.setVisible(True)

    def _stop(self) -> None:
        self._busy = False
        for widget in (self.server_button, self.server_form, self.close_button):
            widget.setEnabled(True)
        self.demo_button.setEnabled(self._home_empty)
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)

    def _on_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.progress.setValue(int(100 * done / total))
            self.status.setText(f"Building the demo workspace… {done:,} of about {total:,} events")

    def _on_done(self, message: str) -> None:
        self._stop()
        self.status.setText(message)
        self.finished_setup.emit(message)
        self.accept()

    def _on_failed(self, exc: BaseException) -> None:
        self._stop()
        self.status.setText(failure_message(exc, "Setting up the home"))


def offer_welcome(connection: HomeConnection, tasks: Tasks, parent: QWidget,
                  on_setup: Callable[[str], None] | None = None, *, force: bool = False) -> None:
    """Show the welcome if the open home holds no workspace (or always, with `force`: Help › Welcome)."""
    home = connection.open_home
    if home is None:
        return

    def show(empty: bool) -> None:
        if not (empty or force) or connection.open_home is None:
            return
        dialog = WelcomeDialog(connection, tasks, parent, home_empty=empty)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if on_setup is not None:
            dialog.finished_setup.connect(on_setup)
        dialog.open()

    tasks.run(lambda: not home.workspaces.list(), label="Checking the home", on_success=show)
