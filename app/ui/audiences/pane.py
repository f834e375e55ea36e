"""The Audiences pane: search and sort the audiences; a message instead of an empty table."""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.models.audiences import AudienceInfo
from app.models.home import OpenHome
from app.ui.audiences.model import AUDIENCE_ROLE, SORT_ROLE, AudienceTableModel, Column, local_time
from app.ui.home import HomeConnection
from app.ui.workers import Tasks

#: How long to wait after a store change before reloading, so a burst of changes costs one query.
REFRESH_DELAY_MS = 100
#: Below this the name column stops shrinking and the table scrolls sideways instead.
MIN_NAME_WIDTH = 220

CREATE_COMMAND = "audience-studio audiences create NAME"
DEMO_COMMAND = "audience-studio demo"


@dataclass(frozen=True)
class AudienceList:
    """What the pane shows, read in one go in the background."""

    audiences: list[AudienceInfo]
    has_workspace: bool


def read_audiences(home: OpenHome) -> AudienceList:
    """Runs in a worker: every audience, and whether there is a workspace to create one in."""
    return AudienceList(audiences=home.audiences.list(), has_workspace=bool(home.workspaces.list()))


class EmptyState(QWidget):
    """A centred title and hint shown where the table would be when it has nothing to show."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        title_font = self.title.font()
        title_font.setPointSizeF(title_font.pointSizeF() * 1.5)
        title_font.setBold(True)
        self.title.setFont(title_font)
        self.title.setWordWrap(True)

        self.hint = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        self.hint.setTextFormat(Qt.TextFormat.RichText)
        # Selectable, so the command in the hint can be copied into a terminal.
        self.hint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        self.hint.setMaximumWidth(560)

        # Stretches, not alignment flags: an aligned layout item would stop the word-wrapped hint
        # from getting the height its wrapped lines need.
        hint_row = QHBoxLayout()
        hint_row.addStretch(1)
        hint_row.addWidget(self.hint, 100)
        hint_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 24)
        layout.addStretch(1)
        layout.addWidget(self.title)
        layout.addSpacing(8)
        layout.addLayout(hint_row)
        layout.addStretch(2)  # a little above the middle reads as centred

    def show_message(self, title: str, hint_html: str = "") -> None:
        self.title.setText(title)
        self.hint.setText(hint_html)
        self.hint.setVisible(bool(hint_html))
        self.setAccessibleName(title)


def _command(text: str) -> str:
    # On a line of its own and never wrapped, so it reads (and copies) as one command.
    return f'<br><code style="white-space: nowrap">{html.escape(text)}</code><br>'



class AudiencesPane(QWidget):
    """Every audience in the home, searchable by name, sortable by any column."""

    #: fires after a load has been shown; the argument is how many audiences there are
    loaded = Signal(int)
    #: fires when the user opens an audience (double-click or Enter on its row); the audience id
    open_requested = Signal(int)

    def __init__(self, connection: HomeConnection, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Audiences")
        self._connection = connection
        self._tasks = tasks
        self._generation = 0
        self._has_workspace = True
        self._open_error: str | None = None

        self.model = AudienceTableModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterKeyColumn(Column.NAME)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

        self.search = QLineEdit(placeholderText="Search audiences by name (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search audiences")
        self.search.setToolTip("Show only the audiences whose name contains this text (Ctrl+F)")
        self.search.setMaximumWidth(360)
        self.count = QLabel()
        self.count.setAccessibleName("Audience count")

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setAccessibleName("Audiences")
        self.table.setAccessibleDescription("Every audience; sort by clicking a column header.")
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(Column.NAME, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setShowGrid(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        for column, width in self._column_widths().items():
            self.table.setColumnWidth(column, width)
        # Not QHeaderView.Stretch: that squeezes the name to nothing in a narrow window.
        header.installEventFilter(self)
        header.sectionResized.connect(self._on_column_resized)

        self.empty = EmptyState()
        self.pages = QStackedWidget()
        self.pages.addWidget(self.table)
        self.pages.addWidget(self.empty)

        top = QHBoxLayout()
        top.addWidget(self.search, 3)
        top.addStretch(1)
        top.addWidget(self.count)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.addLayout(top)
        layout.addWidget(self.pages, 1)

        # Ctrl+F works anywhere in the window while this pane is the one shown.
        self.find_action = QAction("Search audiences", self)
        self.find_action.setShortcut(QKeySequence.StandardKey.Find)
        self.find_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.find_action.triggered.connect(self._on_find)
        self.addAction(self.find_action)

        self._refresh_timer = QTimer(self, singleShot=True, interval=REFRESH_DELAY_MS)
        self._refresh_timer.timeout.connect(self.reload)

        self.search.textChanged.connect(self._on_search_changed)
        self.table.activated.connect(self._on_row_activated)
        connection.opened.connect(self._on_home_opened)
        connection.open_failed.connect(self._on_home_open_failed)
        connection.store_changed.connect(self._on_store_changed)

        self._show_state()
        if connection.open_home is not None:
            self.reload()

    def _column_widths(self) -> dict[Column, int]:
        # Wide enough for the header and typical values; the name column takes the rest.
        metrics = self.fontMetrics()

        def fit(*texts: str) -> int:
            return max(metrics.horizontalAdvance(text) for text in texts) + 32

        return {
            Column.STATUS: fit("Inactive", "Status"),
            Column.SCOPE: fit("Single workspace"),
            Column.TAGS: fit("retention, high-value"),
            Column.CREATED_BY: fit("Created By", "some.analyst"),
            Column.LAST_UPDATED: fit("Last Updated", local_time(dt.datetime(2026, 12, 31, 23, 59, tzinfo=dt.UTC))),
        }

    def _fit_name_column(self) -> None:
        """The name takes the width the other columns leave, but never less than MIN_NAME_WIDTH."""
        header = self.table.horizontalHeader()
        others = sum(header.sectionSize(column) for column in Column if column != Column.NAME)
        self.table.setColumnWidth(Column.NAME, max(MIN_NAME_WIDTH, header.width() - others))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # The header is as wide as the table's viewport, so it resizes with the window and scrollbars.
        if watched is self.table.horizontalHeader() and event.type() == QEvent.Type.Resize:
            self._fit_name_column()
        return super().eventFilter(watched, event)

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
        if first_load and result.audiences:
            self.table.scrollToTop()
        self._show_state()
        self.loaded.emit(len(result.audiences))

    # -- showing -----------------------------------------------------------------------------------

    def _show_state(self) -> None:
        total = self.model.rowCount()
        shown = self.proxy.rowCount()
        text = self.search.text().strip()
        self.search.setVisible(total > 0)
        self.find_action.setEnabled(total > 0)
        if total == 0:
            self.count.setText("")
        elif text:
            self.count.setText(f"{shown} of {total} audiences")
        else:
            self.count.setText("1 audience" if total == 1 else f"{total} audiences")

        if self._open_error is not None:
            self.empty.show_message("The home could not be opened", html.escape(self._open_error))
        elif self._connection.open_home is None:
            self.empty.show_message("Opening the home…")
        elif total == 0 and not self._has_workspace:
            self.empty.show_message(
                "No audiences yet",
                "There is no workspace yet. From the command line, create a demo workspace:"
                f"{_command(DEMO_COMMAND)}then an audience:{_command(CREATE_COMMAND)}",
            )
        elif total == 0:
            self.empty.show_message(
                "No audiences yet",
                f"For now, create one from the command line: {_command(CREATE_COMMAND)}",
            )
        elif shown == 0:
            self.empty.show_message(
                f"No audiences match “{text}”",
                f"Clear the search to see all {total} audiences." if total > 1 else "Clear the search to see the audience.",
            )
        else:
            self.pages.setCurrentWidget(self.table)
            return
        self.pages.setCurrentWidget(self.empty)

    # -- handlers ----------------------------------------------------------------------------------

    def _on_home_opened(self, _home: OpenHome) -> None:
        self.reload()

    def _on_home_open_failed(self, message: str) -> None:
        self._open_error = message
        self._show_state()

    def _on_store_changed(self, _kind: str, _subject_id: int) -> None:
        # Started, not restarted: under a steady stream of changes the list still refreshes every 100 ms.
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def _on_search_changed(self, text: str) -> None:
        self.proxy.setFilterFixedString(text.strip())
        self._show_state()

    def _on_column_resized(self, column: int, _old: int, _new: int) -> None:
        if column != Column.NAME:
            self._fit_name_column()

    def _on_row_activated(self, index) -> None:
        audience = self.proxy.index(index.row(), Column.NAME).data(AUDIENCE_ROLE)
        if audience is not None:
            self.open_requested.emit(audience.id)

    def _on_find(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()
