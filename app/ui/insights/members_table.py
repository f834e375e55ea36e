"""The table that lists members (the Members tab, an overlap region): lazy paging, rows selected whole,
Ctrl+C copies them as tab-separated text with the header line."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from app.ui.insights.table_model import PagedTableModel


class MembersTable(QTableView):
    """A view of a PagedTableModel; `activated_mpid` fires with the mpid of a double-clicked row."""

    #: object, not int: mpids are 64-bit and a Qt int signal would wrap them
    activated_mpid = Signal(object)

    def __init__(self, model: PagedTableModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        if model.parent() is None:
            model.setParent(self)  # the model lives as long as the view showing it
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setStretchLastSection(True)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.horizontalHeader().setMinimumSectionSize(60)
        self.copy_action = QAction("&Copy Rows", self)
        self.copy_action.setShortcut(QKeySequence.StandardKey.Copy)
        self.copy_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.copy_action.setToolTip("Copy the selected rows as tab-separated text, with the column names")
        self.copy_action.triggered.connect(self.copy_selected)
        self.addAction(self.copy_action)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.doubleClicked.connect(self._on_double_click)
        model.modelReset.connect(self._fit_columns)

    def copy_selected(self) -> str:
        """Put the selected rows on the clipboard; returns the text (empty when nothing is selected)."""
        rows = [index.row() for index in self.selectionModel().selectedRows()]
        if not rows:
            return ""
        text = self.model().as_text(rows)
        QGuiApplication.clipboard().setText(text)
        return text

    def _on_double_click(self, index) -> None:
        mpid = self.model().index(index.row(), 0).data()
        if mpid and str(mpid).lstrip("-").isdigit():
            self.activated_mpid.emit(int(mpid))

    def _fit_columns(self) -> None:
        # Fit the texts of the first page, within reason: a long identity list must not push the rest off screen.
        self.resizeColumnsToContents()
        for column in range(self.model().columnCount()):
            if self.columnWidth(column) > 360:
                self.setColumnWidth(column, 360)
