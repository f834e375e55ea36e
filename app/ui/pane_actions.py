"""A pane's own actions: a shortcut that works only while the pane has focus (the same keys mean other
things in other panes), shown in the tooltip and the status bar."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget


def pane_action(pane: QWidget, text: str, shortcut: str | QKeySequence | None, tip: str,
                slot: Callable[..., object]) -> QAction:
    """An action of `pane`, triggering `slot`; `shortcut` may be None or empty (no key)."""
    action = QAction(text, pane)
    if shortcut:
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        tip = f"{tip} ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"
    action.setToolTip(tip)
    action.setStatusTip(tip)
    action.triggered.connect(slot)
    pane.addAction(action)
    return action
