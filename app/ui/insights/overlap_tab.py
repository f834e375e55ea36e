"""The Overlap tab: this audience and 1 to 5 others checked in a list; the pairwise matrix (profiles in both)
and every non-empty region (profiles in exactly those audiences) with its exact size as a bar list,
the UpSet idea, as an UpSet chart above the matrix and the table; clicking a region (its row, bar or
dots) lists its members (their mpids; double-click explains one). The chart exports as PNG, the regions
as CSV."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.engines.insights.overlap import MAX_AUDIENCES, Overlap, overlap, region_members
from app.engines.insights.queries import Queries
from app.engines.insights.subjects import Subject
from app.ui.home import HomeConnection
from app.ui.insights.bars import BAR_ROLE, BarDelegate
from app.ui.insights.members_table import MembersTable
from app.ui.insights.members_tab import ErrorLine
from app.ui.insights.exports import write_overlap, write_png
from app.ui.insights.requests import Requests
from app.ui.insights.table_model import PagedTableModel
from app.ui.insights.upset import UpSetChart
from app.ui.kit.busy import BusyBar
from app.ui.workers import Tasks
from app.ui.kit.export_path import ask_export_path

CHOICE_DELAY_MS = 300
MASK_ROLE = Qt.ItemDataRole.UserRole


def _number(value: int) -> QTableWidgetItem:
    item = QTableWidgetItem(f"{value:,}")
    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class OverlapTab(QWidget):
    """`answered` fires with each Overlap shown."""

    answered = Signal(object)
    #: a PNG or CSV export ended: what it wrote, or why not
    export_finished = Signal(str)
    #: an mpid (object: mParticle ids are 64-bit, a Qt int signal would wrap them)
    why_requested = Signal(object)

    def __init__(self, connection: HomeConnection, tasks: Tasks, subject: Subject, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.connection, self.subject = connection, subject
        self.others: dict[str, Subject] = {}
        self.result: Overlap | None = None
        self.subjects: list[Subject] = []

        self.choices = QListWidget()
        self.choices.setToolTip(f"Check up to {MAX_AUDIENCES - 1} audiences to compare with “{subject.name}”")
        self.choices.setAccessibleName("Audiences to compare")
        self.choices.itemChanged.connect(lambda _item: self.choice_timer.start())
        self.choice_timer = QTimer(self, singleShot=True, interval=CHOICE_DELAY_MS)
        self.choice_timer.timeout.connect(self.compare)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        intro = QLabel(f"Compare “{subject.name}” with (up to {MAX_AUDIENCES - 1}):")
        intro.setWordWrap(True)
        left_layout.addWidget(intro)
        left_layout.addWidget(self.choices, 1)

        self.matrix = QTableWidget()
        self.matrix.setToolTip("Profiles in both the row's and the column's audience (whatever else they are in)")
        self.matrix.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        # Columns are numbered as the rows (names in their tooltips): columns as wide as the audiences' names
        # pushed the numbers out of sight.
        self.matrix.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.regions = QTableWidget(0, 3)
        self.regions.setHorizontalHeaderLabels(["In exactly these audiences", "Profiles", ""])
        self.regions.setToolTip("Each region: profiles in exactly these audiences and none of the others. "
                                "Click one to list its members.")
        self.regions.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.regions.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.regions.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.regions.verticalHeader().setVisible(False)
        self.regions.setItemDelegateForColumn(2, BarDelegate(self.regions))
        header = self.regions.horizontalHeader()
        # The regions' names take what is left (elided, whole in their tooltips): the sizes stay in sight.
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(2, 110)
        self.regions.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.regions.itemSelectionChanged.connect(self._on_region)

        self.busy_bar = BusyBar()
        self.error = ErrorLine()
        self.requests = Requests(tasks, self.busy_bar, "Counting the overlap", self)
        self.requests.failed.connect(self._failed)
        self.member_requests = Requests(tasks, self.busy_bar, "Reading the region's members", self)
        self.member_requests.failed.connect(self.error.say)
        self.members = PagedTableModel(self.member_requests, ["mpid"], ["Double-click to see why"])
        self.members_table = MembersTable(self.members)
        self.members_table.activated_mpid.connect(self.why_requested)
        self.chart = UpSetChart()
        self.chart.region_clicked.connect(self.pick_region)
        self.png_button = QPushButton("Export PNG…")
        self.png_button.setToolTip("Save the overlap chart as a PNG picture")
        self.png_button.clicked.connect(lambda: self.choose_export("png"))
        self.csv_button = QPushButton("Export CSV…")
        self.csv_button.setToolTip("Write every region (which audiences, how many profiles) to a CSV file")
        self.csv_button.clicked.connect(lambda: self.choose_export("csv"))
        for button in (self.png_button, self.csv_button):
            button.setEnabled(False)
        self.exports = Requests(tasks, BusyBar(), "Exporting the overlap", self)
        self.region_title = QLabel("Click a region to list its members.")
        self.region_title.setWordWrap(True)

        chart_box = QWidget()
        chart_layout = QVBoxLayout(chart_box)
        chart_layout.setContentsMargins(0, 0, 0, 0)
        chart_layout.addWidget(self.chart, 1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.png_button)
        buttons.addWidget(self.csv_button)
        chart_layout.addLayout(buttons)
        middle = QSplitter()
        middle.addWidget(self.matrix)
        middle.addWidget(self.regions)
        middle.setStretchFactor(1, 1)
        middle.setSizes([420, 480])
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(chart_box)
        right.addWidget(middle)
        below = QWidget()
        below_layout = QVBoxLayout(below)
        below_layout.setContentsMargins(0, 0, 0, 0)
        below_layout.addWidget(self.region_title)
        below_layout.addWidget(self.members_table, 1)
        right.addWidget(below)
        right.setSizes([270, 190, 140])
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 3)
        split.setSizes([265, 875])
        layout = QVBoxLayout(self)
        layout.addWidget(self.busy_bar)
        layout.addWidget(self.error)
        layout.addWidget(split, 1)

    def start(self) -> None:
        home, subject = self.connection.open_home, self.subject
        if home is None:
            return
        own_id = subject.audience.id if subject.audience is not None else None

        def others(_ticket) -> list[Subject]:
            shared = set(subject.workspace_ids)
            return [Subject.of(a) for a in home.audiences.list() if a.id != own_id and shared & set(a.workspace_ids)]

        self.requests.ask(others, self._offer)

    def stop(self) -> None:
        self.choice_timer.stop()
        self.requests.stop()
        self.member_requests.stop()
        self.exports.stop()

    def _offer(self, others: list[Subject]) -> None:
        self.choices.blockSignals(True)
        self.choices.clear()
        self.others = {s.name: s for s in others}
        for other in others:
            item = QListWidgetItem(other.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            item.setToolTip(f"Compare with “{other.name}”")
            self.choices.addItem(item)
        self.choices.blockSignals(False)
        if not others:
            self.error.say("No other audience shares a workspace with this one, so there is nothing to compare.")

    def check(self, *names: str) -> None:
        """Check these audiences (and uncheck the others); the overlap is counted after a short pause."""
        for row in range(self.choices.count()):
            item = self.choices.item(row)
            item.setCheckState(Qt.CheckState.Checked if item.text() in names else Qt.CheckState.Unchecked)

    def compare(self) -> None:
        home = self.connection.open_home
        chosen = [self.others[self.choices.item(r).text()] for r in range(self.choices.count())
                  if self.choices.item(r).checkState() == Qt.CheckState.Checked]
        if home is None:
            return
        self.error.say("")
        if not chosen:
            self.requests.stop()
            self._clear()
            self.region_title.setText("Check at least one audience to compare.")
            return
        subjects = [self.subject, *chosen]
        self.requests.ask(lambda queries: (subjects, overlap(home, subjects, queries=queries)), self._show)

    def _failed(self, message: str) -> None:
        self._clear()
        self.error.say(message)

    def _clear(self) -> None:
        self.result = None
        self.matrix.clear()
        self.matrix.setRowCount(0)
        self.matrix.setColumnCount(0)
        self.regions.setRowCount(0)
        self.members.clear()
        self.chart.clear()
        for button in (self.png_button, self.csv_button):
            button.setEnabled(False)

    def _show(self, answer: tuple[list[Subject], Overlap]) -> None:
        self.subjects, result = answer
        self.result = result
        names = list(result.audiences)
        self.matrix.clear()
        self.matrix.setRowCount(len(names))
        self.matrix.setColumnCount(len(names))
        self.matrix.setHorizontalHeaderLabels([str(j + 1) for j in range(len(names))])
        self.matrix.setVerticalHeaderLabels([f"{i + 1}  {name}" for i, name in enumerate(names)])
        for j, name in enumerate(names):
            self.matrix.horizontalHeaderItem(j).setToolTip(name)
        for i, row in enumerate(result.matrix()):
            for j, value in enumerate(row):
                item = _number(value)
                item.setToolTip(f"{value:,} profiles in “{names[i]}”" + (f" and “{names[j]}”" if i != j else " in all"))
                self.matrix.setItem(i, j, item)
        shown = sorted(((m, n) for m, n in result.regions.items() if n), key=lambda r: (-r[1], r[0]))
        largest = max((n for _m, n in shown), default=0)
        self.regions.setRowCount(len(shown))
        for row, (mask, size) in enumerate(shown):
            words = QTableWidgetItem(result.in_words(mask))
            words.setData(MASK_ROLE, mask)
            words.setToolTip(result.in_words(mask))
            self.regions.setItem(row, 0, words)
            self.regions.setItem(row, 1, _number(size))
            bar = QTableWidgetItem()
            bar.setData(BAR_ROLE, size / largest if largest else 0)
            bar.setToolTip(f"{size:,} profiles")
            self.regions.setItem(row, 2, bar)
        empty = len(result.regions) - len(shown)
        self.region_title.setText("Click a region to list its members." + (f" {empty} empty regions are not shown." if empty else ""))
        self.members.clear()
        self.chart.show_overlap(result)
        for button in (self.png_button, self.csv_button):
            button.setEnabled(True)
        self.answered.emit(result)

    def _on_region(self) -> None:
        rows = self.regions.selectionModel().selectedRows()
        home = self.connection.open_home
        if not rows or self.result is None or home is None:
            return
        mask = self.regions.item(rows[0].row(), 0).data(MASK_ROLE)
        size, subjects = self.result.regions[mask], list(self.subjects)
        self.region_title.setText(f"{size:,} profiles in {self.result.in_words(mask)} (double-click one to see why):")

        def read(offset: int, limit: int, queries: Queries) -> tuple[int, list[tuple[str, ...]]]:
            return size, [(str(m),) for m in region_members(home, subjects, mask, offset=offset, limit=limit,
                                                            queries=queries)]

        self.members.ask(read)

    def pick_region(self, mask: int) -> None:
        """Select the region's row (which lists its members), as clicking its bar or dots in the chart does."""
        for row in range(self.regions.rowCount()):
            if self.regions.item(row, 0).data(MASK_ROLE) == mask:
                self.regions.selectRow(row)
                self.regions.scrollToItem(self.regions.item(row, 0))
                return

    def choose_export(self, kind: str) -> None:
        if self.result is None:
            return
        path = ask_export_path(self, "Export the overlap", f"{self.subject.name} overlap.{kind}", kind)
        if path is not None:
            self.export_to(path)

    def export_to(self, path: Path) -> None:
        """Write the chart (a .png path) or the regions (any other) in a worker; `export_finished` says how it went."""
        result = self.result
        if result is None:
            return

        def failed(message: str) -> None:
            self.error.say(message)
            self.export_finished.emit(message)

        if path.suffix.lower() == ".png":
            image = self.chart.image()  # grabbed here, on the GUI thread; saved in the worker
            self.exports.ask(lambda _queries: write_png(image, path),
                             lambda _p: self.export_finished.emit(f"Saved the chart to {path.name}"), on_failure=failed)
        else:
            self.exports.ask(lambda _queries: write_overlap(result, path),
                             lambda n: self.export_finished.emit(f"Wrote {n} regions to {path.name}"), on_failure=failed)
