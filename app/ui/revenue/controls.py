"""The Revenue pane's small controls: a multi-select filter button (a checkable list in a popup
that stays open while the user ticks) and the time range choices."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QListWidget,
    QListWidgetItem,
    QMenu,
    QToolButton,
    QWidgetAction,
)

KEY_ROLE = Qt.ItemDataRole.UserRole + 1

#: (label, days back from the last day with revenue; None: all of it; 0: custom dates)
RANGES = (("Last 30 days", 30), ("Last 90 days", 90), ("Last 365 days", 365), ("All", None), ("Custom dates", 0))


def range_of(days: int | None, first: dt.date, last: dt.date) -> tuple[dt.date, dt.date]:
    """The range a choice of RANGES means, ending on the last day with revenue."""
    if days is None:
        return first, last
    return max(first, last - dt.timedelta(days=days - 1)), last


class FilterButton(QToolButton):
    """"Segments: All ▾": a popup list of checkboxes. `selected()` is None when every choice is
    ticked (no filter), else the keys ticked (None is the Unknown part)."""

    changed = Signal()

    def __init__(self, noun: str, parent=None) -> None:
        super().__init__(parent)
        self.noun = noun
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setAccessibleName(f"{noun} filter")
        self.setToolTip(f"Show only the revenue of the {noun.lower()} ticked")
        self.list = QListWidget()
        self.list.setAccessibleName(noun)
        self.list.setMinimumWidth(260)
        self.list.itemChanged.connect(self._on_item_changed)
        menu = QMenu(self)
        action = QWidgetAction(menu)
        action.setDefaultWidget(self.list)
        menu.addAction(action)
        self.setMenu(menu)
        # What is ticked, kept as it changes: the pane asks on every redraw, and reading 500 check
        # boxes each time cost milliseconds on the GUI thread.
        self._selected: frozenset | None = None
        self._update_text()

    def set_choices(self, choices: list[tuple[str | None, str]]) -> None:
        """Offer (key, label) choices, keeping what was unticked before."""
        unticked = {self.list.item(i).data(KEY_ROLE) for i in range(self.list.count())
                    if self.list.item(i).checkState() != Qt.CheckState.Checked}
        self.list.blockSignals(True)
        self.list.clear()
        for key, label in choices:
            item = QListWidgetItem(label)
            item.setData(KEY_ROLE, key)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked if key in unticked else Qt.CheckState.Checked)
            self.list.addItem(item)
        self.list.setFixedHeight(min(320, 8 + 22 * max(1, len(choices))))
        self.list.blockSignals(False)
        self._update_text()

    def set_selected(self, keys) -> None:
        """Tick exactly `keys` (None: all)."""
        self.list.blockSignals(True)
        for i in range(self.list.count()):
            item = self.list.item(i)
            ticked = keys is None or item.data(KEY_ROLE) in keys
            item.setCheckState(Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)
        self.list.blockSignals(False)
        self._update_text()
        self.changed.emit()

    def selected(self) -> frozenset | None:
        return self._selected

    def _read_selected(self) -> frozenset | None:
        ticked = [self.list.item(i).data(KEY_ROLE) for i in range(self.list.count())
                  if self.list.item(i).checkState() == Qt.CheckState.Checked]
        return None if len(ticked) == self.list.count() else frozenset(ticked)

    def _on_item_changed(self, _item) -> None:
        self._update_text()
        self.changed.emit()

    def _update_text(self) -> None:
        """Called whenever the ticks change: remembers the selection and says it on the button."""
        chosen = self._selected = self._read_selected()
        if chosen is None:
            summary = "All"
        elif len(chosen) == 1:
            summary = next(self.list.item(i).text() for i in range(self.list.count())
                           if self.list.item(i).data(KEY_ROLE) in chosen)
        else:
            summary = f"{len(chosen)} of {self.list.count()}"
        self.setText(f"{self.noun}: {summary}")
