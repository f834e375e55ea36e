"""Live estimates of the draft: debounced, on one worker thread of their own, newest request wins.

Each request answers in three steps, each shown as soon as it is known: the sampled estimate with
its interval, the exact count, then the exact count of every criterion and group (a second,
heavier query that computes each node on its own).

Each request takes a ticket of the editor's `NewestWins` runner (app.ui.kit.newest). A new request
makes the older ticket stale and fires its cancel hook, which interrupts the estimate that is running
(`EstimateSession.cancel` → DuckDB `interrupt()` on the estimator's own cursor); the worker skips
requests whose ticket went stale while queued and stops between steps, and any answer whose ticket
is not the newest is dropped on the GUI thread, so a stale count never replaces a newer one.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from app.builder.document import CriteriaError, Problem
from app.builder.estimator import Estimate, EstimateCancelled
from app.engines.editing_session import EstimateSession
from app.ui.kit.newest import NewestWins, Ticket
from app.ui.thread_priority import lower_current_thread
from app.ui.workers import failure_message

log = logging.getLogger(__name__)

#: Edits closer together than this make one estimate.
DEBOUNCE_MS = 300


class _Worker(QObject):
    """Lives on the estimate thread; runs one request at a time."""

    # Each answer carries its request's ticket: the GUI thread shows it only while the ticket is the newest.
    sample_ready = Signal(object, object)
    total_ready = Signal(object, object)
    exact_ready = Signal(object, object)
    invalid = Signal(object, object)
    failed = Signal(object, str)

    def __init__(self, session: EstimateSession) -> None:
        super().__init__()
        self.session = session

    @Slot(object, object, object)
    def run(self, ticket: Ticket, document: dict[str, Any], input_ids: tuple[int, ...]) -> None:
        lower_current_thread()
        if ticket.cancelled:
            return  # a newer request is queued behind this one
        try:
            sample = self.session.estimate(document, input_ids=input_ids, exact=False)
            self.sample_ready.emit(ticket, sample)
            if ticket.cancelled:
                return
            total = self.session.estimate(document, input_ids=input_ids, exact=True, nodes=False)
            self.total_ready.emit(ticket, total)
            if ticket.cancelled:
                return
            exact = self.session.estimate(document, input_ids=input_ids, exact=True, nodes=True)
            self.exact_ready.emit(ticket, exact)
        except EstimateCancelled:
            return
        except CriteriaError as exc:
            self.invalid.emit(ticket, list(exc.problems))
        except Exception as exc:  # noqa: BLE001 - reported, never raised into Qt's event loop
            if not getattr(exc, "__module__", "").startswith("app."):
                log.error("the estimate failed", exc_info=exc)
            self.failed.emit(ticket, failure_message(exc, "The estimate"))


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

    _submit = Signal(object, object, object)

    def __init__(self, session: EstimateSession, parent: QObject | None = None, *, debounce_ms: int = DEBOUNCE_MS) -> None:
        super().__init__(parent)
        self.session = session
        #: hands out one ticket per request; a new one cancels the running estimate (read by the worker thread)
        self.runner = NewestWins()
        #: answers dropped because a newer request had been made (for tests and the log)
        self.dropped = 0
        self._pending: tuple[Ticket, dict[str, Any], tuple[int, ...]] | None = None
        self._timer = QTimer(self, singleShot=True, interval=debounce_ms)
        self._timer.timeout.connect(self._start)
        self._thread = QThread()
        self._thread.setObjectName("live estimate")
        self._worker = _Worker(session)
        self._worker.moveToThread(self._thread)
        self._submit.connect(self._worker.run)
        self._worker.sample_ready.connect(self._on_sample)
        self._worker.total_ready.connect(self._on_total)
        self._worker.exact_ready.connect(self._on_exact)
        self._worker.invalid.connect(self._on_invalid)
        self._worker.failed.connect(self._on_failed)
        self._thread.start()
        self._running = False

    def request(self, document: dict[str, Any], input_ids: tuple[int, ...] = (), *, now: bool = False) -> Ticket:
        """Estimate this draft once edits pause; returns its ticket (stale once a newer request is made)."""
        # Whatever runs is about an older draft: its ticket's hook interrupts it.
        ticket = self.runner.begin(cancel=self.session.cancel)
        self._pending = (ticket, document, tuple(input_ids))
        self.requested.emit(ticket.generation)
        if now:
            self._timer.stop()
            self._start()
        else:
            self._timer.start()
        return ticket

    def forget(self) -> None:
        """Show no answer of the requests made so far (the criteria they count are gone); interrupt the running one."""
        self._timer.stop()
        self._pending = None
        self._running = False
        self.runner.stop()

    def is_busy(self) -> bool:
        return self._timer.isActive() or self._running

    def shutdown(self) -> None:
        """Stop the worker thread (the editor is closing); waits for a running estimate to be interrupted."""
        self._timer.stop()
        self.runner.stop()
        self.session.cancel()
        self._thread.quit()
        self._thread.wait()
        self.session.close()

    def _start(self) -> None:
        if self._pending is None:
            return
        ticket, document, input_ids = self._pending
        self._pending = None
        self._running = True
        self._submit.emit(ticket, document, input_ids)

    def _current(self, ticket: Ticket) -> bool:
        if not ticket.current:
            self.dropped += 1
            return False
        return True

    @Slot(object, object)
    def _on_sample(self, ticket: Ticket, estimate: Estimate) -> None:
        if self._current(ticket):
            self.sample_shown.emit(estimate)

    @Slot(object, object)
    def _on_total(self, ticket: Ticket, estimate: Estimate) -> None:
        if self._current(ticket):
            self.total_shown.emit(estimate)

    @Slot(object, object)
    def _on_exact(self, ticket: Ticket, estimate: Estimate) -> None:
        if self._current(ticket):
            self._running = False
            self.exact_shown.emit(estimate)

    @Slot(object, object)
    def _on_invalid(self, ticket: Ticket, problems: list[Problem]) -> None:
        if self._current(ticket):
            self._running = False
            self.problems_shown.emit(problems)

    @Slot(object, str)
    def _on_failed(self, ticket: Ticket, message: str) -> None:
        if self._current(ticket):
            self._running = False
            self.failed.emit(message)
