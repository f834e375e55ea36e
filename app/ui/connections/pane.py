"""The Connections pane: the partner directory, output configurations, and the connections of the chosen output."""

from __future__ import annotations

import os

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHeaderView,
    QGridLayout,
    QLabel,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QStyle,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from typing import TYPE_CHECKING

from app.engines.home import OpenHome
from app.ui.connections.directory import PartnerDirectory
from app.ui.connections.fault_details import FaultDetails
from app.ui.connections.forward import ForwardRun
from app.ui.connections.sign_in import SignIn
from app.ui.home import HomeConnection
from app.ui.kit.pane import Pane, PaneBus
from app.ui.kit.times import minute
from app.ui.pane_actions import pane_action
from app.ui.workers import Tasks, failure_message

if TYPE_CHECKING:
    from app.models.services.connections import ConnectionInfo
    from app.models.services.outputs import OutputInfo

# The dialogs and the partner directory are imported when first needed: they pull in the HTTP and
# keyring libraries, which the window's start need not wait for (the first load imports them in a worker).

ID_ROLE = Qt.ItemDataRole.UserRole + 1
#: The store events after which the pane reloads.
RELOAD_ON = {"output_changed", "connection_changed", "fault_changed", "audience_changed"}
STATUS_LABELS = {"sending": "Sending", "inactive": "Inactive"}
#: The newest runs read for the Last run column (all connections), and how many its tooltip lists.
RUNS_READ = 500
RUNS_IN_TOOLTIP = 10


def run_line(run) -> str:
    """One run in a few words: its outcome, the adds and removes sent, and what the partner rejected."""
    text = f"{run.outcome}: {run.adds_sent:,} added, {run.removes_sent:,} removed"
    rejected = run.adds_rejected + run.removes_rejected
    if rejected:
        text += f", {rejected:,} rejected"
    if run.fault_id:
        text += f" (fault {run.fault_id})"
    return text


def forwarder_text(home_root) -> str:
    """Who forwards for the home now, and the agent's last run (reads the lock and HOME/agent.json: a worker's job)."""
    from app.engines.forwarder_lock import holder, read_agent_status

    current = holder(home_root) or {}
    if current.get("holder") == "app" and current.get("pid") == os.getpid():
        text = "Automatic forwarding: this app forwards Sending connections of Active audiences after each change."
    elif current.get("holder") == "agent":
        text = f"Automatic forwarding: the activation agent (pid {current.get('pid')}) is forwarding for this home."
    elif current:
        text = "Automatic forwarding: another Audience Studio forwards for this home."
    else:
        text = "Automatic forwarding is starting (nobody forwards for this home yet)."
    agent = read_agent_status(home_root)
    if agent is not None and agent.last_run_at:
        text += f" The agent's last run: {agent.last_run_at}, {agent.last_run}."
    return text
#: The connections table's "Fault" column: double-click or Enter there opens the fault's details.
FAULT_COLUMN = 4


class ConnectionsPane(Pane):
    """Outputs and their connections, loaded in a worker and reloaded when the store says they changed."""

    key = "connections"
    title = "Connections"
    tooltip = "Outputs, and the audiences connected to them"
    icon = QStyle.StandardPixmap.SP_DriveNetIcon
    reload_on = frozenset(RELOAD_ON)
    loading_label = "Loading outputs"

    #: fires on the GUI thread each time the outputs and connections were (re)loaded
    loaded = Signal()
    #: fires with what to tell the admin after an action (a sign-in, a forward run)
    message = Signal(str)

    def __init__(self, connection: HomeConnection, tasks: Tasks, parent: QWidget | None = None, *,
                 bus: PaneBus | None = None) -> None:
        super().__init__(connection, tasks, parent, bus=bus)
        self.outputs: list[OutputInfo] = []
        self.connections: list[ConnectionInfo] = []
        #: the last dialog or background run started from the pane (tests drive them)
        self.dialog = None
        self.run: ForwardRun | SignIn | None = None

        self.directory = PartnerDirectory()
        self.directory.new_output_requested.connect(self.new_output)
        directory_box = self._box("Partners", self.directory)

        self.output_model = QStandardItemModel(0, 4, self)
        self.output_model.setHorizontalHeaderLabels(["Output", "Partner", "Sign-in", "Used by"])
        self.output_view = self._table(self.output_model, "Outputs")
        self.output_view.selectionModel().currentRowChanged.connect(lambda *_: self._show_connections())
        self.output_view.activated.connect(lambda *_: self.edit_output())
        self.connection_model = QStandardItemModel(0, 6, self)
        self.connection_model.setHorizontalHeaderLabels(["Audience", "Status", "Held identities", "Last forwarded",
                                                         "Fault", "Last run"])
        #: connection id → its runs, newest first (the Last run column and its tooltip)
        self.runs: dict[int, list] = {}
        self.connection_view = self._table(self.connection_model, "Connections of the output")
        self.connection_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.connection_view.selectionModel().currentRowChanged.connect(self._on_connection_chosen)
        self.connection_view.activated.connect(self._on_connection_activated)
        #: the connection the admin chose, kept across reloads (which rebuild the rows)
        self._chosen_connection_id: int | None = None

        self.new_action = pane_action(self, "&New Output…", "Ctrl+Shift+N", "Create an output for the chosen partner",
                                       self.new_output)
        self.edit_action = pane_action(self, "&Edit Output…", "Ctrl+E", "Change the output's name, settings and secrets",
                                        self.edit_output)
        self.sign_in_action = pane_action(self, "&Sign In…", None, "Sign the output in to its partner in your web browser",
                                           self.sign_in)
        self.delete_action = pane_action(self, "De&lete Output", None, "Delete the output (it must have no connections)",
                                          self.delete_output)
        self.connect_action = pane_action(self, "&Connect…", "Ctrl+K", "Connect one or several audiences to the output",
                                           self.connect_audiences)
        self.disconnect_action = pane_action(self, "&Disconnect", "Ctrl+Shift+K", "Remove the chosen connection",
                                              self.disconnect_chosen)
        self.status_action = pane_action(self, "Make &Inactive", "Ctrl+I", "Pause or restart sending to this connection",
                                          self.toggle_status)
        self.forward_action = pane_action(self, "&Forward Now", "Ctrl+Return", "Forward the audience to the output now",
                                           self.forward_now)
        self.attributes_action = pane_action(self, "Shared &Attributes…", "Ctrl+Shift+A",
                                              "Choose the user attributes forwarded with the identities",
                                              self.edit_shared_attributes)
        self.fault_action = pane_action(self, "Fault De&tails…", "Ctrl+T",
                                         "Why forwarding to this connection stopped, and what fixes it",
                                         self.show_fault)
        self.refresh_action = pane_action(self, "&Refresh", QKeySequence.StandardKey.Refresh, "Reload outputs",
                                           self.refresh)

        # No output yet: say how to make one where the outputs would be listed.
        self.empty.show_message("No outputs yet", "An output is a partner set up to receive audiences. Choose a "
                                "partner on the left (double-click it), then connect audiences to the output.",
                                "New Output…", lambda: self.new_output())
        self.outputs_stack = QStackedWidget()
        self.outputs_stack.addWidget(self.output_view)
        self.outputs_stack.addWidget(self.empty)
        outputs_box = self._box("Outputs", self._tool_row(self.new_action, self.edit_action, self.sign_in_action,
                                                          self.delete_action), self.outputs_stack)
        self.connections_title = QLabel()
        #: who forwards automatically for this home (this app or the activation agent), and the agent's last run
        self.forwarder = QLabel(wordWrap=True)
        self.forwarder.setAccessibleName("Automatic forwarding")
        connections_box = self._box("Connections", self.connections_title, self.forwarder,
                                    self._tool_row(self.connect_action, self.disconnect_action, self.status_action,
                                                   self.forward_action, self.attributes_action, self.fault_action),
                                    self.connection_view)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(outputs_box)
        right.addWidget(connections_box)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(directory_box)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([360, 640])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.busy_bar)
        layout.addWidget(splitter, 1)
        # The window's stack is as wide as its widest pane's minimum: stay within a small laptop window.
        self.setMinimumSize(480, 360)
        #: the outcome of the last sign-in or forward run
        self.outcome = QLabel(wordWrap=True)
        self.outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.outcome)

        self.update_enabled()

    # -- building -------------------------------------------------------------------------------

    @staticmethod
    def _box(title: str, *widgets: QWidget) -> QGroupBox:
        box = QGroupBox(title)
        layout = QVBoxLayout(box)
        for widget in widgets:
            layout.addWidget(widget, 1 if isinstance(widget, QTreeView | PartnerDirectory | QStackedWidget) else 0)
        return box

    @staticmethod
    def _table(model: QStandardItemModel, name: str) -> QTreeView:
        view = QTreeView()
        view.setAccessibleName(name)
        view.setModel(model)
        view.setRootIsDecorated(False)
        view.setAlternatingRowColors(True)
        view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        # The other columns fit their header and values, the first (a name) takes the rest: no header or
        # value cut while a column has room to spare, and no sideways scrolling while the names fit.
        header = view.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(header.sectionSizeHint(0))
        return view


    @staticmethod
    def _tool_row(*actions: QAction) -> QWidget:
        row = QWidget()
        layout = QGridLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        # Rows of at most three (four when that is all): six buttons in one row were squeezed and cut at a
        # larger desktop font (tests/ui/test_no_clipping.py at 150 %).
        per_row = len(actions) if len(actions) <= 4 else 3
        for i, action in enumerate(actions):
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            layout.addWidget(button, i // per_row, i % per_row)
        layout.setColumnStretch(per_row, 1)
        return row

    # -- loading --------------------------------------------------------------------------------

    def reader(self, home: OpenHome):
        def read():
            from app.models.services.forwarding_runs import ForwardingRunService

            runs: dict[int, list] = {}
            for run in ForwardingRunService(home.store).list(limit=RUNS_READ):
                runs.setdefault(run.connection_id, []).append(run)
            return home.outputs.list(), home.connections.list(), runs, forwarder_text(home.home.root)

        return read

    def show_data(self, loaded) -> None:
        from app.connectors.outputs.partner import AUTH_LABELS

        current = self.current_output()
        self.outputs, self.connections, self.runs, forwarder = loaded
        self.forwarder.setText(forwarder)
        self.output_model.removeRows(0, self.output_model.rowCount())
        for output in self.outputs:
            users = [c.target_name for c in self.connections if c.configuration_id == output.id]
            name = QStandardItem(output.name)
            name.setData(output.id, ID_ROLE)
            used = QStandardItem(", ".join(users) if users else "No connections")
            used.setToolTip("\n".join(users))
            self.output_model.appendRow([name, QStandardItem(output.partner_name),
                                         QStandardItem(AUTH_LABELS[output.auth]), used])
        self.outputs_stack.setCurrentWidget(self.output_view if self.outputs else self.empty)
        self.select_output(current.id if current else (self.outputs[0].id if self.outputs else None))
        self._show_connections()
        self.loaded.emit()

    def _show_connections(self) -> None:
        output = self.current_output()
        chosen_id = self._chosen_connection_id
        self._rebuilding = True
        self.connection_model.removeRows(0, self.connection_model.rowCount())
        if output is None:
            self.connections_title.setText("Create an output (double-click a partner), then connect audiences to it.")
        else:
            self.connections_title.setText(f"Audiences connected to “{output.name}”")
        for info in self.connections_of(output.id if output else None):
            audience = QStandardItem(info.target_name)
            audience.setData(info.id, ID_ROLE)
            audience.setToolTip(f"Shares user attributes: {', '.join(info.shared_attributes)}"
                                if info.shared_attributes else "Identities only (no user attributes shared)")
            fault = QStandardItem(f"⚠ {info.fault.category}" if info.fault else "")
            if info.fault:
                fault.setToolTip(info.fault.message)
            runs = self.runs.get(info.id, [])
            last_run = QStandardItem(f"{minute(runs[0].ended_at)} {run_line(runs[0])}" if runs else "No run yet")
            last_run.setToolTip("\n".join(f"{minute(r.started_at)} ({r.trigger}) {run_line(r)}"
                                           for r in runs[:RUNS_IN_TOOLTIP]) or "Not forwarded yet")
            self.connection_model.appendRow([audience, QStandardItem(STATUS_LABELS.get(info.status, info.status)),
                                             QStandardItem(f"{info.identities_held:,}"),
                                             QStandardItem(minute(info.last_forwarded_at, "Never")), fault, last_run])
            if chosen_id == info.id:
                self.connection_view.setCurrentIndex(audience.index())
        self._rebuilding = False
        self.update_enabled()

    def _on_connection_chosen(self, current, _previous) -> None:
        if not getattr(self, "_rebuilding", False):
            self._chosen_connection_id = (self.connection_model.item(current.row(), 0).data(ID_ROLE)
                                          if current.isValid() else None)
        self.update_enabled()

    def connections_of(self, output_id: int | None) -> list[ConnectionInfo]:
        return [c for c in self.connections if c.configuration_id == output_id]

    # -- what is chosen -------------------------------------------------------------------------

    def current_output(self) -> OutputInfo | None:
        index = self.output_view.currentIndex()
        if not index.isValid():
            return None
        output_id = self.output_model.item(index.row(), 0).data(ID_ROLE)
        return next((o for o in self.outputs if o.id == output_id), None)

    def select_output(self, output_id: int | None) -> None:
        for row in range(self.output_model.rowCount()):
            if self.output_model.item(row, 0).data(ID_ROLE) == output_id:
                self.output_view.selectionModel().setCurrentIndex(
                    self.output_model.index(row, 0),
                    QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
                return

    def current_connection(self) -> ConnectionInfo | None:
        index = self.connection_view.currentIndex()
        if not index.isValid():
            return None
        connection_id = self.connection_model.item(index.row(), 0).data(ID_ROLE)
        return next((c for c in self.connections if c.id == connection_id), None)

    def select_connection(self, connection_id: int) -> None:
        for row in range(self.connection_model.rowCount()):
            if self.connection_model.item(row, 0).data(ID_ROLE) == connection_id:
                self.connection_view.setCurrentIndex(self.connection_model.index(row, 0))

    def update_enabled(self) -> None:
        output, chosen = self.current_output(), self.current_connection()
        for action in (self.edit_action, self.delete_action, self.connect_action):
            action.setEnabled(output is not None)
        self.sign_in_action.setEnabled(output is not None and output.auth == "oauth2")
        for action in (self.disconnect_action, self.status_action, self.forward_action, self.attributes_action):
            action.setEnabled(chosen is not None)
        self.status_action.setText("Make &Sending" if chosen is not None and chosen.status == "inactive"
                                   else "Make &Inactive")
        self.fault_action.setEnabled(chosen is not None and chosen.fault is not None)

    # -- actions --------------------------------------------------------------------------------

    def new_output(self, partner_key: str | None = None) -> None:
        if self.home is None:
            return
        from app.ui.connections.output_dialog import open_output_dialog

        open_output_dialog(self.home, self.tasks, self, partner_key=partner_key or self.directory.current_key(),
                           on_open=self._opened_dialog)

    def edit_output(self) -> None:
        output = self.current_output()
        if output is not None and self.home is not None:
            from app.ui.connections.output_dialog import open_output_dialog

            open_output_dialog(self.home, self.tasks, self, output_id=output.id, on_open=self._opened_dialog)

    def _opened_dialog(self, dialog) -> None:
        self.dialog = dialog

    def sign_in(self) -> None:
        output = self.current_output()
        if output is None or self.home is None:
            return
        self.run = SignIn(self.home, self.tasks, output.id, output.name, self)
        self.run.finished.connect(lambda _ok, text: self._tell(text))
        self.run.start()

    def delete_output(self) -> None:
        output = self.current_output()
        if output is None or self.home is None:
            return
        answer = QMessageBox.question(self, "Delete Output",
                                      f"Delete the output “{output.name}” and its secrets in the keyring?")
        if answer == QMessageBox.StandardButton.Yes:
            outputs = self.home.outputs
            self.tasks.run(lambda: outputs.delete(output.id), label="Deleting the output")

    def connect_audiences(self) -> None:
        output, home = self.current_output(), self.home
        if output is None or home is None:
            return

        def show(audiences) -> None:
            from app.ui.connections.connect_dialog import ConnectDialog

            dialog = ConnectDialog(home, self.tasks, output, [(a.id, a.name) for a in audiences], self)
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            self.dialog = dialog
            dialog.open()

        self.tasks.run(lambda: home.audiences.list(), label="Loading audiences", on_success=show)

    def disconnect_chosen(self) -> None:
        chosen = self.current_connection()
        if chosen is None or self.home is None:
            return
        connections = self.home.connections
        self.tasks.run(lambda: connections.disconnect(chosen.id), label="Disconnecting")

    def toggle_status(self) -> None:
        chosen = self.current_connection()
        if chosen is None or self.home is None:
            return
        status = "sending" if chosen.status == "inactive" else "inactive"
        connections = self.home.connections
        # A refusal (a draft audience cannot be Sending) shows in the pane's outcome line, beside the connection.
        self.tasks.run(lambda: connections.set_status(chosen.id, status), label="Changing the connection's status",
                       on_failure=lambda exc: self._tell(failure_message(exc, "Changing the connection's status")))

    def show_fault(self) -> None:
        """The fault-details window of the chosen connection's fault (app/ui/connections/fault_details.py)."""
        chosen = self.current_connection()
        if chosen is None or chosen.fault is None:
            return
        self.dialog = FaultDetails(self.connection, self.tasks, fault_id=chosen.fault.id, parent=self)
        self.dialog.show()

    def _on_connection_activated(self, index) -> None:
        # Double-click or Enter on the fault column opens the fault's details.
        if index.column() == FAULT_COLUMN:
            self.show_fault()

    def edit_shared_attributes(self) -> None:
        chosen = self.current_connection()
        if chosen is None or self.home is None:
            return
        from app.ui.connections.connect_dialog import SharedAttributesDialog

        dialog = SharedAttributesDialog(self.home, self.tasks, chosen, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(lambda info: self._tell(
            f"“{info.target_name}” shares {', '.join(info.shared_attributes) or 'no user attributes'} with "
            f"“{info.output_name}”; the next forwarding run sends them."))
        self.dialog = dialog
        dialog.open()

    def forward_now(self) -> None:
        chosen = self.current_connection()
        if chosen is None or self.home is None:
            return
        self.run = ForwardRun(self.home, self.tasks, chosen.id, self,
                              what=f"“{chosen.target_name}” to “{chosen.output_name}”")
        self.run.finished.connect(lambda _report, text: self._tell(text))
        self.run.start()

    def _tell(self, text: str) -> None:
        self.outcome.setText(text)
        self.message.emit(text)
        self.refresh()
