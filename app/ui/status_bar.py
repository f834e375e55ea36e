"""The window's status bar: the workspaces on the left; cache freshness and background work on the right."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from app.engines.home import OpenHome
from app.ui.freshness import cache_freshness, cache_freshness_detail
from app.ui.home import HomeConnection
from app.ui.kit.busy import BusyBar
from app.ui.kit.pane import PaneBus
from app.ui.workers import Tasks

#: "5 min ago" must not go stale while the window sits open; no query, only the text is recomputed.
AGE_TICK_MS = 60_000
PROGRESS_TICK_MS = 100


def workspace_summary(names: Sequence[str]) -> str:
    if not names:
        return "No workspace yet"
    return ("Workspace: " if len(names) == 1 else "Workspaces: ") + ", ".join(names)


class HomeStatusBar(QStatusBar):
    """Shows what the home holds and whether anything runs in the background."""

    #: fires after the workspace names and cache freshness have been read and shown
    refreshed = Signal()

    def __init__(self, connection: HomeConnection, tasks: Tasks, parent: QWidget | None = None, *,
                 bus: PaneBus | None = None) -> None:
        super().__init__(parent)
        self._connection = connection
        self._tasks = tasks
        self._cache: dict[str, Any] | None = None

        self.workspaces = QLabel("Opening the home…")
        self.workspaces.setAccessibleName("Workspaces")
        self.busy_label = QLabel()
        self.busy_label.setAccessibleName("Background work")
        self.busy = BusyBar(height=14, keep_place=False)
        self.busy.setMaximumWidth(100)
        self.freshness = QLabel()
        self.freshness.setAccessibleName("Cache freshness")

        # QProgressBar.setValue repaints at once (10+ ms): the bar follows the work at most every
        # PROGRESS_TICK_MS, on a turn of its own, not inside whatever turn finished or reported work.
        self._progress_timer = QTimer(self, interval=PROGRESS_TICK_MS, singleShot=True)
        self._progress_timer.timeout.connect(self._show_progress)

        self.addWidget(self.workspaces, 1)
        self.addPermanentWidget(self.busy_label)
        self.addPermanentWidget(self.busy)
        self.addPermanentWidget(self.freshness)
        self._on_activity_changed(tasks.activity())

        self._age_timer = QTimer(self, interval=AGE_TICK_MS)
        self._age_timer.timeout.connect(self._show_freshness)
        self._age_timer.start()

        tasks.activity_changed.connect(self._on_activity_changed)
        connection.opened.connect(self._on_home_opened)
        connection.open_failed.connect(self._on_home_open_failed)
        connection.store_changed.connect(self._on_store_changed)
        if bus is not None:
            bus.cache_changed.connect(self.reload)  # "synced just now"
            bus.message.connect(self.showMessage)

    def reload(self) -> None:
        home = self._connection.open_home
        if home is not None:
            from app.engines.info import home_info  # its cache module is the worker's to import

            self._tasks.run(lambda: home_info(home), label="Reading the home", on_success=self._on_info_read)

    def _on_info_read(self, info: dict[str, Any]) -> None:
        names = [workspace["name"] for workspace in info["workspaces"]]
        self.workspaces.setText(workspace_summary(names))
        self.workspaces.setToolTip(f"Home: {info['home']}")
        self._cache = info["cache"]
        self._show_freshness()
        self.refreshed.emit()

    def _show_freshness(self) -> None:
        if self._cache is None:
            return
        self.freshness.setText(cache_freshness(self._cache, dt.datetime.now(dt.UTC)))
        self.freshness.setToolTip(cache_freshness_detail(self._cache))

    def _on_activity_changed(self, activity: str) -> None:
        self.busy_label.setText(f"{activity}…" if activity else "")
        self.busy_label.setVisible(bool(activity))
        self.busy.setVisible(bool(activity))
        if not self._progress_timer.isActive():
            self._progress_timer.start()

    def _show_progress(self) -> None:
        # Work that says how far it is gets a bar that fills; other work, one that just moves.
        progress = self._tasks.progress()
        if not self._tasks.is_busy():
            return
        self.busy.set_progress(*(progress if progress is not None else (0, 0)))

    def _on_home_opened(self, _home: OpenHome) -> None:
        self.reload()

    def _on_home_open_failed(self, message: str) -> None:
        self.workspaces.setText("The home could not be opened")
        self.workspaces.setToolTip(message)

    def _on_store_changed(self, kind: str, _subject_id: int) -> None:
        # Audience edits do not change workspace names or the cache; only workspace changes do.
        if kind == "workspace_changed":
            self.reload()
