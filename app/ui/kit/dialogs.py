"""Dialogs that keep their contents whole.

A QDialog given an explicit minimum width (`setMinimumWidth`) no longer takes its layout's minimum size
(QLayout's default size constraint yields to an explicit one), so a long label, check box or a larger
font got cut instead of the dialog growing. `keep_whole` asks for the width through the layout instead, and keeps the dialog as tall as its
wrapped texts need at the width it has.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QBoxLayout, QDialog, QLayout


class _TallEnough(QObject):
    """Keeps a dialog as tall as its wrapped texts need at its width: a window's minimum size is computed
    without them (Qt's layouts leave height-for-width to the window), so their last lines were cut."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Show, QEvent.Type.Resize, QEvent.Type.LayoutRequest):
            dialog = watched
            layout = dialog.layout()
            if layout is not None and layout.hasHeightForWidth():
                needed = layout.totalHeightForWidth(dialog.width())
                screen = dialog.screen()
                if screen is not None:
                    # Never taller than the screen: a dialog with a scrolling form scrolls instead (a partner
                    # with many fields reached 832 px at 150 % on an 800-px screen).
                    needed = min(needed, screen.availableGeometry().height() - 40)
                if dialog.height() < needed:
                    dialog.resize(dialog.width(), needed)
        return False


def keep_whole(dialog: QDialog, width: int) -> None:
    """At least `width` px wide (scaled with the font, as a 150 % setting scales text), and never smaller
    than what its contents need. Call once its layout is set."""
    layout = dialog.layout()
    assert layout is not None, "keep_whole is called once the dialog's layout is set"
    # `width` was chosen for a 9-point text (about 7 px per average character): a larger font, a wider dialog.
    scaled = max(width, round(width * dialog.fontMetrics().averageCharWidth() / 7))
    layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
    dialog.installEventFilter(_TallEnough(dialog))
    if isinstance(layout, QBoxLayout) and layout.direction() in (QBoxLayout.Direction.TopToBottom,
                                                                 QBoxLayout.Direction.BottomToTop):
        layout.addStrut(scaled)
    else:
        dialog.resize(max(dialog.width(), scaled), dialog.height())
