"""The app's icons: Material Design Icons (through qtawesome, a maintained icon font for Qt), drawn in the
colours of the current palette, so the same icon reads on a light and a dark theme.

Names are Material Design Icons names without the prefix ("account-group"); https://pictogrammers.com/library/mdi/
lists them. An icon keeps the colours it was made with: call `themed_icon` again when the palette changes
(a widget's changeEvent with QEvent.PaletteChange, as the main window and the palette do).
"""

from __future__ import annotations

import logging
import os

from PySide6.QtGui import QIcon, QPalette
from PySide6.QtWidgets import QApplication

log = logging.getLogger(__name__)
# qtawesome reaches Qt through qtpy, which otherwise takes the first binding it finds (PyQt5 when one is
# installed beside): the app's is PySide6.
os.environ.setdefault("QT_API", "pyside6")

#: qtawesome's prefix of the Material Design Icons font (version 6)
PREFIX = "mdi6"


def icon_names() -> frozenset[str]:
    """Every name `themed_icon` can draw (needs a QApplication: qtawesome loads its fonts on first use)."""
    import qtawesome

    qtawesome._instance()  # loads the fonts and their name maps; there is no public call for the names
    return frozenset(qtawesome._resource["iconic"].charmap[PREFIX])


def themed_icon(name: str, palette: QPalette | None = None) -> QIcon:
    """The icon `name` in the palette's text colour (the selection's text colour when selected, the disabled
    text colour when disabled); an empty icon, logged, when the name is unknown (an icon never stops the app)."""
    import qtawesome

    palette = palette if palette is not None else QApplication.palette()
    text = palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.WindowText)
    selected = palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.HighlightedText)
    disabled = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText)
    try:
        return qtawesome.icon(f"{PREFIX}.{name}", color=text, color_active=text, color_selected=selected,
                              color_disabled=disabled)
    except Exception:  # qtawesome raises a bare Exception for an unknown name
        log.warning("no icon named %r in %s", name, PREFIX)
        return QIcon()
