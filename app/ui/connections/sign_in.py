"""Signing an output in with OAuth 2.0 from the window: the system browser, a wait the admin can cancel, the outcome."""

from __future__ import annotations

import threading
import webbrowser
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from app.engines.home import OpenHome
from app.ui.workers import Tasks, failure_message

#: What opens the sign-in page; tests put a scripted browser here instead of the system one.
open_browser: Callable[[str], object] = webbrowser.open


class SignIn(QObject):
    """Runs OutputSignIn.authorize (app/engines/output_sign_in.py) in a worker while a dialog says to finish in the browser (Cancel stops it)."""

    #: fires on the GUI thread when the sign-in ends: whether it worked, and what to tell the admin
    finished = Signal(bool, str)

    def __init__(self, home: OpenHome, tasks: Tasks, output_id: int, output_name: str, parent: QWidget) -> None:
        super().__init__(parent)
        self._home, self._tasks = home, tasks
        self.output_id, self.output_name = output_id, output_name
        self._cancelled = threading.Event()
        self.progress = QProgressDialog(f"Finish signing in to “{output_name}” in your web browser…", "Cancel",
                                        0, 0, parent)
        self.progress.setWindowTitle("Sign In")
        self.progress.setMinimumDuration(0)
        self.progress.setAutoClose(False)
        self.progress.setAutoReset(False)
        # The Cancel button, closing the window and Esc all stop the wait: the loopback listener then closes and the
        # worker returns at once, instead of holding its thread (and the port) for the full five minutes.
        self.progress.canceled.connect(self.cancel)
        self.progress.rejected.connect(self.cancel)
        # A window closed mid-sign-in must not leave the worker waiting (quitting waits for the workers).
        self.destroyed.connect(self._cancelled.set)
        self._done = False

    def start(self) -> None:
        browser = open_browser
        home, output_id, cancelled = self._home, self.output_id, self._cancelled
        self.progress.show()
        self._tasks.run(lambda: home.output_sign_in.authorize(output_id, open_browser=browser, cancelled=cancelled),
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

    def _on_signed_in(self, _output) -> None:
        self._done = True
        self.progress.close()
        self.finished.emit(True, f"Signed in to “{self.output_name}”; its tokens are in the keyring.")

    def _on_failed(self, exc: BaseException) -> None:
        self._done = True
        self.progress.close()
        message = ("Sign-in cancelled; nothing changed." if self._cancelled.is_set()
                   else failure_message(exc, f"Signing in to {self.output_name}"))
        self.finished.emit(False, message)
