"""The app's resources: the icon at every size Qt asks for, the palette-only style sheet, from the compiled
Qt resource file or the folder; and the Linux desktop entry and AppStream metadata the bundle ships."""

from __future__ import annotations

import configparser
import xml.etree.ElementTree as ET
from pathlib import Path

from PySide6.QtCore import QSize

from app.ui import resources

ROOT = Path(__file__).resolve().parents[2]


def test_the_icon_and_style_sheet_load_from_the_folder(qapp) -> None:
    found = resources.Resources(ROOT / "resources")
    icon = found.icon()
    assert not icon.isNull()
    assert {size.width() for size in icon.availableSizes()} >= {16, 32, 48, 256}
    assert icon.pixmap(QSize(64, 64)).width() == 64
    sheet = found.style_sheet()
    assert "QListWidget#navigation" in sheet
    # One sheet for light and dark: no colour is written down, each comes from the palette.
    assert "#" not in sheet.replace("#navigation", "").replace("#emptyStateTitle", "").replace("#welcomeTitle", "")


def test_the_compiled_resources_are_used_when_present(qapp) -> None:
    if not (ROOT / "resources" / resources.COMPILED).is_file():
        import subprocess
        import sys

        rcc = Path(sys.executable).parent / "pyside6-rcc"
        subprocess.run([str(rcc), "--binary", str(ROOT / "resources" / "audience_studio.qrc"), "-o",
                        str(ROOT / "resources" / resources.COMPILED)], check=True)
    found = resources.Resources(ROOT / "resources")
    assert found.compiled and found.path("icons/audience-studio-32.png") == ":/icons/audience-studio-32.png"
    assert "QListWidget#navigation" in found.style_sheet()


def test_a_missing_folder_costs_only_the_looks(qapp) -> None:
    missing = resources.Resources(None)
    assert missing.icon().isNull() and missing.style_sheet() == ""


def test_the_linux_desktop_entry_and_appstream_metadata_agree() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(ROOT / "installers" / "linux" / "audience-studio.desktop")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application" and desktop["Icon"] == "audience-studio"
    assert desktop["Exec"].split()[0] == "audience-studio-desktop"
    metainfo = ET.parse(ROOT / "installers" / "linux" / "io.audiencestudio.AudienceStudio.metainfo.xml").getroot()
    assert metainfo.get("type") == "desktop-application"
    assert metainfo.findtext("id") == "io.audiencestudio.AudienceStudio"
    assert metainfo.find("launchable").text == "audience-studio.desktop"
    assert (ROOT / "installers" / "linux" / "install.sh").read_text().count("audience-studio-desktop") >= 2
