"""Render the application icon (resources/icons/audience-studio.svg) at the sizes each OS wants.

Writes resources/icons/audience-studio-<size>.png for the Linux icon theme and Qt's window icon,
audience-studio.ico (Windows: 16-256 px in one file) and audience-studio.icns (macOS: 16-1024 px).
The results are committed, so building a bundle needs neither this script nor Pillow; run it again
after changing the SVG:

    .venv/bin/pip install -e '.[installers]' && .venv/bin/python installers/make_icons.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PIL import Image  # noqa: E402  (Qt's platform must be chosen first)
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
SOURCE = ICONS / "audience-studio.svg"
#: Linux icon themes and Qt want these; Windows' .ico takes up to 256, macOS' .icns up to 1024.
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render(renderer: QSvgRenderer, size: int) -> Path:
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    path = ICONS / f"audience-studio-{size}.png"
    if not image.save(str(path)):
        raise SystemExit(f"could not write {path}")
    return path


def main() -> int:
    app = QGuiApplication(sys.argv[:1])  # noqa: F841  (QImage painting needs an application)
    renderer = QSvgRenderer(str(SOURCE))
    if not renderer.isValid():
        raise SystemExit(f"{SOURCE} is not a valid SVG")
    pngs = {size: render(renderer, size) for size in PNG_SIZES}
    largest = Image.open(pngs[1024])
    largest.save(ICONS / "audience-studio.ico", sizes=[(s, s) for s in ICO_SIZES])
    largest.save(ICONS / "audience-studio.icns")
    for path in sorted(ICONS.iterdir()):
        print(f"{path.relative_to(ICONS.parent.parent)}  {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
