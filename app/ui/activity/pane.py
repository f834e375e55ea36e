"""The Activity pane: live events arriving at the team server (batches, and requests refused such as a
disabled source still sending), newest first, with this laptop's own imports beside them; filters by
source, event type, event name and user; Pause; a detail view of one batch as pretty JSON; and, for
admins, the audit log (app/ui/activity/audit.py).

The stream is followed on a thread of its own (app/engines/team.ActivityFollower) whose events reach the
pane through a queued signal; detail reads run on the task pool. Pausing (or leaving the pane) closes the
stream; resuming reopens it after the last event received, so nothing is missed.
"""

from __future__ import annotations

import datetime as dt
import json

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QFontDatabase, QPalette, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSplitter,
    QStyle,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.engines.home import OpenHome
from app.ui.kit.pane import Pane
from app.ui.kit.times import minute
from app.ui.pane_actions import pane_action
from app.ui.shades import mix
from app.ui.workers import failure_message
from app.ui.kit.columns import fit_columns

COLUMNS = ["Arrived", "Source", "What", "Events", "Event names", "User"]
ROW_ROLE = Qt.ItemDataRole.UserRole + 1
REFUSED = QColor("#d93025")
#: Rows kept in the list; older ones drop off the bottom.
MAX_ROWS = 2000
FILTERS = (("source", "Source"), ("event_type", "Event type"), ("event_name", "Event name"), ("user", "User (mpid or identity)"))


class _Relay(QObject):
    """Carries the follower thread's events and errors to the GUI thread (queued signals)."""

    arrived = Signal(object)
    failed = Signal(str)


def _when(text: str) -> str:
    """An arrival in the local zone to the second: events of one minute must still read apart."""
    if not text:
        return ""
    moment = dt.datetime.fromisoformat(text)
    moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


class ActivityPane(Pane):
    """Live events from the team server's sources, newest first, and this laptop's imports."""

    key = "activity"
    title = "Activity"
    tooltip = "Live events arriving at the team server from its sources, and this laptop's imports"
    icon = QStyle.StandardPixmap.SP_MediaPlay
    loading_label = "Reading the activity"
    reload_on_cache_change = True

    #: fires on the GUI thread when an event from the stream was added to the list
    event_shown = Signal(object)
    #: fires on the GUI thread when a detail was shown
    detail_shown = Signal()

    def __init__(self, connection, tasks, parent: QWidget | None = None, *, bus=None) -> None:
        super().__init__(connection, tasks, parent, bus=bus)
        self.workspaces: list = []
        #: the team server the workspaces are on (None: not signed in)
        self.server: str | None = None
        self.imports: list = []
        self.follower = None
        self.paused = False
        self.current = False
        self.signed_in_error: str | None = None
        self._relay = _Relay(self)
        self._relay.arrived.connect(self._on_event)
        self._relay.failed.connect(self._on_stream_failed)
        self._positions: dict[tuple, str | None] = {}

        self.workspace = QComboBox()
        self.workspace.setAccessibleName("Workspace")
        self.workspace.currentIndexChanged.connect(lambda _i: self.restart(keep_rows=False))
        self.filters: dict[str, QLineEdit] = {}
        filter_row = QHBoxLayout()
        filter_row.addWidget(QLabel("&Workspace:", buddy=self.workspace))
        filter_row.addWidget(self.workspace)
        for key, label in FILTERS:
            edit = QLineEdit()
            edit.setPlaceholderText(label)
            edit.setAccessibleName(f"Filter: {label}")
            edit.setClearButtonEnabled(True)
            edit.editingFinished.connect(self._filters_changed)
            self.filters[key] = edit
            filter_row.addWidget(edit, 1)
        self.pause_action = pane_action(self, "&Pause", "Ctrl+P", "Stop showing new events; Resume goes on from where it stopped",
                                        self.toggle_pause)
        self.clear_action = pane_action(self, "C&lear", "", "Empty the list (events keep arriving)", self.clear)
        self.audit_action = pane_action(self, "&Audit Log…", "Ctrl+L", "Who changed what and when on the team server (admins)",
                                        self.open_audit)
        for action in (self.pause_action, self.clear_action, self.audit_action):
            button = QToolButton()
            button.setDefaultAction(action)
            filter_row.addWidget(button)

        self.model = QStandardItemModel(0, len(COLUMNS), self)
        self.model.setHorizontalHeaderLabels(COLUMNS)
        self.list = QTreeView()
        self.list.setModel(self.model)
        self.list.setRootIsDecorated(False)
        self.list.setUniformRowHeights(True)
        self.list.setAlternatingRowColors(True)
        self.list.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list.setAccessibleName("Activity")
        fit_columns(self.list, (150, 110, 210, 60, 260))
        self.list.selectionModel().currentRowChanged.connect(lambda *_: self.show_detail())
        self.detail = QPlainTextEdit(readOnly=True)
        self.detail.setAccessibleName("Detail")
        self.detail.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.detail.setPlaceholderText("Choose an event to see its batch in full.")
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.list)
        split.addWidget(self.detail)
        split.setSizes([400, 250])
        self.state = QLabel("", wordWrap=True)
        self.state.setAccessibleName("Stream state")
        self.state.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        layout = QVBoxLayout(self)
        layout.addWidget(self.busy_bar)
        layout.addLayout(filter_row)
        layout.addWidget(self.state)
        layout.addWidget(split, 1)
        self.update_enabled()

    # -- reading the workspaces and the local imports ------------------------------------------------

    def reader(self, home: OpenHome):
        from app.engines import team

        def read():
            imports = team.local_imports(home)
            try:
                server, found = team.workspaces(home)
                return server, found, imports, None
            except Exception as exc:  # not signed in, or the server is out of reach: the local imports still show
                return None, [], imports, failure_message(exc, "Reading the team server's workspaces")

        return read

    def show_data(self, data) -> None:
        server, workspaces, imports, error = data
        self.imports, self.signed_in_error = imports, error
        if server != self.server:
            self.stop_stream()
            self.server = server
        chosen = self.workspace.currentData()
        ids = [w.id for w in workspaces]
        if ids != [w.id for w in self.workspaces]:
            self.workspaces = workspaces
            self.workspace.blockSignals(True)
            self.workspace.clear()
            for w in workspaces:
                self.workspace.addItem(f"{w.name} ({w.role})", w.id)
            if chosen in ids:
                self.workspace.setCurrentIndex(ids.index(chosen))
            self.workspace.blockSignals(False)
        self._show_imports()
        self.update_enabled()
        if self.follower is None:
            self.restart(keep_rows=True)

    def _show_imports(self) -> None:
        """This laptop's imports, among the server's events by time (they stay at their place)."""
        for row in reversed(range(self.model.rowCount())):
            if self.model.item(row, 0).data(ROW_ROLE)[0] == "import":
                self.model.removeRow(row)
        for load in self.imports:
            what = (load.description if (load.description or "").startswith(load.source)
                    else f"{load.source}: {load.description}" if load.description else load.source)
            cells = [_when(load.at.isoformat()), "this laptop", what,
                     f"{load.events:,}", f"{load.batches:,} batches", ""]
            self._insert(cells, ("import", load), load.at.isoformat())

    # -- the stream ------------------------------------------------------------------------------------

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Hidden (another pane chosen, or the window closed): the stream closes; showing it again resumes."""
        self.stop_stream()
        super().hideEvent(event)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Shown again (the window restored): the stream reopens after the last event received."""
        super().showEvent(event)
        if self.current and self.follower is None and not self.paused:
            self.restart(keep_rows=True)

    def set_current(self, current: bool) -> None:
        self.current = current
        if current:
            self.refresh()
            self.restart(keep_rows=True)
        else:
            self.stop_stream()

    def _filters_changed(self) -> None:
        self.restart(keep_rows=False)

    def filter_values(self) -> dict[str, str]:
        return {key: edit.text().strip() for key, edit in self.filters.items() if edit.text().strip()}

    def restart(self, keep_rows: bool) -> None:
        """(Re)open the stream of the chosen workspace with the filters; resumes after the last event seen
        with the same workspace and filters, else starts with the recent backlog."""
        self.stop_stream()
        if not keep_rows:
            self._clear_server_rows()
        home, workspace_id = self.home, self.workspace.currentData()
        if home is None or self.server is None or workspace_id is None or self.paused or not self.current:
            self._say_state()
            return
        from app.engines.team import ActivityFollower

        filters = self.filter_values()
        key = (workspace_id, tuple(sorted(filters.items())))
        relay = self._relay
        self.follower = ActivityFollower(home, self.server, workspace_id, filters, relay.arrived.emit, relay.failed.emit,
                                         after=self._positions.get(key)).start()
        self.follower.key = key
        self._say_state()

    def stop_stream(self) -> None:
        follower, self.follower = self.follower, None
        if follower is not None:
            follower.stop()  # closes its connection: never waits for the network
            self._positions[follower.key] = follower.position

    def toggle_pause(self) -> None:
        self.paused = not self.paused
        self.pause_action.setText("&Resume" if self.paused else "&Pause")
        self.restart(keep_rows=True)

    def clear(self) -> None:
        self._clear_server_rows()
        self.detail.clear()

    def _clear_server_rows(self) -> None:
        for row in reversed(range(self.model.rowCount())):
            if self.model.item(row, 0).data(ROW_ROLE)[0] != "import":
                self.model.removeRow(row)

    def _say_state(self) -> None:
        if self.signed_in_error and not self.workspaces:
            self.state.setText(f"{self.signed_in_error} This laptop's imports are shown.")
        elif self.paused:
            self.state.setText("Paused: new events wait on the server; Resume shows them.")
        elif self.follower is not None:
            shown = ", ".join(f"{label.lower()} {self.filters[key].text().strip()!r}" for key, label in FILTERS
                              if self.filters[key].text().strip())
            self.state.setText(f"Live: events appear as they arrive{' (only ' + shown + ')' if shown else ''}.")
        else:
            self.state.setText("")

    def _on_event(self, event) -> None:
        follower = self.follower
        if follower is None or self.paused:
            return  # from a stream that was stopped meanwhile: it will be read again on resume
        follower_key = follower.key
        self._positions[follower_key] = event.position
        item = event.item
        if event.kind == "refused":
            cells = [_when(item["at"]), (item.get("source") or {}).get("name", "?"), f"refused ({item['status']})", "",
                     item.get("reason", ""), ""]
            row = self._insert(cells, ("refused", item), item["at"])
            # The error red of the Insights window, softened toward the text colour so it reads on light and dark.
            refused = mix(REFUSED, self.palette().color(QPalette.ColorRole.Text), 0.2)
            for column in range(len(COLUMNS)):
                self.model.item(row, column).setForeground(refused)
        else:
            names = ", ".join(item.get("event_names") or []) + (f" and {item['more_names']} more" if item.get("more_names") else "")
            identities = item.get("identities") or {}
            user = next(iter(identities.values()), "") or str(item.get("mpid", ""))
            cells = [_when(item["received_at"]), (item.get("source") or {}).get("name", "?"),
                     f"batch {item['seq']}" + (f" ({', '.join(item.get('event_types') or [])})" if item.get("event_types") else ""),
                     f"{item.get('events', 0):,}", names, user]
            self._insert(cells, ("batch", item), item["received_at"])
        while self.model.rowCount() > MAX_ROWS:
            self.model.removeRow(self.model.rowCount() - 1)
        self.event_shown.emit(event)

    def _insert(self, cells: list[str], payload, at: str) -> int:
        """Newest first: the row goes above the first row that arrived before it."""
        items = [QStandardItem(text) for text in cells]
        items[0].setData(payload, ROW_ROLE)
        items[0].setData(at, ROW_ROLE + 1)
        items[3].setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        row = 0
        moment = dt.datetime.fromisoformat(at)
        while row < self.model.rowCount() and dt.datetime.fromisoformat(self.model.item(row, 0).data(ROW_ROLE + 1)) > moment:
            row += 1
        self.model.insertRow(row, items)
        return row

    def _on_stream_failed(self, message: str) -> None:
        self.follower = None
        self.state.setText(f"The stream stopped: {message} Choose the workspace again, or Pause and Resume, to retry.")

    # -- the detail ------------------------------------------------------------------------------------

    def current_row(self):
        index = self.list.currentIndex()
        return None if not index.isValid() else self.model.item(index.row(), 0).data(ROW_ROLE)

    def show_detail(self) -> None:
        chosen = self.current_row()
        if chosen is None:
            self.detail.clear()
            return
        kind, item = chosen
        if kind == "import":
            self.detail.setPlainText(f"{item.source} on this laptop at {minute(item.at)}: {item.batches:,} batches, "
                                     f"{item.events:,} events.\n{item.description or ''}")
            self.detail_shown.emit()
            return
        if kind == "refused":
            self.detail.setPlainText(json.dumps(item, indent=2, ensure_ascii=False))
            self.detail_shown.emit()
            return
        home, workspace_id, seq = self.home, self.workspace.currentData(), item["seq"]
        if home is None or workspace_id is None:
            return
        from app.engines.team import batch_detail

        self.detail.setPlainText(f"Reading batch {seq}…")
        self.tasks.run(lambda: batch_detail(home, workspace_id, seq), label="Reading a batch",
                       on_success=lambda found: self._detail_read(seq, found),
                       on_failure=lambda exc: self.detail.setPlainText(failure_message(exc, "Reading the batch")))

    def _detail_read(self, seq: int, found: dict) -> None:
        chosen = self.current_row()
        if chosen is None or chosen[0] != "batch" or chosen[1]["seq"] != seq:
            return  # another row was chosen meanwhile
        self.detail.setPlainText(json.dumps(found, indent=2, ensure_ascii=False, sort_keys=False))
        self.detail_shown.emit()

    # -- the audit log ---------------------------------------------------------------------------------

    def update_enabled(self) -> None:
        self.audit_action.setEnabled(any(w.role == "admin" for w in self.workspaces))
        self.pause_action.setEnabled(bool(self.workspaces))

    def open_audit(self) -> None:
        if self.home is None:
            return
        from app.ui.activity.audit import AuditDialog

        dialog = AuditDialog(self.home, self.tasks, self)
        self.audit_dialog = dialog  # tests look at it
        dialog.show()
        dialog.search()
