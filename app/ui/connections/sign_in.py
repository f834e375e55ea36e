"""Signing an output in with OAuth 2.0 from the window: the system browser, a wait the admin can cancel, the outcome.

When no browser can be opened (none installed, a locked-down desktop, a remote session) the wait shows the
sign-in address with a Copy button, to open in a browser by hand; the loopback listener keeps waiting for it.
A browser that fails after it was started (`gio open` answering "Operation not supported", which Python's
webbrowser cannot see) goes unnoticed, so the address is always one click away: "Browser didn't open?".
"""

from __future__ import annotations

import threading
import webbrowser
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.connectors.outputs.secrets import KeyringUnavailable
from app.engines.home import OpenHome
from app.ui.connections import plaintext_choice
from app.ui.workers import Tasks, failure_message

#: What opens the sign-in page; tests put a scripted browser here instead of the system one.
open_browser: Callable[[str], object] = webbrowser.open


class SignInProgress(QDialog):
    """“Finish signing in in your web browser…” with Cancel; the address to copy when no browser opened."""

    #: fires when the admin cancels (the button, Esc or closing the window)
    canceled = Signal()

    def __init__(self, output_name: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign In")
        self.label = QLabel(f"Finish signing in to “{output_name}” in your web browser…", wordWrap=True)
        busy = QProgressBar()
        busy.setRange(0, 0)
        busy.setTextVisible(False)
        self.url_note = QLabel("No web browser could be opened. Open this address in a browser on this computer to "
                               "sign in (the answer comes back to Audience Studio on 127.0.0.1):", wordWrap=True)
        self.url = QLineEdit()
        self.url.setReadOnly(True)
        self.url.setAccessibleName("Sign-in address")
        self.copy_button = QPushButton("&Copy")
        self.copy_button.setToolTip("Copy the sign-in address to the clipboard")
        self.copy_button.clicked.connect(self.copy_url)
        url_row = QHBoxLayout()
        url_row.addWidget(self.url, 1)
        url_row.addWidget(self.copy_button)
        self.url_box = QWidget()
        box_layout = QVBoxLayout(self.url_box)
        box_layout.setContentsMargins(0, 0, 0, 0)
        box_layout.addWidget(self.url_note)
        box_layout.addLayout(url_row)
        self.url_box.setVisible(False)
        self.reveal_button = QPushButton("Browser didn't open? Show the &address")
        self.reveal_button.setFlat(True)
        self.reveal_button.setAutoDefault(False)
        self.reveal_button.setVisible(False)
        self.reveal_button.clicked.connect(self.reveal_url)
        buttons = QDialogButtonBox()
        self.cancel_button = buttons.addButton("Cancel", QDialogButtonBox.ButtonRole.RejectRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(busy)
        layout.addWidget(self.reveal_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.url_box)
        layout.addWidget(buttons)
        self.rejected.connect(self.canceled)
        self.setMinimumWidth(460)

    def offer_url(self, url: str) -> None:
        """The address the browser was asked to open, one click away in case it never did."""
        self.url.setText(url)
        self.url.setCursorPosition(0)
        self.reveal_button.setVisible(not self.url_box.isVisible())

    def reveal_url(self) -> None:
        self.url_note.setText("If no browser opened, open this address in a browser on this computer to sign in "
                              "(the answer comes back to Audience Studio on 127.0.0.1):")
        self._show_url_box()

    def show_url(self, url: str) -> None:
        """No browser could be opened: the address to open by hand, at once."""
        self.label.setText("Waiting for the sign-in to finish in the browser where you open the address below…")
        self.url.setText(url)
        self.url.setCursorPosition(0)
        self._show_url_box()

    def _show_url_box(self) -> None:
        self.reveal_button.setVisible(False)
        self.url_box.setVisible(True)
        self.copy_button.setFocus(Qt.FocusReason.OtherFocusReason)
        self.adjustSize()

    def copy_url(self) -> None:
        QGuiApplication.clipboard().setText(self.url.text())
        self.copy_button.setText("Copied")

    def setLabelText(self, text: str) -> None:  # noqa: N802 (QProgressDialog's name, which this replaces)
        self.label.setText(text)


class SignIn(QObject):
    """Runs OutputSignIn.authorize (app/engines/output_sign_in.py) in a worker while a dialog says to finish in the browser (Cancel stops it)."""

    #: fires on the GUI thread when the sign-in ends: whether it worked, and what to tell the admin
    finished = Signal(bool, str)
    #: emitted by the worker when no browser could be opened; delivered on the GUI thread (queued)
    _url_to_show = Signal(str)
    #: emitted by the worker with the address it asks the browser to open (queued to the GUI thread)
    _url_opened = Signal(str)

    def __init__(self, home: OpenHome, tasks: Tasks, output_id: int, output_name: str, parent: QWidget) -> None:
        super().__init__(parent)
        self._home, self._tasks = home, tasks
        self.output_id, self.output_name = output_id, output_name
        self._cancelled = threading.Event()
        self.progress = SignInProgress(output_name, parent)
        # The Cancel button, closing the window and Esc all stop the wait: the loopback listener then closes and the
        # worker returns at once, instead of holding its thread (and the port) for the full five minutes.
        self.progress.canceled.connect(self.cancel)
        self._url_to_show.connect(self.progress.show_url, Qt.ConnectionType.QueuedConnection)
        self._url_opened.connect(self.progress.offer_url, Qt.ConnectionType.QueuedConnection)
        # A window closed mid-sign-in must not leave the worker waiting (quitting waits for the workers).
        self.destroyed.connect(self._cancelled.set)
        self._done = False

    def start(self) -> None:
        system_browser, opened = open_browser, self._url_opened.emit

        def browser(url: str) -> object:
            opened(url)
            return system_browser(url)

        home, output_id, cancelled, show = self._home, self.output_id, self._cancelled, self._url_to_show.emit
        self.progress.show()
        self._tasks.run(lambda: home.output_sign_in.authorize(output_id, open_browser=browser, cancelled=cancelled,
                                                              show_url=show),
                        label=f"Signing in to {self.output_name}", on_success=self._on_signed_in,
                        on_failure=self._on_failed)

    def cancel(self) -> None:
        if self._done or self._cancelled.is_set():
            return
        self._cancelled.set()
        self.progress.setLabelText("Cancelling the sign-in…")

    @property
    def running(self) -> bool:
        return not self._done

    def _close_progress(self) -> None:
        self._done = True
        self.progress.hide()  # hidden, not closed: closing a dialog rejects it, which would read as Cancel

    def _on_signed_in(self, _output) -> None:
        self._close_progress()
        self.finished.emit(True, f"Signed in to “{self.output_name}”; its tokens are in the keyring.")

    def _on_failed(self, exc: BaseException) -> None:
        cancelled = self._cancelled.is_set()
        secrets = self._home.outputs.secrets
        if isinstance(exc, KeyringUnavailable) and not cancelled and secrets.plaintext_offered \
                and plaintext_choice.ask(self.progress.parentWidget()):
            # Chosen after the warning: sign in again, the tokens now going to the unencrypted file.
            self._tasks.run(secrets.allow_plaintext_file, label="Choosing the unencrypted secrets file",
                            on_success=lambda _path: self.start(), on_failure=self._on_failed)
            return
        self._close_progress()
        message = ("Sign-in cancelled; nothing changed." if cancelled
                   else failure_message(exc, f"Signing in to {self.output_name}"))
        self.finished.emit(False, message)
