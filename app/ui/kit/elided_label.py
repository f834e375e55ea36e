"""A one-line label that shows as much of its text as fits and ends it with "…", never cutting it silently.

For text that must not widen its row (an audience's name in the editor's top row, a card's summary beside
its title): the label would like its whole text's width but takes less when the row has no more (its minimum
is the ellipsis), and `full_text` keeps what was set.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class ElidedLabel(QLabel):
    """setText keeps the whole text in `full_text` and shows what fits, "…" at the end when cut; with
    `tooltip_when_cut`, the whole text is the tooltip while it is cut."""

    def __init__(self, text: str = "", parent: QWidget | None = None, *, tooltip_when_cut: bool = False) -> None:
        super().__init__(parent)
        self.full_text = ""
        self._tooltip_when_cut = tooltip_when_cut
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt's name)
        self.full_text = text
        self._elide()
        self.updateGeometry()

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()  # of the text shown: the height, and the frame's and margins' room
        extra = hint.width() - self.fontMetrics().horizontalAdvance(self.text())
        return QSize(self.fontMetrics().horizontalAdvance(self.full_text) + extra, hint.height())

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        extra = hint.width() - self.fontMetrics().horizontalAdvance(self.text())
        return QSize(self.fontMetrics().horizontalAdvance("…") + extra, hint.height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # a new font takes more or less room
            self._elide()
            self.updateGeometry()

    def is_cut(self) -> bool:
        return self.text() != self.full_text

    def _elide(self) -> None:
        room = max(self.contentsRect().width() - 2 * self.margin(), 0)
        shown = self.fontMetrics().elidedText(self.full_text, Qt.TextElideMode.ElideRight, room)
        if shown != self.text():
            super().setText(shown)
        if self._tooltip_when_cut:
            self.setToolTip(self.full_text if self.is_cut() else "")
