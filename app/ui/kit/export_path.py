"""Where to save an export: one Save dialog that suggests a file in the user's Documents folder.

The Insights tabs (members, overlap, breakdown) each export CSV or PNG; they ask here so the suggested
folder, the file filters and a cancelled dialog behave the same everywhere.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QFileDialog, QWidget

FILTERS = {"csv": "CSV files (*.csv)", "png": "PNG pictures (*.png)"}


def ask_export_path(parent: QWidget, title: str, file_name: str, kind: str = "csv") -> Path | None:
    """The path the user chose for `file_name` (a .csv or .png), or None when the dialog was cancelled."""
    folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation) or str(Path.home())
    path, _ = QFileDialog.getSaveFileName(parent, title, str(Path(folder) / file_name), FILTERS[kind])
    return Path(path) if path else None
