"""The busy bar: a thin moving bar that says "this pane is reading", or how far some work is.

Kept in its place while hidden (a few pixels), so the pane below never jumps when a load starts
or ends.
"""

from __future__ import annotations

from PySide6.QtWidgets import QProgressBar, QWidget

#: Thin enough to sit above a list without taking room from it, thick enough to be seen moving.
BUSY_BAR_HEIGHT = 3


class BusyBar(QProgressBar):
    """Hidden when idle; moving (no known end) when busy; filling when the work says how far it is."""

    def __init__(self, parent: QWidget | None = None, *, height: int = BUSY_BAR_HEIGHT, keep_place: bool = True) -> None:
        super().__init__(parent)
        self.setAccessibleName("Working")
        self.setTextVisible(False)
        self.setRange(0, 0)
        self.setFixedHeight(height)
        policy = self.sizePolicy()
        policy.setRetainSizeWhenHidden(keep_place)
        self.setSizePolicy(policy)
        self.setVisible(False)

    def set_busy(self, busy: bool) -> None:
        """Show the bar moving (no known end), or hide it."""
        if busy:
            self.setRange(0, 0)
        self.setVisible(busy)

    def set_progress(self, done: int, total: int) -> None:
        """Show how far the work is (`done` of `total`); a total of 0 means not known: the bar just moves."""
        if total > 0:
            self.setRange(0, total)
            self.setValue(min(done, total))
        else:
            self.setRange(0, 0)
        self.setVisible(True)

    def is_busy(self) -> bool:
        return not self.isHidden()
