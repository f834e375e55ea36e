"""How a verdict reads and looks wherever it is shown (the Why tab, the editor's cards): in words as well as
in colour, so it never relies on colour alone."""

from __future__ import annotations

from PySide6.QtGui import QColor

#: Green and red that read on light and dark backgrounds; the mark and the word carry the meaning too.
MATCH, FAIL = QColor("#2e9d4f"), QColor("#d93025")
MATCH_WORDS, FAIL_WORDS = "✓ matches", "✗ fails"
