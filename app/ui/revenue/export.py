"""Writing a chart's picture (PNG) or data (CSV) to a file: run in a worker (tasks.run), written to a
temporary name beside the target and renamed, so a failed export never leaves half a file."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from PySide6.QtGui import QImage

from app.errors import UserError


def _replace(tmp: Path, path: Path) -> None:
    try:
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UserError(f"Could not save {path}: {exc.strerror or exc}.") from exc


def write_png(image: QImage, path: Path) -> Path:
    """Save `image` (rendered on the GUI thread; a QImage may be saved on any thread) as PNG."""
    tmp = path.with_name(f".{path.name}.tmp")
    if not image.save(str(tmp), "PNG"):
        tmp.unlink(missing_ok=True)
        raise UserError(f"Could not write the picture to {path}: check the folder exists and you may write there.")
    _replace(tmp, path)
    return path


def write_csv(rows: list[list], path: Path) -> Path:
    """Save rows (a header first) as CSV, UTF-8, so spreadsheets read the Unknown parts and the dates."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as file:
            csv.writer(file).writerows(rows)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UserError(f"Could not write the data to {path}: {exc.strerror or exc}.") from exc
    _replace(tmp, path)
    return path
