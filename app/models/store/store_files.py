"""Removing what a home holds on disk (the store and the cache with their journals), for --replace."""

from __future__ import annotations

from app.paths import Home

_SUFFIXES = ("", "-wal", "-shm", "-journal", ".wal")


def home_data_names(home: Home) -> list[str]:
    """The names of the store's and the cache's files (with their journals) that `home` holds now."""
    return [base.name + suffix for base in (home.store_path, home.cache_path) for suffix in _SUFFIXES
            if base.with_name(base.name + suffix).exists()]


def remove_home_data(home: Home) -> None:
    """Delete the store and the cache of `home`; the folder itself and its logs stay."""
    for name in home_data_names(home):
        (home.root / name).unlink()
