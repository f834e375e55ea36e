"""Sizing the listed audiences in the background: each size shown as it comes, a new start cancels the last.

The list is shown first; then `AudienceSizing.start` runs `SizeCalculator` in a worker, which tells
each audience's size as soon as it is counted. A newer start (a refresh, an edited audience)
cancels the running one through `SizeCalculator.cancel`, and a size from an older run is dropped
(the kit's NewestWins: each run holds a ticket). `SizesKept` remembers what each shown size was
counted for, so only the audiences whose criteria, workspaces or inputs changed are sized again.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Callable

from PySide6.QtCore import QObject, Signal, Slot

from app.models.services.audiences import AudienceInfo
from app.engines.home import OpenHome
from app.ui.kit.newest import NewestWins, Ticket
from app.ui.workers import Tasks, failure_message

if TYPE_CHECKING:
    from app.engines.audience_sizes import AudienceSize, SizeCalculator

log = logging.getLogger(__name__)

SIZING_LABEL = "Sizing audiences"


def sizing_key(audience: AudienceInfo) -> tuple[Any, ...]:
    """What an audience's size depends on in the store; a size stays good while this stays the same."""
    return (json.dumps(audience.criteria, sort_keys=True), audience.workspace_ids, audience.input_ids)


class _Run:
    """One sizing run's calculator, once the worker made it (a cancel before that stops it from starting)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.cancelled = False
        self.calculator: SizeCalculator | None = None

    def cancel(self) -> None:
        with self.lock:
            self.cancelled = True
            calculator = self.calculator
        if calculator is not None:
            calculator.cancel()


class AudienceSizing(QObject):
    """Runs one sizing at a time for the audiences pane; results arrive as signals on the GUI thread."""

    #: fires when a run starts, with the ids of the audiences it will size
    started = Signal(object)
    #: fires on the GUI thread with each AudienceSize of the current run, as soon as it is counted
    size_ready = Signal(object)
    #: fires when the current run has sized every audience it was given
    finished = Signal()
    #: fires when a run was cancelled (by `cancel` or a newer `start`)
    cancelled = Signal()
    #: fires when the current run failed for another reason; the text is meant for the user
    failed = Signal(str)

    # Emitted on the worker thread; queued to the GUI thread because this object lives there.
    _sized_anywhere = Signal(object, object)

    def __init__(self, tasks: Tasks, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._runs = NewestWins()
        #: the running run's ticket (None when no run is going)
        self._running: Ticket | None = None
        self._sized_anywhere.connect(self._on_sized)

    def is_running(self) -> bool:
        return self._running is not None

    def start(self, home: OpenHome, audiences: Sequence[AudienceInfo]) -> None:
        """Size these audiences (cancelling a run still going)."""
        self.cancel()
        chosen = list(audiences)
        if not chosen:
            return
        run = _Run()
        ticket = self._running = self._runs.begin(cancel=run.cancel)
        emit = self._sized_anywhere.emit

        def work(report: Callable[[int, int], None]) -> dict[int, AudienceSize]:
            # Imported by the worker: sizing brings the estimator and DuckDB, which the list does not need
            # to show (docs/performance.md, start-up).
            from app.engines.audience_sizes import SizeCalculator, SizesCancelled

            calculator = SizeCalculator(home)
            with run.lock:
                if run.cancelled:
                    raise SizesCancelled("Sizing the audiences was cancelled.")
                run.calculator = calculator
            return calculator.sizes(chosen, progress=report, on_size=lambda size: emit(ticket, size))

        self.started.emit([audience.id for audience in chosen])
        self._tasks.run_reporting(work, label=SIZING_LABEL, on_success=ticket.deliver(lambda _sizes: self._on_done()),
                                  on_failure=ticket.deliver(self._on_failed))

    def cancel(self) -> None:
        """Stop the running sizing, if any; sizes already shown stay."""
        running, self._running = self._running, None
        if running is not None:
            self._runs.stop()  # cancels the run's calculator; none of its answers is delivered
            self.cancelled.emit()

    @Slot(object, object)
    def _on_sized(self, ticket: Ticket, size: AudienceSize) -> None:
        if ticket.current:
            self.size_ready.emit(size)

    def _on_done(self) -> None:
        self._running = None
        self.finished.emit()

    def _on_failed(self, exc: BaseException) -> None:
        from app.engines.audience_sizes import SizesCancelled  # loaded by the worker that failed

        if isinstance(exc, SizesCancelled):
            return  # cancelled on purpose; `cancel` already said so
        self._running = None
        self.failed.emit(failure_message(exc, SIZING_LABEL))


class SizesKept:
    """What each audience's shown size was counted for, and what the running sizing counts: only an
    audience whose criteria, workspaces or inputs changed since is sized again."""

    def __init__(self) -> None:
        #: audience id → the sizing key its shown size was counted for
        self._sized: dict[int, tuple] = {}
        #: audience id → the sizing key the running sizing counts it for
        self._sizing: dict[int, tuple] = {}

    def forget(self) -> None:
        """Every size is to be counted again (a refresh; a workspace's real-time window changed)."""
        self._sized.clear()
        self._sizing.clear()

    def stale(self, audiences: Sequence[AudienceInfo]) -> list[AudienceInfo] | None:
        """The audiences to size now, or None when the running sizing already counts each as it is now."""
        keys = {audience.id: sizing_key(audience) for audience in audiences}
        stale = [a for a in audiences if self._sized.get(a.id) != keys[a.id]]
        if all(self._sizing.get(a.id) == keys[a.id] for a in stale):
            return None
        self._sizing = {a.id: keys[a.id] for a in stale}
        return stale

    def sized(self, audience_id: int) -> None:
        key = self._sizing.pop(audience_id, None)
        if key is not None:
            self._sized[audience_id] = key

    def stopped(self) -> None:
        """The running sizing ended (done, cancelled or failed): nothing is being counted."""
        self._sizing.clear()
