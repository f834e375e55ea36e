"""`audience-studio --self-test`: the real window opens the home, opens its first audience in the builder,
waits for the builder's exact estimate, prints it and quits.

The installers' smoke test runs it on the frozen bundle (installers/smoke_test.sh): it proves the
bundle holds everything a marketer's first minute needs (Qt, the store's migrations, DuckDB, the
criteria compiler, the worker threads) without a screen or a person.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

from app.ui.main_window import MainWindow

#: Exit codes: 0 passed, 1 failed, 2 timed out.
PASSED, FAILED, TIMED_OUT = 0, 1, 2


class SelfTest(QObject):
    def __init__(self, window: MainWindow, app: QApplication, *, timeout_ms: int = 300_000) -> None:
        super().__init__(window)
        self._window, self._app = window, app
        self._done = False
        window.pane("audiences").list.loaded.connect(self._on_audiences_loaded)
        window.connection.open_failed.connect(lambda message: self._finish(FAILED, message))
        window.tasks.error_reported.connect(lambda message: self._finish(FAILED, message))
        QTimer.singleShot(timeout_ms, lambda: self._finish(TIMED_OUT, f"no estimate after {timeout_ms // 1000} s"))

    def _on_audiences_loaded(self, count: int) -> None:
        if self._done or self._window.pane("audiences").editors.editors:
            return
        if not count:
            self._finish(FAILED, "the home holds no audience (build the demo first: audience-studio demo)")
            return
        audience = self._window.pane("audiences").list.model.audience(0)
        print(f"self-test: opening audience {audience.name!r}", flush=True)
        editor = self._window.pane("audiences").editors.open_audience(audience.id)
        editor.loaded.connect(lambda: editor.live.exact_shown.connect(
            lambda estimate: self._finish(PASSED, f"{audience.name!r} has {estimate.count:,} users "
                                                  f"({estimate.elapsed_ms:.0f} ms)")))

    def _finish(self, code: int, message: str) -> None:
        if self._done:
            return
        self._done = True
        print(f"self-test: {'passed' if code == PASSED else 'FAILED'}: {message}",
              file=sys.stdout if code == PASSED else sys.stderr, flush=True)
        # Closing the window stops the builder's threads the way quitting does; the exit code is ours,
        # not the 0 of "last window closed".
        self._app.setQuitOnLastWindowClosed(False)
        self._window.close()
        self._app.exit(code)
