"""The Preferences dialog: each workspace's real-time window and how often its live audiences are recalculated
(in the store), the app's own preferences (QSettings), and where the home's data and the logs live.

The workspaces are read in a worker before the dialog opens; OK refuses a field left empty or out of range
(the message names the field), then writes the changed windows in one transaction and the changed refresh
intervals, in a worker, and closes once that succeeded (a refusal is shown in the dialog).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QPalette
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.engines.home import OpenHome
from app.models.services.workspaces import MAX_MEMBERSHIP_REFRESH_MINUTES, MAX_REALTIME_WINDOW_DAYS, WorkspaceInfo
from app.paths import log_dir
from app.ui import settings
from app.ui.mnemonics import literal
from app.ui.workers import Tasks, failure_message
from app.ui.kit.dialogs import keep_whole

WINDOW_HELP = ("Real-time audiences look at this many days of events, counted back from the moment they are "
               "calculated. A longer window finds more users but counts more slowly.")
REFRESH_HELP = ("Active audiences are recalculated after every import and sync; while the app runs, also this "
                "often, so that members whose events grow older than a window leave on time.")
REFRESH_FIELD = "Refresh live audiences every"


def _place_row(path: Path, tip: str) -> QWidget:
    """The folder's path (selectable, to paste into a report) and a button that opens it."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    text = QLabel(str(path))
    text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    text.setToolTip(tip)
    show = QPushButton("Open")
    show.setToolTip(f"Open {path} in the file manager")
    show.setAccessibleName(f"Open {path}")
    show.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))))
    layout.addWidget(text, 1)
    layout.addWidget(show)
    return row


class PreferencesDialog(QDialog):
    """Real-time windows and live-audience refresh intervals per workspace; the live estimate's delay."""

    #: fires after the preferences were stored (the windows in the store, the rest in QSettings)
    saved = Signal()

    def __init__(self, home: OpenHome | None, tasks: Tasks, workspaces: list[WorkspaceInfo],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.setAccessibleName("Preferences")
        self._home = home
        self._tasks = tasks
        self._workspaces = workspaces
        self._saving = False

        windows = QGroupBox("Real-time window")
        # The help above the form, not a row spanning it: QFormLayout gave a wrapped row too little height
        # (its lines were cut at a larger font).
        windows_layout = QFormLayout()
        help_label = QLabel(WINDOW_HELP)
        help_label.setWordWrap(True)
        help_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        windows_outer = QVBoxLayout(windows)
        windows_outer.addWidget(help_label)
        windows_outer.addLayout(windows_layout)
        self.windows_form = windows_layout
        self.windows: dict[int, QSpinBox] = {}
        for workspace in workspaces:
            box = QSpinBox()
            box.setRange(1, MAX_REALTIME_WINDOW_DAYS)
            box.setSuffix(" days")
            box.setValue(workspace.realtime_window_days)
            box.setAccessibleName(f"Real-time window of {workspace.name}")
            box.setToolTip(f"Days of events real-time audiences of {workspace.name} look at (1–{MAX_REALTIME_WINDOW_DAYS})")
            windows_layout.addRow(literal(workspace.name), box)
            self.windows[workspace.id] = box
        if not workspaces:
            windows_layout.addRow(QLabel("There is no workspace yet."))

        refresh = QGroupBox("Live audiences")
        refresh_layout = QFormLayout()
        refresh_help = QLabel(REFRESH_HELP)
        refresh_help.setWordWrap(True)
        refresh_help.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        refresh_outer = QVBoxLayout(refresh)
        refresh_outer.addWidget(refresh_help)
        refresh_outer.addLayout(refresh_layout)
        self.refresh: dict[int, QSpinBox] = {}
        for workspace in workspaces:
            box = QSpinBox()
            box.setRange(1, MAX_MEMBERSHIP_REFRESH_MINUTES)
            box.setPrefix(f"{REFRESH_FIELD} ")
            box.setSuffix(" minutes")
            box.setValue(workspace.membership_refresh_minutes)
            box.setAccessibleName(f"{REFRESH_FIELD} (minutes), {workspace.name}")
            box.setToolTip(f"How often the Active audiences of {workspace.name} are recalculated while the app runs "
                           f"(1–{MAX_MEMBERSHIP_REFRESH_MINUTES} minutes)")
            refresh_layout.addRow(literal(workspace.name), box)
            self.refresh[workspace.id] = box
        refresh.setVisible(bool(workspaces))

        app_box = QGroupBox("Audience Studio")
        app_layout = QFormLayout(app_box)
        self.estimate_delay = QSpinBox()
        self.estimate_delay.setRange(*settings.ESTIMATE_DELAY_RANGE_MS)
        self.estimate_delay.setSingleStep(50)
        self.estimate_delay.setSuffix(" ms")
        self.estimate_delay.setValue(settings.estimate_delay_ms())
        self.estimate_delay.setAccessibleName("Live estimate delay")
        self.estimate_delay.setToolTip("How long the builder waits after an edit before it counts; "
                                       "applies to audiences opened from now on")
        app_layout.addRow("Estimate after an edit pauses for", self.estimate_delay)

        places = QGroupBox("Where things are")
        places_layout = QFormLayout(places)
        self.places: dict[str, Path] = {}
        data = home.home.root if home is not None else None
        for label, path, tip in (
            ("Data (home)", data, "The workspace store (what you make) and the cache (synced or imported data)"),
            ("Logs", log_dir(), "A rotating log of what the app did; attach it to a bug report"),
        ):
            if path is None:
                continue
            self.places[label] = path
            places_layout.addRow(label, _place_row(path, tip))

        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setAccessibleName("Problem")
        self.problem.setVisible(False)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(windows)
        layout.addWidget(refresh)
        layout.addWidget(app_box)
        layout.addWidget(places)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        keep_whole(self, 440)

    def changed_windows(self) -> dict[int, int]:
        return {ws.id: self.windows[ws.id].value() for ws in self._workspaces
                if self.windows[ws.id].value() != ws.realtime_window_days}

    def changed_refresh(self) -> dict[int, int]:
        return {ws.id: self.refresh[ws.id].value() for ws in self._workspaces
                if self.refresh[ws.id].value() != ws.membership_refresh_minutes}

    def bad_field(self) -> str | None:
        """A field left empty or out of range, named as the dialog shows it; None when every field is good."""
        for workspace in self._workspaces:
            for box, field, low, high, unit in (
                (self.windows[workspace.id], "Real-time window", 1, MAX_REALTIME_WINDOW_DAYS, "days"),
                (self.refresh[workspace.id], REFRESH_FIELD, 1, MAX_MEMBERSHIP_REFRESH_MINUTES, "minutes"),
            ):
                if not box.hasAcceptableInput():
                    box.setFocus()
                    return (f"“{field}” of {workspace.name} must be a whole number of {unit} from {low} to {high}; "
                            f"“{box.cleanText()}” is not.")
        return None

    def save(self) -> None:
        if self._saving:
            return
        problem = self.bad_field()
        if problem is not None:
            self._show_problem(problem)
            return
        settings.save_preferences(estimate_delay=self.estimate_delay.value())
        windows, refresh = self.changed_windows(), self.changed_refresh()
        if not (windows or refresh) or self._home is None:
            self._on_saved()
            return
        home = self._home

        def work() -> None:
            if windows:
                home.workspaces.set_realtime_windows(windows)
            for workspace_id, minutes in refresh.items():
                home.workspaces.set_membership_refresh(workspace_id, minutes)

        self._saving = True
        self.buttons.setEnabled(False)
        self._tasks.run(work, label="Saving the preferences", on_success=lambda _none: self._on_saved(),
                        on_failure=self._on_failed)

    def _on_saved(self) -> None:
        self._saving = False
        self.saved.emit()
        self.accept()

    def _on_failed(self, exc: BaseException) -> None:
        self._saving = False
        self.buttons.setEnabled(True)
        self._show_problem(failure_message(exc, "Saving the preferences"))

    def _show_problem(self, text: str) -> None:
        self.problem.setText(text)
        self.problem.setVisible(True)


def open_preferences(home: OpenHome | None, tasks: Tasks, parent: QWidget,
                     on_open: Callable[[PreferencesDialog], None] | None = None) -> None:
    """Read the workspaces in a worker, then show the dialog (modal to `parent`)."""

    def show(workspaces: list[WorkspaceInfo]) -> None:
        dialog = PreferencesDialog(home, tasks, workspaces, parent)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if on_open is not None:
            on_open(dialog)
        dialog.open()

    if home is None:
        show([])
        return
    tasks.run(lambda: home.workspaces.list(), label="Reading the workspaces", on_success=show)
