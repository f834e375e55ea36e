"""Sizing the listed audiences in the background: each size shown as it comes, a new start cancels the last.

The list is shown first; then `AudienceSizing.start` runs `SizeCalculator` in a worker, which tells
each audience's size as soon as it is counted. A newer start (a refresh, an edited audience)
cancels the running one through `SizeCalculator.cancel`, and a size from an older run is dropped.
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
from app.ui.workers import Tasks, failure_message

if TYPE_CHECKING:
    from app.engines.audience_sizes import AudienceSize, SizeCalculator

log = logging.getLogger(__name__)

SIZING_LABEL = "Sizing audiences"


def sizing_key(audience: AudienceInfo) -> tuple[Any, ...]:
    """What an audience's size depends on in the store; a size stays good while this stays the same."""
    return (json.dumps(audience.criteria, sort_keys=True), audience.workspace_ids, audience.input_ids)


class _Run:
    """One sizing run: its calculator once the worker made it, and whether it was cancelled before that."""

    def __init__(self, generation: int) -> None:
        self.generation = generation
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
    _sized_anywhere = Signal(int, object)

    def __init__(self, tasks: Tasks, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._run: _Run | None = None
        self._generation = 0
        self._sized_anywhere.connect(self._on_sized)

    def is_running(self) -> bool:
        return self._run is not None

    def start(self, home: OpenHome, audiences: Sequence[AudienceInfo]) -> None:
        """Size these audiences (cancelling a run still going)."""
        self.cancel()
        chosen = list(audiences)
        if not chosen:
            return
        self._generation += 1
        run = _Run(self._generation)
        self._run = run
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
            return calculator.sizes(chosen, progress=report, on_size=lambda size: emit(run.generation, size))

        self.started.emit([audience.id for audience in chosen])
        self._tasks.run_reporting(work, label=SIZING_LABEL, on_success=lambda _sizes: self._on_done(run),
                                  on_failure=lambda exc: self._on_failed(run, exc))

    def cancel(self) -> None:
        """Stop the running sizing, if any; sizes already shown stay."""
        run, self._run = self._run, None
        if run is not None:
            run.cancel()
            self.cancelled.emit()

    @Slot(int, object)
    def _on_sized(self, generation: int, size: AudienceSize) -> None:
        if self._run is not None and generation == self._run.generation:
            self.size_ready.emit(size)

    def _on_done(self, run: _Run) -> None:
        if run is self._run:
            self._run = None
            self.finished.emit()

    def _on_failed(self, run: _Run, exc: BaseException) -> None:
        from app.engines.audience_sizes import SizesCancelled  # loaded by the worker that failed

        if isinstance(exc, SizesCancelled) or run is not self._run:
            return  # cancelled on purpose; `cancel` already said so
        self._run = None
        self.failed.emit(failure_message(exc, SIZING_LABEL))
