"""The Faults pane: every open fault with its category, the partner's answer and its retries, and what to do about it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QStackedWidget,
    QStyle,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.engines.home import OpenHome
from app.ui.connections.forward import ForwardRun
from app.ui.connections.fault_details import FaultDetails
from app.ui.connections.sign_in import SignIn
from app.ui.home import HomeConnection
from app.ui.kit.pane import Pane, PaneBus
from app.ui.kit.times import minute
from app.ui.pane_actions import pane_action
from app.ui.workers import Tasks, failure_message

if TYPE_CHECKING:
    from app.models.services.faults import FaultInfo

ID_ROLE = Qt.ItemDataRole.UserRole + 1
RELOAD_ON = {"fault_changed", "connection_changed", "output_changed", "audience_changed"}
COLUMNS = ["Audience", "Output", "Category", "Status code", "Message", "Began", "Retries"]


class FaultsPane(Pane):
    """Open faults, loaded in a worker and reloaded when the store's faults, connections or outputs change;
    the navigation shows how many there are ("Faults (3)")."""

    key = "faults"
    title = "Faults"
    tooltip = "Why forwarding to a connection stopped, and resuming it"
    icon = QStyle.StandardPixmap.SP_MessageBoxWarning
    reload_on = frozenset(RELOAD_ON)
    loading_label = "Loading faults"

    #: fires on the GUI thread each time the faults were (re)loaded
    loaded = Signal()

    def __init__(self, connection: HomeConnection, tasks: Tasks, parent: QWidget | None = None, *,
                 bus: PaneBus | None = None) -> None:
        super().__init__(connection, tasks, parent, bus=bus)
        self.faults: list[FaultInfo] = []
        self._oauth_outputs: set[int] = set()
        self.dialog = None
        self.run: ForwardRun | SignIn | None = None

        self.model = QStandardItemModel(0, len(COLUMNS), self)
        self.model.setHorizontalHeaderLabels(COLUMNS)
        self.view = QTreeView()
        self.view.setAccessibleName("Open faults")
        self.view.setModel(self.model)
        self.view.setRootIsDecorated(False)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(True)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        for column, width in enumerate((150, 120, 110, 80, 420, 120, 60)):
            self.view.setColumnWidth(column, width)
        self.view.selectionModel().currentRowChanged.connect(lambda *_: self.update_enabled())

        self.reauthenticate_action = pane_action(self, "Re-&authenticate…", "Ctrl+Shift+A",
                                                  "Sign the output in again in your web browser", self.reauthenticate)
        self.credentials_action = pane_action(self, "Edit &Credentials…", "Ctrl+E",
                                               "Change the output's settings and secrets", self.edit_credentials)
        self.details_action = pane_action(self, "&Details…", "Ctrl+D",
                                           "The partner's message, the retries, the common causes and what fixes them",
                                           self.show_details)
        self.view.activated.connect(lambda _index: self.show_details())  # double-click or Enter on a fault
        self.resume_action = pane_action(self, "&Resume", "Ctrl+R",
                                          "Mark the fault resolved and continue forwarding from where it stopped",
                                          self.resume)
        buttons = QWidget()
        row = QHBoxLayout(buttons)
        row.setContentsMargins(0, 0, 0, 0)
        for action in (self.details_action, self.reauthenticate_action, self.credentials_action, self.resume_action):
            button = QToolButton()
            button.setDefaultAction(action)
            row.addWidget(button)
        row.addStretch(1)

        self.empty.show_message("No faults: forwarding is running normally",
                                "When a partner refuses a batch (an expired sign-in, a missing permission, too many "
                                "retries), forwarding to that connection stops and the fault appears here.")
        table = QWidget()
        table_layout = QVBoxLayout(table)
        table_layout.setContentsMargins(0, 0, 0, 0)
        table_layout.addWidget(buttons)
        table_layout.addWidget(self.view, 1)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(table)
        #: the outcome of the last action
        self.outcome = QLabel(wordWrap=True)
        self.outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.busy_bar)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.outcome)
        # The window's stack is as wide as its widest pane's minimum: stay within a small laptop window.
        self.setMinimumSize(480, 360)

        self.update_enabled()

    # -- loading --------------------------------------------------------------------------------

    def reader(self, home: OpenHome):
        return lambda: (home.faults.list(open_only=True), {o.id for o in home.outputs.list() if o.auth == "oauth2"})

    def show_data(self, loaded: tuple[list[FaultInfo], set[int]]) -> None:
        chosen = self.current_fault()
        self.faults, self._oauth_outputs = loaded
        self.model.removeRows(0, self.model.rowCount())
        for fault in self.faults:
            audience = QStandardItem(f"⚠ {fault.audience_name}")
            audience.setData(fault.id, ID_ROLE)
            message = QStandardItem(fault.message)
            message.setToolTip(fault.message)
            self.model.appendRow([audience, QStandardItem(fault.output_name), QStandardItem(fault.category),
                                  QStandardItem("" if fault.status_code is None else str(fault.status_code)), message,
                                  QStandardItem(minute(fault.began_at)), QStandardItem(str(fault.retries))])
        self.stack.setCurrentIndex(1 if self.faults else 0)
        if self.faults:
            keep = chosen.id if chosen is not None and any(f.id == chosen.id for f in self.faults) else self.faults[0].id
            self.select_fault(keep)
        self.update_enabled()
        self.set_badge(len(self.faults))  # "Faults (3)" in the navigation
        self.loaded.emit()

    # -- what is chosen -------------------------------------------------------------------------

    def current_fault(self) -> FaultInfo | None:
        index = self.view.currentIndex()
        if not index.isValid():
            return None
        fault_id = self.model.item(index.row(), 0).data(ID_ROLE)
        return next((f for f in self.faults if f.id == fault_id), None)

    def select_fault(self, fault_id: int) -> None:
        for row in range(self.model.rowCount()):
            if self.model.item(row, 0).data(ID_ROLE) == fault_id:
                self.view.setCurrentIndex(self.model.index(row, 0))

    def update_enabled(self) -> None:
        fault = self.current_fault()
        self.reauthenticate_action.setEnabled(fault is not None and fault.output_id in self._oauth_outputs)
        self.credentials_action.setEnabled(fault is not None)
        self.details_action.setEnabled(fault is not None)
        self.resume_action.setEnabled(fault is not None)

    # -- actions --------------------------------------------------------------------------------

    def reauthenticate(self) -> None:
        """Run the OAuth sign-in again for the fault's output (the fault stays open until Resume)."""
        fault = self.current_fault()
        if fault is None or self.home is None:
            return
        self.run = SignIn(self.home, self.tasks, fault.output_id, fault.output_name, self)
        self.run.finished.connect(lambda ok, text: self._tell(text + (" Press Resume to continue forwarding."
                                                                      if ok else "")))
        self.run.start()

    def show_details(self) -> None:
        """The fault-details window of the chosen fault (app/ui/connections/fault_details.py)."""
        fault = self.current_fault()
        if fault is None:
            return
        self.dialog = FaultDetails(self.connection, self.tasks, fault_id=fault.id, parent=self)
        self.dialog.show()

    def edit_credentials(self) -> None:
        fault = self.current_fault()
        if fault is None or self.home is None:
            return
        from app.ui.connections.output_dialog import open_output_dialog

        open_output_dialog(self.home, self.tasks, self, output_id=fault.output_id,
                           on_open=lambda dialog: setattr(self, "dialog", dialog))

    def resume(self) -> None:
        """Resolve the fault, then forward the connection in a worker: it continues from where it stopped."""
        fault = self.current_fault()
        if fault is None or self.home is None:
            return
        home = self.home
        self.resume_action.setEnabled(False)
        self.tasks.run(lambda: home.faults.resume(fault.id), label="Resuming forwarding",
                       on_success=lambda resumed: self._forward(resumed.connection_id),
                       on_failure=lambda exc: self._tell(failure_message(exc, "Resuming")))

    def _forward(self, connection_id: int) -> None:
        self.run = ForwardRun(self.home, self.tasks, connection_id, self)
        self.run.finished.connect(lambda _report, text: self._tell(text))
        self.run.start()

    def _tell(self, text: str) -> None:
        self.outcome.setText(text)
        self.refresh()
