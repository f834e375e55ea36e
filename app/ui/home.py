"""The home the window works on: opened in the background, its store's changes relayed to the GUI thread."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, Signal, Slot

from app.engines.home import OpenHome
from app.paths import Home
from app.ui.workers import Tasks, failure_message

log = logging.getLogger(__name__)


class HomeConnection(QObject):
    """Opens one home in a worker, tells the panes when it is open and whenever its store changes."""

    #: fires on the GUI thread once the store and cache are open (the argument is the OpenHome)
    opened = Signal(object)
    #: fires when the home cannot be opened; the text says why
    open_failed = Signal(str)
    #: fires on the GUI thread after each committed change to the store: kind ("audience_changed"...), id
    store_changed = Signal(str, int)
    #: fires on the GUI thread when the home is about to close: anything with threads of its own over the home
    #: (automatic forwarding) stops then, whether or not a window's close went through first
    closing = Signal()

    # Emitted on whichever thread committed the change; queued to the GUI thread below.
    _changed_anywhere = Signal(str, int)

    def __init__(self, home: Home, tasks: Tasks, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.home = home
        self.tasks = tasks
        self.open_home: OpenHome | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._closing = False
        # Queued even when the change was committed on the GUI thread, so a pane never reloads
        # in the middle of the caller's own handler.
        self._changed_anywhere.connect(self._on_changed_anywhere, Qt.ConnectionType.QueuedConnection)

    def start(self) -> None:
        """Open the home in the background (it creates and migrates files)."""
        self.tasks.run(
            lambda: OpenHome.open(self.home),
            label="Opening the home",
            on_success=self._on_opened,
            on_failure=self._on_open_failed,
        )

    def close(self) -> None:
        """Wait for running work, then close the store and cache. Called once, when the app quits."""
        self._closing = True
        self.closing.emit()
        # Finished tasks' answers are delivered here (a home that finished opening meanwhile is handed
        # over, and closed below); an answer may start more work (a pane reloading after a sync), which
        # must end too before the cache closes under it. A few rounds suffice; a chain never goes deep.
        for _ in range(20):
            self.tasks.wait()
            QCoreApplication.sendPostedEvents(None, QEvent.Type.MetaCall)
            if not self.tasks.is_busy():
                break
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self.open_home is not None:
            self.open_home.close()
            log.info("closed home %s", self.home.root)
            self.open_home = None

    def _on_opened(self, open_home: OpenHome) -> None:
        if self._closing:
            open_home.close()
            return
        self.open_home = open_home
        self._unsubscribe = open_home.store.events.subscribe(self._changed_anywhere.emit)
        self.opened.emit(open_home)

    def _on_open_failed(self, exc: BaseException) -> None:
        self.open_failed.emit(failure_message(exc, f"Opening the home {self.home.root}"))

    @Slot(str, int)
    def _on_changed_anywhere(self, kind: str, subject_id: int) -> None:
        if self.open_home is not None:
            self.store_changed.emit(kind, subject_id)
