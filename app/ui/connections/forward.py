"""“Forward now” from the window: the forwarding engine run for one connection in a worker, showing the batches
sent of those planned, with Cancel (it stops after the batch being sent; the next run continues from there)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from app.engines.home import OpenHome
from app.ui.workers import Tasks, failure_message

if TYPE_CHECKING:
    from app.engines.forwarding import ForwardingEngine, ForwardingReport


def _default_engine(home: OpenHome) -> ForwardingEngine:
    # Imported when first used: the engine pulls in HTTP and Parquet libraries the window's start need not wait for.
    from app.engines.forwarding import ForwardingEngine

    return ForwardingEngine(home)


#: Makes the engine a run uses; tests swap in one that does not really sleep between retries.
make_engine: Callable[[OpenHome], ForwardingEngine] = _default_engine


def describe(report: ForwardingReport) -> str:
    """The outcome in the admin's words."""
    from app.engines.forwarding import CANCELLED, FAULTED, SENT, SKIPPED

    where = f"“{report.audience_name}” to “{report.output_name}”"
    if report.outcome == SENT:
        updated = f", {report.updated} updated" if report.updated else ""
        return (f"Forwarded {where}: {report.added} added{updated}, {report.removed} removed in "
                f"{report.batches} batch(es).")
    if report.outcome == FAULTED:
        return f"Forwarding {where} stopped with a fault: {report.reason} See the Faults pane."
    if report.outcome == CANCELLED:
        return (f"Forwarding {where} was cancelled after {report.batches} batch(es); the next run continues where "
                "it stopped.")
    if report.outcome == SKIPPED:
        return f"Forwarding {where} was skipped: {report.reason}"
    return f"“{report.output_name}” already holds everything “{report.audience_name}” has."


def progress_text(sent: int, planned: int, what: str | None = None) -> str:
    done = f"sent {sent:,} of {planned:,} batches…"
    return f"Forwarding {what}: {done}" if what else done[0].upper() + done[1:]


class ForwardRun(QObject):
    """One connection forwarded in the background; a dialog shows the batches sent of those planned, and its Cancel
    stops the run between batches."""

    #: fires on the GUI thread when the run ends: the report (None when it failed), and what to tell the admin
    finished = Signal(object, str)

    def __init__(self, home: OpenHome, tasks: Tasks, connection_id: int, parent: QWidget, *,
                 what: str | None = None) -> None:
        """`what`: the connection in words (“Buyers” to “Newsletter”), for the progress text."""
        super().__init__(parent)
        self._home, self._tasks, self.connection_id, self.what = home, tasks, connection_id, what
        self.engine = make_engine(home)
        self.progress = QProgressDialog(f"Forwarding {what or 'the audience'}…", "Cancel", 0, 0, parent)
        self.progress.setWindowTitle("Forward Now")
        self.progress.setMinimumDuration(0)
        self.progress.setAutoClose(False)
        self.progress.setAutoReset(False)
        self.progress.canceled.connect(self.cancel)
        self._finished = False

    def start(self) -> None:
        engine, connection_id = self.engine, self.connection_id

        def run(report):
            engine.on_batch = lambda _connection, sent, planned: report(sent, planned)
            return engine.forward_one(connection_id)

        self.progress.show()
        self.task = self._tasks.run_reporting(run, label="Forwarding", on_success=self._on_done,
                                              on_failure=self._on_failed)
        self.task.progressed.connect(self._on_progress)

    def cancel(self) -> None:
        """Stop after the batch being sent (what was sent stays recorded; the rest waits for the next run)."""
        if self._finished:
            return
        self.engine.cancel()
        self.progress.setLabelText("Stopping after the batch being sent…")
        self.progress.setCancelButtonText("Stopping…")
        # Keep it up until the worker has stopped: cancel() hid it, and closing early would hide the outcome.
        self.progress.show()

    def _on_progress(self, sent: int, planned: int) -> None:
        if self._finished or self.engine.cancelled:
            return
        self.progress.setMaximum(max(planned, 1))
        self.progress.setValue(sent)
        self.progress.setLabelText(progress_text(sent, planned, self.what))

    def _on_done(self, report: ForwardingReport) -> None:
        self._finished = True
        self.progress.close()
        self.finished.emit(report, describe(report))

    def _on_failed(self, exc: BaseException) -> None:
        self._finished = True
        self.progress.close()
        self.finished.emit(None, failure_message(exc, "Forwarding"))
