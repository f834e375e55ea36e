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
from app.ui.thread_priority import lower_current_thread

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

    #: fires on the GUI thread when the function reports how far it got: (done, total)
    progressed = Signal(int, int)

    # Emitted from the pool thread; Qt queues them to this object's (the GUI) thread.
    _done = Signal(object, object)
    _report = Signal(int, int)

    def __init__(self, fn: Callable[[], Any], label: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.fn: Callable[[], Any] | None = fn
        self.label = label
        #: (done, total) as last reported, or None for work that does not know how far it is
        self.progress: tuple[int, int] | None = None
        self._done.connect(self._on_done)
        self._report.connect(self._on_report)

    def report(self, done: int, total: int) -> None:
        """How far the function got; callable from the pool thread."""
        self._report.emit(done, total)

    @Slot(int, int)
    def _on_report(self, done: int, total: int) -> None:
        self.progress = (done, total)
        self.progressed.emit(done, total)

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
        lower_current_thread()
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
        return self._start(Task(fn, label, self), on_success, on_failure)

    def run_reporting(
        self,
        fn: Callable[[Callable[[int, int], None]], Any],
        *,
        label: str,
        on_success: Callable[[Any], None] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> Task:
        """Like `run`, for work that knows how far it is: `fn(report)` calls `report(done, total)` as it goes,
        and the status bar shows it."""
        task = Task(lambda: fn(task.report), label, self)
        task.progressed.connect(lambda *_: self.activity_changed.emit(self.activity()))
        return self._start(task, on_success, on_failure)

    def _start(
        self,
        task: Task,
        on_success: Callable[[Any], None] | None,
        on_failure: Callable[[BaseException], None] | None,
    ) -> Task:
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
        task = self._running[-1]
        latest = task.label if task.progress is None else f"{task.label} ({task.progress[0]} of {task.progress[1]})"
        others = len(self._running) - 1
        return latest if not others else f"{latest} (+{others} more)"

    def progress(self) -> tuple[int, int] | None:
        """(done, total) of the latest task, when it reports how far it is."""
        return self._running[-1].progress if self._running else None

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


class SerialTasks(QObject):
    """Runs functions one after another, in the order asked, each on the pool through `Tasks`.

    For store writes whose order matters: an undo's restore must not overtake the delete it undoes.
    """

    def __init__(self, tasks: Tasks, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._queue: list[tuple[Callable[[], Any], str, Callable[[Any], None] | None,
                                Callable[[BaseException], None] | None]] = []
        self._running = False

    def run(
        self,
        fn: Callable[[], Any],
        *,
        label: str,
        on_success: Callable[[Any], None] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Run `fn()` once every function asked for before it has finished; callbacks as with `Tasks.run`."""
        self._queue.append((fn, label, on_success, on_failure))
        if not self._running:
            self._next()

    def is_busy(self) -> bool:
        return self._running or bool(self._queue)

    def _next(self) -> None:
        if not self._queue:
            self._running = False
            return
        self._running = True
        fn, label, on_success, on_failure = self._queue.pop(0)
        task = self._tasks.run(fn, label=label, on_success=on_success, on_failure=on_failure)
        task.finished.connect(self._next)
