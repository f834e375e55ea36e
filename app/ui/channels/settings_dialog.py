"""Channel Settings: switch one-toggle channels on and off, and set up (or switch off) channels that need it.

Every change is stored at once (through `tasks.run`); the dialog then shows the stored state again.
`changed` fires after each change so the Segment tab's Channels section can show it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.models.services.channels import ChannelService, ChannelState
from app.ui.audiences.model import local_time
from app.ui.channels.wizard import ERROR_STYLE, ChannelSetupWizard
from app.ui.workers import Tasks, failure_message
from app.ui.kit.dialogs import keep_whole


def _muted(label: QLabel) -> QLabel:
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    label.setWordWrap(True)
    return label


def describe_setup(state: ChannelState, address: str = "") -> str:
    """One line on the channel's set-up, and where its segments are sent, in the users' words."""
    c = state.channel
    sent = f" Segments are sent to {address}." if address else ""
    if c.needs_setup and not state.settings:
        return "Not set up yet."
    if state.configured_at is None:
        return "Switched off." + sent
    summary = ", ".join(str(v) for k, v in state.settings.items() if k != "confirm")
    on = "Switched on" if state.enabled else "Switched off"
    return (f"{on} by {state.configured_by}, {local_time(state.configured_at)}."
            + (f" Set-up: {summary}." if summary else "") + sent)


class ChannelSettingsDialog(QDialog):
    """See the module docstring. Call `load()` (or show it) to read the channels."""

    changed = Signal()
    loaded = Signal()

    def __init__(self, service: ChannelService, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.tasks = tasks
        self.states: list[ChannelState] = []
        self.toggles: dict[str, QCheckBox] = {}
        self.setup_buttons: dict[str, QPushButton] = {}
        self.off_buttons: dict[str, QPushButton] = {}
        self.wizard: ChannelSetupWizard | None = None
        self.setWindowTitle("Channel Settings")
        self.setAccessibleName("Channel settings")

        layout = QVBoxLayout(self)
        layout.addWidget(_muted(QLabel(
            "The platforms a public segment's name and category can be pushed to. Marketplace listings switch on "
            "with one tick; the others need setting up first.")))
        self.grid_holder = QWidget()
        self.grid = QGridLayout(self.grid_holder)
        self.grid.setContentsMargins(0, 6, 0, 6)
        self.grid.setHorizontalSpacing(14)
        self.grid.setVerticalSpacing(4)
        layout.addWidget(self.grid_holder)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setAccessibleName("Message")
        layout.addWidget(self.message)
        layout.addStretch(1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        keep_whole(self, 640)

    def load(self) -> None:
        service = self.service
        self.tasks.run(service.channels, label="Reading the channels", on_success=self._show,
                       on_failure=self._failed("Reading the channels"))

    def _failed(self, label: str):
        def show(exc: BaseException) -> None:
            self.message.setText(failure_message(exc, label))
            self.grid_holder.setEnabled(True)
        return show

    def _show(self, states: list[ChannelState]) -> None:
        self.states = states
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget() is not None:
                item.widget().hide()  # at once: deleteLater waits for the event loop
                item.widget().deleteLater()
        self.toggles.clear()
        self.setup_buttons.clear()
        self.off_buttons.clear()
        row = 0
        for state in states:
            c = state.channel
            name = QLabel(f"<b>{c.name}</b>")
            name.setToolTip(c.description)
            self.grid.addWidget(name, row, 0)
            # In a widget of its own, so the next _show removes it whole.
            holder = QWidget()
            controls = QHBoxLayout(holder)
            controls.setContentsMargins(0, 0, 0, 0)
            if c.needs_setup:
                setup = QPushButton("Change Set-Up…" if state.settings else "Set Up…")
                setup.setToolTip(f"Enter {c.name}'s configuration step by step")
                setup.setAccessibleName(f"Set up {c.name}")
                setup.clicked.connect(lambda _=False, s=state: self.open_wizard(s))
                self.setup_buttons[c.key] = setup
                controls.addWidget(setup)
                if state.enabled:
                    off = QPushButton("Switch Off")
                    off.setAccessibleName(f"Switch off {c.name}")
                    off.setToolTip("Stop pushing to it; its set-up is kept")
                    off.clicked.connect(lambda _=False, key=c.key: self._change(lambda: self.service.disable(key)))
                    self.off_buttons[c.key] = off
                    controls.addWidget(off)
            else:
                toggle = QCheckBox("On")
                toggle.setChecked(state.enabled)
                toggle.setAccessibleName(f"{c.name} on")
                toggle.setToolTip(f"Switch {c.name} on or off")
                toggle.toggled.connect(lambda on, key=c.key: self._change(
                    lambda: self.service.enable(key) if on else self.service.disable(key)))
                self.toggles[c.key] = toggle
                controls.addWidget(toggle)
            controls.addStretch(1)
            self.grid.addWidget(holder, row, 1)
            try:
                address = self.service.target(c.key, state.settings).base_url
            except KeyError:  # not set up: nowhere yet
                address = ""
            status = _muted(QLabel(f"{c.description} {describe_setup(state, address)}"))
            status.setAccessibleName(f"{c.name} set-up")
            self.grid.addWidget(status, row + 1, 0, 1, 2)
            row += 2
        self.grid.setColumnStretch(1, 1)
        self.grid_holder.setEnabled(True)
        self.loaded.emit()

    def _change(self, fn) -> None:
        self.message.setText("")
        self.grid_holder.setEnabled(False)
        self.tasks.run(lambda: (fn(), self.service.channels())[1], label="Changing the channel settings",
                       on_success=self._changed, on_failure=self._failed("Changing the channel settings"))

    def _changed(self, states: list[ChannelState]) -> None:
        self._show(states)
        self.changed.emit()

    def open_wizard(self, state: ChannelState) -> ChannelSetupWizard:
        self.wizard = ChannelSetupWizard(self.service, self.tasks, state, self)
        self.wizard.configured.connect(lambda _state: (self.load(), self.changed.emit()))
        self.wizard.setWindowModality(Qt.WindowModality.WindowModal)
        self.wizard.show()
        return self.wizard

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self.states:
            self.load()
