"""Column widths for item views: the width a pane asks for, never narrower than the column's title.

A width chosen at the default font cut titles at a larger desktop font ("Removes planned/sent/rejected",
"Events" at 150 %); every pane that sets widths by hand goes through here.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTreeView

#: Room for the header's margins and its sort arrow.
TITLE_PADDING = 24


def fit_columns(view: QTreeView, widths: Sequence[int] = ()) -> None:
    """Each column at its width in `widths` (none given: only its title's), widened to show its title whole."""
    model, header = view.model(), view.header()
    for column in range(model.columnCount()):
        title = str(model.headerData(column, Qt.Orientation.Horizontal) or "")
        asked = widths[column] if column < len(widths) else 0
        view.setColumnWidth(column, max(asked, header.fontMetrics().horizontalAdvance(title) + TITLE_PADDING))
