"""Automatic forwarding while the desktop app is open: the activation engine's activator (app/engines/activation.py)
started when the home opens and stopped when the app quits, its reports turned into signals on the GUI thread.

The activator forwards only while it holds the home's forwarder lock; the app holds it from its first pass
while it is open (the activation agent waits meanwhile). Its planner and per-output queues are threads of
their own: nothing here runs a query or a request on the GUI thread. It is woken after each membership run
(the engine does that) and whenever a connection or audience changes (a connection just made as Sending
sends its members at once). A resumed fault is forwarded by Resume itself, or by the next pass.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal

from app.ui.home import HomeConnection
from app.ui.workers import Tasks

log = logging.getLogger(__name__)

#: Not "fault_changed": Resume forwards the connection itself (app/ui/faults), and a second run would only wait.
WAKE_ON = {"connection_changed", "audience_changed"}


class AutomaticForwarding(QObject):
    #: a forwarding run ended (a ForwardingReport), on the GUI thread
    reported = Signal(object)
    #: a run ended in a fault (the ForwardingReport): the tray notification's cue
    faulted = Signal(object)
    #: whether this app is now the home's forwarder
    state_changed = Signal(bool)

    # Emitted on the activator's threads; queued to the GUI thread.
    _reported_anywhere = Signal(object)
    _state_anywhere = Signal()

    def __init__(self, connection: HomeConnection, tasks: Tasks, parent: QObject | None = None, *,
                 poll_seconds: float | None = None, engine_factory=None) -> None:
        super().__init__(parent)
        self.connection, self.tasks = connection, tasks
        self.activator = None
        self._starting = self._stopped = False
        self._poll_seconds, self._engine_factory = poll_seconds, engine_factory
        self._reported_anywhere.connect(self._on_reported, Qt.ConnectionType.QueuedConnection)
        self._state_anywhere.connect(self._on_state, Qt.ConnectionType.QueuedConnection)
        connection.opened.connect(self.start)
        connection.store_changed.connect(self._on_store_changed)
        # A window whose close was refused (unsaved work) never stops it: the home's own close must.
        connection.closing.connect(self.stop)
        app = QCoreApplication.instance()
        if app is not None:  # before the home closes (application.py connects that after the window is made)
            app.aboutToQuit.connect(self.stop)

    @property
    def forwarding(self) -> bool:
        return self.activator is not None and self.activator.forwarding

    def start(self, home) -> None:
        """Start the activator once the engine's modules are imported (in a worker: they bring the partners'
        HTTP clients, which the GUI thread need not stall importing)."""
        if self.activator is not None or self._starting:
            return
        self._starting = True

        def load():
            from app.engines import activation

            return activation

        self.tasks.run(load, label="Starting automatic forwarding", on_success=lambda module: self._start(home, module))

    def _start(self, home, activation) -> None:
        self._starting = False
        if self._stopped or self.connection.open_home is not home:
            return
        self.activator = activation.Activator(
            home, holder="app", poll_seconds=self._poll_seconds or activation.POLL_SECONDS,
            on_report=self._reported_anywhere.emit, on_state=self._state_anywhere.emit,
            engine_factory=self._engine_factory).start()
        self.activator.wake()

    def stop(self) -> None:
        """Stop forwarding (each output after the batch it is sending) and let the lock go; the app is quitting."""
        self._stopped = True
        if self.activator is not None:
            self.activator.stop(timeout=10)
            self.activator = None

    def wake(self) -> None:
        if self.activator is not None:
            self.activator.wake()

    def _on_store_changed(self, kind: str, _subject: int) -> None:
        if kind in WAKE_ON:
            self.wake()

    def _on_reported(self, report) -> None:
        from app.engines.forwarding import FAULTED

        self.reported.emit(report)
        if report.outcome == FAULTED:
            self.faulted.emit(report)

    def _on_state(self) -> None:
        self.state_changed.emit(self.forwarding)
