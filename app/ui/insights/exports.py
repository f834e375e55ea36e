"""An overlap written as CSV, and a chart or table as PNG (no Qt widgets; run by a worker): written to a temporary file
and renamed at the end, so a failure leaves no half file."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from PySide6.QtGui import QImage

from app.engines.insights.overlap import Overlap
from app.errors import InvalidInput


def write_overlap(result: Overlap, path: Path) -> int:
    """One row per region (every one, empty ones too): its mask, a yes/no column per audience, its profiles."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    names = list(result.audiences)
    try:
        with open(partial, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["region", *names, "profiles"])
            for mask, profiles in sorted(result.regions.items(), key=lambda r: (-r[1], r[0])):
                writer.writerow([mask, *("yes" if mask >> i & 1 else "no" for i in range(len(names))), profiles])
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InvalidInput(f"{path}: cannot be written ({exc.strerror or exc})") from None
    return len(result.regions)


def write_png(image: QImage, path: Path) -> Path:
    """Save a chart's picture (grabbed on the GUI thread; a QImage may be saved on any thread) as PNG."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    if not image.save(str(partial), "PNG"):
        partial.unlink(missing_ok=True)
        raise InvalidInput(f"{path}: cannot be written (check the folder exists and you may write there)")
    try:
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InvalidInput(f"{path}: cannot be written ({exc.strerror or exc})") from None
    return path
