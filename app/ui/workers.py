"""Background work: run a plain function on a thread pool and get its outcome back on the GUI thread.

One readable line per action, in the spirit of Anki's CollectionOp:

    tasks.run(lambda: home.audiences.list(), label="Loading audiences", on_success=self._on_audiences_loaded)

The function never touches widgets; the callbacks always run on the GUI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from app.errors import UserError

log = logging.getLogger(__name__)


def failure_message(exc: BaseException, label: str) -> str:
    """What to tell the user: a UserError's own words; for anything else, where to find the details."""
    if isinstance(exc, UserError):
        return str(exc)
    return f"{label} failed unexpectedly. The details are in the log (Help › About shows where)."


class Task(QObject):
    """One function run on the pool; its result or exception is delivered on the GUI thread."""

    #: fires on the GUI thread with the function's return value
    succeeded = Signal(object)
    #: fires on the GUI thread with the exception the function raised
    failed = Signal(object)
    #: fires on the GUI thread after `succeeded` or `failed`
    finished = Signal()

    # Emitted from the pool thread; Qt queues it to this object's (the GUI) thread.
    _done = Signal(object, object)

    def __init__(self, fn: Callable[[], Any], label: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.fn: Callable[[], Any] | None = fn
        self.label = label
        self._done.connect(self._on_done)

    def _run(self) -> None:
        """Runs on a pool thread."""
        fn, self.fn = self.fn, None  # let go of what the function captured (a home, a cursor) once it ran
        try:
            result = fn()
        except Exception as exc:  # noqa: BLE001 - handed to the GUI thread, never swallowed
            self._done.emit(None, exc)
        else:
            self._done.emit(result, None)

    @Slot(object, object)
    def _on_done(self, result: Any, exc: BaseException | None) -> None:
        if exc is None:
            self.succeeded.emit(result)
        else:
            self.failed.emit(exc)
        self.finished.emit()


class _Runnable(QRunnable):
    def __init__(self, task: Task) -> None:
        super().__init__()
        self._task = task

    def run(self) -> None:
        self._task._run()


class Tasks(QObject):
    """Starts background tasks for one window and says what is running and what went wrong."""

    #: fires when background work starts, finishes or changes; the text says what runs ("" when idle)
    activity_changed = Signal(str)
    #: fires when a task that has no failure handler of its own fails; the text is meant for the user
    error_reported = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        # A pool of our own, so `wait` waits for this window's work only.
        self._pool = QThreadPool(self)
        self._running: list[Task] = []

    def run(
        self,
        fn: Callable[[], Any],
        *,
        label: str,
        on_success: Callable[[Any], None] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> Task:
        """Run `fn()` on the pool. Without `on_failure`, a failure is reported through `error_reported`."""
        task = Task(fn, label, self)
        if on_success is not None:
            task.succeeded.connect(on_success)
        task.failed.connect(lambda exc: self._on_task_failed(task, exc, on_failure))
        task.finished.connect(lambda: self._on_task_finished(task))
        self._running.append(task)
        self.activity_changed.emit(self.activity())
        self._pool.start(_Runnable(task))
        return task

    def activity(self) -> str:
        """What runs now, for the status bar: the latest task's label, and how many others run."""
        if not self._running:
            return ""
        latest = self._running[-1].label
        others = len(self._running) - 1
        return latest if not others else f"{latest} (+{others} more)"

    def is_busy(self) -> bool:
        return bool(self._running)

    def wait(self, msecs: int = -1) -> bool:
        """Block until every started function has returned (for quitting); False on timeout."""
        return self._pool.waitForDone(msecs)

    def _on_task_failed(
        self, task: Task, exc: BaseException, on_failure: Callable[[BaseException], None] | None
    ) -> None:
        if not isinstance(exc, UserError):
            # A bug, not a user mistake: keep the traceback even when the caller handles the failure.
            log.error("%s failed", task.label, exc_info=exc)
        if on_failure is not None:
            on_failure(exc)
        else:
            self.error_reported.emit(failure_message(exc, task.label))

    def _on_task_finished(self, task: Task) -> None:
        self._running.remove(task)
        task.deleteLater()
        self.activity_changed.emit(self.activity())
