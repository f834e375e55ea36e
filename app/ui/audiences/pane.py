"""The Audiences pane: single and multi workspace tabs over one sortable, filterable table, sized in the background."""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field

from PySide6.QtCore import QByteArray, QEvent, QObject, QPoint, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QTabBar,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.models.services.audiences import AudienceInfo
from app.engines.home import OpenHome
from app.ui import settings as preferences
from app.ui.audiences.actions import AudienceActions, popup_menu
from app.ui.audiences.actions_column import ActionsDelegate
from app.ui.audiences.empty_state import EmptyState
from app.ui.audiences.filters import TAB_TITLES, TAB_TOOLTIPS, AudienceFilter, scope_of_tab
from app.ui.audiences.model import AUDIENCE_ROLE, AudienceTableModel, Column, local_time
from app.ui.audiences.new_audience import open_new_audience_dialog
from app.ui.audiences.sizing import AudienceSizing, sizing_key
from app.ui.audiences.tag_filter import TagFilter
from app.ui.home import HomeConnection
from app.ui.workers import Tasks

#: How long to wait after a store change before reloading, so a burst of changes costs one query.
REFRESH_DELAY_MS = 100
#: Below this the name column stops shrinking and the other columns shrink (to their headers' width),
#: then the table scrolls sideways.
MIN_NAME_WIDTH = 200
#: How long a notice ("Deleted … Undo") stays above the table.
NOTICE_MS = 12_000

HEADER_KEY = "audiences/header_v3"  # v3: with the Connected Outputs column; an older state would misplace columns
TAB_KEY = "audiences/tab"
#: Whether the user has sized a column by hand: then the widths are theirs, and only the name column follows the window.
SIZED_KEY = "audiences/columns_sized_by_hand"

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


def read_audiences(home: OpenHome) -> AudienceList:
    """Runs in a worker: every audience, whether there is a workspace to create one in, and the
    audiences' connected outputs and faults."""
    connected = home.connections.counts_by_audience()
    faulted = home.faults.open_counts_by_audience()
    return AudienceList(
        audiences=home.audiences.list(kind="realtime"),  # standard audiences have their own pane
        has_workspace=bool(home.workspaces.list()),
        outputs={audience_id: (count, faulted.get(audience_id, 0)) for audience_id, count in connected.items()},
        ab_tests=frozenset(home.ab_tests.audience_ids()),
    )


def _command(text: str) -> str:
    # On a line of its own and never wrapped, so it reads (and copies) as one command.
    return f'<br><code style="white-space: nowrap">{html.escape(text)}</code><br>'


class Notice(QWidget):
    """A one-line message above the table ("Deleted “X”"), with Undo when the change can be undone."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Notice")
        self.text = QLabel()
        self.text.setAccessibleName("Notice text")
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Undo it (Ctrl+Z)")
        self.close_button = QToolButton(text="✕", autoRaise=True)
        self.close_button.setAccessibleName("Dismiss")
        self.close_button.setToolTip("Dismiss this message")
        self.close_button.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.undo_button)
        layout.addWidget(self.close_button)
        self._timer = QTimer(self, singleShot=True, interval=NOTICE_MS)
        self._timer.timeout.connect(self.hide)
        self.hide()

    def show_text(self, text: str, *, undoable: bool) -> None:
        self.text.setText(text)
        self.undo_button.setVisible(undoable)
        self.show()
        self._timer.start()


class AudiencesPane(QWidget):
    """Every audience in the home: tabs by scope, search, tag filter, sizes, actions, helpful empty states."""

    #: fires after a load has been shown; the argument is how many audiences there are
    loaded = Signal(int)
    #: fires when the user opens an audience (double-click, Enter, or Open); the audience id
    open_requested = Signal(int)
    #: fires when a sizing run has sized every audience it was given
    sized = Signal()

    def __init__(self, connection: HomeConnection, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Audiences")
        self._connection = connection
        self._tasks = tasks
        self._generation = 0
        self._has_workspace = True
        self._open_error: str | None = None
        self._select_after_load: int | None = None
        #: audience id → the sizing key its shown size was counted for
        self._sized: dict[int, tuple] = {}
        #: audience id → the sizing key the running sizing counts it for
        self._sizing: dict[int, tuple] = {}

        self.model = AudienceTableModel(self)
        self.proxy = AudienceFilter(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.set_scope("single")

        self.new_button = QPushButton("New Audience…")
        self.new_button.setAccessibleName("New audience")
        self.new_button.setToolTip("Create an audience and open it in the builder (Ctrl+N)")
        self.new_button.clicked.connect(self.new_audience)
        self.search = QLineEdit(placeholderText="Search by name (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search audiences")
        self.search.setToolTip("Show only the audiences whose name contains this text (Ctrl+F)")
        self.search.setMaximumWidth(320)
        self.tag_filter = TagFilter()
        self.count = QLabel()
        self.count.setAccessibleName("Audience count")
        self.refresh_button = QToolButton(text="Refresh Sizes", autoRaise=True)
        self.refresh_button.setAccessibleName("Refresh sizes")
        self.refresh_button.setToolTip("Count every audience's size, adds and drops again (F5)")
        self.refresh_button.clicked.connect(self.refresh_sizes)

        self.tabs = QTabBar()
        self.tabs.setDocumentMode(True)
        self.tabs.setExpanding(False)
        self.tabs.setAccessibleName("Audience scope")
        for index, title in enumerate(TAB_TITLES):
            self.tabs.addTab(title)
            self.tabs.setTabToolTip(index, TAB_TOOLTIPS[index])

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setAccessibleName("Audiences")
        self.table.setAccessibleDescription("Every audience of the chosen scope; sort by clicking a column header.")
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(Column.NAME, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setShowGrid(False)
        self.table.setMouseTracking(True)
        self.table.verticalHeader().hide()
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.actions_delegate = ActionsDelegate(self.table)
        self.table.setItemDelegateForColumn(Column.ACTIONS, self.actions_delegate)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        #: widths that show typical values whole, and the least each column may shrink to (its header)
        self._preferred = self._column_widths()
        self._narrowest = self._header_widths(self._preferred)
        self._sized_by_hand = False
        self._fitting = False
        for column, width in self._preferred.items():
            self.table.setColumnWidth(column, width)
        # Not QHeaderView.Stretch: that squeezes the name to nothing in a narrow window.
        header.installEventFilter(self)
        header.sectionResized.connect(self._on_column_resized)

        self.empty = EmptyState()
        self.pages = QStackedWidget()
        self.pages.addWidget(self.table)
        self.pages.addWidget(self.empty)
        self.notice = Notice()

        top = QHBoxLayout()
        top.addWidget(self.new_button)
        top.addSpacing(8)
        top.addWidget(self.search, 3)
        top.addWidget(self.tag_filter)
        top.addStretch(1)
        top.addWidget(self.count)
        top.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.tabs)
        layout.addWidget(self.notice)
        layout.addWidget(self.pages, 1)

        self.actions = AudienceActions(self, connection, tasks)
        self.actions.open_requested.connect(self.open_requested)
        self.actions.done.connect(lambda text, undoable: self.notice.show_text(text, undoable=undoable))
        self.actions.failed.connect(lambda text: self.notice.show_text(text, undoable=False))
        self.notice.undo_button.clicked.connect(self._on_notice_undo)
        self.refresh_action = QAction("&Refresh Sizes", self)
        self.refresh_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Refresh))
        self.refresh_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.refresh_action.setStatusTip("Count every audience's size, adds and drops again")
        self.refresh_action.triggered.connect(self.refresh_sizes)
        self.addAction(self.refresh_action)

        self.sizing = AudienceSizing(tasks, self)
        self.sizing.started.connect(self.model.set_computing)
        self.sizing.size_ready.connect(self._on_size_ready)
        self.sizing.finished.connect(self._on_sizing_finished)
        self.sizing.cancelled.connect(self._on_sizing_stopped)
        self.sizing.failed.connect(self._on_sizing_failed)

        self._refresh_timer = QTimer(self, singleShot=True, interval=REFRESH_DELAY_MS)
        self._refresh_timer.timeout.connect(self.reload)

        self.search.textChanged.connect(self._on_search_changed)
        self.tag_filter.chosen_changed.connect(self._on_tags_chosen)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.table.activated.connect(self._on_row_activated)
        self.table.customContextMenuRequested.connect(self._on_context_menu)
        self.actions_delegate.menu_requested.connect(self._on_actions_clicked)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self.actions.update_enabled())
        self.proxy.layoutChanged.connect(self.actions.update_enabled)
        connection.opened.connect(self._on_home_opened)
        connection.open_failed.connect(self._on_home_open_failed)
        connection.store_changed.connect(self._on_store_changed)

        self._show_state()
        if connection.open_home is not None:
            self.reload()

    # -- layout ------------------------------------------------------------------------------------

    def _column_widths(self) -> dict[Column, int]:
        # Wide enough for the header and typical values; the name column takes the rest.
        metrics = self.fontMetrics()

        def fit(*texts: str) -> int:
            return max(metrics.horizontalAdvance(text) for text in texts) + 28

        return {
            Column.SIZE: fit("Size", "1,234,567"),
            Column.ADDS: fit("Adds (24 h)"),
            Column.DROPS: fit("Drops (24 h)"),
            Column.VOLATILITY: fit("Volatility"),
            Column.CONNECTED_OUTPUTS: fit("Connected Outputs", "12 (3 faulted)") + 20,
            Column.CREATED_BY: fit("Created By"),
            Column.LAST_UPDATED: fit("Last Updated", local_time(dt.datetime(2026, 12, 31, 23, 59, tzinfo=dt.UTC))),
            Column.STATUS: fit("Inactive", "Status"),
            Column.TAGS: fit("retention, high-value"),
            Column.ACTIONS: metrics.horizontalAdvance("Actions ▾") + 36,
        }

    def _header_widths(self, preferred: dict[Column, int]) -> dict[Column, int]:
        metrics = self.table.horizontalHeader().fontMetrics()
        headers = self.model.headerData
        narrowest = {column: min(width, max(metrics.horizontalAdvance(str(headers(column, Qt.Orientation.Horizontal)))
                                            + 16, 44))
                     for column, width in preferred.items()}
        # The Actions button and a whole date never give way: a cut button or time reads as broken.
        for column in (Column.ACTIONS, Column.LAST_UPDATED):
            narrowest[column] = preferred[column]
        return narrowest

    def _fit_name_column(self) -> None:
        """The name takes the width the other columns leave, but never less than MIN_NAME_WIDTH.

        Until the user sizes a column by hand, the other columns also give way in a narrow window
        (down to their headers' width, all in the same proportion), so that at the window's first
        size every column, Status and Actions included, is on screen rather than behind a scroll bar.
        """
        header = self.table.horizontalHeader()
        self._fitting = True
        try:
            if not self._sized_by_hand:
                room = header.width() - MIN_NAME_WIDTH
                wanted, least = sum(self._preferred.values()), sum(self._narrowest.values())
                give = 1.0 if room >= wanted else max(0.0, (room - least) / max(1, wanted - least))
                for column, preferred in self._preferred.items():
                    narrowest = self._narrowest[column]
                    self.table.setColumnWidth(column, round(narrowest + give * (preferred - narrowest)))
            others = sum(header.sectionSize(column) for column in Column if column != Column.NAME)
            self.table.setColumnWidth(Column.NAME, max(MIN_NAME_WIDTH, header.width() - others))
        finally:
            self._fitting = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # The header is as wide as the table's viewport, so it resizes with the window and scrollbars.
        if watched is self.table.horizontalHeader() and event.type() == QEvent.Type.Resize:
            self._fit_name_column()
        return super().eventFilter(watched, event)

    def save_layout(self, settings: QSettings) -> None:
        """Remember the column widths, the sort column and order, and the tab."""
        settings.setValue(HEADER_KEY, self.table.horizontalHeader().saveState())
        settings.setValue(TAB_KEY, self.tabs.currentIndex())
        settings.setValue(SIZED_KEY, self._sized_by_hand)

    def restore_layout(self, settings: QSettings) -> None:
        self._sized_by_hand = str(settings.value(SIZED_KEY, False)).lower() == "true"
        state = settings.value(HEADER_KEY)
        header = self.table.horizontalHeader()
        self._fitting = True  # restoring resizes columns too; that is not the user sizing them
        try:
            restored = isinstance(state, QByteArray) and header.restoreState(state)
        finally:
            self._fitting = False
        if restored:
            # restoreState sets the indicator; the proxy must sort by it too.
            self.table.sortByColumn(header.sortIndicatorSection(), header.sortIndicatorOrder())
        self._fit_name_column()
        try:
            tab = int(settings.value(TAB_KEY, 0))
        except (TypeError, ValueError):
            tab = 0
        if 0 <= tab < self.tabs.count():
            self.tabs.setCurrentIndex(tab)

    # -- what the actions act on -------------------------------------------------------------------

    def chosen_audiences(self) -> list[AudienceInfo]:
        """The selected audiences, or the current one when none is selected."""
        rows = self.table.selectionModel().selectedRows(Column.NAME)
        if not rows and self.table.currentIndex().isValid():
            rows = [self.table.currentIndex().siblingAtColumn(Column.NAME)]
        return [audience for index in rows if (audience := index.data(AUDIENCE_ROLE)) is not None]

    def audience_names(self) -> list[str]:
        return [audience.name for audience in self.model.audiences()]

    def all_tags(self) -> set[str]:
        return {tag for audience in self.model.audiences() for tag in audience.tags}

    def select_when_listed(self, audience_id: int) -> None:
        """Select this audience once it is in the list (after the reload a change causes)."""
        if not self._select(audience_id):
            self._select_after_load = audience_id

    def _select(self, audience_id: int) -> bool:
        for row in range(self.model.rowCount()):
            audience = self.model.audience(row)
            if audience.id == audience_id:
                self.tabs.setCurrentIndex(0 if audience.scope == "single" else 1)
                index = self.proxy.mapFromSource(self.model.index(row, Column.NAME))
                if not index.isValid():
                    return True  # hidden by the search or tags: nothing to select
                self.table.selectRow(index.row())
                self.table.scrollTo(index)
                return True
        return False

    # -- loading -----------------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the audiences again in the background; a newer load makes older ones' results moot."""
        home = self._connection.open_home
        if home is None:
            return
        self._generation += 1
        generation = self._generation
        self._tasks.run(
            lambda: read_audiences(home),
            label="Loading audiences",
            on_success=lambda result: self._on_audiences_read(generation, result),
        )

    def _on_audiences_read(self, generation: int, result: AudienceList) -> None:
        if generation != self._generation:
            return  # a later load is on its way with fresher data
        self._has_workspace = result.has_workspace
        first_load = self.model.rowCount() == 0
        self.model.set_audiences(result.audiences)
        self.model.set_outputs(result.outputs)
        self.model.set_ab_tests(result.ab_tests)
        self.tag_filter.set_available({tag for audience in result.audiences for tag in audience.tags})
        if first_load and result.audiences:
            self.table.scrollToTop()
        if self._select_after_load is not None and self._select(self._select_after_load):
            self._select_after_load = None
        self._show_state()
        self.actions.update_enabled()
        self.loaded.emit(len(result.audiences))
        if preferences.size_audiences_automatically():
            self._size_changed(result.audiences)

    # -- sizes -------------------------------------------------------------------------------------

    def refresh_sizes(self) -> None:
        """Count every audience's size again (cancelling a sizing still running)."""
        self._sized.clear()
        self._sizing.clear()
        self._size_changed(self.model.audiences())

    def _size_changed(self, audiences: list[AudienceInfo]) -> None:
        """Size the audiences whose criteria, workspaces or inputs changed since they were sized."""
        home = self._connection.open_home
        if home is None:
            return
        keys = {audience.id: sizing_key(audience) for audience in audiences}
        stale = [a for a in audiences if self._sized.get(a.id) != keys[a.id]]
        if all(self._sizing.get(a.id) == keys[a.id] for a in stale):
            return  # the running sizing already counts each of them as they are now
        self._sizing = {a.id: keys[a.id] for a in stale}
        self.sizing.start(home, stale)

    def _on_size_ready(self, size) -> None:
        key = self._sizing.pop(size.audience_id, None)
        if key is not None:
            self._sized[size.audience_id] = key
        self.model.set_size(size)

    def _on_sizing_finished(self) -> None:
        self._sizing.clear()
        self.model.set_computing(())
        self.sized.emit()

    def _on_sizing_stopped(self) -> None:
        self._sizing.clear()
        self.model.set_computing(())

    def _on_sizing_failed(self, message: str) -> None:
        self._on_sizing_stopped()
        self.notice.show_text(message, undoable=False)

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
        self.search.setVisible(total > 0)
        self.tag_filter.setVisible(total > 0)
        self.refresh_button.setVisible(total > 0)
        self.tabs.setVisible(total > 0)
        self.new_button.setEnabled(self._has_workspace and self._connection.open_home is not None)
        if total == 0:
            self.count.setText("")
        elif filtering:
            self.count.setText(f"{shown} of {in_scope} audiences")
        else:
            self.count.setText("1 audience" if total == 1 else f"{total} audiences")

        if self._open_error is not None:
            self.empty.show_message("The home could not be opened", html.escape(self._open_error))
        elif self._connection.open_home is None:
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
            self.empty.show_message(
                "No audiences match", self._filter_description(in_scope), "Clear Filters", self.clear_filters)
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

    def _filter_description(self, in_scope: int) -> str:
        parts = []
        if self.proxy.search:
            parts.append(f"named with “{html.escape(self.search.text().strip())}”")
        if self.proxy.tags:
            tags = ", ".join(f"“{html.escape(tag)}”" for tag in sorted(self.proxy.tags, key=str.casefold))
            parts.append(f"tagged {tags}" if len(self.proxy.tags) == 1 else f"tagged with all of {tags}")
        what = " and ".join(parts)
        return f"None of the {in_scope} audiences on this tab is {what}. Clear the filters to see them all."

    def clear_filters(self) -> None:
        self.search.clear()
        self.tag_filter.set_chosen(())

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    # -- handlers ----------------------------------------------------------------------------------

    def new_audience(self) -> None:
        home = self._connection.open_home
        if home is None:
            return

        def created(audience_id: int) -> None:
            self.select_when_listed(audience_id)
            self.open_requested.emit(audience_id)

        open_new_audience_dialog(home, self._tasks, self, created)

    def _on_home_opened(self, _home: OpenHome) -> None:
        self.reload()

    def _on_home_open_failed(self, message: str) -> None:
        self._open_error = message
        self._show_state()

    def _on_store_changed(self, kind: str, _subject_id: int) -> None:
        if kind == "workspace_changed":
            # A workspace's real-time window decides which events count: every size may change.
            self._sized.clear()
            self._sizing.clear()
        # Started, not restarted: under a steady stream of changes the list still refreshes every 100 ms.
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def _on_search_changed(self, text: str) -> None:
        self.proxy.set_search(text)
        self._show_state()

    def _on_tags_chosen(self, tags: frozenset[str]) -> None:
        self.proxy.set_tags(tags)
        self._show_state()

    def _on_tab_changed(self, index: int) -> None:
        self.proxy.set_scope(scope_of_tab(index))
        self._show_state()
        self.actions.update_enabled()

    def _on_column_resized(self, column: int, _old: int, _new: int) -> None:
        if self._fitting:
            return
        if column != Column.NAME:
            # Not one of ours (fitting and restoring are): a drag on the header, and from now on the
            # widths are the user's.
            self._sized_by_hand = True
            self._fit_name_column()

    def _on_row_activated(self, index) -> None:
        if index.column() == Column.ACTIONS:
            return  # the button in that cell opens the menu
        audience = index.siblingAtColumn(Column.NAME).data(AUDIENCE_ROLE)
        if audience is not None:
            self.open_requested.emit(audience.id)

    def _on_context_menu(self, position: QPoint) -> None:
        if not self.table.indexAt(position).isValid():
            return
        self._popup(self.table.viewport().mapToGlobal(position))

    def _on_actions_clicked(self, index, where: QPoint) -> None:
        if not self.table.selectionModel().isRowSelected(index.row(), index.parent()):
            self.table.selectRow(index.row())
        self._popup(where)

    def _popup(self, where: QPoint) -> None:
        self.actions.update_enabled()
        self.menu = popup_menu(self.actions, self)
        self.menu.popup(where)

    def _on_notice_undo(self) -> None:
        self.notice.hide()
        self.actions.undo_stack.undo()
