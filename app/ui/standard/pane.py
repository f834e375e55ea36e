"""The Standard audiences pane: In progress, Ready and Archive tabs over one table, the credit balances, and the
actions New Standard Audience…, Calculate…, Clone, Send… and Add Credits….

Everything is read in a worker. The first load after the home opens also recovers calculations a
crash left running (they are failed and refunded). Expiry depends on the clock, so the list is read
again every minute while the pane is shown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QStackedWidget,
    QStyle,
    QTabBar,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.models.store.db import utc_now
from app.engines.home import OpenHome
from app.models.services.standard_audiences import TAB_TITLES, TABS, StandardInfo
from app.engines.standard_calculation import CalculationJob, StandardAudiences
from app.models.services.workspaces import WorkspaceInfo
from app.ui.home import HomeConnection
from app.ui.kit.pane import Pane, PaneBus
from app.ui.kit.times import minute
from app.ui.pane_actions import pane_action
from app.ui.standard.calculate_dialog import CalculateDialog
from app.ui.standard.credits_dialog import AddCreditsDialog
from app.ui.standard.new_standard import open_new_standard_dialog
from app.ui.workers import Tasks, failure_message

ID_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
COLUMNS = ["Name", "Workspace", "Date range", "State", "Size", "Calculated", "Expires"]
RELOAD_ON = {"audience_added", "audience_changed", "audience_removed", "connection_changed", "workspace_changed"}
#: Expiry is a matter of time: the list is read again this often while shown.
REFRESH_EVERY_MS = 60_000

EMPTY = {
    "in_progress": ("No standard audiences in progress",
                    "A standard audience finds users in all cached history between two dates (or in all of it). "
                    "Create one, build its criteria, then calculate it for credits."),
    "ready": ("No ready standard audiences",
              "Calculated audiences are Ready for 30 days: send them to their connected outputs from here."),
    "archive": ("Nothing archived",
                "Audiences move here when they expire, 30 days after their calculation. Clone one to calculate it "
                "again; audiences that refer to it keep its members."),
}


@dataclass(frozen=True)
class StandardList:
    audiences: list[StandardInfo]
    balances: dict[int, int]
    workspaces: list[WorkspaceInfo]
    recovered: list[int]


class StandardAudiencesPane(Pane):
    """Standard audiences by tab, with their calculation, expiry and the workspaces' credits."""

    key = "standard"
    title = "Standard audiences"
    tooltip = "Historical audiences over a date range: calculate them for credits, send them, archive"
    icon = QStyle.StandardPixmap.SP_FileDialogDetailedView
    reload_on = frozenset(RELOAD_ON)
    loading_label = "Loading standard audiences"

    #: fires after each load with how many standard audiences there are
    loaded = Signal(int)
    #: fires when the user opens a draft in the builder (its audience id); the bus takes it to the builder
    open_requested = Signal(int)

    def __init__(self, connection: HomeConnection, tasks: Tasks, parent: QWidget | None = None, *,
                 bus: PaneBus | None = None, now: Callable[[], dt.datetime] = utc_now) -> None:
        super().__init__(connection, tasks, parent, bus=bus)
        self._now = now
        self._service: StandardAudiences | None = None
        self.open_requested.connect(self.bus.open_audience)
        self._recovered_once = False
        self.data = StandardList([], {}, [], [])
        self.dialog: QWidget | None = None
        self.new_dialog = None

        self.new_action = pane_action(self, "&New Standard Audience…", "Ctrl+Shift+N",
                                       "Create a standard audience over a date range and open it in the builder",
                                       self.new_audience)
        self.calculate_action = pane_action(self, "&Calculate…", "Ctrl+Shift+K",
                                             "Calculate the selected drafts together; shows the credits first",
                                             self.calculate)
        self.clone_action = pane_action(self, "C&lone", "Ctrl+Shift+D",
                                         "A new draft with the same criteria and date range (to recalculate)",
                                         self.clone)
        self.send_action = pane_action(self, "&Send…", "Ctrl+Shift+S",
                                        "Forward the selected Ready audience to some of its connections", self.send)
        self.delete_action = pane_action(self, "&Delete…", "", "Delete the selected standard audiences (asks first)",
                                          self.delete)
        self.credits_action = pane_action(self, "Add C&redits…", "",
                                           "Add calculation credits to a workspace (admins)", self.add_credits)
        self.refresh_action = pane_action(self, "Refresh", "F5", "Read the standard audiences again", self.refresh)
        toolbar = QHBoxLayout()
        toolbar.setContentsMargins(0, 0, 0, 0)
        for action in (self.new_action, self.calculate_action, self.clone_action, self.send_action,
                       self.delete_action, self.credits_action):
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            toolbar.addWidget(button)
        toolbar.addStretch(1)
        # Beside the tabs, not the buttons: the buttons keep their whole names in a small window.
        self.credits_label = QLabel()
        self.credits_label.setAccessibleName("Credit balances")
        self.credits_label.setToolTip("Calculation credits of each workspace: one credit covers 365 days of data "
                                      "scanned by one calculation")

        self.tabs = QTabBar()
        self.tabs.setAccessibleName("Standard audience tabs")
        self.tabs.setDocumentMode(True)
        self.tabs.setExpanding(False)
        self.tabs.setUsesScrollButtons(False)
        for tab in TABS:
            self.tabs.addTab(TAB_TITLES[tab])
        self.tabs.setTabToolTip(0, "Drafts, and those being calculated")
        self.tabs.setTabToolTip(1, "Calculated in the last 30 days: can be connected and sent")
        self.tabs.setTabToolTip(2, "Expired: can be cloned and calculated again; their members are kept")
        self.tabs.currentChanged.connect(lambda _i: self._show())

        self.model = QStandardItemModel(0, len(COLUMNS), self)
        self.model.setHorizontalHeaderLabels(COLUMNS)
        self.model.setSortRole(SORT_ROLE)
        self.view = QTreeView()
        self.view.setAccessibleName("Standard audiences")
        self.view.setModel(self.model)
        self.view.setRootIsDecorated(False)
        self.view.setAlternatingRowColors(True)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.view.header()
        header.setStretchLastSection(False)
        # The name takes what is left; the other columns are as wide as what they show.
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setMinimumSectionSize(60)
        self.view.selectionModel().selectionChanged.connect(lambda *_: self.update_enabled())
        # Double-click or Enter opens a draft in the builder.
        self.view.activated.connect(lambda _index: self.open_selected())

        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.view)
        self.outcome = QLabel(wordWrap=True)
        self.outcome.setAccessibleName("Outcome")
        self.outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.busy_bar)
        layout.addLayout(toolbar)
        tab_row = QHBoxLayout()
        tab_row.addWidget(self.tabs)
        tab_row.addStretch(1)
        tab_row.addWidget(self.credits_label)
        layout.addLayout(tab_row)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.outcome)
        self.setMinimumSize(480, 360)

        #: calculations started from this pane, cancelled when the app quits (quitting waits for running work)
        self._jobs: list[CalculationJob] = []
        app = QCoreApplication.instance()
        if app is not None:
            # Connected now, before the app connects closing the home, so a calculation stops before that waits.
            app.aboutToQuit.connect(self.cancel_calculations)
        self._timer = QTimer(self, interval=REFRESH_EVERY_MS)
        self._timer.timeout.connect(lambda: self.refresh() if self.isVisible() else None)
        self._timer.start()
        self._show()


    # -- loading --------------------------------------------------------------------------------

    @property
    def service(self) -> StandardAudiences | None:
        home: OpenHome | None = self.connection.open_home
        if home is None:
            return None
        if self._service is None or self._service.home is not home:
            self._service = StandardAudiences(home, now=self._now)
        return self._service

    def reader(self, home: OpenHome):
        service = self.service
        recover = not self._recovered_once
        self._recovered_once = True

        def read() -> StandardList:
            recovered = service.recover() if recover else []
            return StandardList(service.list(), home.credits.balances(), home.workspaces.list(), recovered)

        return read

    def show_data(self, data: StandardList) -> None:
        self.data = data
        if data.recovered:
            self._tell(f"{len(data.recovered)} calculation(s) were interrupted when Audience Studio stopped: their "
                       "audiences are drafts again and their credits were refunded.")
        self._show()
        self.loaded.emit(len(data.audiences))

    # -- showing --------------------------------------------------------------------------------

    def current_tab(self) -> str:
        return TABS[max(0, self.tabs.currentIndex())]

    def _show(self) -> None:
        chosen = set(self.selected_ids())
        counts = {tab: sum(1 for a in self.data.audiences if a.tab == tab) for tab in TABS}
        for index, tab in enumerate(TABS):
            self.tabs.setTabText(index, f"{TAB_TITLES[tab]} ({counts[tab]})" if counts[tab] else TAB_TITLES[tab])
        names = {w.id: w.name for w in self.data.workspaces}
        if self.data.workspaces:
            self.credits_label.setText("Credits: " + " · ".join(
                f"{names[ws]} {self.data.balances.get(ws, 0):,}" for ws in names))
        else:
            self.credits_label.setText("")
        shown = [a for a in self.data.audiences if a.tab == self.current_tab()]
        self.model.removeRows(0, self.model.rowCount())
        for audience in shown:
            self.model.appendRow(self._row(audience))
        self.view.sortByColumn(self.view.header().sortIndicatorSection(), self.view.header().sortIndicatorOrder())
        if shown:
            self.stack.setCurrentWidget(self.view)
            selection = self.view.selectionModel()
            for row in range(self.model.rowCount()):
                if self.model.item(row, 0).data(ID_ROLE) in chosen:
                    selection.select(self.model.index(row, 0), selection.SelectionFlag.Select
                                     | selection.SelectionFlag.Rows)
        else:
            title, hint = EMPTY[self.current_tab()]
            if self.connection.open_home is not None and not self.data.workspaces:
                title, hint = "No workspace yet", "Run <code>audience-studio demo</code> or import data first."
            if self.current_tab() == "in_progress" and self.data.workspaces:
                self.empty.show_message(title, hint, "New Standard Audience…", self.new_audience)
            else:
                self.empty.show_message(title, hint)
            self.stack.setCurrentWidget(self.empty)
        self.update_enabled()

    def _row(self, audience: StandardInfo) -> list[QStandardItem]:
        def item(text: str, key) -> QStandardItem:
            cell = QStandardItem(text)
            cell.setData(key, SORT_ROLE)
            cell.setData(audience.id, ID_ROLE)
            return cell

        never = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
        state = item(audience.status, audience.status)
        if audience.expired:
            state.setToolTip("Expired 30 days after its calculation: it cannot be connected or sent; clone it to "
                             "calculate it again. Audiences that refer to it keep its members.")
        elif audience.state == "calculating":
            state.setToolTip("Being calculated (calculation %s)" % audience.calculation_id)
        size = item("" if audience.size is None else f"{audience.size:,}", -1 if audience.size is None else audience.size)
        size.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        name = item(audience.name, audience.name.casefold())
        name.setToolTip("Double-click to open the draft in the builder" if audience.state == "draft" else audience.name)
        return [name, item(audience.workspace_name, audience.workspace_name.casefold()),
                item(audience.range_text(), str(audience.range_start or audience.scanned_start or "")), state, size,
                item(minute(audience.calculated_at), audience.calculated_at or never),
                item(minute(audience.expires_at), audience.expires_at or never)]

    # -- selection ------------------------------------------------------------------------------

    def selected_ids(self) -> list[int]:
        rows = sorted({index.row() for index in self.view.selectionModel().selectedRows()})
        return [self.model.item(row, 0).data(ID_ROLE) for row in rows]

    def selected(self) -> list[StandardInfo]:
        by_id = {a.id: a for a in self.data.audiences}
        return [by_id[i] for i in self.selected_ids() if i in by_id]

    def select(self, audience_ids: list[int]) -> None:
        """Select these audiences in the shown tab (for tests and after an action)."""
        selection = self.view.selectionModel()
        selection.clearSelection()
        for row in range(self.model.rowCount()):
            if self.model.item(row, 0).data(ID_ROLE) in audience_ids:
                selection.select(self.model.index(row, 0), selection.SelectionFlag.Select | selection.SelectionFlag.Rows)

    def show_tab(self, tab: str) -> None:
        self.tabs.setCurrentIndex(TABS.index(tab))

    def update_enabled(self) -> None:
        chosen = self.selected()
        opened = self.connection.open_home is not None
        self.new_action.setEnabled(opened and bool(self.data.workspaces))
        self.calculate_action.setEnabled(bool(chosen) and all(a.state == "draft" for a in chosen))
        self.clone_action.setEnabled(len(chosen) == 1)
        self.send_action.setEnabled(len(chosen) == 1 and chosen[0].state == "ready" and not chosen[0].expired)
        self.credits_action.setEnabled(opened and bool(self.data.workspaces))
        self.delete_action.setEnabled(bool(chosen) and all(a.state != "calculating" for a in chosen))
        if len(chosen) == 1 and chosen[0].expired:
            self.send_action.setToolTip("Expired audiences cannot be sent: clone it and calculate the copy")
        else:
            self.send_action.setToolTip("Forward the selected Ready audience to some of its connections "
                                        f"({self.send_action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})")

    # -- actions --------------------------------------------------------------------------------

    def new_audience(self) -> None:
        if self.service is None:
            return
        open_new_standard_dialog(self.service, self.tasks, self, self._on_created)

    def _on_created(self, audience_id: int) -> None:
        self.show_tab("in_progress")
        self._tell("Created the draft: build its criteria, then Calculate it.")
        self.open_requested.emit(audience_id)

    def open_selected(self) -> None:
        chosen = self.selected()
        if len(chosen) != 1:
            return
        if chosen[0].state == "draft":
            self.open_requested.emit(chosen[0].id)
        else:
            self._tell(f"“{chosen[0].name}” is {chosen[0].status.lower()}: its criteria are fixed. Clone it to "
                       "change them and calculate the copy.")

    def calculate(self) -> None:
        chosen = self.selected()
        if self.service is None or not chosen or not self.calculate_action.isEnabled():
            return
        dialog = CalculateDialog(self.service, self.tasks, [a.id for a in chosen], self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished_calculation.connect(self._on_calculated)
        dialog.started.connect(self._jobs.append)
        dialog.finished.connect(lambda _r: setattr(self, "dialog", None))
        self.dialog = dialog
        dialog.open()
        dialog.load()

    def cancel_calculations(self) -> None:
        """Stop the calculations still running (their unfinished audiences go back to Draft, refunded)."""
        for job in self._jobs:
            if job.outcome is None:
                job.cancel()

    def _on_calculated(self, outcome: str) -> None:
        self._jobs = [job for job in self._jobs if job.outcome is None]
        self.refresh()
        if outcome == "done":
            self._tell("Calculated: the audiences are in the Ready tab for 30 days.")

    def clone(self) -> None:
        chosen = self.selected()
        if self.service is None or len(chosen) != 1:
            return
        service, original = self.service, chosen[0]
        self.tasks.run(lambda: service.clone(original.id), label="Cloning the standard audience",
                       on_success=lambda copy: self._on_cloned(original, copy),
                       on_failure=lambda exc: self._tell(failure_message(exc, "Cloning")))

    def _on_cloned(self, original: StandardInfo, copy: StandardInfo) -> None:
        self.show_tab("in_progress")
        self._tell(f"Cloned “{original.name}” as the draft “{copy.name}” over the same dates; calculate it when ready.")
        self.refresh()

    def send(self) -> None:
        chosen = self.selected()
        if self.service is None or not self.send_action.isEnabled() or len(chosen) != 1:
            return
        from app.ui.standard.send_dialog import SendDialog  # on first use: it brings the partner directory

        dialog = SendDialog(self.service, self.tasks, chosen[0], self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _r: setattr(self, "dialog", None))
        self.dialog = dialog
        dialog.open()
        dialog.load()

    def delete(self) -> None:
        chosen = self.selected()
        if self.service is None or not chosen or not self.delete_action.isEnabled():
            return
        what = f"“{chosen[0].name}”" if len(chosen) == 1 else f"{len(chosen)} standard audiences"
        if not self.confirm(f"Delete {what}?", "Their calculated members are deleted too, and audiences that "
                            "refer to them no longer can. Credits already spent are not refunded."):
            return
        service, ids = self.service, [a.id for a in chosen]
        self.tasks.run(lambda: [service.delete(i) for i in ids], label="Deleting standard audiences",
                       on_success=lambda done: (self._tell(f"Deleted {what}."), self.refresh()),
                       on_failure=lambda exc: self._tell(failure_message(exc, "Deleting")))

    def confirm(self, question: str, detail: str) -> bool:
        """Ask before a destructive action (tests replace this)."""
        box = QMessageBox(QMessageBox.Icon.Warning, "Delete", question,
                          QMessageBox.StandardButton.Cancel, self)
        box.setInformativeText(detail)
        delete = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is delete

    def add_credits(self) -> None:
        service = self.service
        if service is None or not self.data.workspaces:
            return
        chosen = self.selected()
        dialog = AddCreditsDialog(service.home.credits, self.tasks, self.data.workspaces, self.data.balances, self,
                                  workspace_id=chosen[0].workspace_id if chosen else None)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.added.connect(lambda _ws: (self._tell("Credits added."), self.refresh()))
        dialog.finished.connect(lambda _r: setattr(self, "dialog", None))
        self.dialog = dialog
        dialog.open()

    def _tell(self, text: str) -> None:
        self.outcome.setText(text)

