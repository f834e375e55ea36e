"""The Calculate dialog: the chosen drafts, the days scanned and the credits about to be spent against the balance;
refuses when the balance is short; then the calculation's progress with Cancel.

The quote, the start (credits spent, drafts marked Calculating) and the calculation itself each run
in a worker; nothing is spent before the user presses Calculate.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QListWidget,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from app.models.services.standard_audiences import Quote
from app.engines.standard_calculation import CalculationJob, StandardAudiences
from app.ui.workers import Tasks, failure_message
from app.ui.kit.dialogs import keep_whole


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


class CalculateDialog(QDialog):
    """Shows what calculating the chosen drafts together costs; Calculate spends it and shows the progress."""

    #: fires when the calculation has ended: "done", "cancelled" or "failed"
    finished_calculation = Signal(str)
    #: fires once the quote is shown (for tests and the pane)
    quoted = Signal()
    #: fires when the calculation has started (the CalculationJob), so the pane can cancel it on quit
    started = Signal(object)

    def __init__(self, service: StandardAudiences, tasks: Tasks, audience_ids: list[int],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Calculate Standard Audiences")
        self.setAccessibleName("Calculate standard audiences")
        self._service, self._tasks, self._ids = service, tasks, list(audience_ids)
        self.quote: Quote | None = None
        self.job: CalculationJob | None = None
        self.outcome: str | None = None

        intro = QLabel("These drafts are calculated together over all cached history in their date ranges. "
                       "Credits are spent when the calculation starts; cancelling refunds what the unfinished "
                       "audiences would have cost.")
        intro.setWordWrap(True)
        self.audiences = QListWidget()
        self.audiences.setAccessibleName("Audiences to calculate")
        self.audiences.setMaximumHeight(100)
        self.days = QLabel("…")
        self.days.setAccessibleName("Days scanned")
        self.days.setToolTip("The distinct days in the union of the date ranges: overlapping ranges are scanned once")
        self.credits = QLabel("…")
        self.credits.setAccessibleName("Credits to spend")
        self.credits.setToolTip("One credit covers 365 days of data scanned, however many audiences are calculated "
                                "together: max(1, ceil((days − 1) / 365))")
        self.balance = QLabel("…")
        self.balance.setAccessibleName("Balance")
        form = QFormLayout()
        form.addRow("Days scanned:", self.days)
        form.addRow("Credits to spend:", self.credits)
        form.addRow("Balance:", self.balance)

        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setAccessibleName("Problem")
        self.problem.setStyleSheet("color: #b3261e;")
        self.problem.setVisible(False)
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Calculation progress")
        self.progress.setFormat("%v of %m audiences calculated")
        self.progress.setVisible(False)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Status")
        self.status.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.status.setVisible(False)

        self.buttons = QDialogButtonBox()
        self.calculate_button = self.buttons.addButton("Calculate", QDialogButtonBox.ButtonRole.AcceptRole)
        self.calculate_button.setEnabled(False)
        self.calculate_button.setToolTip("Spend the credits shown and start calculating")
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.start)
        self.buttons.rejected.connect(self._on_cancel_pressed)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.audiences)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        keep_whole(self, 480)

    # -- the quote ------------------------------------------------------------------------------

    def load(self) -> None:
        """Work out the cost in a worker (it may read the cache for "all available data")."""
        service, ids = self._service, self._ids
        self._tasks.run(lambda: service.quote(ids), label="Working out the credits", on_success=self._on_quoted,
                        on_failure=self._on_quote_failed)

    def _on_quoted(self, quote: Quote) -> None:
        self.quote = quote
        self.audiences.clear()
        for audience in quote.audiences:
            self.audiences.addItem(f"{audience.name} — {audience.start:%d %b %Y} to {audience.end:%d %b %Y}")
        self.days.setText(_plural(quote.days, "day"))
        self.credits.setText(f"<b>{_plural(quote.credits, 'credit')}</b>")
        after = quote.balance - quote.credits
        self.balance.setText(f"{_plural(quote.balance, 'credit')} in “{quote.workspace_name}”"
                             + (f" ({after:,} after this)" if quote.enough else ""))
        shortfall = quote.shortfall_text()
        self.problem.setText(shortfall or "")
        self.problem.setVisible(shortfall is not None)
        self.calculate_button.setEnabled(quote.enough)
        if quote.enough:
            self.calculate_button.setDefault(True)
        self.quoted.emit()

    def _on_quote_failed(self, exc: BaseException) -> None:
        self.days.setText("–")
        self.credits.setText("–")
        self.balance.setText("–")
        self.problem.setText(failure_message(exc, "Working out the credits"))
        self.problem.setVisible(True)
        self.calculate_button.setEnabled(False)
        self.quoted.emit()

    # -- calculating ----------------------------------------------------------------------------

    def start(self) -> None:
        if self.quote is None or not self.quote.enough or self.job is not None or self.outcome is not None:
            return
        self.calculate_button.setEnabled(False)
        service, ids = self._service, self._ids
        self._tasks.run(lambda: service.calculate(ids), label="Starting the calculation", on_success=self._on_started,
                        on_failure=self._on_start_failed)

    def _on_started(self, job: CalculationJob) -> None:
        self.job = job
        total = len(job.quote.audiences)
        self.progress.setRange(0, total)
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.status.setText(f"Calculating… {_plural(job.quote.credits, 'credit')} spent.")
        self.status.setVisible(True)
        self.calculate_button.setVisible(False)
        self.cancel_button.setText("Cancel Calculation")
        self.cancel_button.setToolTip("Stop now: audiences not yet calculated go back to Draft and their credits "
                                      "are refunded")
        self.started.emit(job)
        task = self._tasks.run_reporting(job.run, label="Calculating standard audiences",
                                         on_success=self._on_finished, on_failure=self._on_failed)
        task.progressed.connect(lambda done, _total: self.progress.setValue(done))

    def _on_start_failed(self, exc: BaseException) -> None:
        self.problem.setText(failure_message(exc, "Starting the calculation"))
        self.problem.setVisible(True)
        self.calculate_button.setEnabled(False)

    def _on_finished(self, outcome: str) -> None:
        self._end(outcome, "Calculated: the audiences are Ready." if outcome == "done" else
                  "Cancelled: the unfinished audiences are drafts again and their credits were refunded.")

    def _on_failed(self, exc: BaseException) -> None:
        self._end("failed", failure_message(exc, "The calculation") + " Its credits were refunded.")

    def _end(self, outcome: str, text: str) -> None:
        self.outcome = outcome
        if self.job is not None:
            self.progress.setValue(self.job.progress[0])
        self.status.setText(text)
        self.cancel_button.setText("Close")
        self.cancel_button.setEnabled(True)
        self.cancel_button.setToolTip("")
        self.finished_calculation.emit(outcome)

    def _on_cancel_pressed(self) -> None:
        if self.job is not None and self.outcome is None:
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self.status.setText("Cancelling…")
            return
        self.reject()

    def reject(self) -> None:
        # Escape or the window's close button while it runs cancels the calculation rather than hiding it.
        if self.job is not None and self.outcome is None:
            self._on_cancel_pressed()
            return
        super().reject()

    def closeEvent(self, event) -> None:
        if self.job is not None and self.outcome is None:
            event.ignore()
            self._on_cancel_pressed()
            return
        super().closeEvent(event)
