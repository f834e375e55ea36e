"""What a pane shows instead of an empty list: a title, a hint, and the button that helps (the empty state)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget


class EmptyState(QWidget):
    """A centred title, hint and (optionally) one button, shown where the table would be."""

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
        # Selectable, so a command in the hint can be copied into a terminal.
        self.hint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.hint.setMaximumWidth(560)

        self.button = QPushButton()
        self.button.setVisible(False)
        self._slot = None

        # Stretches, not alignment flags: an aligned layout item would stop the word-wrapped hint
        # from getting the height its wrapped lines need.
        hint_row = QHBoxLayout()
        hint_row.addStretch(1)
        hint_row.addWidget(self.hint, 100)
        hint_row.addStretch(1)
        button_row = QHBoxLayout()
        button_row.addStretch(1)
        button_row.addWidget(self.button)
        button_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 24)
        layout.addStretch(1)
        layout.addWidget(self.title)
        layout.addSpacing(8)
        layout.addLayout(hint_row)
        layout.addSpacing(12)
        layout.addLayout(button_row)
        layout.addStretch(2)  # a little above the middle reads as centred

    def show_message(self, title: str, hint_html: str = "", button: str | None = None, on_click=None) -> None:
        """Show `title` and `hint_html`; with `button`, a button that calls `on_click`."""
        self.title.setText(title)
        self.hint.setText(hint_html)
        self.hint.setVisible(bool(hint_html))
        self.setAccessibleName(title)
        if self._slot is not None:
            self.button.clicked.disconnect(self._slot)
            self._slot = None
        self.button.setVisible(button is not None)
        if button is not None:
            self.button.setText(button)
            self.button.setAccessibleName(button.replace("&", ""))
            self._slot = on_click
            self.button.clicked.connect(on_click)
