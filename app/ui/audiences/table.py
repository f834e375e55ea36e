"""The audience table: the view over the model and its filter, its columns' widths, and what is selected.

Until the user sizes a column by hand, the columns share the window's width so every column,
Status and Actions included, is on screen at the window's first size; the widths, the sort and
whether they were sized by hand are remembered between starts.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QByteArray, QEvent, QItemSelectionModel, QObject, QSettings, Qt, QTimer
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QStyle, QTableView, QWidget

from app.models.services.audiences import AudienceInfo
from app.ui.audiences.actions_column import ActionsDelegate
from app.ui.audiences.filters import AudienceFilter
from app.ui.audiences.model import AUDIENCE_ROLE, AudienceTableModel, Column

#: Below this the name column stops shrinking and the other columns shrink (to their headers' width),
#: then the table scrolls sideways.
MIN_NAME_WIDTH = 200
#: The name column asks for its longest name up to this width; beyond it, long names are cut first.
MAX_NAME_WIDTH = 420
#: Columns that never give way: a cut button, time or state reads as broken.
KEPT_WHOLE = (Column.ACTIONS, Column.LAST_UPDATED, Column.AS_OF)
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
        self._sized_by_hand = False
        self._fitting = False
        self._refit_pending = False
        for column, width in self.preferred_widths.items():
            self.setColumnWidth(column, width)
        # The widths follow the values shown (an empty column gives its room to the names).
        for signal in (self.proxy.modelReset, self.proxy.layoutChanged, self.proxy.rowsInserted,
                       self.proxy.rowsRemoved, self.proxy.dataChanged):
            signal.connect(self._refit_soon)
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
        """What each column but the name wants: its header's text and the values it shows now, whole (an
        empty column asks for its header only, so the names get the room)."""
        least = self._header_widths()
        widths = {column: max(least[column], self.sizeHintForColumn(column)) for column in least}
        widths[Column.ACTIONS] = max(widths[Column.ACTIONS], self.actions_delegate.button_width(self) + 8)
        return widths

    def _header_widths(self) -> dict[Column, int]:
        """The least each column but the name may have: its header's text (and the sort arrow, if sorted by it)."""
        header = self.horizontalHeader()
        metrics = header.fontMetrics()
        margin = header.style().pixelMetric(QStyle.PixelMetric.PM_HeaderMargin, None, header)
        arrow = header.style().pixelMetric(QStyle.PixelMetric.PM_HeaderMarkSize, None, header)
        return {column: metrics.horizontalAdvance(str(self.list_model.headerData(column, Qt.Orientation.Horizontal)))
                        + 2 * margin + (arrow + margin if header.sortIndicatorSection() == column else 0)
                for column in Column if column != Column.NAME}

    def _refit_soon(self, *_args) -> None:
        """The values shown changed: fit the columns to them once the changes of this turn are in."""
        if not self._refit_pending:
            self._refit_pending = True
            QTimer.singleShot(0, self._refit)

    def _refit(self) -> None:
        self._refit_pending = False
        self.preferred_widths = self._column_widths()
        self.fit_name_column()

    def fit_name_column(self) -> None:
        """Until the user sizes a column by hand, each column but the name gets what its header and values
        need (an empty column just its header) and the name the rest. When the window is too narrow for
        all that, the tags give way first (their tooltip lists them), then the name (down to
        MIN_NAME_WIDTH), then the others (down to their headers), and only then does the table scroll
        sideways. Once the user sized a column, the widths are theirs and the name takes the rest.
        """
        header = self.horizontalHeader()
        self._fitting = True
        try:
            if not self._sized_by_hand:
                least = self._header_widths()
                widths = dict(self.preferred_widths)
                names = max(MIN_NAME_WIDTH, min(MAX_NAME_WIDTH, self.sizeHintForColumn(Column.NAME)))
                short = sum(widths.values()) + names - header.width()
                if short > 0:  # the tags give way
                    cut = max(0, min(short, widths[Column.TAGS] - least[Column.TAGS]))
                    widths[Column.TAGS] -= cut
                    short -= cut
                if short > 0:  # then the name
                    short -= names - max(MIN_NAME_WIDTH, names - short)
                if short > 0:  # then the others, in the same proportion
                    spare = {c: w - least[c] for c, w in widths.items() if c not in KEPT_WHOLE}
                    share = min(1.0, short / max(1, sum(spare.values())))
                    for column, room in spare.items():
                        # Rounded up, so the columns never overrun the width by a pixel or two.
                        widths[column] -= min(room, math.ceil(room * share))
                for column, width in widths.items():
                    self.setColumnWidth(column, width)
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
