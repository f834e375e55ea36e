"""Compare both sides of a sync conflict: the local definition and the server's, side by side, the
lines that differ marked, and Keep Mine / Take Theirs to settle it."""

from __future__ import annotations

import difflib

from PySide6.QtGui import QFont, QFontDatabase, QPalette, QTextCursor, QTextFormat
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from app.engines.audience_sync import Conflict, outline
from app.ui.shades import mix

#: What the dialog's result says: done(KEEP_MINE) or done(TAKE_THEIRS); Close rejects.
KEEP_MINE, TAKE_THEIRS = 10, 11


def changed_lines(mine: list[str], theirs: list[str]) -> tuple[set[int], set[int]]:
    """Indexes of the lines of each side that the other side does not have at that place."""
    left, right = set(), set()
    for tag, a0, a1, b0, b1 in difflib.SequenceMatcher(a=mine, b=theirs, autojunk=False).get_opcodes():
        if tag != "equal":
            left.update(range(a0, a1))
            right.update(range(b0, b1))
    return left, right


class CompareDialog(QDialog):
    def __init__(self, conflict: Conflict, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.conflict = conflict
        self.setWindowTitle(f"Compare “{conflict.name}”")
        self.setAccessibleName("Compare both versions")
        theirs = conflict.theirs or {}
        gone_there = not theirs or theirs.get("deleted")
        mine_text = outline(conflict.mine) if conflict.mine is not None else "(You deleted this audience here.)"
        theirs_text = (f"(Deleted on the server by {conflict.theirs_by}.)" if gone_there else outline(theirs))
        version = "" if gone_there else f", version {theirs.get('version')}"
        self.summary = QLabel(f"“{conflict.name}” was {conflict.words}. Choose the version to keep; "
                              "the other is replaced.", wordWrap=True)
        self.mine = self._side(mine_text, "Your version (this laptop)")
        self.theirs = self._side(theirs_text, f"The server's version (by {conflict.theirs_by}{version})")
        left, right = changed_lines(mine_text.splitlines(), theirs_text.splitlines())
        self._mark(self.mine, left)
        self._mark(self.theirs, right)

        buttons = QDialogButtonBox()
        self.keep_mine = buttons.addButton("Keep &Mine", QDialogButtonBox.ButtonRole.AcceptRole)
        self.keep_mine.setToolTip("Send your version to the server, replacing the server's")
        self.take_theirs = buttons.addButton("Take &Theirs", QDialogButtonBox.ButtonRole.AcceptRole)
        self.take_theirs.setToolTip("Replace your version here with the server's")
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.setToolTip("Decide later; the conflict stays open")
        self.keep_mine.clicked.connect(lambda: self.done(KEEP_MINE))
        self.take_theirs.clicked.connect(lambda: self.done(TAKE_THEIRS))
        close.clicked.connect(self.reject)

        layout = QGridLayout(self)
        layout.addWidget(self.summary, 0, 0, 1, 2)
        layout.addWidget(QLabel("<b>Your version</b> (this laptop)"), 1, 0)
        layout.addWidget(QLabel(f"<b>The server's version</b> (by {conflict.theirs_by}{version})"), 1, 1)
        layout.addWidget(self.mine, 2, 0)
        layout.addWidget(self.theirs, 2, 1)
        layout.addWidget(buttons, 3, 0, 1, 2)
        layout.setRowStretch(2, 1)
        self.resize(900, 480)

    def _side(self, text: str, name: str) -> QPlainTextEdit:
        view = QPlainTextEdit(text)
        view.setReadOnly(True)
        view.setAccessibleName(name)
        view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        font: QFont = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        view.setFont(font)
        return view

    def _mark(self, view: QPlainTextEdit, lines: set[int]) -> None:
        """Tint the lines that differ (a colour between the background and the highlight: light and dark themes)."""
        palette = view.palette()
        tint = mix(palette.color(QPalette.ColorRole.Base), palette.color(QPalette.ColorRole.Highlight), 0.25)
        selections = []
        for number in sorted(lines):
            block = view.document().findBlockByNumber(number)
            selection = QTextEdit.ExtraSelection()
            selection.format.setBackground(tint)
            selection.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            selection.cursor = QTextCursor(block)
            selections.append(selection)
        view.setExtraSelections(selections)
        view.setToolTip(f"{len(lines)} line(s) differ from the other version (tinted)")
