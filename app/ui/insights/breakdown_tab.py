"""The Breakdown tab: what the audience is made of, by an attribute, a device field, OS, a location field,
consent or input: the top values with their members, share of the audience against share of the
workspace, the index, and a bar per value (the audience's share; the mark is the workspace's)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.engines.insights.breakdown import DEVICE_FIELDS, LOCATION_FIELDS, Breakdown, breakdown
from app.engines.insights.subjects import Subject, attribute_names
from app.ui.home import HomeConnection
from app.ui.insights.bars import BAR_ROLE, MARK_ROLE, BarDelegate
from app.ui.insights.breakdown_csv import write_breakdown
from app.ui.insights.exports import write_png
from app.ui.insights.members_tab import ErrorLine
from app.ui.insights.requests import Requests
from app.ui.kit.busy import BusyBar
from app.ui.workers import Tasks
from app.ui.kit.export_path import ask_export_path

#: (what the chooser says, the engine's kind, whether it has fields)
KINDS = (("Attribute", "attribute"), ("Device", "device"), ("OS", "os"), ("Location", "location"),
         ("Consent", "consent"), ("Input", "input"))
HEADERS = ("Value", "Members", "% of audience", "% of workspace", "Index", "Audience share (mark: workspace)")
TIPS = ("The value (a profile with several counts under each; “(none)”: no value)",
        "Members of the audience with this value", "Share of the audience's members with this value",
        "Share of the workspace's profiles with this value",
        "100 × audience share ÷ workspace share: above 100, more common in the audience than in the workspace",
        "The bar is the audience's share, the mark the workspace's")


def _cell(text: str, number: bool = True) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if number:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class BreakdownTab(QWidget):
    answered = Signal(object)
    export_finished = Signal(str)

    def __init__(self, connection: HomeConnection, tasks: Tasks, subject: Subject, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.connection, self.subject = connection, subject
        self.result: Breakdown | None = None
        self.attributes: list[str] = []
        self.kind = QComboBox()
        self.kind.setAccessibleName("Break down by")
        self.kind.setToolTip("What to break the audience down by")
        for label, key in KINDS:
            self.kind.addItem(label, key)
        self.field = QComboBox()
        self.field.setAccessibleName("Field")
        self.field.setToolTip("Which attribute or field")
        self.field.setMinimumContentsLength(14)
        self.field.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.kind.currentIndexChanged.connect(self._on_kind)
        self.field.activated.connect(lambda _i: self.count())
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip("Write the values shown, with their counts, shares and index, to a CSV file")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self.choose_export)
        self.png_button = QPushButton("Export PNG…")
        self.png_button.setToolTip("Save the breakdown as shown (values, shares, index and bars) as a PNG picture")
        self.png_button.setEnabled(False)
        self.png_button.clicked.connect(lambda: self.choose_export("png"))
        row = QHBoxLayout()
        row.addWidget(QLabel("Break down by"))
        row.addWidget(self.kind)
        row.addWidget(self.field)
        row.addStretch(1)
        row.addWidget(self.png_button)
        row.addWidget(self.export_button)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(list(HEADERS))
        for column, tip in enumerate(TIPS):
            self.table.horizontalHeaderItem(column).setToolTip(tip)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.setItemDelegateForColumn(5, BarDelegate(self.table))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.setColumnWidth(0, 220)
        self.busy_bar = BusyBar()
        self.error = ErrorLine()
        self.requests = Requests(tasks, self.busy_bar, "Breaking the audience down", self)
        self.requests.failed.connect(self._failed)
        self.exports = Requests(tasks, BusyBar(), "Exporting the breakdown", self)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.busy_bar)
        layout.addWidget(self.error)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)

    def start(self) -> None:
        home, subject = self.connection.open_home, self.subject
        if home is None:
            return

        def names(_ticket) -> list[str]:
            return attribute_names(home, subject.workspace_ids)

        def offered(found: list[str]) -> None:
            self.attributes = found
            self._on_kind(self.kind.currentIndex())

        self.requests.ask(names, offered)

    def stop(self) -> None:
        self.requests.stop()
        self.exports.stop()

    def _on_kind(self, _index: int) -> None:
        kind = self.kind.currentData()
        fields = {"attribute": self.attributes, "device": list(DEVICE_FIELDS), "location": list(LOCATION_FIELDS)}.get(kind, [])
        self.field.clear()
        self.field.addItems(fields)
        self.field.setEnabled(bool(fields))
        self.field.setVisible(bool(fields))
        self.count()

    def choose(self, kind: str, field: str | None = None) -> None:
        """Break down by `kind` (and `field`), as if chosen in the two lists."""
        self.kind.setCurrentIndex(self.kind.findData(kind))
        if field is not None:
            self.field.setCurrentText(field)
            self.count()

    def by(self) -> str | None:
        kind = self.kind.currentData()
        if kind in ("attribute", "device", "location"):
            field = self.field.currentText()
            return f"{kind}:{field}" if field else None
        return kind

    def count(self) -> None:
        home, subject, by = self.connection.open_home, self.subject, self.by()
        if home is None:
            return
        self.error.say("")
        if by is None:
            self.requests.stop()
            self._clear("The audience's workspaces have no user attributes to break down by.")
            return
        self.requests.ask(lambda queries: breakdown(home, subject, by, queries=queries), self._show)

    def _clear(self, words: str) -> None:
        self.result = None
        self.table.setRowCount(0)
        self.summary.setText(words)
        self.export_button.setEnabled(False)

    def _failed(self, message: str) -> None:
        self._clear("")
        self.error.say(message)

    def _show(self, result: Breakdown) -> None:
        self.result = result
        more = f"; the {len(result.rows)} most common of {result.values} values" if result.values > len(result.rows) else ""
        self.summary.setText(f"{result.audience_size:,} members in “{result.audience}”, {result.workspace_size:,} profiles "
                             f"in its workspaces{more}.")
        self.table.setRowCount(len(result.rows))
        # Bars to the largest share shown, so small shares still compare by eye (the numbers are beside them).
        scale = max((max(r.audience_share, r.workspace_share) for r in result.rows), default=0) or 1
        for row, r in enumerate(result.rows):
            self.table.setItem(row, 0, _cell(r.value, number=False))
            self.table.item(row, 0).setToolTip(r.value)
            self.table.setItem(row, 1, _cell(f"{r.audience:,}"))
            self.table.setItem(row, 2, _cell(f"{100 * r.audience_share:.1f} %"))
            self.table.setItem(row, 3, _cell(f"{100 * r.workspace_share:.1f} %"))
            self.table.setItem(row, 4, _cell("–" if r.index is None else f"{r.index:.0f}"))
            bar = QTableWidgetItem()
            bar.setData(BAR_ROLE, r.audience_share / scale)
            bar.setData(MARK_ROLE, r.workspace_share / scale)
            bar.setToolTip(f"{100 * r.audience_share:.1f} % of the audience, {100 * r.workspace_share:.1f} % of the workspace")
            self.table.setItem(row, 5, bar)
        self.export_button.setEnabled(bool(result.rows))
        self.png_button.setEnabled(bool(result.rows))
        self.answered.emit(result)

    def choose_export(self, kind: str = "csv") -> None:
        if self.result is None:
            return
        name = f"{self.subject.name} by {self.result.by.replace(':', ' ')}.{kind}"
        path = ask_export_path(self, "Export the breakdown", name, kind)
        if path is not None:
            self.export_to(path)

    def export_to(self, path: Path) -> None:
        """Write the table as shown, a picture (a .png path), or its rows as CSV (any other), in a worker."""
        result = self.result
        if result is None:
            return

        def written(count: int) -> None:
            self.export_finished.emit(f"Wrote {count} values to {path.name}")

        def failed(message: str) -> None:
            self.error.say(message)
            self.export_finished.emit(message)

        if path.suffix.lower() == ".png":
            image = self.table.grab().toImage()  # grabbed here, on the GUI thread; saved in the worker
            self.exports.ask(lambda _queries: write_png(image, path),
                             lambda _p: self.export_finished.emit(f"Saved the breakdown to {path.name}"), on_failure=failed)
            return
        self.exports.ask(lambda _queries: write_breakdown(result, path), written, on_failure=failed)
