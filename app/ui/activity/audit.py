"""The team server's audit log for admins: who changed what and when, filtered by actor, kind and time,
exported as CSV. Reads and the export run on the task pool; the server decides what an admin may see
(their workspaces' entries; entries of no workspace only for admins of every workspace)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.engines.home import OpenHome
from app.ui.kit.times import minute
from app.ui.workers import Tasks, failure_message
from app.ui.kit.columns import fit_columns

COLUMNS = ["When", "Who", "Kind", "Action", "What", "Workspace", "Details"]
KINDS = ("", "audience", "input", "account", "role", "invitation", "company", "workspace")


class AuditDialog(QDialog):
    """The audit log, newest first, with filters and Export CSV…"""

    #: fires on the GUI thread after each read (and after an export)
    loaded = Signal()

    def __init__(self, home: OpenHome, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Audit Log")
        self.home, self.tasks = home, tasks
        self.entries: list[dict] = []
        #: asks where to save the CSV (None: cancelled); tests answer for the user
        self.ask_path: Callable[[], str | None] = self._ask_path
        self.actor = QLineEdit()
        self.actor.setPlaceholderText("Who (exactly as shown)")
        self.actor.setAccessibleName("Filter: who")
        self.actor.setClearButtonEnabled(True)
        self.kind = QComboBox()
        self.kind.setAccessibleName("Filter: kind")
        for kind in KINDS:
            self.kind.addItem(kind or "Any kind", kind)
        self.use_since = QCheckBox("&Since")
        self.since = QDateEdit(QDate.currentDate().addDays(-30))
        self.since.setCalendarPopup(True)
        self.since.setDisplayFormat("yyyy-MM-dd")
        self.since.setAccessibleName("Since")
        self.search_button = QPushButton("&Search")
        self.search_button.clicked.connect(self.search)
        self.export_button = QPushButton("&Export CSV…")
        self.export_button.clicked.connect(self.export)
        row = QHBoxLayout()
        row.addWidget(self.actor, 1)
        row.addWidget(self.kind)
        row.addWidget(self.use_since)
        row.addWidget(self.since)
        row.addWidget(self.search_button)
        row.addWidget(self.export_button)
        self.model = QStandardItemModel(0, len(COLUMNS), self)
        self.model.setHorizontalHeaderLabels(COLUMNS)
        self.view = QTreeView()
        self.view.setModel(self.model)
        self.view.setRootIsDecorated(False)
        self.view.setAlternatingRowColors(True)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAccessibleName("Audit entries")
        fit_columns(self.view, (140, 150, 80, 90, 220, 80))
        self.status = QLabel("", wordWrap=True)
        self.status.setAccessibleName("Audit status")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.status)
        self.resize(900, 520)

    def search(self) -> None:
        from app.engines.team import audit_entries

        home, actor, kind = self.home, self.actor.text().strip() or None, self.kind.currentData() or None
        since = (dt.datetime.combine(self.since.date().toPython(), dt.time(), tzinfo=dt.timezone.utc)
                 if self.use_since.isChecked() else None)
        self.search_button.setEnabled(False)
        self.status.setText("Reading the audit log…")
        self.tasks.run(lambda: audit_entries(home, actor=actor, kind=kind, since=since), label="Reading the audit log",
                       on_success=self._show, on_failure=self._failed)

    def _show(self, answer) -> None:
        entries, cut = answer
        self.entries = entries
        self.model.removeRows(0, self.model.rowCount())
        for entry in reversed(entries):  # newest first
            details = json.dumps(entry.get("details") or {}, ensure_ascii=False, sort_keys=True)
            cells = [minute(dt.datetime.fromisoformat(entry["at"])), entry["actor"], entry["kind"], entry["action"],
                     entry["target"], "" if entry.get("workspace_id") is None else str(entry["workspace_id"]),
                     "" if details == "{}" else details]
            items = [QStandardItem(text) for text in cells]
            items[6].setToolTip(cells[6])
            items[4].setToolTip(cells[4])
            self.model.appendRow(items)
        more = " (the newest are cut off: narrow the filters)" if cut else ""
        self.status.setText(f"{len(entries):,} entries{more}." if entries else "No entries match.")
        self.search_button.setEnabled(True)
        self.loaded.emit()

    def _failed(self, exc: BaseException) -> None:
        self.search_button.setEnabled(True)
        self.status.setText(failure_message(exc, "Reading the audit log"))
        self.loaded.emit()

    def _ask_path(self) -> str | None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the Audit Log", "audit-log.csv", "CSV files (*.csv)")
        return path or None

    def export(self) -> None:
        path = self.ask_path()
        if not path:
            return
        from app.engines.team import export_audit_csv

        entries = list(self.entries)
        self.tasks.run(lambda: export_audit_csv(entries, path), label="Exporting the audit log",
                       on_success=lambda n: (self.status.setText(f"{n:,} entries written to {path}."), self.loaded.emit()),
                       on_failure=self._failed)
