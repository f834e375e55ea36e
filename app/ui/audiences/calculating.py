"""Calculations the audience list asks the membership engine for: Recalculate (F5) and activating audiences.

The list never calculates to show itself (it reads the engine's statuses); these are the two moments a user asks
for members now. `Calculation.start` runs `membership.refresh` in a worker with its progress on the pane's busy
bar; one calculation at a time: asking again while one runs calculates those audiences right after it (the
engine itself never runs two calculations of a cache at once either).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Signal

from app.engines.home import OpenHome
from app.ui.workers import Tasks, failure_message

LABEL = "Calculating audiences"


class Calculation(QObject):
    """Runs `membership.refresh` for the list, one at a time; signals arrive on the GUI thread."""

    #: fires when a calculation starts, with the ids of the audiences the list shows as calculating
    started = Signal(object)
    #: fires as the engine goes: (audiences done, audiences to do)
    progressed = Signal(int, int)
    #: fires when a calculation ended; the text is for the user ("" when all went well)
    finished = Signal(str)

    def __init__(self, tasks: Tasks, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._running = False
        #: what was asked while a calculation ran: (home, audience ids or None for all, ids shown calculating)
        self._next: tuple[OpenHome, set[int] | None, set[int]] | None = None

    def is_running(self) -> bool:
        return self._running

    def start(self, home: OpenHome, audience_ids: Sequence[int] | None, shown: Sequence[int]) -> None:
        """Calculate these audiences (None: every Active audience whose members could have changed)."""
        if self._running:
            _, ids, marked = self._next or (home, set(), set())
            ids = None if ids is None or audience_ids is None else ids | set(audience_ids)
            self._next = (home, ids, marked | set(shown))
            return
        self._running = True
        chosen = None if audience_ids is None else sorted(set(audience_ids))

        def work(report: Callable[[int, int], None]):
            from app.engines import membership  # the engine's DuckDB work, loaded by the worker

            return membership.refresh(home, audience_ids=chosen, progress=lambda done, total, _name: report(done, total))

        task = self._tasks.run_reporting(work, label=LABEL, on_success=self._on_done, on_failure=self._on_failed)
        task.progressed.connect(self.progressed)
        self.started.emit(list(shown))

    def _on_done(self, report) -> None:
        failed = len({audience_id for audience_id, _variant in report.failed})
        self._end("" if not failed else
                  f"{failed} audience{'s' if failed != 1 else ''} could not be calculated; the As of column says why.")

    def _on_failed(self, exc: BaseException) -> None:
        self._end(failure_message(exc, LABEL))

    def _end(self, message: str) -> None:
        self._running = False
        self.finished.emit(message)
        if self._next is not None:
            (home, ids, shown), self._next = self._next, None
            self.start(home, None if ids is None else sorted(ids), sorted(shown))
