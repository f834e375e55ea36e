"""The audience table: the view over the model and its filter, its columns' widths, and what is selected.

Until the user sizes a column by hand, the columns share the window's width so every column,
Status and Actions included, is on screen at the window's first size; the widths, the sort and
whether they were sized by hand are remembered between starts.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QByteArray, QEvent, QItemSelectionModel, QObject, QSettings, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from app.models.services.audiences import AudienceInfo
from app.ui.audiences.actions_column import ActionsDelegate
from app.ui.audiences.filters import AudienceFilter
from app.ui.audiences.model import AUDIENCE_ROLE, AudienceTableModel, Column
from app.ui.kit.times import local_time

#: Below this the name column stops shrinking and the other columns shrink (to their headers' width),
#: then the table scrolls sideways.
MIN_NAME_WIDTH = 200
HEADER_KEY = "audiences/header_v4"  # v4: with the As of column; an older state would misplace columns
#: Whether the user has sized a column by hand: then the widths are theirs, and only the name column follows the window.
SIZED_KEY = "audiences/columns_sized_by_hand"


class AudienceTable(QTableView):
    """Sortable rows of audiences, one scope at a time (the proxy), with an Actions button per row."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list_model = AudienceTableModel(self)
        self.proxy = AudienceFilter(self)
        self.proxy.setSourceModel(self.list_model)
        self.proxy.set_scope("single")
        self.setModel(self.proxy)
        self.setAccessibleName("Audiences")
        self.setAccessibleDescription("Every audience of the chosen scope; sort by clicking a column header.")
        self.setSortingEnabled(True)
        self.sortByColumn(Column.NAME, Qt.SortOrder.AscendingOrder)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setShowGrid(False)
        self.setMouseTracking(True)
        self.verticalHeader().hide()
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.actions_delegate = ActionsDelegate(self)
        self.setItemDelegateForColumn(Column.ACTIONS, self.actions_delegate)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        #: widths that show typical values whole, and the least each column may shrink to (its header)
        self.preferred_widths = self._column_widths()
        self._narrowest = self._header_widths(self.preferred_widths)
        self._sized_by_hand = False
        self._fitting = False
        for column, width in self.preferred_widths.items():
            self.setColumnWidth(column, width)
        # Not QHeaderView.Stretch: that squeezes the name to nothing in a narrow window.
        header.installEventFilter(self)
        header.sectionResized.connect(self._on_column_resized)

    # -- what is listed and chosen -----------------------------------------------------------------

    def chosen_audiences(self) -> list[AudienceInfo]:
        """The selected audiences, or the current one when none is selected."""
        rows = self.selectionModel().selectedRows(Column.NAME)
        if not rows and self.currentIndex().isValid():
            rows = [self.currentIndex().siblingAtColumn(Column.NAME)]
        return [audience for index in rows if (audience := index.data(AUDIENCE_ROLE)) is not None]

    def listed(self, audience_id: int) -> AudienceInfo | None:
        """The audience, if the model holds it (whatever the tab and filters)."""
        return next((a for a in self.list_model.audiences() if a.id == audience_id), None)

    def select_audience(self, audience_id: int) -> None:
        """Select the audience's row when the tab and filters show it."""
        for row in range(self.list_model.rowCount()):
            if self.list_model.audience(row).id == audience_id:
                index = self.proxy.mapFromSource(self.list_model.index(row, Column.NAME))
                if index.isValid():
                    # Replace the selection, whatever the selection mode and keys held: selectRow() may add
                    # the row to what was chosen (the original of a clone would stay chosen beside it).
                    flags = (QItemSelectionModel.SelectionFlag.ClearAndSelect
                             | QItemSelectionModel.SelectionFlag.Rows)
                    self.selectionModel().setCurrentIndex(index, flags)
                    self.scrollTo(index)
                return

    # -- column widths -----------------------------------------------------------------------------

    def _column_widths(self) -> dict[Column, int]:
        # Wide enough for the header and typical values; the name column takes the rest.
        metrics = self.fontMetrics()

        def fit(*texts: str) -> int:
            return max(metrics.horizontalAdvance(text) for text in texts) + 28

        return {
            Column.SIZE: fit("Size", "1,234,567"),
            Column.ADDS: fit("Adds", "12,345"),
            Column.DROPS: fit("Drops", "12,345"),
            Column.VOLATILITY: fit("Volatility"),
            Column.AS_OF: fit("Calculating…", "Not calculated", "59 min ago"),
            Column.CONNECTED_OUTPUTS: fit("Outputs", "12 (3 faulted)") + 20,
            Column.CREATED_BY: fit("Created By"),
            Column.LAST_UPDATED: fit("Last Updated", local_time(dt.datetime(2026, 12, 31, 23, 59, tzinfo=dt.UTC))),
            Column.STATUS: fit("Inactive", "Status"),
            Column.TAGS: fit("retention, high-value"),
            Column.ACTIONS: metrics.horizontalAdvance("Actions ▾") + 36,
        }

    def _header_widths(self, preferred: dict[Column, int]) -> dict[Column, int]:
        metrics = self.horizontalHeader().fontMetrics()
        headers = self.list_model.headerData
        narrowest = {column: min(width, max(metrics.horizontalAdvance(str(headers(column, Qt.Orientation.Horizontal)))
                                            + 16, 44))
                     for column, width in preferred.items()}
        # The Actions button, a whole date and the As of state never give way: a cut button or time reads as
        # broken. (The padding of a date and a state may go: their texts are known.)
        narrowest[Column.ACTIONS] = preferred[Column.ACTIONS]
        metrics = self.fontMetrics()
        narrowest[Column.LAST_UPDATED] = metrics.horizontalAdvance(
            local_time(dt.datetime(2026, 12, 31, 23, 59, tzinfo=dt.UTC))) + 14
        narrowest[Column.AS_OF] = max(metrics.horizontalAdvance(t) for t in ("Calculating…", "Not calculated")) + 14
        return narrowest

    def fit_name_column(self) -> None:
        """The name takes the width the other columns leave, but never less than MIN_NAME_WIDTH.

        Until the user sizes a column by hand, the other columns also give way in a narrow window
        (down to their headers' width, all in the same proportion), so that at the window's first
        size every column, Status and Actions included, is on screen rather than behind a scroll bar.
        """
        header = self.horizontalHeader()
        self._fitting = True
        try:
            if not self._sized_by_hand:
                room = header.width() - MIN_NAME_WIDTH
                wanted, least = sum(self.preferred_widths.values()), sum(self._narrowest.values())
                give = 1.0 if room >= wanted else max(0.0, (room - least) / max(1, wanted - least))
                for column, preferred in self.preferred_widths.items():
                    narrowest = self._narrowest[column]
                    # Down, never up: eleven columns rounded up overrun the width by a few pixels.
                    self.setColumnWidth(column, int(narrowest + give * (preferred - narrowest)))
            others = sum(header.sectionSize(column) for column in Column if column != Column.NAME)
            self.setColumnWidth(Column.NAME, max(MIN_NAME_WIDTH, header.width() - others))
        finally:
            self._fitting = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # The header is as wide as the table's viewport, so it resizes with the window and scrollbars.
        if watched is self.horizontalHeader() and event.type() == QEvent.Type.Resize:
            self.fit_name_column()
        return super().eventFilter(watched, event)

    def _on_column_resized(self, column: int, _old: int, _new: int) -> None:
        if self._fitting:
            return
        if column != Column.NAME:
            # Not one of ours (fitting and restoring are): a drag on the header, and from now on the
            # widths are the user's.
            self._sized_by_hand = True
            self.fit_name_column()

    # -- remembering -------------------------------------------------------------------------------

    def save_layout(self, settings: QSettings) -> None:
        """Remember the column widths, the sort column and order."""
        settings.setValue(HEADER_KEY, self.horizontalHeader().saveState())
        settings.setValue(SIZED_KEY, self._sized_by_hand)

    def restore_layout(self, settings: QSettings) -> None:
        self._sized_by_hand = str(settings.value(SIZED_KEY, False)).lower() == "true"
        state = settings.value(HEADER_KEY)
        header = self.horizontalHeader()
        self._fitting = True  # restoring resizes columns too; that is not the user sizing them
        try:
            restored = isinstance(state, QByteArray) and header.restoreState(state)
        finally:
            self._fitting = False
        if restored:
            # restoreState sets the indicator; the proxy must sort by it too.
            self.sortByColumn(header.sortIndicatorSection(), header.sortIndicatorOrder())
        self.fit_name_column()
