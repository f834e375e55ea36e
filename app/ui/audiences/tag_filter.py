"""The tag chooser above the audience list: tick tags to see only the audiences that have all of them."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QMenu, QStyle, QToolButton, QWidget, QWidgetAction


class TagFilter(QToolButton):
    """A button whose menu lists every tag in use as a check box; the menu stays open while ticking."""

    #: fires when the chosen tags change (a frozenset of tags; empty: no tag filter)
    chosen_changed = Signal(frozenset)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.setAccessibleName("Filter by tags")
        self.setToolTip("Show only the audiences that have every tag ticked here")
        self.list = QListWidget()
        self.list.setAccessibleName("Tags")
        self.list.setFrameShape(QListWidget.Shape.NoFrame)
        self.list.itemChanged.connect(self._on_item_changed)
        menu = QMenu(self)
        holder = QWidgetAction(menu)
        holder.setDefaultWidget(self.list)
        menu.addAction(holder)
        menu.addSeparator()
        self.clear_action = menu.addAction("Clear the tag filter")
        self.clear_action.triggered.connect(lambda: self.set_chosen(()))
        menu.aboutToShow.connect(self._fit_list)
        self.setMenu(menu)
        self._chosen: frozenset[str] = frozenset()
        self._show_text()

    def chosen(self) -> frozenset[str]:
        return self._chosen

    def set_available(self, tags: Iterable[str]) -> None:
        """The tags to offer (every tag in use); a chosen tag no longer in use stays offered and ticked."""
        offered = sorted(set(tags) | self._chosen, key=str.casefold)
        if offered == [self.list.item(row).text() for row in range(self.list.count())]:
            return
        self.list.blockSignals(True)
        self.list.clear()
        for tag in offered:
            item = QListWidgetItem(tag)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if tag in self._chosen else Qt.CheckState.Unchecked)
            self.list.addItem(item)
        self.list.blockSignals(False)
        self.setEnabled(bool(offered))
        self._show_text()

    def set_chosen(self, tags: Iterable[str]) -> None:
        chosen = frozenset(tags)
        self.set_available(self.available() | chosen)
        self.list.blockSignals(True)
        for row in range(self.list.count()):
            item = self.list.item(row)
            item.setCheckState(Qt.CheckState.Checked if item.text() in chosen else Qt.CheckState.Unchecked)
        self.list.blockSignals(False)
        self._set(chosen)

    def available(self) -> frozenset[str]:
        return frozenset(self.list.item(row).text() for row in range(self.list.count()))

    def _on_item_changed(self, _item: QListWidgetItem) -> None:
        self._set(frozenset(self.list.item(row).text() for row in range(self.list.count())
                            if self.list.item(row).checkState() == Qt.CheckState.Checked))

    def _set(self, chosen: frozenset[str]) -> None:
        if chosen != self._chosen:
            self._chosen = chosen
            self._show_text()
            self.chosen_changed.emit(chosen)

    def _show_text(self) -> None:
        if not self._chosen:
            self.setText("Tags: any")
        else:
            shown = sorted(self._chosen, key=str.casefold)
            self.setText("Tags: " + (" + ".join(shown) if len(shown) <= 2 else f"{shown[0]} + {len(shown) - 1} more"))
        self.clear_action.setEnabled(bool(self._chosen))

    def sizeHint(self) -> QSize:
        # Room for the menu's arrow beside the text: a text-only tool button's hint leaves none, so the
        # arrow was drawn over the text's last letter ("Tags: any").
        hint = super().sizeHint()
        arrow = self.style().pixelMetric(QStyle.PixelMetric.PM_MenuButtonIndicator, None, self)
        return QSize(hint.width() + 2 * arrow, hint.height())

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def _fit_list(self) -> None:
        """Up to 12 tags shown whole (more scroll): each row as tall as its check box and text need."""
        rows = min(self.list.count(), 12)
        self.list.setSpacing(1)
        row = max((self.list.sizeHintForRow(r) for r in range(rows)), default=0) + 2 * self.list.spacing()
        frame = 2 * self.list.frameWidth()
        self.list.setFixedHeight(row * rows + frame + 2 if rows else 24)
        scroll = self.list.verticalScrollBar().sizeHint().width() if self.list.count() > rows else 0
        self.list.setMinimumWidth(max(180, self.list.sizeHintForColumn(0) + frame + scroll + 8))
