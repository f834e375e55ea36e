"""Plain painted horizontal bars inside a table cell (the UpSet-style region sizes, the breakdown's shares):
no chart library, the palette's highlight colour, so they follow light and dark themes. The number is
always written in another column too, so a bar never carries meaning alone."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainter, QPalette, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

#: The bar's length as a fraction of the cell (0 to 1).
BAR_ROLE = Qt.ItemDataRole.UserRole + 1
#: Optional: where a comparison falls (e.g. the workspace's share), drawn as a thin mark.
MARK_ROLE = Qt.ItemDataRole.UserRole + 2


class BarDelegate(QStyledItemDelegate):
    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        self.initStyleOption(option, index)
        option.text = ""
        style = option.widget.style() if option.widget else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, option.widget)
        fraction = index.data(BAR_ROLE)
        if fraction is None:
            return
        area = QRectF(option.rect).adjusted(4, 5, -4, -5)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(option.palette.color(QPalette.ColorRole.Highlight))
        painter.drawRoundedRect(QRectF(area.left(), area.top(), max(1.0, area.width() * min(1.0, float(fraction))),
                                       area.height()), 2, 2)
        mark = index.data(MARK_ROLE)
        if mark is not None:
            x = area.left() + area.width() * min(1.0, float(mark))
            painter.setPen(QPen(option.palette.color(QPalette.ColorRole.Text), 2))
            painter.drawLine(int(x), int(area.top()) - 3, int(x), int(area.bottom()) + 3)
        painter.restore()
