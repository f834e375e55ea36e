"""“Forward now” from the window: the forwarding engine run for one connection in a worker, with Cancel."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from app.models.home import OpenHome
from app.ui.workers import Tasks, failure_message

if TYPE_CHECKING:
    from app.models.forwarding import ForwardingEngine, ForwardingReport


def _default_engine(home: OpenHome) -> "ForwardingEngine":
    # Imported when first used: the engine pulls in HTTP and Parquet libraries the window's start need not wait for.
    from app.models.forwarding import ForwardingEngine

    return ForwardingEngine(home)


#: Makes the engine a run uses; tests swap in one that does not really sleep between retries.
make_engine: Callable[[OpenHome], "ForwardingEngine"] = _default_engine


def describe(report: "ForwardingReport") -> str:
    """The outcome in the admin's words."""
    from app.models.forwarding import CANCELLED, FAULTED, SENT, SKIPPED

    where = f"“{report.audience_name}” to “{report.output_name}”"
    if report.outcome == SENT:
        return f"Forwarded {where}: {report.added} added, {report.removed} removed in {report.batches} batch(es)."
    if report.outcome == FAULTED:
        return f"Forwarding {where} stopped with a fault: {report.reason} See the Faults pane."
    if report.outcome == CANCELLED:
        return f"Forwarding {where} was cancelled; the next run continues where it stopped."
    if report.outcome == SKIPPED:
        return f"Forwarding {where} was skipped: {report.reason}"
    return f"“{report.output_name}” already holds everything “{report.audience_name}” has."


class ForwardRun(QObject):
    """One connection forwarded in the background; a busy dialog whose Cancel stops it between batches."""

    #: fires on the GUI thread when the run ends: the report (None when it failed), and what to tell the admin
    finished = Signal(object, str)

    def __init__(self, home: OpenHome, tasks: Tasks, connection_id: int, parent: QWidget) -> None:
        super().__init__(parent)
        self._home, self._tasks, self.connection_id = home, tasks, connection_id
        self.engine = make_engine(home)
        self.progress = QProgressDialog("Forwarding the audience's identities…", "Cancel", 0, 0, parent)
        self.progress.setWindowTitle("Forward Now")
        self.progress.setMinimumDuration(0)
        self.progress.setAutoClose(False)
        self.progress.setAutoReset(False)
        self.progress.canceled.connect(self.engine.cancel)

    def start(self) -> None:
        engine, connection_id = self.engine, self.connection_id
        self.progress.show()
        self._tasks.run(lambda: engine.forward_one(connection_id), label="Forwarding",
                        on_success=self._on_done, on_failure=self._on_failed)

    def _on_done(self, report: "ForwardingReport") -> None:
        self.progress.close()
        self.finished.emit(report, describe(report))

    def _on_failed(self, exc: BaseException) -> None:
        self.progress.close()
        self.finished.emit(None, failure_message(exc, "Forwarding"))
