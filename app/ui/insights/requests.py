"""One tab's questions to the insights engine: each runs in a worker, the newest wins, the busy bar moves
while the newest runs, and a failure is said in words (a UserError's own, never a traceback).

Each question gets its own `Queries` (the DuckDB cursors it runs on), passed to the work: asking again or
closing the window cancels it, which interrupts the query running (DuckDB `interrupt()`) instead of
letting it finish unseen. Work that polls `queries.cancelled` (the CSV export) stops and leaves no file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.engines.insights.queries import Queries
from app.ui.kit.busy import BusyBar
from app.ui.kit.newest import NewestWins, Ticket
from app.ui.workers import Tasks, failure_message


class Requests(QObject):
    """Runs a tab's questions; `failed` says why the newest one failed, in the user's words."""

    failed = Signal(str)
    busy_changed = Signal(bool)

    def __init__(self, tasks: Tasks, busy_bar: BusyBar, label: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tasks, self.busy_bar, self.label = tasks, busy_bar, label
        self.runner = NewestWins()
        self._running: Ticket | None = None

    def ask(self, work: Callable[[Queries], Any], on_answer: Callable[[Any], None], *, label: str | None = None,
            on_failure: Callable[[str], None] | None = None) -> Ticket:
        """Run `work(queries)` in a worker; `on_answer` gets its result only if no newer question was asked.

        The engine's queries should run on `queries` (its `queries=` argument) so a newer question stops them."""
        queries = Queries()
        ticket = self.runner.begin(cancel=queries.cancel)
        self._running = ticket
        self._set_busy(True)
        said = label or self.label

        def answered(result: Any) -> None:
            self._done(ticket)
            on_answer(result)

        def failed(exc: BaseException) -> None:
            self._done(ticket)
            (on_failure or self.failed.emit)(failure_message(exc, said))

        self.tasks.run(lambda: work(queries), label=said, on_success=ticket.deliver(answered),
                       on_failure=ticket.deliver(failed))
        return ticket

    def stop(self) -> None:
        """No answer of a question asked so far arrives; work polling its ticket stops."""
        self.runner.stop()
        self._running = None
        self._set_busy(False)

    def is_busy(self) -> bool:
        return self._running is not None

    def _done(self, ticket: Ticket) -> None:
        if self._running is ticket:
            self._running = None
            self._set_busy(False)

    def _set_busy(self, busy: bool) -> None:
        if busy != self.busy_bar.is_busy():
            self.busy_bar.set_busy(busy)
            self.busy_changed.emit(busy)
