"""The editor's layout: its widgets and where they sit, with no behaviour of the audience in them.

A top row (name, status, Undo, Redo, History, Save, Activate), a message line, then four tabs: Criteria
(palette | canvas | estimate and size over time above the details), A/B Test, Segment and Connect. The widths of the palette,
canvas and side column are remembered for the next editor and the next start.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, QSize, Qt
from PySide6.QtGui import QIcon, QPalette, QUndoStack
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from shiboken6 import isValid

from app.engines.editing_session import EditorContext
from app.ui.editor.ab_test import ABTestTab
from app.ui.editor.canvas import CriteriaCanvas
from app.ui.editor.details import DetailsPanel
from app.ui.kit.elided_label import ElidedLabel
from app.ui.editor.estimate_panel import EstimatePanel
from app.ui.editor.history_chart import HistoryChart
from app.ui.editor.palette import CriteriaPalette
from app.ui.editor.connect_tab import ConnectTab
from app.ui.editor.segment import SegmentTab
from app.ui.editor.services import EditorServices
from app.ui.home import HomeConnection
from app.ui.workers import Tasks

#: QSettings key of the palette / canvas / details widths.
SPLITTER_KEY = "builder/splitter"


class EditorLayout(QWidget):
    """The editor's content once its audience is read: every widget, laid out; the editor wires them."""

    def __init__(self, connection: HomeConnection, tasks: Tasks, audience_id: int, context: EditorContext,
                 services: EditorServices, undo_stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.undo_stack = undo_stack
        self.palette_panel = CriteriaPalette()
        self.canvas = CriteriaCanvas(services)
        self.estimate = EstimatePanel()
        self.details = DetailsPanel(context.workspaces)
        self.history_chart = HistoryChart(connection, tasks, audience_id)  # as saved, beside the live estimate
        self.splitter = self._criteria_page()
        top = self._top_row()

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAccessibleName("Message")
        self.message.setContentsMargins(14, 0, 14, 6)
        self.message.setVisible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addWidget(rule())
        # The criteria and the A/B test are two views of one audience; the A/B tab reads its test when first shown.
        self.ab_test = ABTestTab(connection, tasks, audience_id)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.splitter, "Criteria")
        self.tabs.addTab(self.ab_test, "A/B Test")
        self.tabs.setTabToolTip(1, "Split the audience into variations to connect to different outputs")
        # Saved with its own button: selling the audience is not part of the criteria's undo.
        self.segment = SegmentTab(connection, tasks, audience_id)
        self.tabs.addTab(self.segment, "Segment")
        self.tabs.setTabToolTip(2, "Expiration, visibility on the data marketplace, CPM price and category")
        self.connect = ConnectTab(connection, tasks, audience_id)
        self.tabs.addTab(self.connect, "Connect")
        self.tabs.setTabToolTip(3, "The outputs this audience is sent to, their last runs and faults")
        layout.addWidget(self.tabs, 1)

    def _criteria_page(self) -> QSplitter:
        # The estimate stays put at the top of the side column and only the details scroll: a
        # scroll bar that comes and goes as the details grow would change the estimate's width, and
        # re-laying out and repainting its chart costs the GUI thread 10-20 ms at each edit.
        details_caption = QLabel("Details")
        font = details_caption.font()
        font.setBold(True)
        details_caption.setFont(font)
        details = QWidget()
        details_layout = QVBoxLayout(details)
        details_layout.setContentsMargins(14, 0, 14, 12)
        details_layout.setSpacing(10)
        details_layout.addWidget(details_caption)
        details_layout.addWidget(self.details)
        details_layout.addStretch(1)
        details_scroll = QScrollArea()
        details_scroll.setWidgetResizable(True)
        details_scroll.setFrameShape(QFrame.Shape.NoFrame)
        details_scroll.setWidget(details)
        details_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        side = QWidget()
        side.setMinimumWidth(300)
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 12, 0, 0)
        side_layout.setSpacing(10)
        estimate_box = QVBoxLayout()
        estimate_box.setContentsMargins(14, 0, 14, 0)
        estimate_box.setSpacing(10)
        estimate_box.addWidget(self.estimate)
        estimate_box.addWidget(rule())
        estimate_box.addWidget(self.history_chart)
        estimate_box.addWidget(rule())
        side_layout.addLayout(estimate_box)
        side_layout.addWidget(details_scroll, 1)
        # The whole column scrolls too, but only when the window is shorter than the estimate and the chart need
        # (a laptop at 150 %): else the window's minimum height grew past an 800-px screen once the editor was
        # open and the status bar was cut off. The bar comes with the window's height, never with an edit.
        side_scroll = _ColumnScroll(side)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self.palette_panel)
        # The editor puts the Why / why not bar above the canvas (why_bar.py).
        self.canvas_column = QWidget()
        self.canvas_layout = QVBoxLayout(self.canvas_column)
        self.canvas_layout.setContentsMargins(0, 0, 0, 0)
        self.canvas_layout.setSpacing(0)
        self.canvas_layout.addWidget(self.canvas, 1)
        splitter.addWidget(self.canvas_column)
        splitter.addWidget(side_scroll)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setStretchFactor(2, 0)
        splitter.setSizes([200, 700, 340])
        sizes = QSettings().value(SPLITTER_KEY)
        if isinstance(sizes, list) and len(sizes) == 3:
            try:
                splitter.setSizes([int(size) for size in sizes])
            except (TypeError, ValueError):
                pass  # an old or hand-edited setting: keep the default sizes
        splitter.splitterMoved.connect(self._on_splitter_moved)
        return splitter

    def _top_row(self) -> QHBoxLayout:
        # A long name is cut with "…" (whole in its tooltip) rather than widening the window past a laptop's screen.
        self.title = ElidedLabel(tooltip_when_cut=True)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        self.title.setFont(font)
        # Two letters at least, at the title's own font (the whole name is in its tooltip): with Why…, Insights…
        # and History… in the row, eight letters made the window wider than a 1280-px screen at 150 %.
        self.title.setMinimumWidth(self.title.fontMetrics().horizontalAdvance("M" * 2))
        self.title.setAccessibleName("Audience name")
        self.status_chip = QLabel()
        self.status_chip.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.status_chip.setAccessibleName("Status")
        # Short labels that do not jump about; what would be undone is in the tooltip.
        self.undo_button = QToolButton(text="Undo", autoRaise=True)
        self.redo_button = QToolButton(text="Redo", autoRaise=True)
        self.undo_button.setIcon(QIcon.fromTheme("edit-undo"))
        self.redo_button.setIcon(QIcon.fromTheme("edit-redo"))
        for button in (self.undo_button, self.redo_button):
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.undo_button.setAccessibleName("Undo")
        self.redo_button.setAccessibleName("Redo")
        self.undo_button.clicked.connect(self.undo_stack.undo)
        self.redo_button.clicked.connect(self.undo_stack.redo)
        self.undo_stack.indexChanged.connect(self._on_undo_index)
        self._on_undo_index(0)
        self.history_button = QToolButton(text="History…", autoRaise=True)
        self.history_button.setAccessibleName("Edit history")
        self.history_button.setToolTip("Every saved version of this audience: what changed, and load one into the editor")
        self.why_button = QToolButton(text="Why…", autoRaise=True)
        self.why_button.setAccessibleName("Why or why not")
        self.why_button.setToolTip("Look a profile up and mark each card as matching or failing it, with the evidence, "
                                   "for the draft as it is now (Ctrl+Shift+Y)")
        self.insights_button = QToolButton(text="Insights…", autoRaise=True)
        self.insights_button.setAccessibleName("Insights on the draft")
        self.insights_button.setToolTip("Members, why, overlap and breakdown of the draft as it is now, saved or not "
                                        "(Ctrl+Shift+I)")
        self.save_button = QPushButton("Save as Draft")
        self.save_button.setAccessibleName("Save")
        self.activate_button = QPushButton("Activate")
        self.activate_button.setAccessibleName("Activate")
        self.activate_button.setDefault(True)

        top = QHBoxLayout()
        top.setContentsMargins(10, 10, 10, 8)
        top.setSpacing(4)  # the flat tool buttons carry their own padding
        top.addWidget(self.title)
        top.addWidget(self.status_chip)
        top.addStretch(1)
        top.addWidget(self.undo_button)
        top.addWidget(self.redo_button)
        top.addWidget(self.why_button)
        top.addWidget(self.insights_button)
        top.addWidget(self.history_button)
        top.addSpacing(4)
        top.addWidget(self.save_button)
        top.addWidget(self.activate_button)
        return top

    def show_message(self, text: str) -> None:
        self.message.setText(f"⚠ {text}")
        self.message.setVisible(True)

    def hide_message(self) -> None:
        self.message.setVisible(False)

    def _on_undo_index(self, _index: int) -> None:
        stack = self.undo_stack
        if not isValid(stack) or not isValid(self.undo_button):
            return  # the editor is being deleted: its stack empties itself on the way out
        self.undo_button.setEnabled(stack.canUndo())
        self.redo_button.setEnabled(stack.canRedo())
        self.undo_button.setToolTip(f"Undo {stack.undoText()} (Ctrl+Z)" if stack.canUndo() else "Nothing to undo")
        self.redo_button.setToolTip(f"Redo {stack.redoText()} (Ctrl+Shift+Z)" if stack.canRedo() else "Nothing to redo")

    def _on_splitter_moved(self, _position: int, _index: int) -> None:
        # Remembered for the next editor and the next start (palette, canvas, details widths).
        QSettings().setValue(SPLITTER_KEY, self.splitter.sizes())


def rule() -> QFrame:
    line = QFrame()
    line.setFrameShape(QFrame.Shape.HLine)
    line.setFrameShadow(QFrame.Shadow.Plain)
    line.setForegroundRole(QPalette.ColorRole.Mid)
    return line


class _ColumnScroll(QScrollArea):
    """A column that scrolls up and down only: never narrower than its contents, as short as the window needs."""

    def __init__(self, column: QWidget) -> None:
        super().__init__()
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(column)

    def minimumSizeHint(self) -> QSize:
        bar = self.verticalScrollBar().sizeHint().width()
        return QSize(self.widget().minimumSizeHint().width() + bar, 120)
