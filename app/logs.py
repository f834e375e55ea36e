"""Logging set-up: a rotating file in the platform's log dir, and the console with --verbose."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from app.paths import log_dir

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"


def configure(verbose: bool = False, directory: Path | None = None) -> Path | None:
    """Send records to `audience-studio.log` (rotated at 2 MB, 5 kept); to stderr too when verbose.

    Returns the log file's path, or None when the directory cannot be written (the app still runs).
    """
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for handler in list(root.handlers):
        if getattr(handler, "_audience_studio", False):
            root.removeHandler(handler)
            handler.close()

    path: Path | None = (directory or log_dir()) / "audience-studio.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=5, encoding="utf-8")
    except OSError:
        path = None
    else:
        file_handler.setFormatter(logging.Formatter(LOG_FORMAT))
        file_handler.setLevel(logging.DEBUG if verbose else logging.INFO)
        file_handler._audience_studio = True  # type: ignore[attr-defined]
        root.addHandler(file_handler)

    if verbose:
        console = logging.StreamHandler()
        console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        console._audience_studio = True  # type: ignore[attr-defined]
        root.addHandler(console)
    return path
