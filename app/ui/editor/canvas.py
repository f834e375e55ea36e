"""The canvas: the audience's groups and criterion cards, with drag and drop, menus and keys.

The canvas shows a criteria document and reports what the user asks for through signals (a drop,
an edit, a removal…); the editor turns each request into an undoable edit and shows the new
document again. Cards and groups are kept for as long as their node is in the document (a field
being typed in keeps focus); only the frames of new nodes are built, and a frame is told its node
again only when the node changed.

Keys on a focused card or group: Delete removes it, Ctrl+Up / Ctrl+Down move it (out of its group
at the group's edge), Up / Down go to the previous / next one, Ctrl+G puts it into a new group,
Ctrl+Shift+G ungroups a group, Ctrl+D duplicates, Ctrl+E excludes or includes, Shift+F10 or the
menu key opens its menu.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass
from typing import Any

import shiboken6

from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QColor, QDrag, QKeyEvent, QKeySequence, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QScrollArea,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.builder import criteria_types, editing
from app.ui.editor.editors import CriterionEditor, editor_for
from app.ui.editor.mime import dragged_criterion, dragged_node, node_mime
from app.ui.editor.services import EditorServices
from app.ui.insights.verdicts import FAIL, FAIL_WORDS, MATCH, MATCH_WORDS
from app.ui.kit.elided_label import ElidedLabel
from app.ui.shades import mix
from app.ui.turns import on_next_turn

#: Cards' editors are built on later turns of the event loop, until this much time is spent in one.
EDITOR_BUDGET_MS = 12
#: How many frames of removed nodes are kept for undo (or a node coming back) to show again without building them.
MAX_SPARE_FRAMES = 24
#: Space between cards; drop lines are drawn in its middle.
SPACING = 8
RADIUS = 6.0


@dataclass(frozen=True)
class DropTarget:
    """Where a drop would land: into group `parent_id` before its child at `index`."""

    parent_id: str
    index: int
    #: In the surface's coordinates: the insertion line, or the outline of an empty group.
    rect: QRect
    outline: bool = False


KEY_HELP = ("Drag to move it. Keys: Delete removes, Ctrl+↑/↓ moves, Ctrl+G puts into a group, Ctrl+D duplicates, "
            "Ctrl+E excludes, Shift+F10 opens the menu")


class NodeFrame(QFrame):
    """A card or a group: focusable, draggable, with a context menu and the keys above."""

    def __init__(self, canvas: CriteriaCanvas, node: dict[str, Any], parent_id: str | None, index: int,
                 depth: int) -> None:
        super().__init__()
        self.canvas = canvas
        self.node_id = node["id"]
        self.node = node
        self.parent_id = parent_id
        self.index = index
        self.depth = depth
        self.problems: list[str] = []
        #: (matches, evidence) for the profile the editor explains, or None
        self.verdict: tuple[bool, str] | None = None
        self.verdict_label = self._verdict_label()
        self._press: QPoint | None = None
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, False)

    @property
    def is_root(self) -> bool:
        return self.parent_id is None

    # -- drag --------------------------------------------------------------------------------------

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and not self.is_root:
            self._press = event.position().toPoint()
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        self.canvas.set_current(self.node_id)  # also when the window is not active and no focus event comes
        # Taken here: a press left unaccepted travels on to the groups around the card, and the
        # outermost one took the focus (a click on a card's title or body selected the root).
        event.accept()

    def mouseMoveEvent(self, event) -> None:
        if self._press is not None and (event.position().toPoint() - self._press).manhattanLength() >= \
                QApplication.startDragDistance():
            self._press = None
            drag = QDrag(self)
            drag.setMimeData(node_mime(self.node_id))
            picture = self.grab()
            ratio = self.devicePixelRatioF()
            if picture.width() > 360 * ratio:
                picture = picture.scaledToWidth(int(360 * ratio), Qt.TransformationMode.SmoothTransformation)
            drag.setPixmap(picture)
            drag.setHotSpot(QPoint(12, 12))
            drag.exec(Qt.DropAction.MoveAction)
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        self._press = None
        super().mouseReleaseEvent(event)

    # -- keys and menu -----------------------------------------------------------------------------

    def _command_for(self, event: QKeyEvent) -> str | None:
        key, mods = event.key(), event.modifiers()
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        shift = bool(mods & Qt.KeyboardModifier.ShiftModifier)
        if self.is_root:
            return {Qt.Key.Key_Down: "next"}.get(key) if not ctrl else None
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and not ctrl:
            return "remove"
        if ctrl and key == Qt.Key.Key_Up:
            return "move_up"
        if ctrl and key == Qt.Key.Key_Down:
            return "move_down"
        if not ctrl and key == Qt.Key.Key_Up:
            return "previous"
        if not ctrl and key == Qt.Key.Key_Down:
            return "next"
        if ctrl and key == Qt.Key.Key_G:
            return "ungroup" if shift else "wrap"
        if ctrl and key == Qt.Key.Key_D:
            return "duplicate"
        if ctrl and key == Qt.Key.Key_E:
            return "exclude"
        if key == Qt.Key.Key_Menu or (shift and key == Qt.Key.Key_F10):
            return "menu"
        return None

    def event(self, event: QEvent) -> bool:
        # Claim our keys before window shortcuts (Edit › Delete…) do, while the frame itself has focus.
        if event.type() == QEvent.Type.ShortcutOverride and self._command_for(event) is not None:
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        command = self._command_for(event)
        if command is None:
            super().keyPressEvent(event)
            return
        if command == "menu":
            self.canvas.show_menu(self, self.mapToGlobal(QPoint(24, 24)))
        else:
            self.canvas.run(command, self.node_id)

    def contextMenuEvent(self, event) -> None:
        self.canvas.show_menu(self, event.globalPos())
        event.accept()

    def focusInEvent(self, event) -> None:
        self.canvas.set_current(self.node_id)
        super().focusInEvent(event)

    def focusOutEvent(self, event) -> None:
        self.update()
        super().focusOutEvent(event)

    # -- values ------------------------------------------------------------------------------------

    def set_node(self, node: dict[str, Any]) -> None:
        self.node = node

    def set_count(self, text: str, tooltip: str) -> None:
        self.count.setText(text)
        self.count.setToolTip(tooltip)

    def set_verdict(self, verdict: tuple[bool, str] | None) -> None:
        """Mark the card as matching or failing the profile being explained, with the evidence (None: no mark)."""
        self.verdict = verdict
        if verdict is None:
            self.verdict_label.setVisible(False)
            self.verdict_label.setText("")
            self.verdict_label.setToolTip("")
        else:
            matches, evidence = verdict
            words = MATCH_WORDS if matches else FAIL_WORDS
            colour = (MATCH if matches else FAIL).name()
            self.verdict_label.setText(f'<span style="color:{colour}; font-weight:bold">{words}</span>'
                                       + (f" — {html.escape(evidence)}" if evidence else ""))
            self.verdict_label.setToolTip(("The profile matches this" if matches else "The profile does not match this")
                                          + (f": {evidence}" if evidence else ""))
            self.verdict_label.setVisible(True)

    def _verdict_label(self) -> QLabel:
        label = QLabel()
        label.setAccessibleName("Why or why not")
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setVisible(False)
        return label

    def set_problems(self, problems: list[str]) -> None:
        self.problems = problems
        self.problem_label.setVisible(bool(problems))
        self.problem_text.setText("\n".join(problems))
        self.update()

    def _problem_row(self) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        icon = QLabel()
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(size, size))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.problem_text = QLabel()
        self.problem_text.setWordWrap(True)
        self.problem_text.setAccessibleName("Problem")
        self.problem_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(icon)
        layout.addWidget(self.problem_text, 1)
        row.setVisible(False)
        return row

    def _exclude_button(self) -> QToolButton:
        button = QToolButton(text="Exclude", checkable=True, autoRaise=True)
        button.setAccessibleName("Exclude")
        button.setToolTip("Exclude: match the users who do NOT match this (Ctrl+E)")
        button.clicked.connect(lambda checked: self.canvas.node_edited.emit(self.node_id, {"exclude": checked}, ""))
        return button

    def _menu_button(self) -> QToolButton:
        button = QToolButton(text="⋯", autoRaise=True)
        button.setAccessibleName("More actions")
        button.setToolTip("Add, move, group, duplicate or remove (Shift+F10)")
        button.clicked.connect(lambda: self.canvas.show_menu(self, button.mapToGlobal(QPoint(0, button.height()))))
        return button

    def _count_label(self) -> QLabel:
        label = QLabel()
        label.setAccessibleName("Users matched")
        label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return label

    # -- painting ----------------------------------------------------------------------------------

    def paint_frame(self, fill: QColor | None, border: QColor | None) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        rect = QRectF(self.rect()).adjusted(1, 1, -1, -1)
        if self.hasFocus() or self.canvas.current_id == self.node_id and not self.is_root:
            border = palette.color(QPalette.ColorRole.Highlight)
            pen = QPen(border, 2 if self.hasFocus() else 1.2)
        elif self.problems:
            pen = QPen(mix(palette.color(QPalette.ColorRole.Window), palette.color(QPalette.ColorRole.Text), 0.55), 1.2,
                       Qt.PenStyle.DashLine)
        else:
            pen = QPen(border) if border is not None else Qt.PenStyle.NoPen
        painter.setPen(pen)
        painter.setBrush(fill if fill is not None else Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(rect, RADIUS, RADIUS)


class CriterionCard(NodeFrame):
    """One criterion: its title, summary, count, exclude toggle, menu, its editor and its problems."""

    def __init__(self, canvas: CriteriaCanvas, node: dict[str, Any], parent_id: str, index: int, depth: int) -> None:
        super().__init__(canvas, node, parent_id, index, depth)
        entry = editing.entry_for(node)
        self.setAccessibleName(f"Criterion: {entry.label}")
        self.setToolTip(f"{entry.tooltip}.\n{KEY_HELP}")
        self.handle = QLabel("⠿")
        self.handle.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.handle.setCursor(Qt.CursorShape.OpenHandCursor)
        self.handle.setToolTip("Drag to move this criterion (or Ctrl+↑/↓)")
        self.title = QLabel(entry.label)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        # Cut with "…" when the card is narrow (the whole sentence is the tooltip): cut silently, the cart-abandonment
        # card read "added to cart in the last 7 days, no purchase within 24 hour" as if that were all it said.
        self.summary = ElidedLabel()
        self.summary.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.count = self._count_label()
        self.exclude = self._exclude_button()
        header = QHBoxLayout()
        header.setSpacing(8)
        header.addWidget(self.handle)
        header.addWidget(self.title)
        header.addWidget(self.summary, 1)
        header.addWidget(self.count)
        header.addWidget(self.exclude)
        self.menu_button = self._menu_button()
        header.addWidget(self.menu_button)
        # The editor (pickers, spin boxes…: most of a card's cost) is built on the next turn of the
        # event loop, so that adding or showing cards is spread over turns; or at once when asked for.
        self._editor: CriterionEditor | None = None
        self.problem_label = self._problem_row()
        self._layout = layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 10, 10)
        layout.setSpacing(6)
        layout.addLayout(header)
        layout.addWidget(self.verdict_label)
        layout.addWidget(self.problem_label)
        self.set_node(node)
        canvas.build_editor_later(self)

    @property
    def editor(self) -> CriterionEditor:
        self._build_editor()
        return self._editor

    def _build_editor(self) -> None:
        if self._editor is not None:
            return
        self._editor = editor_for(self.node, self.canvas.services)
        # A row too wide for the canvas puts its fields under their label rather than widening the card: the
        # cart-abandonment card ("No purchase within [24] [hours] after it") made the canvas scroll sideways
        # and cut its header on a laptop.
        self._editor.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self._editor.edited.connect(lambda changes, merge: self.canvas.node_edited.emit(self.node_id, changes, merge))
        self._layout.insertWidget(1, self._editor)
        self.order_tabs()

    def set_node(self, node: dict[str, Any]) -> None:
        super().set_node(node)
        names = self.canvas.services.audience_names
        summary = editing.describe({**node, "exclude": False}, names)
        title = self.title.text()
        if summary.startswith(title):  # "Session, at least 3 times, …" under the title "Session": say it once
            summary = summary[len(title):].lstrip(", ")
        self.summary.setText(summary)
        self.summary.setToolTip(editing.describe(node, names))
        self.exclude.setChecked(bool(node.get("exclude")))
        if self._editor is not None:  # else it is built showing this node
            self._editor.set_node(node)
            self.order_tabs()

    def order_tabs(self) -> None:
        """Tab goes card → its fields, top to bottom → Exclude → ⋯: what a card says comes before what it can do.

        Called again whenever the editor may have added fields (a condition row), which Qt would
        otherwise put at the end of the window's tab chain.
        """
        _chain(self.tab_chain())

    def tab_chain(self) -> list[QWidget]:
        window = self.window()
        fields = [] if self._editor is None else [widget for widget in self._editor.findChildren(QWidget)
                  if widget.focusPolicy() & Qt.FocusPolicy.TabFocus and widget.focusProxy() is None
                  and widget.window() is window]
        return [self, *fields, self.exclude, self.menu_button]

    def paintEvent(self, _event) -> None:
        palette = self.palette()
        base = palette.color(QPalette.ColorRole.Base)
        if self.node.get("exclude"):
            base = mix(base, palette.color(QPalette.ColorRole.Window), 0.5)
        self.paint_frame(base, mix(palette.color(QPalette.ColorRole.Window), palette.color(QPalette.ColorRole.Text), 0.18))


class GroupFrame(NodeFrame):
    """A group: match all / any, exclude, its children, and room to drop more."""

    def __init__(self, canvas: CriteriaCanvas, node: dict[str, Any], parent_id: str | None, index: int,
                 depth: int) -> None:
        super().__init__(canvas, node, parent_id, index, depth)
        self.setAccessibleName("Audience criteria" if self.is_root else "Group of criteria")
        self.setToolTip("" if self.is_root else f"A group of criteria matched together. {KEY_HELP}")
        self.lead = QLabel("Users who match" if self.is_root else "Match")
        font = self.lead.font()
        font.setBold(True)
        self.lead.setFont(font)
        self.all_button = QToolButton(text="all", checkable=True)
        self.any_button = QToolButton(text="any", checkable=True)
        self.all_button.setToolTip("All: users must match every criterion of the group (and)")
        self.any_button.setToolTip("Any: users must match at least one criterion of the group (or)")
        self.all_button.setAccessibleName("Match all")
        self.any_button.setAccessibleName("Match any")
        self.match_buttons = QButtonGroup(self)
        self.match_buttons.setExclusive(True)
        for button in (self.all_button, self.any_button):
            self.match_buttons.addButton(button)
            button.setAutoRaise(False)
        self.all_button.clicked.connect(lambda: self._on_match("all"))
        self.any_button.clicked.connect(lambda: self._on_match("any"))
        self.tail = QLabel("of these:")
        self.count = self._count_label()
        header = QHBoxLayout()
        header.setSpacing(6)
        if not self.is_root:
            handle = QLabel("⠿")
            handle.setForegroundRole(QPalette.ColorRole.PlaceholderText)
            handle.setCursor(Qt.CursorShape.OpenHandCursor)
            handle.setToolTip("Drag to move this group (or Ctrl+↑/↓)")
            header.addWidget(handle)
        header.addWidget(self.lead)
        header.addWidget(self.all_button)
        header.addWidget(self.any_button)
        header.addWidget(self.tail)
        header.addStretch(1)
        header.addWidget(self.count)
        self.exclude = self._exclude_button()
        self.exclude.setVisible(not self.is_root)
        header.addWidget(self.exclude)
        self.menu_button = self._menu_button()
        header.addWidget(self.menu_button)
        self.body = QVBoxLayout()
        self.body.setSpacing(SPACING)
        self.body.setContentsMargins(0, 0, 0, 0)
        self.empty = QLabel("Drag criteria here from the palette, or use “Add criterion” in the ⋯ menu")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.empty.setWordWrap(True)
        self.empty.setMinimumHeight(56)
        self.problem_label = self._problem_row()
        layout = QVBoxLayout(self)
        margin = 0 if self.is_root else 10
        layout.setContentsMargins(margin + (0 if self.is_root else 4), margin - 2 if margin else 0, margin, margin)
        layout.setSpacing(SPACING)
        layout.addLayout(header)
        layout.addWidget(self.verdict_label)
        layout.addLayout(self.body)
        layout.addWidget(self.empty)
        layout.addWidget(self.problem_label)
        self.children_frames: list[NodeFrame] = []
        self.set_node(node)

    def add_child(self, frame: NodeFrame) -> None:
        self.children_frames.append(frame)
        self.body.addWidget(frame)

    def tab_chain(self) -> list[QWidget]:
        return [self, self.all_button, self.any_button, *([] if self.is_root else [self.exclude]), self.menu_button]

    def set_children(self, frames: list[NodeFrame]) -> None:
        """Lay out these frames as the group's children, in this order (frames may come from other groups)."""
        for frame in self.children_frames:
            self.body.removeWidget(frame)
        self.children_frames = []
        for frame in frames:
            parent = frame.parentWidget()
            if isinstance(parent, GroupFrame) and parent is not self and frame in parent.children_frames:
                parent.children_frames.remove(frame)
                parent.body.removeWidget(frame)
            self.add_child(frame)

    def set_node(self, node: dict[str, Any]) -> None:
        super().set_node(node)
        (self.all_button if node.get("match") == "all" else self.any_button).setChecked(True)
        self.exclude.setChecked(bool(node.get("exclude")))
        self.lead.setText(("Users who do not match" if node.get("exclude") else "Users who match") if self.is_root
                          else ("Exclude users who match" if node.get("exclude") else "Match"))
        self.empty.setVisible(not node.get("children"))

    def _on_match(self, match: str) -> None:
        if self.node.get("match") != match:
            self.canvas.match_changed.emit(self.node_id, match)

    def paintEvent(self, _event) -> None:
        if self.is_root:
            return
        palette = self.palette()
        window, text = palette.color(QPalette.ColorRole.Window), palette.color(QPalette.ColorRole.Text)
        fill = mix(window, text, 0.04 if self.depth % 2 else 0.02)
        self.paint_frame(fill, mix(window, text, 0.16))
        # a thin bar on the left says "these belong together", in the palette's highlight, toned down
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        accent = mix(window, palette.color(QPalette.ColorRole.Highlight), 0.55 if not self.node.get("exclude") else 0.25)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(accent)
        painter.drawRoundedRect(QRectF(3, 8, 3, self.height() - 16), 1.5, 1.5)


class DropIndicator(QWidget):
    """The insertion line (or outline of an empty group) showing where a drop will land."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.outline = False
        self.hide()

    def show_at(self, target: DropTarget) -> None:
        self.outline = target.outline
        rect = target.rect.adjusted(-4, -4, 4, 4)
        self.setGeometry(rect)
        self.raise_()
        self.show()
        self.update()

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        colour = self.palette().color(QPalette.ColorRole.Highlight)
        if self.outline:
            fill = QColor(colour)
            fill.setAlphaF(0.12)
            painter.setBrush(fill)
            painter.setPen(QPen(colour, 2, Qt.PenStyle.DashLine))
            painter.drawRoundedRect(QRectF(self.rect()).adjusted(4, 4, -4, -4), RADIUS, RADIUS)
            return
        middle = self.height() / 2
        painter.setPen(QPen(colour, 3, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        painter.drawLine(QPointF(10, middle), QPointF(self.width() - 4, middle))
        painter.setBrush(self.palette().color(QPalette.ColorRole.Base))
        painter.setPen(QPen(colour, 2))
        painter.drawEllipse(QPointF(6, middle), 3.5, 3.5)


class CanvasSurface(QWidget):
    """The widget inside the scroll area; it takes every drop and works out where it lands."""

    def __init__(self, canvas: CriteriaCanvas) -> None:
        super().__init__()
        self.canvas = canvas
        self.setAcceptDrops(True)
        self.setAccessibleName("Criteria canvas")
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(16, 14, 16, 16)
        self.layout_.setSpacing(0)
        self.indicator = DropIndicator(self)

    def dragEnterEvent(self, event) -> None:
        if self._target(event) is not None or dragged_criterion(event.mimeData()) or dragged_node(event.mimeData()):
            event.acceptProposedAction()
            self._show(event)
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        self._show(event)

    def dragLeaveEvent(self, event) -> None:
        self.indicator.hide()

    def dropEvent(self, event) -> None:
        self.indicator.hide()
        target = self._target(event)
        if target is None:
            event.ignore()
            return
        mime = event.mimeData()
        key, node_id = dragged_criterion(mime), dragged_node(mime)
        event.setDropAction(Qt.DropAction.MoveAction if node_id else Qt.DropAction.CopyAction)
        event.accept()
        if key is not None:
            self.canvas.criterion_dropped.emit(key, target.parent_id, target.index)
        elif node_id is not None:
            self.canvas.node_dropped.emit(node_id, target.parent_id, target.index)

    def _show(self, event) -> None:
        target = self._target(event)
        if target is None:
            self.indicator.hide()
            event.ignore()
            return
        event.acceptProposedAction()
        self.indicator.show_at(target)

    def _target(self, event) -> DropTarget | None:
        position = event.position().toPoint() if hasattr(event, "position") else event.pos()
        return self.canvas.drop_target(position, event.mimeData())


class CriteriaCanvas(QScrollArea):
    """The audience's criteria as nested groups and cards; see the module docstring for its keys."""

    #: a palette type was dropped: (palette key, group id, index)
    criterion_dropped = Signal(str, str, int)
    #: a card or group was dropped: (node id, group id, index before the move)
    node_dropped = Signal(str, str, int)
    #: a card's field or a node's exclude toggle changed: (node id, changes, merge key or "")
    node_edited = Signal(str, dict, str)
    #: a group's match all / any was switched: (group id, "all" or "any")
    match_changed = Signal(str, str)
    #: a key or menu asked for a command: (command, node id); commands: remove, move_up, move_down,
    #: wrap, ungroup, duplicate, exclude
    command_requested = Signal(str, str)
    #: the menu's "Add criterion ▸" chose a palette type: (palette key, group id, index)
    add_requested = Signal(str, str, int)
    #: the focused card or group changed (its id, or "" for none)
    current_changed = Signal(str)

    def __init__(self, services: EditorServices, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAccessibleName("Criteria")
        self.surface = CanvasSurface(self)
        self.setWidget(self.surface)
        self.document: dict[str, Any] = editing.new_document()
        self.frames: dict[str, NodeFrame] = {}
        self.root_frame: GroupFrame | None = None
        self.current_id = ""
        self._shape: Any = None
        self._problems: dict[str, list[str]] = {}
        self._verdicts: dict[str, tuple[bool, str]] | None = None
        #: frames of nodes no longer in the document, by node id, oldest first (see `_keep_spare`)
        self._spares: dict[str, NodeFrame] = {}
        #: cards whose editor is still to be built
        self._editor_queue: list[CriterionCard] = []
        self.services.catalog_changed.connect(lambda: self.show_document(self.document, force=True))

    # -- showing -----------------------------------------------------------------------------------

    def show_document(self, document: dict[str, Any], *, force: bool = False) -> None:
        """Show the document, keeping every card and group whose node is still there.

        Only the frames of new nodes are built; the others are moved where the document puts them
        and told their node again only when it changed (`force`: all of them, e.g. the catalog
        changed). Frames of nodes that are gone are kept aside for a while: undo and redo bring
        nodes back, and their frames with them.
        """
        self.document = document
        shape = _shape(document["root"])
        if shape == self._shape and not force:
            for _, node in _walk(document["root"]):
                frame = self.frames.get(node["id"])
                if frame is not None and frame.node != node:
                    frame.set_node(node)
            return
        if force:  # kept frames show what they showed (the catalog's old choices): build those again
            for frame in self._spares.values():
                frame.deleteLater()
            self._spares = {}
        focused_widget = QApplication.focusWidget()
        focused = self._focused_id()
        self._shape = shape
        old = self.frames
        self.frames = {}
        root = self._place(document["root"], None, 0, 0, old, force)
        if root is not self.root_frame:
            if self.root_frame is not None:
                self.surface.layout_.removeWidget(self.root_frame)
            while self.surface.layout_.count():
                self.surface.layout_.takeAt(0)
            self.surface.layout_.addWidget(root)
            self.surface.layout_.addStretch(1)
            self.root_frame = root
        for node_id, frame in old.items():
            if self.frames.get(node_id) is not frame:
                self._keep_spare(node_id, frame)
        # Moved and new frames show now, not on the next turn of the loop: focus can move to them at once.
        for frame in self.frames.values():
            if frame.isHidden():
                frame.show()
        # Tab goes through the cards and groups in the document's order, as it did when they were built in it.
        _chain([widget for _, node in _walk(document["root"]) for widget in self.frames[node["id"]].tab_chain()])
        self.show_problems(self._problems)
        if focused_widget is not None and focused in self.frames and QApplication.focusWidget() is not focused_widget \
                and self.frames[focused].isAncestorOf(focused_widget):
            focused_widget.setFocus(Qt.FocusReason.OtherFocusReason)
        elif focused and focused in self.frames and QApplication.focusWidget() is None:
            self.frames[focused].setFocus(Qt.FocusReason.OtherFocusReason)
        if self.current_id not in self.frames:
            self.set_current("")

    def build_editor_later(self, card: CriterionCard) -> None:
        """Build the card's editor on a later turn of the event loop, a few cards a turn (see `_build_editors`)."""
        self._editor_queue.append(card)
        if len(self._editor_queue) == 1:
            on_next_turn(self, self._build_editors)

    def _build_editors(self) -> None:
        started = time.perf_counter()
        while self._editor_queue and (time.perf_counter() - started) * 1000 < EDITOR_BUDGET_MS:
            card = self._editor_queue.pop(0)
            if shiboken6.isValid(card):  # (a kept card may have been deleted since)
                card.editor  # noqa: B018 - builds it
        if self._editor_queue:
            on_next_turn(self, self._build_editors)

    def _keep_spare(self, node_id: str, frame: NodeFrame) -> None:
        """Keep the frame of a node that left the document (undo brings it back, and a drag moves it out and in)."""
        if isinstance(frame.parentWidget(), GroupFrame) and frame in frame.parentWidget().children_frames:
            frame.parentWidget().children_frames.remove(frame)
        frame.hide()
        frame.setParent(self.surface)  # out of its group, which may be deleted or kept apart from it
        self._spares.pop(node_id, None)
        self._spares[node_id] = frame
        while len(self._spares) > MAX_SPARE_FRAMES:
            oldest = next(iter(self._spares))
            self._spares.pop(oldest).deleteLater()

    def _place(self, node: dict[str, Any], parent_id: str | None, index: int, depth: int,
               old: dict[str, NodeFrame], force: bool) -> NodeFrame:
        """The frame of `node` where the document puts it: the old one when there is one, else a new one."""
        frame = old.get(node["id"]) or self._spares.pop(node["id"], None)
        is_group = node["type"] == "group"
        reusable = frame is not None and (isinstance(frame, GroupFrame) == is_group) \
            and (frame.parent_id is None) == (parent_id is None) \
            and (is_group or frame.node.get("type") == node.get("type"))
        if not reusable:
            if frame is not None and frame is not old.get(node["id"]):
                frame.deleteLater()  # a spare of another kind
            frame = (GroupFrame(self, node, parent_id, index, depth) if is_group
                     else CriterionCard(self, node, parent_id or "root", index, depth))
        else:
            frame.parent_id = parent_id if is_group else parent_id or "root"
            frame.index = index
            if frame.depth != depth:
                frame.depth = depth
                frame.update()
            if force or frame.node != node:
                frame.set_node(node)
        self.frames[node["id"]] = frame
        if is_group:
            assert isinstance(frame, GroupFrame)
            children = [self._place(child, node["id"], child_index, depth + 1, old, force)
                        for child_index, child in enumerate(node["children"])]
            if children != frame.children_frames:
                frame.set_children(children)
        return frame

    def show_counts(self, nodes: dict[str, int] | None, *, root_count: int | None = None, universe: int | None = None,
                    pending: bool = False, left_out: set[str] = frozenset()) -> None:
        """Each card's and group's own count (from an exact estimate); "…" while one is on its way; "left out"
        on unfinished cards (and groups of nothing but those), which the estimate counts without."""
        for node_id, frame in self.frames.items():
            count = root_count if frame.is_root and root_count is not None else (nodes or {}).get(node_id)
            if pending:
                frame.set_count("…", "Counting…")
            elif count is None and nodes is not None and (node_id in left_out or not frame.is_root):
                frame.set_count("left out", "Not counted until it is finished: see the message on the card")
            elif count is None:
                frame.set_count("", "")
            else:
                share = f" ({count / universe:.1%} of {universe:,})" if universe else ""
                frame.set_count(f"{count:,} users", f"{count:,} users match this on its own{share}")

    def show_verdicts(self, verdicts: dict[str, tuple[bool, str]] | None) -> None:
        """Mark each card and group as matching or failing the profile explained (None: clear the marks)."""
        self._verdicts = verdicts
        for node_id, frame in self.frames.items():
            frame.set_verdict(None if verdicts is None else verdicts.get(node_id))

    def show_problems(self, problems: dict[str, list[str]]) -> None:
        """Messages from the engine on the cards (and groups) they concern."""
        self._problems = problems
        for node_id, frame in self.frames.items():
            frame.set_problems(problems.get(node_id, []))

    def set_current(self, node_id: str) -> None:
        if node_id == self.current_id:
            return
        old = self.frames.get(self.current_id)
        self.current_id = node_id
        if old is not None:
            old.update()
        if node_id in self.frames:
            self.frames[node_id].update()
        self.current_changed.emit(node_id)

    def _focused_id(self) -> str:
        widget = QApplication.focusWidget()
        while widget is not None:
            if isinstance(widget, NodeFrame) and widget.canvas is self:
                return widget.node_id
            widget = widget.parentWidget()
        return ""

    def focus_node(self, node_id: str) -> None:
        frame = self.frames.get(node_id)
        if frame is not None:
            frame.setFocus(Qt.FocusReason.OtherFocusReason)
            self.set_current(node_id)  # also when the window is not active and no focus event comes
            self.ensureWidgetVisible(frame, 0, 24)

    # -- drops -------------------------------------------------------------------------------------

    def drop_target(self, position: QPoint, mime) -> DropTarget | None:
        """Where something dropped at `position` (surface coordinates) would go, or None if nowhere."""
        key, node_id = dragged_criterion(mime), dragged_node(mime)
        if key is None and node_id is None or self.root_frame is None:
            return None
        frame = self._frame_at(position)
        if frame is None:
            frame = self.root_frame
        if isinstance(frame, CriterionCard):
            top_left = frame.mapTo(self.surface, QPoint(0, 0))
            after = position.y() - top_left.y() > frame.height() / 2
            target = self._line(frame.parent_id, frame.index + (1 if after else 0))
        else:
            assert isinstance(frame, GroupFrame)
            index = len(frame.children_frames)
            for i, child in enumerate(frame.children_frames):
                middle = child.mapTo(self.surface, QPoint(0, child.height() // 2)).y()
                if position.y() < middle:
                    index = i
                    break
            target = self._line(frame.node_id, index)
        if node_id is not None:
            if not editing.can_move(self.document, node_id, target.parent_id):
                return None
            parent_id, index = editing.parent_of(self.document, node_id)
            if parent_id == target.parent_id and target.index in (index, index + 1):
                return None  # it would land where it is
        return target

    def _frame_at(self, position: QPoint) -> NodeFrame | None:
        widget = self.surface.childAt(position)
        while widget is not None and widget is not self.surface:
            if isinstance(widget, NodeFrame):
                return widget
            widget = widget.parentWidget()
        return None

    def _line(self, group_id: str, index: int) -> DropTarget:
        group = self.frames[group_id]
        assert isinstance(group, GroupFrame)
        children = group.children_frames
        if not children:
            rect = QRect(group.empty.mapTo(self.surface, QPoint(0, 0)), group.empty.size())
            return DropTarget(group_id, 0, rect, outline=True)
        if index < len(children):
            anchor = children[index]
            y = anchor.mapTo(self.surface, QPoint(0, 0)).y() - SPACING // 2
        else:
            anchor = children[-1]
            y = anchor.mapTo(self.surface, QPoint(0, anchor.height())).y() + SPACING // 2
        left = anchor.mapTo(self.surface, QPoint(0, 0)).x()
        return DropTarget(group_id, index, QRect(left, y - 1, anchor.width(), 2))

    # -- commands ----------------------------------------------------------------------------------

    def run(self, command: str, node_id: str) -> None:
        if command == "previous" or command == "next":
            ids = [node["id"] for _, node in _walk(self.document["root"])]
            order = [i for i in ids if i in self.frames]
            position = order.index(node_id) + (-1 if command == "previous" else 1)
            if 0 <= position < len(order):
                self.focus_node(order[position])
            return
        self.command_requested.emit(command, node_id)

    def show_menu(self, frame: NodeFrame, where: QPoint) -> None:
        menu = self.menu_for(frame.node_id)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(where)

    def menu_for(self, node_id: str) -> QMenu:
        """The context menu of a card or group (also what its ⋯ button shows)."""
        frame = self.frames[node_id]
        is_group = isinstance(frame, GroupFrame)
        parent_id, index = (node_id, len(frame.node.get("children", []))) if is_group else (frame.parent_id, frame.index + 1)
        menu = QMenu(self)
        add = menu.addMenu("Add criterion" if is_group else "Add criterion after this")
        add.setToolTipsVisible(True)
        for section, entries in criteria_types.sections():
            entries = [e for e in entries if e.key != "group"]
            if not entries:
                continue
            sub = add.addMenu(section.replace("&", "&&"))  # "Devices & location": an &, not a shortcut
            sub.setToolTipsVisible(True)
            for entry in entries:
                action = sub.addAction(entry.label)
                action.setToolTip(entry.tooltip)
                action.triggered.connect(lambda _c=False, k=entry.key: self.add_requested.emit(k, parent_id, index))
        group_action = menu.addAction("Add group")
        group_action.triggered.connect(lambda: self.add_requested.emit("group", parent_id, index))
        if frame.is_root:
            return menu
        menu.addSeparator()

        def command(text: str, name: str, shortcut: str | None = None, *, checked: bool | None = None) -> QAction:
            action = menu.addAction(text)
            if shortcut:
                action.setShortcut(QKeySequence(shortcut))
                action.setShortcutVisibleInContextMenu(True)
            if checked is not None:
                action.setCheckable(True)
                action.setChecked(checked)
            action.triggered.connect(lambda: self.command_requested.emit(name, node_id))
            return action

        command("Exclude", "exclude", "Ctrl+E", checked=bool(frame.node.get("exclude")))
        if is_group:
            match = frame.node.get("match")
            for value, text in (("all", "Match all (and)"), ("any", "Match any (or)")):
                action = menu.addAction(text)
                action.setCheckable(True)
                action.setChecked(match == value)
                action.triggered.connect(lambda _c=False, v=value: self.match_changed.emit(node_id, v))
        menu.addSeparator()
        command("Move up", "move_up", "Ctrl+Up")
        command("Move down", "move_down", "Ctrl+Down")
        command("Put into a new group", "wrap", "Ctrl+G")
        if is_group:
            command("Ungroup", "ungroup", "Ctrl+Shift+G")
        command("Duplicate", "duplicate", "Ctrl+D")
        menu.addSeparator()
        command("Remove", "remove", "Del")
        return menu


def _chain(widgets: list[QWidget]) -> None:
    for first, second in zip(widgets, widgets[1:]):
        QWidget.setTabOrder(first, second)


def _walk(node: dict[str, Any], path: str = "root"):
    yield path, node
    if node.get("type") == "group":
        for i, child in enumerate(node.get("children", [])):
            yield from _walk(child, f"{path}.children[{i}]")


def _shape(node: dict[str, Any]) -> Any:
    """The tree's ids and types: frames are rebuilt only when this changes."""
    if node.get("type") == "group":
        return (node["id"], "group", tuple(_shape(child) for child in node.get("children", [])))
    return (node["id"], node.get("type"))
