"""Newest request wins: one runner for every place that asks again before the last answer came back.

Typing in the editor, moving a revenue filter or changing a split asks for a new count while the old
one may still be running. Each request takes a `Ticket`; taking a new one makes the older stale and
calls its cancel hook (e.g. interrupting its DuckDB query), and an answer is delivered only if its
ticket is still the newest. No Qt here (napari's slicer and orange3's TaskState are the models), so it
is tested without a GUI and a worker can poll `ticket.cancelled` between steps.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class Ticket:
    """One request: its generation, whether a newer one replaced it, and a guard for its answers."""

    def __init__(self, runner: NewestWins, generation: int, cancel: Callable[[], None] | None) -> None:
        self._runner = runner
        self.generation = generation
        self._cancel = cancel

    @property
    def current(self) -> bool:
        """True while no newer request was made and the runner was not stopped."""
        return self._runner.generation == self.generation

    @property
    def cancelled(self) -> bool:
        """The opposite of `current`: a worker may stop early (callable from any thread)."""
        return not self.current

    def deliver(self, callback: Callable[..., Any]) -> Callable[..., None]:
        """`callback` wrapped so that it runs only while this ticket is still the newest."""
        def guarded(*args: Any) -> None:
            if self.current:
                callback(*args)
        return guarded

    def _fire_cancel(self) -> None:
        cancel, self._cancel = self._cancel, None
        if cancel is not None:
            try:
                cancel()
            except Exception:  # noqa: BLE001 - a failed interrupt must not stop the new request
                log.exception("cancelling request %s failed", self.generation)


class NewestWins:
    """Hands out tickets; each new one makes the previous stale and cancels it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation = 0
        self._last: Ticket | None = None

    @property
    def generation(self) -> int:
        """The newest generation handed out (or stopped at); read from any thread."""
        return self._generation

    def begin(self, cancel: Callable[[], None] | None = None) -> Ticket:
        """A ticket for a new request; `cancel` is called if a newer request (or `stop`) replaces it."""
        with self._lock:
            self._generation += 1
            previous, ticket = self._last, Ticket(self, self._generation, cancel)
            self._last = ticket
        if previous is not None:
            previous._fire_cancel()
        return ticket

    def stop(self) -> None:
        """No answer of any request made so far is delivered; the running one is cancelled."""
        with self._lock:
            self._generation += 1
            previous, self._last = self._last, None
        if previous is not None:
            previous._fire_cancel()
