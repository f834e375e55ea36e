"""A tool button that opens its menu at once (InstantPopup) with room for the menu's arrow beside its text.

Qt's size hint for such a button leaves no room for the arrow, so the arrow was drawn over the text's last
letters (the builder's "Export" and an attribute's type, "text").
"""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QStyle, QToolButton, QWidget


class MenuToolButton(QToolButton):
    """A QToolButton for a menu: InstantPopup, and as wide as its text and the menu's arrow need."""

    def __init__(self, text: str = "", parent: QWidget | None = None, *, auto_raise: bool = True) -> None:
        super().__init__(parent)
        self.setText(text)
        self.setAutoRaise(auto_raise)
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        if self.menu() is None or not self.text():
            return hint
        arrow = self.style().pixelMetric(QStyle.PixelMetric.PM_MenuButtonIndicator, None, self)
        text = self.fontMetrics().horizontalAdvance(self.text())
        return QSize(max(hint.width(), text + 2 * arrow + 8), hint.height())

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()
