"""A chart legend that sits under the plot, never over its lines: one entry per line (a colour swatch, solid
or dashed, and the line's label), laid out left to right and wrapped between entries, never inside one.

It takes the height its entries need at its width and fixes it, rather than being height-for-width: a
scroll area sizes a height-for-width layout by its preferred height (every chart's size hint), which put the
Revenue pane's bottom edge out of view at 1280×800.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPointF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPalette, QPen
from PySide6.QtWidgets import QLabel, QWidget

SWATCH_WIDTH = 22
GAP = 16  # between entries
ROW_GAP = 2


class LegendEntry(QWidget):
    """A swatch and a label, on one line."""

    def __init__(self, colour: str, label: str, dashed: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.colour, self.dashed = QColor(colour), dashed
        self.label = QLabel(label, self)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        hint = self.label.sizeHint()
        self.label.move(SWATCH_WIDTH + 4, 0)
        self.label.resize(hint)
        self.setFixedSize(SWATCH_WIDTH + 4 + hint.width(), hint.height())

    def text(self) -> str:
        return self.label.text()

    def paintEvent(self, _event) -> None:  # Qt's name
        painter = QPainter(self)
        pen = QPen(self.colour, 2)
        if self.dashed:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        y = self.height() / 2
        painter.drawLine(QPointF(1, y), QPointF(SWATCH_WIDTH - 1, y))


class Legend(QWidget):
    """The legend under a chart: `set_entries([(colour, label, dashed), ...])`."""

    def __init__(self, parent: QWidget | None = None, *, accessible_name: str = "Legend") -> None:
        super().__init__(parent)
        self.setAccessibleName(accessible_name)
        self.entries: list[LegendEntry] = []
        self._margin = 8

    def set_entries(self, entries: Sequence[tuple[str, str, bool]]) -> None:
        for entry in self.entries:
            entry.deleteLater()
        self.entries = []
        text = self.palette().color(QPalette.ColorRole.Text)
        for colour, label, dashed in entries:
            entry = LegendEntry(colour, label, dashed, self)
            entry.label.setStyleSheet(f"color: {text.name()};")
            entry.show()
            self.entries.append(entry)
        self.setVisible(bool(self.entries))
        self._arrange()

    def text(self) -> str:
        """The entries' labels, one a line (what the user reads)."""
        return "\n".join(entry.text() for entry in self.entries)

    def hasHeightForWidth(self) -> bool:  # Qt's name
        return False

    def sizeHint(self) -> QSize:  # Qt's name
        return QSize(200, self._height_for(max(self.width(), 200)))

    def minimumSizeHint(self) -> QSize:  # Qt's name
        return QSize(0, 0)

    def resizeEvent(self, event) -> None:  # Qt's name
        super().resizeEvent(event)
        self._arrange()

    def _positions(self, width: int) -> tuple[list[tuple[int, int]], int]:
        x, y, row_height, places = self._margin, 2, 0, []
        for entry in self.entries:
            w, h = entry.width(), entry.height()
            if x > self._margin and x + w > width - self._margin:
                x, y = self._margin, y + row_height + ROW_GAP
                row_height = 0
            places.append((x, y))
            x += w + GAP
            row_height = max(row_height, h)
        return places, (y + row_height + 2 if self.entries else 0)

    def _height_for(self, width: int) -> int:
        return self._positions(width)[1]

    def _arrange(self) -> None:
        places, height = self._positions(self.width())
        for entry, (x, y) in zip(self.entries, places):
            entry.move(x, y)
        if height != self.height() or self.minimumHeight() != height:
            self.setFixedHeight(height)
