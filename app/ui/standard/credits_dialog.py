"""The Add Credits dialog (admins): a workspace, how many credits and why; the ledger records it."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.models.services.credits import MAX_GRANT, MAX_NOTE_LENGTH, CreditService
from app.models.services.workspaces import WorkspaceInfo
from app.ui.workers import Tasks, failure_message
from app.ui.kit.dialogs import keep_whole


class AddCreditsDialog(QDialog):
    """Adds credits to one workspace's balance in a worker."""

    #: fires after the credits were added (the workspace id)
    added = Signal(int)

    def __init__(self, credits: CreditService, tasks: Tasks, workspaces: list[WorkspaceInfo], balances: dict[int, int],
                 parent: QWidget | None = None, *, workspace_id: int | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add Credits")
        self.setAccessibleName("Add credits")
        self._credits, self._tasks, self._balances = credits, tasks, balances
        self.workspace = QComboBox()
        self.workspace.setAccessibleName("Workspace")
        for workspace in workspaces:
            self.workspace.addItem(workspace.name, workspace.id)
        if workspace_id is not None and self.workspace.findData(workspace_id) >= 0:
            self.workspace.setCurrentIndex(self.workspace.findData(workspace_id))
        self.amount = QSpinBox()
        self.amount.setAccessibleName("Credits to add")
        self.amount.setRange(1, MAX_GRANT)
        self.amount.setValue(1)
        self.amount.setToolTip("One credit covers 365 days of data scanned by one calculation")
        self.note = QLineEdit()
        self.note.setAccessibleName("Note")
        self.note.setMaxLength(MAX_NOTE_LENGTH)
        self.note.setPlaceholderText("Why: e.g. the order or invoice number")
        self.balance = QLabel()
        self.balance.setAccessibleName("Balance")
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setVisible(False)
        form = QFormLayout()
        form.addRow("&Workspace", self.workspace)
        form.addRow("", self.balance)
        form.addRow("&Credits", self.amount)
        form.addRow("&Note", self.note)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.add_button = self.buttons.addButton("Add Credits", QDialogButtonBox.ButtonRole.AcceptRole)
        self.add_button.setDefault(True)
        self.buttons.accepted.connect(self.add)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        keep_whole(self, 400)
        self.workspace.currentIndexChanged.connect(self._update)
        self.note.textChanged.connect(self._update)
        self._update()

    def _update(self, *_args) -> None:
        balance = self._balances.get(self.workspace.currentData(), 0)
        self.balance.setText(f"Balance now: {balance:,} credit{'s' if balance != 1 else ''}")
        self.add_button.setEnabled(bool(self.note.text().strip()) and self.workspace.currentData() is not None)
        self.add_button.setToolTip("" if self.note.text().strip() else "Say why the credits are added first")

    def add(self) -> None:
        if not self.add_button.isEnabled():
            return
        credits, workspace_id = self._credits, self.workspace.currentData()
        amount, note = self.amount.value(), self.note.text()
        self.add_button.setEnabled(False)
        self._tasks.run(lambda: credits.add(workspace_id, amount, note), label="Adding credits",
                        on_success=lambda _entry: self._on_added(workspace_id), on_failure=self._on_failed)

    def _on_added(self, workspace_id: int) -> None:
        self.added.emit(workspace_id)
        self.accept()

    def _on_failed(self, exc: BaseException) -> None:
        self.problem.setText(failure_message(exc, "Adding credits"))
        self.problem.setVisible(True)
        self._update()
