"""The one-line message above the audience table ("Deleted “X”"), with Undo when the change can be undone."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

#: How long a notice ("Deleted … Undo") stays above the table.
NOTICE_MS = 12_000


class Notice(QWidget):
    """A one-line message above the table ("Deleted “X”"), with Undo when the change can be undone."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Notice")
        self.text = QLabel()
        self.text.setAccessibleName("Notice text")
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Undo it (Ctrl+Z)")
        self.close_button = QToolButton(text="✕", autoRaise=True)
        self.close_button.setAccessibleName("Dismiss")
        self.close_button.setToolTip("Dismiss this message")
        self.close_button.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.undo_button)
        layout.addWidget(self.close_button)
        self._timer = QTimer(self, singleShot=True, interval=NOTICE_MS)
        self._timer.timeout.connect(self.hide)
        self.hide()

    def show_text(self, text: str, *, undoable: bool) -> None:
        self.text.setText(text)
        self.undo_button.setVisible(undoable)
        self.show()
        self._timer.start()
