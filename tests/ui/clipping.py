"""Finding clipped text in a shown window: what tests/ui/test_no_clipping.py checks on every pane and dialog.

A widget's text is clipped when it needs more room than the widget has: a one-line label or a button whose
text is wider than it (QFontMetrics / the style's size hint against its contents rect), a wrapped label
taller than its height allows, a tab whose title the tab bar elides, a header or cell of a table whose text
the view elides ("…"). A widget is out of view when it lies (partly) outside its parent, or the window,
other than inside a scroll area, whose contents scroll.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QModelIndex, QPoint, QRect, Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractScrollArea,
    QApplication,
    QHeaderView,
    QLabel,
    QMenu,
    QStyle,
    QStyleOptionHeader,
    QTableView,
    QTabBar,
    QToolButton,
    QListView,
    QWidget,
)

#: What Qt.mightBeRichText looks for (not in PySide6): a tag near the start.
_RICH = re.compile(r"^\s*<[a-zA-Z!/]")
#: Pixels of slack: styles round their margins.
SLACK = 1
#: Rows of an item view looked at (the first ones: those on screen at a window's first size).
ROWS = 40


def describe(widget: QWidget) -> str:
    text = getattr(widget, "text", None)
    shown = text() if callable(text) else ""
    name = widget.accessibleName() or widget.objectName()
    where = widget.window().windowTitle() or type(widget.window()).__name__
    return f"{type(widget).__name__}{f' {name!r}' if name else ''}{f' “{shown[:60]}”' if shown else ''} in {where}"


def problems_of(window: QWidget) -> list[str]:
    """Every clipped text and every widget out of view in `window` (shown, its layout done)."""
    QApplication.processEvents()
    found: list[str] = []
    for widget in [window, *window.findChildren(QWidget)]:
        if not widget.isVisible() or widget.width() <= 0 or widget.height() <= 0 or _scrolled(widget, window):
            continue
        found += _out_of_view(widget, window)
        if isinstance(widget, QLabel):
            found += _label(widget)
        elif isinstance(widget, QAbstractButton):
            found += _button(widget)
        elif isinstance(widget, QTabBar):
            found += _tabs(widget)
        elif isinstance(widget, QHeaderView):
            found += _header(widget)
        elif isinstance(widget, QTableView):
            found += _cells(widget)
        elif isinstance(widget, QListView):
            found += _list_items(widget)
    return found


def menu_problems(menu: QMenu) -> list[str]:
    """A shown menu: inside its screen's available area, each item's text whole."""
    found = []
    screen = (menu.screen() or QApplication.primaryScreen()).availableGeometry()
    if not screen.contains(menu.geometry()):
        found.append(f"menu {menu.title() or menu.objectName()!r} at {_rect(menu.geometry())} leaves the screen "
                     f"{_rect(screen)}")
    for action in menu.actions():
        if action.isSeparator() or not action.isVisible():
            continue
        geometry = menu.actionGeometry(action)
        needed = menu.fontMetrics().horizontalAdvance(action.text().replace("&", ""))
        if geometry.width() < needed:
            found.append(f"menu item “{action.text()}” is {geometry.width()} px wide for {needed} px of text")
    return found


def _rect(rect: QRect) -> str:
    return f"({rect.x()}, {rect.y()}, {rect.width()}×{rect.height()})"


def _scrolled(widget: QWidget, window: QWidget) -> bool:
    """Inside a scroll area's contents (below its viewport): it may lie anywhere, the area scrolls to it."""
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        grand = parent.parentWidget()
        if isinstance(grand, QAbstractScrollArea) and parent is grand.viewport() and widget is not parent:
            return True
        parent = grand
    return False


def _out_of_view(widget: QWidget, window: QWidget) -> list[str]:
    if widget is window or widget.isWindow():
        return []
    parent = widget.parentWidget()
    if isinstance(parent, QAbstractScrollArea) or parent is None:
        return []  # the area's own parts: scroll bars, corner, viewport
    inside = parent.rect().adjusted(-SLACK, -SLACK, SLACK, SLACK)
    if not inside.contains(widget.geometry()):
        return [f"{describe(widget)} at {_rect(widget.geometry())} lies outside its parent "
                f"{type(parent).__name__} {_rect(parent.rect())}"]
    top_left = widget.mapTo(window, QPoint(0, 0))
    if not window.rect().adjusted(-SLACK, -SLACK, SLACK, SLACK).contains(QRect(top_left, widget.size())):
        return [f"{describe(widget)} lies outside the window"]
    return []


def _label(label: QLabel) -> list[str]:
    text = label.text()
    if not text or label.pixmap() is not None and not label.pixmap().isNull():
        return []
    room = label.contentsRect().adjusted(label.margin(), label.margin(), -label.margin(), -label.margin())
    rich = label.textFormat() == Qt.TextFormat.RichText or (
        label.textFormat() == Qt.TextFormat.AutoText and _RICH.search(text) is not None)
    if label.wordWrap():
        needed = label.heightForWidth(label.width())
        if needed > label.height() + SLACK:
            return [f"{describe(label)} needs {needed} px of height, has {label.height()}"]
        return []
    if rich:
        document = QTextDocument()
        document.setDefaultFont(label.font())
        document.setDocumentMargin(0)
        document.setHtml(text)
        width = int(document.idealWidth())
    else:
        shown = text.replace("&&", "\0").replace("&", "").replace("\0", "&") if label.buddy() else text
        width = max(label.fontMetrics().horizontalAdvance(line) for line in shown.split("\n"))
    if width > room.width() + SLACK:
        return [f"{describe(label)} needs {width} px, has {room.width()}"]
    return []


def _button(button: QAbstractButton) -> list[str]:
    if not button.text():
        return []
    needed = button.sizeHint().width()
    if isinstance(button, QToolButton) and button.menu() is not None and (
            button.popupMode() == QToolButton.ToolButtonPopupMode.InstantPopup):
        # The menu's arrow is drawn inside the button, beside the text: both must fit.
        arrow = button.style().pixelMetric(QStyle.PixelMetric.PM_MenuButtonIndicator, None, button)
        needed = max(needed, button.fontMetrics().horizontalAdvance(button.text()) + 2 * arrow + 8)
    if needed > button.width() + SLACK:
        return [f"{describe(button)} needs {needed} px, has {button.width()}"]
    return []


def _tabs(bar: QTabBar) -> list[str]:
    found = []
    for index in range(bar.count()):
        if not bar.isTabVisible(index):
            continue
        needed, has = bar.tabSizeHint(index).width(), bar.tabRect(index).width()
        if has + SLACK < needed and bar.elideMode() != Qt.TextElideMode.ElideNone:
            found.append(f"tab “{bar.tabText(index)}” of {describe(bar)} is elided ({has} px for {needed})")
    return found


def _header(header: QHeaderView) -> list[str]:
    if header.orientation() != Qt.Orientation.Horizontal or header.model() is None:
        return []
    found = []
    style = header.style()
    for logical in range(header.count()):
        if header.isSectionHidden(logical) or header.sectionSize(logical) == 0:
            continue
        text = header.model().headerData(logical, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole)
        if not text:
            continue
        option = QStyleOptionHeader()
        option.initFrom(header)
        margin = style.pixelMetric(QStyle.PixelMetric.PM_HeaderMargin, option, header)
        needed = header.fontMetrics().horizontalAdvance(str(text)) + 2 * margin
        if needed > header.sectionSize(logical) + SLACK:
            found.append(f"column header “{text}” of {describe(header.parentWidget())} is elided "
                         f"({header.sectionSize(logical)} px for {needed})")
    return found


def _cells(view: QTableView) -> list[str]:
    """Cells the view elides while another column has room to spare (wider than its header and values need):
    a narrow window may cut some text, but never while room is given to a column that does not need it."""
    model = view.model()
    if model is None:
        return []
    header = view.horizontalHeader()
    margin = header.style().pixelMetric(QStyle.PixelMetric.PM_HeaderMargin, None, header)
    columns = [c for c in range(model.columnCount()) if not view.isColumnHidden(c) and view.columnWidth(c) > 0]
    rows = [r for r in range(min(model.rowCount(), ROWS)) if not view.isRowHidden(r)]
    needed: dict[int, int] = {}
    elided: list[tuple[int, str, int]] = []
    for column in columns:
        title = model.headerData(column, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole)
        needed[column] = header.fontMetrics().horizontalAdvance(str(title or "")) + 2 * margin
        for row in rows:
            index = model.index(row, column, QModelIndex())
            if view.indexWidget(index) is not None:
                continue
            width = view.sizeHintForIndex(index).width()  # what the delegate paints (a button, a text)
            needed[column] = max(needed[column], width)
            text = index.data(Qt.ItemDataRole.DisplayRole)
            if text not in (None, "") and width > view.columnWidth(column) + SLACK:
                elided.append((column, str(text), width))
    spare = {c: view.columnWidth(c) - needed[c] for c in columns if view.columnWidth(c) - needed[c] > 2 + SLACK}
    found = []
    for column, text, width in elided:
        others = {c: room for c, room in spare.items() if c != column}
        if others:
            title = model.headerData(column, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole)
            where = ", ".join(f"{model.headerData(c, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole)} "
                              f"{room} px" for c, room in others.items())
            found.append(f"cell “{text}” (column {title}) of {describe(view)} is elided ({view.columnWidth(column)} px "
                         f"for {width}) while other columns have room to spare ({where})")
    return found


def _list_items(view: QListView) -> list[str]:
    """Items of a list that does not scroll (everything in view) cut at its edges or by their neighbours."""
    model = view.model()
    if model is None or view.verticalScrollBar().maximum() > 0:
        return []
    found = []
    room = view.viewport().rect()
    previous = None
    for row in range(min(model.rowCount(), ROWS)):
        rect = view.visualRect(model.index(row, 0))
        text = model.index(row, 0).data(Qt.ItemDataRole.DisplayRole)
        needed = view.sizeHintForIndex(model.index(row, 0))
        # A wrapping list lays a long text out on several lines: its hint is the unwrapped width.
        too_wide = not view.wordWrap() and view.horizontalScrollBar().maximum() == 0 and (
            needed.width() > room.width() + SLACK)
        if not room.contains(rect) or rect.height() < needed.height() or too_wide:
            found.append(f"item “{text}” of {describe(view)} is cut ({_rect(rect)} in {_rect(room)}, needs "
                         f"{needed.width()}×{needed.height()})")
        elif previous is not None and rect.intersects(previous):
            found.append(f"item “{text}” of {describe(view)} overlaps the one above it")
        previous = rect
    return found


def out_of_view_in(view: QAbstractItemView) -> int:
    """How far the view's contents scroll sideways (0: every column is on screen)."""
    return view.horizontalScrollBar().maximum() if view.horizontalScrollBar().isVisible() else 0
