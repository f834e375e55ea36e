"""The membership clock: while the app runs, live audiences are brought up to date in the background.

Every `TICK_MS` the clock asks the membership engine (`membership.run_due`, app/engines/membership.py) to
calculate what is due; the engine decides per workspace (its "Refresh live audiences every N minutes"
preference) and calculates at once anything else that changed. The run is a worker's, never the GUI thread's,
and never two at once: a tick while a run goes is skipped (the next tick catches up). After a run that
calculated or failed something, the bus's `cache_changed` makes the panes that show membership read again.
Imports and syncs run the engine themselves (`membership.after_load`); the clock is for recency windows that
slide with time, and for audiences activated or edited elsewhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from app.ui.home import HomeConnection
from app.ui.kit.pane import PaneBus
from app.ui.workers import Tasks

#: How often the clock asks; the engine's per-workspace interval (15 minutes by default) decides what runs.
TICK_MS = 60_000
LABEL = "Updating live audiences"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class MembershipClock(QObject):
    """Runs `membership.run_due` on a timer, one run at a time, in a worker."""

    #: fires on the GUI thread after a run, with the engine's RunReport
    ran = Signal(object)

    def __init__(self, connection: HomeConnection, tasks: Tasks, bus: PaneBus, parent: QObject | None = None, *,
                 interval_ms: int = TICK_MS, clock: Callable[[], dt.datetime] = _now) -> None:
        super().__init__(parent)
        self.connection, self.tasks, self.bus = connection, tasks, bus
        self._clock = clock
        self._running = False
        self.timer = QTimer(self, interval=interval_ms)
        self.timer.timeout.connect(self.tick)
        # The first tick comes one interval after the home opens: opening has just shown what is kept.
        connection.opened.connect(lambda _home: self.timer.start())

    def is_running(self) -> bool:
        return self._running

    def tick(self) -> bool:
        """Start a run unless one is going (or the home is not open, or closed); True when one started."""
        home = self.connection.open_home
        if home is None or self._running:
            return False
        self._running = True
        now = self._clock()

        def work():
            from app.engines import membership  # the engine brings DuckDB work the window's start does not need

            return membership.run_due(home, now)

        self.tasks.run(work, label=LABEL, on_success=self._on_ran, on_failure=self._on_failed)
        return True

    def _on_ran(self, report) -> None:
        self._running = False
        if report.calculated or report.failed:
            self.bus.cache_changed.emit()
        self.ran.emit(report)

    def _on_failed(self, exc: BaseException) -> None:
        # Logged by Tasks; each audience's own failure is recorded on it by the engine. A run that could not
        # start at all (the cache busy or closing) is retried by the next tick, so nothing is shown here.
        self._running = False
