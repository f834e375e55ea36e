"""The Channels section of the audience's Segment tab: per channel, whether the segment is on it (and since when),
was taken off it (when and why, e.g. "expired after 90 days"), failed to go there (the channel's answer, in red,
with Push Again) or could not be taken off (in red, with Retry Removal; the app retries it by itself too), with
a Push or Remove button; and "Channel Settings…" to switch channels on or set them up.

Loading first takes this segment off the channels where it is old or private and retries its failed removals
(`ChannelPushes.tidy(audience_id=...)`, app/engines/channel_pushes.py), so what the user sees is current, and says what was taken off and
what could not be. Every store call and every request to a channel runs through `tasks.run`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
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

from app.errors import UserError
from app.models.services.channels import (
    FAILED,
    PUSHED,
    REMOVED,
    ChannelState,
    PushInfo,
    channel,
)
from app.models.services.segments import SegmentInfo, SegmentSettingsService
from app.ui.audiences.model import local_time
from app.ui.channels.settings_dialog import ChannelSettingsDialog
from app.ui.channels.wizard import ERROR_STYLE
from app.ui.home import HomeConnection
from app.ui.workers import Tasks, failure_message

if TYPE_CHECKING:  # the engine brings requests, which the app's start need not wait for
    from app.engines.channel_pushes import ChannelPushes

OK_STYLE = "color: #2e7d32;"
REMOVED_STYLE = "color: #8d6e00;"
#: A status longer than this is shortened on the row; its tooltip has it whole.
MAX_STATUS_CHARS = 260


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

    def _services(self) -> tuple[ChannelPushes, SegmentSettingsService] | None:
        home = None if self._closed else self.connection.open_home
        if home is None:
            return None
        try:
            return home.channel_pushes, home.segments
        except UserError as exc:  # e.g. a malformed AUDIENCE_STUDIO_CHANNEL_ENDPOINTS (no I/O: just read)
            self._say(str(exc), True)
            return None

    def load(self) -> None:
        services = self._services()
        if services is None:
            return
        pushes, segments = services
        channels = pushes.channels
        audience_id = self.audience_id

        def read():
            tried = pushes.tidy(audience_id=audience_id)
            return tried, channels.channels(), channels.pushes(audience_id), segments.get(audience_id)

        self.tasks.run(read, label="Reading the segment's channels", on_success=self._show,
                       on_failure=lambda exc: self._say(failure_message(exc, "Reading the segment's channels"), True))

    def _show(self, loaded: tuple[list[PushInfo], list[ChannelState], dict[str, PushInfo], SegmentInfo]) -> None:
        if self._closed:
            return
        tried, states, pushes, segment = loaded
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
            self.grid.addWidget(name, row, 0, Qt.AlignmentFlag.AlignTop)
            push = pushes.get(c.key)
            text = self._status(state, push)
            status = QLabel(text if len(text) <= MAX_STATUS_CHARS else text[:MAX_STATUS_CHARS - 1].rstrip() + "…")
            status.setWordWrap(True)
            status.setToolTip(text)
            status.setAccessibleName(f"{c.name} status")
            status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            if push is not None:
                status.setStyleSheet(ERROR_STYLE if push.is_problem else
                                     {PUSHED: OK_STYLE, REMOVED: REMOVED_STYLE}[push.state])
            else:
                status.setForegroundRole(QPalette.ColorRole.PlaceholderText)
            self.status_labels[c.key] = status
            self.grid.addWidget(status, row, 1)
            button = self._action(c.key, c.name, state, push, blocked)
            self.action_buttons[c.key] = button
            self.grid.addWidget(button, row, 2, Qt.AlignmentFlag.AlignTop)
        self.grid.setColumnStretch(1, 1)
        taken_off = [p for p in tried if p.state == REMOVED]
        stuck = [p for p in tried if p.state != REMOVED]
        said = []
        if taken_off:
            said.append("Taken off: " + "; ".join(f"{channel(p.channel_key).name} ({p.removed_reason})"
                                                  for p in taken_off) + ".")
        if stuck:
            said.append("Could not take it off " + ", ".join(channel(p.channel_key).name for p in stuck)
                        + " (see above); it is retried automatically.")
        if said:
            self._say(" ".join(said), bool(stuck))
        self.grid_holder.setEnabled(True)
        self.loaded.emit()

    def _action(self, key: str, name: str, state: ChannelState, push: PushInfo | None, blocked: str) -> QPushButton:
        """The row's button: Remove (or Retry Removal) while the segment is on the channel, else Push (Again)."""
        if push is not None and push.state == PUSHED:
            if push.removal_pending:
                button = QPushButton("Retry Removal")
                button.setToolTip(f"Try again now to take the segment off {name} ({push.removed_reason}); the app "
                                  "also retries by itself")
                button.clicked.connect(lambda _=False: self.remove(key, name, confirm=False))
            else:
                button = QPushButton("Remove")
                button.setToolTip(f"Take the segment off {name}")
                button.clicked.connect(lambda _=False: self.remove(key, name))
            button.setAccessibleName(f"{button.text()} from {name}")
            return button
        failed = push is not None and push.state == FAILED
        button = QPushButton("Push Again" if failed else "Push")
        button.setAccessibleName(f"{button.text()} to {name}")
        reason = blocked or ("" if state.enabled or (state.channel.needs_setup and not state.settings)
                             else f"{name} is switched off: switch it on in Channel Settings.")
        button.setEnabled(not reason)
        button.setToolTip(reason or f"Send “name | category” to {name}'s taxonomy API")
        button.clicked.connect(lambda _=False: self.push(key))
        return button

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

    def _change(self, fn, label: str, key: str) -> None:
        services = self._services()
        if services is None:
            return
        self.message.setVisible(False)
        if key in self.status_labels:  # the request may take a while (up to the channel's timeout)
            self.status_labels[key].setText(label.removesuffix(" the segment") + "…")
            self.status_labels[key].setStyleSheet("")
        self.grid_holder.setEnabled(False)
        pushes = services[0]
        self.tasks.run(lambda: fn(pushes), label=label, on_success=lambda _r: self.load(),
                       on_failure=lambda exc: (self._say(failure_message(exc, label), True), self.load()))

    def push(self, key: str) -> None:
        audience_id = self.audience_id
        self._change(lambda pushes: pushes.push(audience_id, key), "Pushing the segment", key)

    def remove(self, key: str, name: str, *, confirm: bool = True) -> None:
        if confirm and QMessageBox.question(
                self, "Remove from Channel", f"Take the segment off {name}? Buyers there will no longer find it.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel) != QMessageBox.StandardButton.Yes:
            return
        audience_id = self.audience_id
        self._change(lambda pushes: pushes.remove(audience_id, key), "Removing the segment", key)

    def open_settings(self) -> ChannelSettingsDialog | None:
        services = self._services()
        if services is None:
            return None
        self.dialog = ChannelSettingsDialog(services[0].channels, self.tasks, self)
        self.dialog.changed.connect(self.load)
        self.dialog.show()
        return self.dialog

