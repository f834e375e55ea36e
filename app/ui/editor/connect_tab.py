"""The audience's "Connect" tab (seed: Audiences → Connect → Connect Output): its connections, A/B variations
included, with status, last run and fault, the run history of the chosen one, and Connect Output….

Read in a worker when first shown and again whenever a connection or fault changes (a forwarding run is kept
in the run history as a connection change); the newest read wins, and a read that answers after the editor
closed is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.models.services.connections import ConnectionInfo
from app.models.services.forwarding_runs import RunInfo
from app.ui.home import HomeConnection
from app.ui.kit.newest import NewestWins
from app.ui.kit.times import minute
from app.ui.workers import Tasks, failure_message
from app.ui.kit.columns import fit_columns

RELOAD_ON = {"connection_changed", "fault_changed", "output_changed"}
STATUS_LABELS = {"sending": "Sending", "inactive": "Inactive"}
ID_ROLE = Qt.ItemDataRole.UserRole + 1
#: Runs shown for the audience's connections (the newest first).
RUNS_SHOWN = 200


@dataclass(frozen=True)
class ConnectData:
    connections: list[ConnectionInfo]
    runs: list[RunInfo]
    external_name: str
    audience_name: str


def run_summary(run: RunInfo | None) -> str:
    """A run in a few words: "sent 12 adds, 3 removes (2 rejected)", with its outcome when it was not sent."""
    if run is None:
        return "No run yet"
    parts = [f"{run.adds_sent:,} adds", f"{run.removes_sent:,} removes"]
    text = f"{run.outcome}: " + ", ".join(parts)
    rejected = run.adds_rejected + run.removes_rejected
    if rejected:
        text += f" ({rejected:,} rejected)"
    return text


class ConnectTab(QWidget):
    """See the module docstring."""

    #: fires on the GUI thread after each read was shown
    loaded = Signal()

    def __init__(self, connection: HomeConnection, tasks: Tasks, audience_id: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Connect")
        self.connection, self.tasks, self.audience_id = connection, tasks, audience_id
        self.data: ConnectData | None = None
        self.dialog = None
        self._started = False
        self._reads = NewestWins()
        reads = self._reads
        self.destroyed.connect(lambda *_: reads.stop())

        intro = QLabel("Where this audience is sent. A Sending connection of an Active audience is forwarded on its "
                       "own after every membership change; a fault stops it until it is resumed (Faults pane).")
        intro.setWordWrap(True)
        self.connect_button = QPushButton("Connect &Output…")
        self.connect_button.setToolTip("Send this audience to an output (variations: from the A/B Test tab)")
        self.connect_button.clicked.connect(self.connect_output)
        top = QHBoxLayout()
        top.addWidget(intro, 1)
        top.addWidget(self.connect_button, 0, Qt.AlignmentFlag.AlignTop)

        self.model = QStandardItemModel(0, 5, self)
        self.model.setHorizontalHeaderLabels(["Output", "Sends", "Status", "Last run", "Fault"])
        self.view = _table(self.model, "Connections of the audience", (170, 130, 80, 360))
        self.view.selectionModel().currentRowChanged.connect(lambda *_: self._show_runs())
        self.runs_caption = QLabel("Run history")
        self.runs_model = QStandardItemModel(0, 7, self)
        self.runs_model.setHorizontalHeaderLabels(["Started", "Took", "By", "Outcome", "Adds planned/sent/rejected",
                                                   "Removes planned/sent/rejected", "Retries / fault"])
        self.runs_view = _table(self.runs_model, "Run history of the connection", (140, 60, 80, 90, 190, 190))
        self.message = QLabel("Reading the connections…", wordWrap=True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.addLayout(top)
        layout.addWidget(self.view, 2)
        layout.addWidget(self.runs_caption)
        layout.addWidget(self.runs_view, 3)
        layout.addWidget(self.message)
        connection.store_changed.connect(self._on_store_changed)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._started:
            self._started = True
            self.load()

    def load(self) -> None:
        home = self.connection.open_home
        if home is None:
            return
        audience_id = self.audience_id
        ticket = self._reads.begin()

        def read() -> ConnectData:
            from app.models.services.forwarding_runs import ForwardingRunService

            audience = home.audiences.get(audience_id)
            connections = home.connections.list(audience_id=audience_id)
            runs = ForwardingRunService(home.store).list(audience_id=audience_id, limit=RUNS_SHOWN)
            return ConnectData(connections, runs, audience.effective_external_name, audience.name)

        self.tasks.run(read, label="Reading the audience's connections", on_success=ticket.deliver(self._show),
                       on_failure=ticket.deliver(lambda exc: self.message.setText(
                           failure_message(exc, "Reading the connections"))))

    def _on_store_changed(self, kind: str, _subject: int) -> None:
        if self._started and kind in RELOAD_ON:
            self.load()

    def _show(self, data: ConnectData) -> None:
        chosen = self.current_connection_id()
        self.data = data
        last = {}
        for run in data.runs:  # newest first: the first seen is the last run
            last.setdefault(run.connection_id, run)
        self.model.removeRows(0, self.model.rowCount())
        for info in data.connections:
            output = QStandardItem(info.output_name)
            output.setData(info.id, ID_ROLE)
            run = last.get(info.id)
            when = minute(run.ended_at, "") if run else ""
            last_run = QStandardItem(f"{when} — {run_summary(run)}" if run else run_summary(None))
            fault = QStandardItem(f"⚠ {info.fault.category}: {info.fault.message}" if info.fault else "")
            if info.fault:
                fault.setToolTip(info.fault.message)
            self.model.appendRow([output, QStandardItem(info.variant_name or "Whole audience"),
                                  QStandardItem(STATUS_LABELS.get(info.status, info.status)), last_run, fault])
            if info.id == chosen or (chosen is None and self.model.rowCount() == 1):
                self.view.setCurrentIndex(output.index())
        if data.connections:
            self.message.setText(f"{len(data.connections)} connection(s).")
        else:
            self.message.setText("Not connected to any output yet: Connect Output… sends it to one.")
        self._show_runs()
        self.loaded.emit()

    def current_connection_id(self) -> int | None:
        index = self.view.currentIndex()
        return self.model.item(index.row(), 0).data(ID_ROLE) if index.isValid() else None

    def _show_runs(self) -> None:
        self.runs_model.removeRows(0, self.runs_model.rowCount())
        connection_id = self.current_connection_id()
        if self.data is None or connection_id is None:
            self.runs_caption.setText("Run history")
            return
        runs = [r for r in self.data.runs if r.connection_id == connection_id]
        info = next((c for c in self.data.connections if c.id == connection_id), None)
        self.runs_caption.setText(f"Run history of “{info.output_name}”" if info else "Run history")
        for run in runs:
            fault = f"{run.retries} retries" + (f"; fault {run.fault_id}: {run.message}" if run.fault_id else "")
            self.runs_model.appendRow([QStandardItem(minute(run.started_at, "")), QStandardItem(f"{run.seconds:.1f} s"),
                                       QStandardItem(run.trigger), QStandardItem(run.outcome),
                                       QStandardItem(f"{run.adds_planned:,} / {run.adds_sent:,} / {run.adds_rejected:,}"),
                                       QStandardItem(f"{run.removes_planned:,} / {run.removes_sent:,} / "
                                                     f"{run.removes_rejected:,}"),
                                       QStandardItem(fault)])

    def connect_output(self) -> None:
        """The Connect Output dialog for the whole audience (each variation connects from the A/B Test tab)."""
        from app.ui.editor.ab_saved import ConnectVariationDialog

        data = self.data
        name = data.audience_name if data else "the audience"
        dialog = ConnectVariationDialog(self.connection, self.tasks, self.audience_id, None, name, self,
                                        external_name=data.external_name if data else "")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.connected.connect(lambda _info: self.load())
        self.dialog = dialog
        dialog.open()


def _table(model: QStandardItemModel, name: str, widths: tuple[int, ...]) -> QTreeView:
    view = QTreeView()
    view.setAccessibleName(name)
    view.setModel(model)
    view.setRootIsDecorated(False)
    view.setAlternatingRowColors(True)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    fit_columns(view, widths)
    return view
