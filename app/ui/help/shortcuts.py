"""The keyboard-shortcut sheet (Help ▸ Keyboard Shortcuts): read from the window's real actions each time it
opens, so it lists exactly what the keys do now and never goes stale.

Menus come first, in menu-bar order, each action under its menu's path ("Audience ▸ Export"); then the
actions that live in a pane rather than a menu, under the pane's title; then, when an audience is open in the
builder, the keys of a selected card, read from the actions of a card's own menu (the ⋯ button).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

#: Where an action that is in no menu and no pane is listed.
WINDOW = "Window"
#: Where the keys of a selected card are listed.
BUILDER = "Builder (a selected card)"


@dataclass(frozen=True)
class Shortcut:
    """One action's keys: where it is (a menu path or a pane), what it does, its keys as the platform writes them."""

    where: str
    action: str
    keys: str


def _text(action: QAction) -> str:
    # "&Quit" → "Quit"; "&&" is a literal ampersand. Trailing "…" stays: it says a dialog follows.
    return action.text().replace("&&", "\0").replace("&", "").replace("\0", "&").strip()


def _keys(action: QAction) -> str:
    return ", ".join(sequence.toString(QKeySequence.SequenceFormat.NativeText)
                     for sequence in action.shortcuts() if not sequence.isEmpty())


def _menu_actions(menu: QMenu, path: str, seen: set[int], found: list[Shortcut]) -> None:
    for action in menu.actions():
        if action.isSeparator():
            continue
        submenu = action.menu()
        if submenu is not None:
            _menu_actions(submenu, f"{path} ▸ {_text(action)}", seen, found)
            continue
        seen.add(id(action))
        keys = _keys(action)
        if keys:
            found.append(Shortcut(path, _text(action), keys))


def _owner(action: QAction, window: QMainWindow) -> str:
    """The title of the pane (or the accessible name of the part) holding `action`, else WINDOW."""
    from app.ui.kit.pane import Pane

    parent = action.parent()
    while parent is not None and parent is not window:
        if isinstance(parent, Pane):
            return parent.title
        parent = parent.parent()
    return WINDOW


def shortcuts_of(window: QMainWindow) -> list[Shortcut]:
    """Every action of `window` that has keys: those of its menus, then the others (panes, the builder)."""
    found: list[Shortcut] = []
    seen: set[int] = set()
    for action in window.menuBar().actions():
        if action.menu() is not None:
            _menu_actions(action.menu(), _text(action), seen, found)
    others = [action for action in window.findChildren(QAction)
              if id(action) not in seen and action.menu() is None and _keys(action) and _text(action)]
    for action in others:
        found.append(Shortcut(_owner(action, window), _text(action), _keys(action)))
    found += _builder_shortcuts(window)
    # The same action listed twice (an action shared by a menu and a toolbar) shows once.
    return list(dict.fromkeys(found))


def _builder_shortcuts(window: QMainWindow) -> list[Shortcut]:
    """The keys of a card's menu, from the first open builder holding a card (none when no audience is open)."""
    from app.ui.editor.canvas import CriteriaCanvas

    for canvas in window.findChildren(CriteriaCanvas):
        card = next((node_id for node_id, frame in canvas.frames.items() if not frame.is_root), None)
        if card is None:
            continue
        menu = canvas.menu_for(card)
        try:
            return [Shortcut(BUILDER, _text(action), _keys(action)) for action in menu.actions()
                    if action.menu() is None and _keys(action)]
        finally:
            menu.deleteLater()
    return []


class ShortcutSheet(QDialog):
    """The window's shortcuts grouped by where they are, with a filter."""

    def __init__(self, window: QMainWindow, parent: QWidget | None = None) -> None:
        super().__init__(parent if parent is not None else window)
        self.setWindowTitle("Keyboard Shortcuts")
        self.shortcuts = shortcuts_of(window)

        self.filter = QLineEdit(placeholderText="Find a shortcut or an action")
        self.filter.setClearButtonEnabled(True)
        self.filter.setAccessibleName("Find a shortcut")
        self.filter.textChanged.connect(self._on_filter)

        self.tree = QTreeWidget()
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Action", "Keys"])
        self.tree.setAccessibleName("Keyboard shortcuts")
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.header().setStretchLastSection(False)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        groups: dict[str, QTreeWidgetItem] = {}
        for shortcut in self.shortcuts:
            group = groups.get(shortcut.where)
            if group is None:
                group = groups[shortcut.where] = QTreeWidgetItem(self.tree, [shortcut.where])
                group.setFirstColumnSpanned(True)
                font = group.font(0)
                font.setBold(True)
                group.setFont(0, font)
                group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            QTreeWidgetItem(group, [shortcut.action, shortcut.keys])
        self.tree.expandAll()

        hint = QLabel("Open an audience to see the builder's keys for a selected card here too.")
        hint.setWordWrap(True)
        hint.setVisible(not any(s.where == BUILDER for s in self.shortcuts))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree, 1)
        layout.addWidget(hint)
        layout.addWidget(buttons)
        self.resize(520, 560)

    def shown_rows(self) -> list[tuple[str, str]]:
        """(action, keys) of the rows the filter leaves visible."""
        rows = []
        for g in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(g)
            for c in range(group.childCount()):
                item = group.child(c)
                if not item.isHidden():
                    rows.append((item.text(0), item.text(1)))
        return rows

    def _on_filter(self, text: str) -> None:
        needle = text.strip().casefold()
        for g in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(g)
            any_shown = False
            for c in range(group.childCount()):
                item = group.child(c)
                match = not needle or any(needle in part.casefold() for part in (group.text(0), item.text(0),
                                                                                  item.text(1)))
                item.setHidden(not match)
                any_shown |= match
            group.setHidden(not any_shown)

