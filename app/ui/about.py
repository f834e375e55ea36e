"""The About box: versions (for bug reports) and where the home and the logs live."""

from __future__ import annotations

import html
import platform
from pathlib import Path

import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from app import __version__
from app.paths import Home, log_dir


def versions() -> dict[str, str]:
    import duckdb  # here, not at start-up: by the time About opens, the home's worker has imported it

    return {
        "Audience Studio": __version__,
        "Qt": qVersion(),
        "PySide6": PySide6.__version__,
        "DuckDB": duckdb.__version__,
        "Python": platform.python_version(),
    }


def about_html(home: Home, logs: Path) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>&nbsp;&nbsp;{html.escape(version)}</td></tr>"
        for name, version in versions().items()
    )
    return (
        f"<h3>Audience Studio {html.escape(__version__)}</h3>"
        "<p>Model audiences offline with live size estimates from a local cache.</p>"
        f"<table>{rows}</table>"
        f"<p><b>Home:</b> {html.escape(str(home.root))}<br>"
        f"<b>Logs:</b> {html.escape(str(logs))}</p>"
    )


def about_text(home: Home, logs: Path) -> str:
    """The same facts as plain text, one per line (what a bug report needs)."""
    lines = [f"{name} {version}" for name, version in versions().items()]
    return "\n".join([*lines, f"Home: {home.root}", f"Logs: {logs}"])


class AboutDialog(QDialog):
    """Shown with `open()` from Help › About; the text is selectable so it can be pasted into a report."""

    def __init__(self, home: Home, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Audience Studio")
        self._home = home
        self.label = QLabel(about_html(home, log_dir()))
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setAccessibleName("About Audience Studio")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(buttons)

    def text(self) -> str:
        """What the dialog says, as plain text."""
        return about_text(self._home, log_dir())
