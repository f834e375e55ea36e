"""The row above the audience table: New Audience…, the search, the tag filter, the count and Recalculate."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QToolButton, QWidget

from app.ui.audiences.tag_filter import TagFilter


class FilterBar(QWidget):
    """What narrows the list (search, tags) and the list's own buttons; the pane decides what they do."""

    #: the user asked for a new audience
    new_requested = Signal()
    #: the user asked to bring the live audiences up to date now
    refresh_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.new_button = QPushButton("New Audience…")
        self.new_button.setAccessibleName("New audience")
        self.new_button.setToolTip("Create an audience and open it in the builder (Ctrl+N)")
        self.new_button.clicked.connect(self.new_requested)
        self.search = QLineEdit(placeholderText="Search by name (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search audiences")
        self.search.setToolTip("Show only the audiences whose name contains this text (Ctrl+F)")
        self.search.setMaximumWidth(320)
        self.tag_filter = TagFilter()
        self.count = QLabel()
        self.count.setAccessibleName("Audience count")
        self.refresh_button = QToolButton(text="Recalculate", autoRaise=True)
        self.refresh_button.setAccessibleName("Recalculate live audiences")
        self.refresh_button.setToolTip("Bring every Active audience's members up to date now (F5); they are also "
                                       "kept up to date after every import and sync, and on the clock")
        self.refresh_button.clicked.connect(self.refresh_requested)

        top = QHBoxLayout(self)
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.new_button)
        top.addSpacing(8)
        top.addWidget(self.search, 3)
        top.addWidget(self.tag_filter)
        top.addStretch(1)
        top.addWidget(self.count)
        top.addWidget(self.refresh_button)

    def show_counts(self, total: int, shown: int, in_scope: int, *, filtering: bool) -> None:
        """The filters show only when there is something to filter; the count says how many are shown."""
        for widget in (self.search, self.tag_filter, self.refresh_button):
            widget.setVisible(total > 0)
        if total == 0:
            self.count.setText("")
        elif filtering:
            self.count.setText(f"{shown} of {in_scope} audiences")
        else:
            self.count.setText("1 audience" if total == 1 else f"{total} audiences")

    def describe(self, search: bool, tags: frozenset[str], in_scope: int) -> str:
        """Why no audience of the tab shows, for the empty state (HTML)."""
        parts = []
        if search:
            parts.append(f"named with “{html.escape(self.search.text().strip())}”")
        if tags:
            named = ", ".join(f"“{html.escape(tag)}”" for tag in sorted(tags, key=str.casefold))
            parts.append(f"tagged {named}" if len(tags) == 1 else f"tagged with all of {named}")
        what = " and ".join(parts)
        return f"None of the {in_scope} audiences on this tab is {what}. Clear the filters to see them all."

    def clear(self) -> None:
        self.search.clear()
        self.tag_filter.set_chosen(())

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()
