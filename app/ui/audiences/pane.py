"""The Audiences pane: single and multi workspace tabs over one sortable, filterable table, with each audience's
live membership as the membership engine last calculated it.

Made of parts with one job each: the filter bar (filter_bar.py), the table and its column widths
(table.py), the actions on the chosen audiences (actions.py), the calculations the list asks for
(calculating.py) and the notice (notice.py); the pane reads the list with the engine's statuses (the kit's
refresh idiom: again after every store change and every cache change, a sync's or the membership clock's)
and says what to show. Opening the list never calculates: sizes, adds, drops and "as of" are the engine's.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from PySide6.QtCore import QPoint, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QStackedWidget, QStyle, QTabBar, QVBoxLayout, QWidget
from shiboken6 import isValid

from app.engines.home import OpenHome
from app.models.services.audiences import AudienceInfo
from app.ui.audiences.actions import AudienceActions, popup_menu
from app.ui.audiences.filter_bar import FilterBar
from app.ui.audiences.filters import TAB_TITLES, TAB_TOOLTIPS, scope_of_tab
from app.ui.audiences.model import AUDIENCE_ROLE, Column
from app.ui.audiences.new_audience import open_new_audience_dialog
from app.ui.audiences.notice import Notice
from app.ui.audiences.calculating import Calculation
from app.ui.audiences.table import AudienceTable
from app.ui.connections.fault_details import FaultDetails
from app.ui.home import HomeConnection
from app.ui.kit.pane import Pane, PaneBus
from app.ui.workers import Tasks

#: How long to wait after a store change before reloading, so a burst of changes costs one query.
REFRESH_DELAY_MS = 100
TAB_KEY = "audiences/tab"
DEMO_COMMAND = "audience-studio demo"


@dataclass(frozen=True)
class AudienceList:
    """What the pane shows, read in one go in the background."""

    audiences: list[AudienceInfo]
    has_workspace: bool
    #: audience id → (connected outputs, those with an open fault)
    outputs: dict[int, tuple[int, int]] = field(default_factory=dict)
    #: the audiences with a saved A/B test (marked with %)
    ab_tests: frozenset[int] = frozenset()
    #: audience id → the membership engine's status of the audience as a whole
    statuses: dict = field(default_factory=dict)


def read_audiences(home: OpenHome) -> AudienceList:
    """Runs in a worker: every audience, whether there is a workspace to create one in, and the
    audiences' connected outputs and faults, and each audience's membership as the engine last calculated it."""
    # Imported by the worker: the engine brings DuckDB work the window's start does not need.
    from app.engines import membership

    return AudienceList(
        audiences=home.audiences.list(kind="realtime"),  # standard audiences have their own pane
        has_workspace=bool(home.workspaces.list()),
        outputs=home.connections.outputs_by_audience(),
        ab_tests=frozenset(home.ab_tests.audience_ids()),
        statuses={audience_id: status for (audience_id, variant_id), status in membership.statuses(home).items()
                  if variant_id == membership.WHOLE},
    )


def _command(text: str) -> str:
    # On a line of its own and never wrapped, so it reads (and copies) as one command.
    return f'<br><code style="white-space: nowrap">{html.escape(text)}</code><br>'


class AudiencesPane(Pane):
    """Every audience in the home: tabs by scope, search, tag filter, sizes, actions, helpful empty states."""

    key = "audience_list"
    title = "Audiences"
    tooltip = "Every audience: search, sort, see status and tags; open one to edit it"
    icon = QStyle.StandardPixmap.SP_DirHomeIcon
    # Any store change may show in the list (names, tags, statuses, outputs, faults, A/B tests).
    reload_on = frozenset()
    # A sync, or the membership clock's run, changes the members the list shows.
    reload_on_cache_change = True
    refresh_delay_ms = REFRESH_DELAY_MS
    loading_label = "Loading audiences"

    #: fires after a load has been shown; the argument is how many audiences there are
    loaded = Signal(int)
    #: fires when the user opens an audience (double-click, Enter, or Open); the audience id
    open_requested = Signal(int)
    #: fires when a calculation the list asked for (Recalculate, an activation) has ended and been read
    calculated = Signal()

    def __init__(self, connection: HomeConnection, tasks: Tasks, parent: QWidget | None = None, *,
                 bus: PaneBus | None = None) -> None:
        super().__init__(connection, tasks, parent, bus=bus)
        self._has_workspace = True
        self._open_error: str | None = None
        self._select_after_load: int | None = None
        self._calculated_pending = False

        self.filter_bar = bar = FilterBar()
        self.search, self.tag_filter, self.count = bar.search, bar.tag_filter, bar.count
        bar.new_requested.connect(self.new_audience)
        bar.refresh_requested.connect(self.recalculate)
        self.tabs = QTabBar()
        self.tabs.setDocumentMode(True)
        self.tabs.setExpanding(False)
        self.tabs.setAccessibleName("Audience scope")
        for index, title in enumerate(TAB_TITLES):
            self.tabs.addTab(title)
            self.tabs.setTabToolTip(index, TAB_TOOLTIPS[index])
        self.table = AudienceTable()
        self.model, self.proxy = self.table.list_model, self.table.proxy
        self.pages = QStackedWidget()
        self.pages.addWidget(self.table)
        self.pages.addWidget(self.empty)
        self.notice = Notice()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(6)
        layout.addWidget(bar)
        layout.addWidget(self.tabs)
        layout.addWidget(self.busy_bar)
        layout.addWidget(self.notice)
        layout.addWidget(self.pages, 1)

        self.actions = AudienceActions(self, self, connection, tasks)
        self.actions.open_requested.connect(self.open_requested)
        self.actions.done.connect(lambda text, undoable: self.notice.show_text(text, undoable=undoable))
        self.actions.failed.connect(lambda text: self.notice.show_text(text, undoable=False))
        self.notice.undo_button.clicked.connect(self._on_notice_undo)
        self.refresh_action = QAction("&Recalculate Live Audiences", self)
        self.refresh_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Refresh))
        self.refresh_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.refresh_action.setStatusTip("Bring every Active audience up to date now (they are kept up to date "
                                         "after every import and sync, and on the clock)")
        self.refresh_action.triggered.connect(self.recalculate)
        self.addAction(self.refresh_action)

        self.calculation = Calculation(tasks, self)
        self.calculation.started.connect(self._on_calculation_started)
        self.calculation.progressed.connect(self.busy_bar.set_progress)
        self.calculation.finished.connect(self._on_calculation_finished)
        self.actions.activated.connect(self.calculate)

        self.search.textChanged.connect(lambda text: (self.proxy.set_search(text), self._show_state()))
        self.tag_filter.chosen_changed.connect(lambda tags: (self.proxy.set_tags(tags), self._show_state()))
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.table.activated.connect(self._on_row_activated)
        self.table.clicked.connect(self._on_cell_clicked)
        #: The fault-details window opened from the list's fault icon, while it is open.
        self.fault_window = None
        self.table.customContextMenuRequested.connect(self._on_context_menu)
        self.table.actions_delegate.menu_requested.connect(self._on_actions_clicked)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self.actions.update_enabled())
        self.proxy.layoutChanged.connect(self.actions.update_enabled)
        connection.open_failed.connect(self._on_home_open_failed)
        self._show_state()

    # -- layout ------------------------------------------------------------------------------------

    def save_layout(self, settings: QSettings) -> None:
        """Remember the column widths, the sort column and order, and the tab."""
        self.table.save_layout(settings)
        settings.setValue(TAB_KEY, self.tabs.currentIndex())

    def restore_layout(self, settings: QSettings) -> None:
        self.table.restore_layout(settings)
        try:
            tab = int(settings.value(TAB_KEY, 0))
        except (TypeError, ValueError):
            tab = 0
        if 0 <= tab < self.tabs.count():
            self.tabs.setCurrentIndex(tab)

    # -- what the actions act on (AudienceChoice) --------------------------------------------------

    def chosen_audiences(self) -> list[AudienceInfo]:
        """The selected audiences, or the current one when none is selected."""
        return self.table.chosen_audiences()

    def audience_names(self) -> list[str]:
        return [audience.name for audience in self.model.audiences()]

    def all_tags(self) -> set[str]:
        return {tag for audience in self.model.audiences() for tag in audience.tags}

    def select_when_listed(self, audience_id: int) -> None:
        """Select this audience once it is in the list (after the reload a change causes)."""
        if not self._select(audience_id):
            self._select_after_load = audience_id

    def _select(self, audience_id: int) -> bool:
        audience = self.table.listed(audience_id)
        if audience is None:
            return False
        self.tabs.setCurrentIndex(0 if audience.scope == "single" else 1)
        self.table.select_audience(audience_id)  # unless hidden by the search or tags
        return True

    # -- loading (the kit's refresh idiom) ---------------------------------------------------------

    def reload(self) -> None:
        """Read the audiences again in the background."""
        self.refresh()

    def reader(self, home: OpenHome):
        return lambda: read_audiences(home)

    def wants_refresh(self, kind: str) -> bool:
        return True

    def show_data(self, result: AudienceList) -> None:
        self._has_workspace = result.has_workspace
        first_load = self.model.rowCount() == 0
        self.model.set_audiences(result.audiences)
        self.model.set_outputs(result.outputs)
        self.model.set_ab_tests(result.ab_tests)
        if not self.calculation.is_running():
            self.model.set_computing(())
        self.model.set_statuses(result.statuses)
        self.tag_filter.set_available({tag for audience in result.audiences for tag in audience.tags})
        if first_load and result.audiences:
            self.table.scrollToTop()
        if self._select_after_load is not None and self._select(self._select_after_load):
            self._select_after_load = None
        self._show_state()
        self.actions.update_enabled()
        self.loaded.emit(len(result.audiences))
        if self._calculated_pending and self._reading is None:
            self._calculated_pending = False
            self.calculated.emit()

    # -- calculating -------------------------------------------------------------------------------

    def recalculate(self) -> None:
        """Bring every Active audience up to date now (what could have changed), with progress."""
        home = self.home
        if home is not None:
            self.calculation.start(home, None, [a.id for a in self.model.audiences() if a.status == "active"])

    def calculate(self, audience_ids: list[int]) -> None:
        """Calculate these audiences at once (just activated), with progress."""
        home = self.home
        if home is not None and audience_ids:
            self.calculation.start(home, audience_ids, audience_ids)

    def _on_calculation_started(self, audience_ids: list[int]) -> None:
        self.model.set_computing(audience_ids)
        self._set_busy(True)

    def _on_calculation_finished(self, message: str) -> None:
        if message:
            self.notice.show_text(message, undoable=False)
        self._calculated_pending = True
        # Every pane showing membership reads again, this list too (its read shows the engine's new statuses,
        # and ends the rows' "calculating").
        self.bus.cache_changed.emit()
        self._set_busy(self._reading is not None or self._refresh_timer.isActive())

    def _set_busy(self, busy: bool) -> None:
        # The busy bar moves while the list reads and while a calculation it asked for runs.
        super()._set_busy(busy or self.calculation.is_running())

    # -- showing -----------------------------------------------------------------------------------

    def _show_state(self) -> None:
        total = self.model.rowCount()
        scope = self.proxy.scope or "single"
        in_scope = sum(1 for audience in self.model.audiences() if audience.scope == scope)
        shown = self.proxy.rowCount()
        for index in range(self.tabs.count()):
            count = self.proxy.count_in_scope(scope_of_tab(index))
            self.tabs.setTabText(index, f"{TAB_TITLES[index]} ({count})")
        filtering = self.proxy.is_filtering()
        self.filter_bar.show_counts(total, shown, in_scope, filtering=filtering)
        self.tabs.setVisible(total > 0)
        self.filter_bar.new_button.setEnabled(self._has_workspace and self.home is not None)

        if self._open_error is not None:
            self.empty.show_message("The home could not be opened", html.escape(self._open_error))
        elif self.home is None:
            self.empty.show_message("Opening the home…")
        elif total == 0 and not self._has_workspace:
            self.empty.show_message(
                "No audiences yet",
                "There is no workspace to build audiences on yet. Import your data, or try the demo "
                f"workspace from the command line:{_command(DEMO_COMMAND)}",
            )
        elif total == 0:
            self.empty.show_message(
                "No audiences yet",
                "An audience is a group of users chosen by what they did and who they are. "
                "Create one, then drag criteria into it and watch its size as you go.",
                "New Audience…", self.new_audience,
            )
        elif shown == 0 and filtering:
            self.empty.show_message("No audiences match",
                                    self.filter_bar.describe(bool(self.proxy.search), self.proxy.tags, in_scope),
                                    "Clear Filters", self.clear_filters)
        elif shown == 0:
            other = "single-workspace" if scope == "multi" else "multi-workspace"
            self.empty.show_message(
                f"No {scope}-workspace audiences yet",
                (f"The {other} audiences are on the other tab. " if total else "")
                + ("A multi-workspace audience combines the data of two or more workspaces: choose "
                   "“Multi workspace” when creating it." if scope == "multi" else
                   "A single-workspace audience reads one workspace's data."),
                "New Audience…", self.new_audience,
            )
        else:
            self.pages.setCurrentWidget(self.table)
            return
        self.pages.setCurrentWidget(self.empty)

    def clear_filters(self) -> None:
        self.filter_bar.clear()

    def focus_search(self) -> None:
        self.filter_bar.focus_search()

    # -- handlers ----------------------------------------------------------------------------------

    def new_audience(self) -> None:
        home = self.home
        if home is None:
            return

        def created(audience_id: int) -> None:
            self.select_when_listed(audience_id)
            self.open_requested.emit(audience_id)

        # The dialog starts on the scope of the tab it was opened from.
        open_new_audience_dialog(home, self.tasks, self, created, scope=self.proxy.scope or "single")

    def _on_home_open_failed(self, message: str) -> None:
        self._open_error = message
        self._show_state()

    def _on_tab_changed(self, index: int) -> None:
        self.proxy.set_scope(scope_of_tab(index))
        self._show_state()
        self.actions.update_enabled()

    def _on_row_activated(self, index) -> None:
        if index.column() == Column.ACTIONS:
            return  # the button in that cell opens the menu
        if self._faulted_cell(index):
            return  # the click already opened the fault's details
        audience = index.siblingAtColumn(Column.NAME).data(AUDIENCE_ROLE)
        if audience is not None:
            self.open_requested.emit(audience.id)

    @staticmethod
    def _faulted_cell(index) -> bool:
        """The Outputs cell of an audience one of whose connections has faulted (it shows the warning icon)."""
        return (index.column() == Column.CONNECTED_OUTPUTS
                and index.data(Qt.ItemDataRole.DecorationRole) is not None)

    def _on_cell_clicked(self, index) -> None:
        if self._faulted_cell(index):
            audience = index.siblingAtColumn(Column.NAME).data(AUDIENCE_ROLE)
            if audience is not None:
                self.show_faults(audience.id)

    def show_faults(self, audience_id: int) -> None:
        """The fault-details window for the audience's faulted connections (app/ui/connections/fault_details.py)."""
        if self.fault_window is not None and isValid(self.fault_window):
            self.fault_window.close()
        self.fault_window = FaultDetails(self.connection, self.tasks, audience_id=audience_id, parent=self)
        self.fault_window.show()

    def _on_context_menu(self, position: QPoint) -> None:
        if not self.table.indexAt(position).isValid():
            return
        self._popup(self.table.viewport().mapToGlobal(position))

    def _on_actions_clicked(self, index, where: QPoint) -> None:
        if not self.table.selectionModel().isRowSelected(index.row(), index.parent()):
            self.table.selectRow(index.row())
        self._popup(where, button_width=self.table.actions_delegate.button_width(self.table))

    def _popup(self, where: QPoint, *, button_width: int = 0) -> None:
        """The row's menu at `where` (below a button `button_width` wide, whose bottom-left `where` is).
        Where the menu would run off the screen's right edge (the Actions column is the table's last), it
        opens right-aligned under its button, as a drop-down at a window's edge does, rather than pushed
        against the screen's edge."""
        self.actions.update_enabled()
        self.menu = popup_menu(self.actions, self)
        screen = (self.screen() or QApplication.primaryScreen()).availableGeometry()
        width = self.menu.sizeHint().width()
        if button_width and where.x() + width > screen.right():
            where = QPoint(max(screen.left(), where.x() + button_width - width), where.y())
        self.menu.popup(where)

    def _on_notice_undo(self) -> None:
        self.notice.hide()
        self.actions.undo_stack.undo()
