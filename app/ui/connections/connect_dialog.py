"""Connecting audiences to an output: choose one or several (a bulk connect), one set of settings, then the report."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.connectors.outputs.directory import partner
from app.connectors.outputs.settings import SettingsProblems
from app.models.connections import BulkReport
from app.models.home import OpenHome
from app.models.outputs import OutputInfo
from app.ui.connections.form import FieldsForm
from app.ui.workers import Tasks, failure_message

STATUSES = (("sending", "Sending"), ("inactive", "Inactive"))


class ConnectDialog(QDialog):
    """Tick audiences (from `audiences`: (id, name) pairs); Connect connects them and shows each one's outcome."""

    #: fires on the GUI thread once a connect or bulk connect ran: the BulkReport
    connected = Signal(object)

    def __init__(self, home: OpenHome, tasks: Tasks, output: OutputInfo, audiences: list[tuple[int, str]],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._home, self._tasks, self.output = home, tasks, output
        self.setWindowTitle(f"Connect Audiences to “{output.name}”")
        self.setMinimumWidth(480)

        self.search = QLineEdit(placeholderText="Filter audiences")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter)
        self.audiences = QListWidget()
        self.audiences.setAccessibleName("Audiences to connect")
        for audience_id, name in audiences:
            item = QListWidgetItem(name)
            item.setData(Qt.ItemDataRole.UserRole, audience_id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.audiences.addItem(item)
        self.status = QComboBox()
        for key, label in STATUSES:
            self.status.addItem(label, key)
        self.settings_form = FieldsForm(partner(output.partner).connection_fields)
        form = QFormLayout()
        form.addRow("&Status", self.status)
        hint = QLabel("Tick several audiences to connect them all with the same settings.", wordWrap=True)

        self.report = QListWidget()
        self.report.setAccessibleName("Connection report")
        self.report.setVisible(False)
        self.message = QLabel(wordWrap=True)
        self.message.setVisible(False)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.connect_button = self.buttons.addButton("&Connect", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.connect_chosen)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(hint)
        layout.addWidget(self.search)
        layout.addWidget(self.audiences, 1)
        layout.addLayout(form)
        if self.settings_form.inputs:
            layout.addWidget(self.settings_form)
        layout.addWidget(self.message)
        layout.addWidget(self.report, 1)
        layout.addWidget(self.buttons)

    def _filter(self, text: str) -> None:
        for row in range(self.audiences.count()):
            item = self.audiences.item(row)
            item.setHidden(bool(text) and text.casefold() not in item.text().casefold())

    def choose(self, audience_ids: list[int]) -> None:
        """Tick exactly these audiences (as the admin would)."""
        for row in range(self.audiences.count()):
            item = self.audiences.item(row)
            chosen = item.data(Qt.ItemDataRole.UserRole) in audience_ids
            item.setCheckState(Qt.CheckState.Checked if chosen else Qt.CheckState.Unchecked)

    def chosen(self) -> list[int]:
        return [self.audiences.item(row).data(Qt.ItemDataRole.UserRole) for row in range(self.audiences.count())
                if self.audiences.item(row).checkState() == Qt.CheckState.Checked]

    def connect_chosen(self) -> None:
        chosen = self.chosen()
        if not chosen:
            self._show_message("Tick at least one audience to connect.")
            return
        connections, output_id = self._home.connections, self.output.id
        settings, status = self.settings_form.values(), self.status.currentData()
        self.connect_button.setEnabled(False)
        self._tasks.run(lambda: connections.bulk_connect(output_id, chosen, settings, status=status),
                        label="Connecting audiences", on_success=self._on_connected, on_failure=self._on_failed)

    def _show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def _on_connected(self, report: BulkReport) -> None:
        self.report.clear()
        for result in report.results:
            text = (f"✓ {result.audience_name}: connected" if result.connected
                    else f"✗ {result.audience_name}: not connected, {result.reason}")
            self.report.addItem(text)
        self._show_message(f"{len(report.connected)} connected, {len(report.refused)} not connected.")
        self.report.setVisible(True)
        self.audiences.setEnabled(False)
        self.connect_button.setVisible(False)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Close")
        self.connected.emit(report)

    def _on_failed(self, exc: BaseException) -> None:
        self.connect_button.setEnabled(True)
        if isinstance(exc, SettingsProblems):
            self.settings_form.show_problems(exc.problems)
        self._show_message(failure_message(exc, "Connecting"))
