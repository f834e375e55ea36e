"""Live estimates of the draft: debounced, on one worker thread of their own, newest request wins.

Each request answers in three steps, each shown as soon as it is known: the sampled estimate with
its interval, the exact count, then the exact count of every criterion and group (a second,
heavier query that computes each node on its own).

Each request gets a generation number. A new request interrupts the estimate that is running
(`EstimateSession.cancel` → DuckDB `interrupt()` on the estimator's own cursor), requests still
queued for the worker are skipped, and any answer whose generation is not the newest is dropped
on the GUI thread, so a stale count never replaces a newer one.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from app.builder.document import CriteriaError, Problem
from app.builder.estimator import Estimate, EstimateCancelled
from app.engines.editing_session import EstimateSession
from app.ui.thread_priority import lower_current_thread
from app.ui.workers import failure_message

log = logging.getLogger(__name__)

#: Edits closer together than this make one estimate.
DEBOUNCE_MS = 300


class _Worker(QObject):
    """Lives on the estimate thread; runs one request at a time."""

    sample_ready = Signal(int, object)
    total_ready = Signal(int, object)
    exact_ready = Signal(int, object)
    invalid = Signal(int, object)
    failed = Signal(int, str)

    def __init__(self, session: EstimateSession, owner: LiveEstimate) -> None:
        super().__init__()
        self.session = session
        self.owner = owner

    @Slot(int, object, object)
    def run(self, generation: int, document: dict[str, Any], input_ids: tuple[int, ...]) -> None:
        lower_current_thread()
        if self.owner.latest != generation:
            return  # a newer request is queued behind this one
        try:
            sample = self.session.estimate(document, input_ids=input_ids, exact=False)
            self.sample_ready.emit(generation, sample)
            if self.owner.latest != generation:
                return
            total = self.session.estimate(document, input_ids=input_ids, exact=True, nodes=False)
            self.total_ready.emit(generation, total)
            if self.owner.latest != generation:
                return
            exact = self.session.estimate(document, input_ids=input_ids, exact=True, nodes=True)
            self.exact_ready.emit(generation, exact)
        except EstimateCancelled:
            return
        except CriteriaError as exc:
            self.invalid.emit(generation, list(exc.problems))
        except Exception as exc:  # noqa: BLE001 - reported, never raised into Qt's event loop
            if not getattr(exc, "__module__", "").startswith("app."):
                log.error("the estimate failed", exc_info=exc)
            self.failed.emit(generation, failure_message(exc, "The estimate"))


class LiveEstimate(QObject):
    """Estimates the latest draft after each edit; results come back as signals on the GUI thread."""

    #: a new estimate was asked for (the generation); counts shown before it are out of date
    requested = Signal(int)
    #: the sampled estimate of the newest request arrived
    sample_shown = Signal(object)
    #: the exact count of the newest request arrived (no per-node counts yet: `nodes` is empty)
    total_shown = Signal(object)
    #: the exact estimate with per-node counts of the newest request arrived (its last step)
    exact_shown = Signal(object)
    #: the newest request cannot be counted: the engine's problems, each naming its node
    problems_shown = Signal(object)
    #: the newest request failed; the text is meant for the user
    failed = Signal(str)

    _submit = Signal(int, object, object)

    def __init__(self, session: EstimateSession, parent: QObject | None = None, *, debounce_ms: int = DEBOUNCE_MS) -> None:
        super().__init__(parent)
        self.session = session
        #: the newest generation asked for; read by the worker thread (an int: reads are atomic)
        self.latest = 0
        #: answers dropped because a newer request had been made (for tests and the log)
        self.dropped = 0
        self._pending: tuple[dict[str, Any], tuple[int, ...]] | None = None
        self._timer = QTimer(self, singleShot=True, interval=debounce_ms)
        self._timer.timeout.connect(self._start)
        self._thread = QThread()
        self._thread.setObjectName("live estimate")
        self._worker = _Worker(session, self)
        self._worker.moveToThread(self._thread)
        self._submit.connect(self._worker.run)
        self._worker.sample_ready.connect(self._on_sample)
        self._worker.total_ready.connect(self._on_total)
        self._worker.exact_ready.connect(self._on_exact)
        self._worker.invalid.connect(self._on_invalid)
        self._worker.failed.connect(self._on_failed)
        self._thread.start()
        self._running = False

    def request(self, document: dict[str, Any], input_ids: tuple[int, ...] = (), *, now: bool = False) -> int:
        """Estimate this draft once edits pause; returns its generation."""
        self.latest += 1
        self.session.cancel()  # whatever runs is about an older draft
        self._pending = (document, tuple(input_ids))
        self.requested.emit(self.latest)
        if now:
            self._timer.stop()
            self._start()
        else:
            self._timer.start()
        return self.latest

    def is_busy(self) -> bool:
        return self._timer.isActive() or self._running

    def shutdown(self) -> None:
        """Stop the worker thread (the editor is closing); waits for a running estimate to be interrupted."""
        self._timer.stop()
        self.latest += 1
        self.session.cancel()
        self._thread.quit()
        self._thread.wait()
        self.session.close()

    def _start(self) -> None:
        if self._pending is None:
            return
        document, input_ids = self._pending
        self._pending = None
        self._running = True
        self._submit.emit(self.latest, document, input_ids)

    def _current(self, generation: int) -> bool:
        if generation != self.latest:
            self.dropped += 1
            return False
        return True

    @Slot(int, object)
    def _on_sample(self, generation: int, estimate: Estimate) -> None:
        if self._current(generation):
            self.sample_shown.emit(estimate)

    @Slot(int, object)
    def _on_total(self, generation: int, estimate: Estimate) -> None:
        if self._current(generation):
            self.total_shown.emit(estimate)

    @Slot(int, object)
    def _on_exact(self, generation: int, estimate: Estimate) -> None:
        if self._current(generation):
            self._running = False
            self.exact_shown.emit(estimate)

    @Slot(int, object)
    def _on_invalid(self, generation: int, problems: list[Problem]) -> None:
        if self._current(generation):
            self._running = False
            self.problems_shown.emit(problems)

    @Slot(int, str)
    def _on_failed(self, generation: int, message: str) -> None:
        if self._current(generation):
            self._running = False
            self.failed.emit(message)
