"""Where a workspace home keeps its files, and where the app writes its logs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "AudienceStudio"
HOME_ENV = "AUDIENCE_STUDIO_HOME"


@dataclass(frozen=True)
class Home:
    """A home directory: the workspace store (what users made) beside the cache (what was synced)."""

    root: Path

    @property
    def store_path(self) -> Path:
        return self.root / "store.sqlite3"

    @property
    def cache_path(self) -> Path:
        return self.root / "cache.duckdb"

    @property
    def autosave_dir(self) -> Path:
        return self.root / "autosave"

    @property
    def standard_members_dir(self) -> Path:
        """Where standard audiences' calculated members are kept (Parquet files)."""
        return self.root / "standard"


def resolve_home(explicit: str | os.PathLike[str] | None = None) -> Home:
    """The home from `--home`, else $AUDIENCE_STUDIO_HOME, else the platform's user data dir."""
    chosen = explicit or os.environ.get(HOME_ENV) or platformdirs.user_data_dir(APP_NAME, appauthor=False)
    return Home(Path(chosen).expanduser().resolve())


def log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))
