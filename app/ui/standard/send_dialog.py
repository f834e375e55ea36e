"""The Send dialog of a Ready standard audience: choose among its connections, then forward them now.

Connections of a standard audience forward nothing until sent; sending again later is allowed.
The connections are read, marked and forwarded in workers, with progress and Cancel.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from app.connectors.outputs.directory import partner
from app.models.services.connections import ConnectionInfo
from app.models.services.standard_audiences import StandardInfo
from app.engines.standard_calculation import StandardAudiences
from app.ui.connections import forward
from app.ui.mnemonics import literal
from app.ui.workers import Tasks, failure_message
from app.ui.kit.dialogs import keep_whole


def _partner_name(key: str) -> str:
    try:
        return partner(key).name
    except Exception:  # noqa: BLE001 - a partner no longer in the directory still shows by its key
        return key


class SendDialog(QDialog):
    """Ticks for the audience's connections; Send marks them and forwards them, one after the other."""

    #: fires once the connections are listed
    loaded = Signal()
    #: fires when sending has ended (the reports, or None when it failed)
    sent = Signal(object)

    def __init__(self, service: StandardAudiences, tasks: Tasks, audience: StandardInfo,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Send “{audience.name}”")
        self.setAccessibleName("Send standard audience")
        self._service, self._tasks, self.audience = service, tasks, audience
        self.checks: dict[int, QCheckBox] = {}
        self._engine = None
        self._running = False

        intro = QLabel(f"“{audience.name}” ({audience.size or 0:,} members, calculated "
                       f"{audience.calculated_at:%d %b %Y}) is forwarded only to the outputs you send it to. "
                       "You can send it again later.")
        intro.setWordWrap(True)
        self.list_box = QVBoxLayout()
        self.empty = QLabel("Loading the connections…")
        self.empty.setWordWrap(True)
        self.empty.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.list_box.addWidget(self.empty)
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Sending progress")
        self.progress.setVisible(False)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Status")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.send_button = self.buttons.addButton("Send", QDialogButtonBox.ButtonRole.AcceptRole)
        self.send_button.setEnabled(False)
        self.send_button.setToolTip("Forward the audience to the ticked outputs now")
        self.buttons.accepted.connect(self.send)
        self.buttons.rejected.connect(self._on_cancel)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(self.list_box)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        keep_whole(self, 460)

    def load(self) -> None:
        home, audience_id = self._service.home, self.audience.id
        self._tasks.run(lambda: home.connections.list(audience_id=audience_id), label="Loading connections",
                        on_success=self._on_loaded)

    def _on_loaded(self, connections: list[ConnectionInfo]) -> None:
        if not connections:
            self.empty.setText("This audience has no connections yet: connect it to an output in the Connections "
                               "pane, then send it.")
        else:
            self.empty.setVisible(False)
        for connection in connections:
            last = (f"last sent {connection.last_forwarded_at:%d %b %Y %H:%M}" if connection.send_requested_at
                    and connection.last_forwarded_at else "never sent")
            check = QCheckBox(literal(f"{connection.output_name} ({_partner_name(connection.partner)}) — {last}"))
            check.setAccessibleName(f"Send to {connection.output_name}")
            check.setChecked(connection.status == "sending" and connection.fault is None)
            if connection.status != "sending":
                check.setEnabled(False)
                check.setToolTip("The connection is Inactive: make it Sending in the Connections pane")
            elif connection.fault is not None:
                check.setEnabled(False)
                check.setToolTip("Forwarding to it stopped with a fault: resume it in the Faults pane")
            check.toggled.connect(self._update_button)
            self.list_box.addWidget(check)
            self.checks[connection.id] = check
        self._update_button()
        self.loaded.emit()

    def chosen(self) -> list[int]:
        return [cid for cid, check in self.checks.items() if check.isChecked() and check.isEnabled()]

    def _update_button(self, *_args) -> None:
        self.send_button.setEnabled(bool(self.chosen()) and not self._running)

    def send(self) -> None:
        ids = self.chosen()
        if not ids or self._running:
            return
        self._running = True
        self._update_button()
        service, audience_id = self._service, self.audience.id
        engine = self._engine = forward.make_engine(service.home)
        self.progress.setRange(0, len(ids))
        self.progress.setValue(0)
        self.progress.setFormat("%v of %m outputs")
        self.progress.setVisible(True)
        self.status.setText("Sending…")

        def run(report):
            service.send(audience_id, ids)
            done = []

            def progressed(one):
                done.append(one)
                report(len(done), len(ids))

            return engine.forward(ids, progress=progressed)

        task = self._tasks.run_reporting(run, label="Sending the standard audience", on_success=self._on_sent,
                                         on_failure=self._on_failed)
        task.progressed.connect(lambda done, _total: self.progress.setValue(done))

    def _on_sent(self, reports) -> None:
        self._running = False
        self._engine = None
        self.status.setText("\n".join(forward.describe(r) for r in reports) or "Cancelled before anything was sent.")
        self._finish()
        self.sent.emit(reports)

    def _on_failed(self, exc: BaseException) -> None:
        self._running = False
        self._engine = None
        self.status.setText(failure_message(exc, "Sending the audience"))
        self._finish()
        self.sent.emit(None)

    def _finish(self) -> None:
        self.send_button.setVisible(False)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Close")

    def _on_cancel(self) -> None:
        if self._running and self._engine is not None:
            self._engine.cancel()  # stops between batches; the next Send continues from there
            self.status.setText("Cancelling after the batch being sent…")
            return
        self.reject()
