"""The Actions column: a "⋯" button painted in each row that opens the row's actions menu.

Painted by a delegate rather than a widget per row, so a list of thousands of audiences stays light.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (
    QApplication,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionButton,
    QStyleOptionViewItem,
    QWidget,
)

ACTIONS_TEXT = "Actions ▾"


class ActionsDelegate(QStyledItemDelegate):
    """Paints a small push button; a click on it asks for the row's menu."""

    #: fires when the button of a row is clicked: (the index, where to show the menu, in global coordinates)
    menu_requested = Signal(QModelIndex, QPoint)

    @staticmethod
    def button_width(widget: QWidget | None, metrics: QFontMetrics | None = None) -> int:
        """The button's width as the style draws a push button of its text (a guess of a fixed padding cut
        the text in some styles and at larger fonts)."""
        style = widget.style() if widget is not None else QApplication.style()
        metrics = metrics or (widget.fontMetrics() if widget is not None else QApplication.fontMetrics())
        button = QStyleOptionButton()
        button.text = ACTIONS_TEXT
        button.fontMetrics = metrics
        text = QSize(metrics.horizontalAdvance(ACTIONS_TEXT), metrics.height())
        return style.sizeFromContents(QStyle.ContentsType.CT_PushButton, button, text, widget).width()

    def _button_rect(self, option: QStyleOptionViewItem) -> QRect:
        width = min(self.button_width(option.widget, option.fontMetrics), option.rect.width() - 8)
        height = min(option.rect.height() - 4, option.fontMetrics.height() + 8)
        return QRect(option.rect.left() + 4, option.rect.center().y() - height // 2 + 1, width, height)

    def paint(self, painter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        # The row's background (selection, alternate colour) first, without text.
        background = QStyleOptionViewItem(option)
        self.initStyleOption(background, index)
        background.text = ""
        style = option.widget.style() if option.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, background, painter, option.widget)
        button = QStyleOptionButton()
        button.rect = self._button_rect(option)
        button.text = ACTIONS_TEXT
        button.state = QStyle.StateFlag.State_Enabled | QStyle.StateFlag.State_Raised
        button.palette = option.palette
        button.fontMetrics = option.fontMetrics
        style.drawControl(QStyle.ControlElement.CE_PushButton, button, painter, option.widget)

    def editorEvent(self, event, model, option: QStyleOptionViewItem, index: QModelIndex) -> bool:
        if event.type() == QEvent.Type.MouseButtonRelease and event.button() == Qt.MouseButton.LeftButton:
            rect = self._button_rect(option)
            if rect.contains(event.position().toPoint()):
                where = option.widget.viewport().mapToGlobal(rect.bottomLeft()) if option.widget else QPoint()
                self.menu_requested.emit(index, where)
                return True
        return super().editorEvent(event, model, option, index)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex):
        hint = super().sizeHint(option, index)
        hint.setWidth(self.button_width(option.widget, option.fontMetrics) + 8)
        return hint
