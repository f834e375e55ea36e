"""The app's icon and style sheet from resources/: found beside the source, or inside a frozen bundle.

The compiled Qt resource file (resources/audience_studio.rcc, built from audience_studio.qrc by
scripts/setup and the installer builds) is registered when present; otherwise the same files are
read from the folder, so a checkout without the compiled file still looks right.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtCore import QFile, QIODevice, QResource
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

log = logging.getLogger(__name__)

ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
STYLE_SHEET = "styles/audience-studio.qss"
COMPILED = "audience_studio.rcc"


def resources_dir() -> Path | None:
    """resources/ of the bundle when frozen (PyInstaller unpacks beside the program), else of the checkout."""
    bundle = getattr(sys, "_MEIPASS", None)
    candidates = [Path(bundle) / "resources"] if bundle else []
    candidates.append(Path(__file__).resolve().parents[2] / "resources")
    return next((path for path in candidates if path.is_dir()), None)


class Resources:
    """Where each resource is read from: ":/..." once the compiled file is registered, else the folder."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.compiled = bool(folder and (folder / COMPILED).is_file()
                             and QResource.registerResource(str(folder / COMPILED)))

    def path(self, name: str) -> str | None:
        if self.compiled:
            return f":/{name}"
        if self.folder is not None and (self.folder / name).is_file():
            return str(self.folder / name)
        return None

    def icon(self) -> QIcon:
        icon = QIcon()
        for size in ICON_SIZES:
            path = self.path(f"icons/audience-studio-{size}.png")
            if path:
                icon.addFile(path)
        return icon

    def style_sheet(self) -> str:
        path = self.path(STYLE_SHEET)
        if path is None:
            return ""
        source = QFile(path)
        if not source.open(QIODevice.OpenModeFlag.ReadOnly | QIODevice.OpenModeFlag.Text):
            log.warning("could not read the style sheet %s", path)
            return ""
        try:
            return bytes(source.readAll().data()).decode("utf-8")
        finally:
            source.close()


def apply(app: QApplication) -> Resources:
    """Give the application its icon and style sheet (missing resources only cost the looks, never the start)."""
    resources = Resources(resources_dir())
    if resources.folder is None:
        log.warning("resources/ not found; running without the app icon and style sheet")
        return resources
    app.setWindowIcon(resources.icon())
    app.setStyleSheet(resources.style_sheet())
    return resources
