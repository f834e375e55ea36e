"""A lazy table of rows read a page at a time (Anki's browser table reads rows as they are shown; Qt's
fetchMore/canFetchMore is the hook): the first page when the question changes, the next page when the
view scrolls near the end. Every page is read in a worker; a new question makes the pages still being
read for the old one stale (newest wins).

The rows are tuples of display texts; what the columns are and how a page is read is the caller's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from app.engines.insights.queries import Queries
from app.ui.insights.requests import Requests

#: Rows read at a time: a screenful many times over, still quick to read (the engine allows 10,000).
PAGE_SIZE = 200

#: (offset, limit) → (rows matching in all, the page's rows); runs in a worker.
#: (offset, limit, the question's queries) → (total, rows); its queries stop when a newer page is asked for
PageReader = Callable[[int, int, Queries], tuple[int, list[tuple[str, ...]]]]


class PagedTableModel(QAbstractTableModel):
    """Rows of a question asked a page at a time; `loaded(total)` fires when the first page is in."""

    loaded = Signal(int)
    #: a header was clicked: (column, descending); the owner asks again in that order (or ignores it)
    sort_requested = Signal(int, bool)

    def __init__(self, requests: Requests, headers: Sequence[str], tooltips: Sequence[str] = ()) -> None:
        super().__init__()
        self.requests = requests
        self.headers, self.tooltips = list(headers), list(tooltips)
        self.rows: list[tuple[str, ...]] = []
        self.total = 0
        self._reader: PageReader | None = None
        self._loading = False
        #: rows read at a time
        self.page_size = PAGE_SIZE

    # -- asking ----------------------------------------------------------------------------------

    def ask(self, reader: PageReader, headers: Sequence[str] | None = None) -> None:
        """Show the rows `reader` reads, from the first page (the rows shown so far stay until it is in)."""
        self._reader = reader
        self._loading = True

        def first(answer: tuple[int, list[tuple[str, ...]]]) -> None:
            self.beginResetModel()
            if headers is not None:
                self.headers = list(headers)
            self.total, self.rows = answer
            self.rows = list(self.rows)
            self._loading = False
            self.endResetModel()
            self.loaded.emit(self.total)

        self.requests.ask(lambda queries: reader(0, self.page_size, queries), first, on_failure=self._failed)

    def clear(self) -> None:
        self.requests.stop()
        self.beginResetModel()
        self.rows, self.total, self._reader, self._loading = [], 0, None, False
        self.endResetModel()

    def _failed(self, message: str) -> None:
        self._loading = False
        self.requests.failed.emit(message)

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._loading and self._reader is not None and len(self.rows) < self.total

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> None:  # noqa: B008
        if not self.canFetchMore(parent):
            return
        reader, offset = self._reader, len(self.rows)
        self._loading = True

        def more(answer: tuple[int, list[tuple[str, ...]]]) -> None:
            _total, rows = answer
            self._loading = False
            if rows:
                self.beginInsertRows(QModelIndex(), offset, offset + len(rows) - 1)
                self.rows.extend(rows)
                self.endInsertRows()
            else:
                self.total = len(self.rows)  # fewer than counted (the data changed): stop asking

        self.requests.ask(lambda queries: reader(offset, self.page_size, queries), more, on_failure=self._failed)

    # -- the model -------------------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.headers)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        row = self.rows[index.row()]
        return row[index.column()] if index.column() < len(row) else ""

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.headers):
            return super().headerData(section, orientation, role)
        if role == Qt.ItemDataRole.DisplayRole:
            return self.headers[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltips[section] if section < len(self.tooltips) else self.headers[section]
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.sort_requested.emit(column, order == Qt.SortOrder.DescendingOrder)

    def as_text(self, rows: Sequence[int]) -> str:
        """The rows as tab-separated lines under the header line (what Copy puts on the clipboard)."""
        lines = ["\t".join(self.headers)]
        lines += ["\t".join(self.rows[r]) for r in sorted(set(rows)) if 0 <= r < len(self.rows)]
        return "\n".join(lines) + "\n"
