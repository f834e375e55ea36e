"""The Channels section of the audience's Segment tab: per channel, whether the segment is on it (and since when),
was taken off it (when and why, e.g. "expired after 90 days") or failed to go there (the error), with a Push or
Remove button; and "Channel Settings…" to switch channels on or set them up.

Loading first takes old and private segments off their channels (`ChannelService.tidy`), so what the user sees
is current, and says what was taken off. Every store call runs through `tasks.run`.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.models.channels import (
    FAILED,
    PUSHED,
    REMOVED,
    ChannelService,
    ChannelState,
    PushInfo,
    channel,
)
from app.models.segments import SegmentInfo, SegmentSettingsService
from app.ui.audiences.model import local_time
from app.ui.channels.settings_dialog import ChannelSettingsDialog
from app.ui.channels.wizard import ERROR_STYLE
from app.ui.home import HomeConnection
from app.ui.workers import Tasks, failure_message

OK_STYLE = "color: #2e7d32;"
REMOVED_STYLE = "color: #8d6e00;"


def _muted(label: QLabel) -> QLabel:
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    label.setWordWrap(True)
    return label


def why_not_pushable(segment: SegmentInfo) -> str:
    """Why the segment cannot be pushed ("" when it can)."""
    if not segment.is_public:
        return "Only public segments are pushed to channels: make the segment public above and save."
    if not segment.category:
        return "Channels list segments by category: choose a category above and save."
    return ""


class ChannelsSection(QGroupBox):
    """See the module docstring."""

    #: fires each time the section shows what is stored
    loaded = Signal()

    def __init__(self, connection: HomeConnection, tasks: Tasks, audience_id: int,
                 parent: QWidget | None = None) -> None:
        super().__init__("Channels", parent)
        self.setAccessibleName("Channels")
        self.connection = connection
        self.tasks = tasks
        self.audience_id = audience_id
        self.status_labels: dict[str, QLabel] = {}
        self.action_buttons: dict[str, QPushButton] = {}
        self.dialog: ChannelSettingsDialog | None = None
        self._closed = False

        layout = QVBoxLayout(self)
        layout.addWidget(_muted(QLabel(
            "Push the segment's name and category to external platforms. It is taken off them when it expires or "
            "is made private.")))
        self.note = _muted(QLabel())
        self.note.setAccessibleName("Why the segment cannot be pushed")
        self.note.setVisible(False)
        layout.addWidget(self.note)
        self.grid_holder = QWidget()
        self.grid = QGridLayout(self.grid_holder)
        self.grid.setContentsMargins(0, 4, 0, 4)
        self.grid.setHorizontalSpacing(12)
        layout.addWidget(self.grid_holder)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAccessibleName("Channels message")
        self.message.setVisible(False)
        layout.addWidget(self.message)
        self.settings_button = QPushButton("C&hannel Settings…")
        self.settings_button.setToolTip("Switch channels on or off, and set up the ones that need it")
        self.settings_button.clicked.connect(self.open_settings)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.settings_button)
        layout.addLayout(buttons)

    def shutdown(self) -> None:
        self._closed = True

    def _services(self) -> tuple[ChannelService, SegmentSettingsService] | None:
        home = None if self._closed else self.connection.open_home
        if home is None:
            return None
        return home.channels, home.segments

    def load(self) -> None:
        services = self._services()
        if services is None:
            return
        channels, segments = services
        audience_id = self.audience_id

        def read():
            taken_off = [p for p in channels.tidy() if p.audience_id == audience_id]
            return taken_off, channels.channels(), channels.pushes(audience_id), segments.get(audience_id)

        self.tasks.run(read, label="Reading the segment's channels", on_success=self._show,
                       on_failure=lambda exc: self._say(failure_message(exc, "Reading the segment's channels"), True))

    def _show(self, loaded: tuple[list[PushInfo], list[ChannelState], dict[str, PushInfo], SegmentInfo]) -> None:
        if self._closed:
            return
        taken_off, states, pushes, segment = loaded
        blocked = why_not_pushable(segment)
        self.note.setText(blocked)
        self.note.setVisible(bool(blocked))
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget() is not None:
                item.widget().hide()  # at once: deleteLater waits for the event loop
                item.widget().deleteLater()
        self.status_labels.clear()
        self.action_buttons.clear()
        for row, state in enumerate(states):
            c = state.channel
            name = QLabel(c.name)
            name.setToolTip(c.description)
            self.grid.addWidget(name, row, 0)
            push = pushes.get(c.key)
            status = QLabel(self._status(state, push))
            status.setWordWrap(True)
            status.setAccessibleName(f"{c.name} status")
            if push is not None:
                status.setStyleSheet({PUSHED: OK_STYLE, REMOVED: REMOVED_STYLE, FAILED: ERROR_STYLE}[push.state])
            else:
                status.setForegroundRole(QPalette.ColorRole.PlaceholderText)
            self.status_labels[c.key] = status
            self.grid.addWidget(status, row, 1)
            on_it = push is not None and push.state == PUSHED
            button = QPushButton("Remove" if on_it else "Push")
            button.setAccessibleName(f"{'Remove from' if on_it else 'Push to'} {c.name}")
            if on_it:
                button.setToolTip(f"Take the segment off {c.name}")
                button.clicked.connect(lambda _=False, key=c.key, n=c.name: self.remove(key, n))
            else:
                reason = blocked or ("" if state.enabled or (c.needs_setup and not state.settings)
                                     else f"{c.name} is switched off: switch it on in Channel Settings.")
                button.setEnabled(not reason)
                button.setToolTip(reason or f"Push “name | category” to {c.name}")
                button.clicked.connect(lambda _=False, key=c.key: self.push(key))
            self.action_buttons[c.key] = button
            self.grid.addWidget(button, row, 2)
        self.grid.setColumnStretch(1, 1)
        if taken_off:
            self._say("Taken off: " + "; ".join(f"{channel(p.channel_key).name} ({p.removed_reason})"
                                                 for p in taken_off) + ".", False)
        self.grid_holder.setEnabled(True)
        self.loaded.emit()

    @staticmethod
    def _status(state: ChannelState, push: PushInfo | None) -> str:
        if push is not None:
            return push.describe(local_time)
        if state.channel.needs_setup and not state.settings:
            return "Not pushed (the channel is not set up yet)"
        return "Not pushed" if state.enabled else "Not pushed (the channel is switched off)"

    def _say(self, text: str, error: bool) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(ERROR_STYLE if error else "")
        self.message.setVisible(bool(text))
        self.grid_holder.setEnabled(True)

    def _change(self, fn, label: str) -> None:
        services = self._services()
        if services is None:
            return
        self.message.setVisible(False)
        self.grid_holder.setEnabled(False)
        channels = services[0]
        self.tasks.run(lambda: fn(channels), label=label, on_success=lambda _r: self.load(),
                       on_failure=lambda exc: (self._say(failure_message(exc, label), True), self.load()))

    def push(self, key: str) -> None:
        audience_id = self.audience_id
        self._change(lambda channels: channels.push(audience_id, key), "Pushing the segment")

    def remove(self, key: str, name: str, *, confirm: bool = True) -> None:
        if confirm and QMessageBox.question(
                self, "Remove from Channel", f"Take the segment off {name}? Buyers there will no longer find it.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel) != QMessageBox.StandardButton.Yes:
            return
        audience_id = self.audience_id
        self._change(lambda channels: channels.remove(audience_id, key), "Removing the segment")

    def open_settings(self) -> ChannelSettingsDialog | None:
        services = self._services()
        if services is None:
            return None
        self.dialog = ChannelSettingsDialog(services[0], self.tasks, self)
        self.dialog.changed.connect(self.load)
        self.dialog.show()
        return self.dialog

