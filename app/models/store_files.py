"""Removing what a home holds on disk (the store and the cache with their journals), for --replace."""

from __future__ import annotations

from app.paths import Home


def remove_home_data(home: Home) -> None:
    """Delete the store and the cache of `home`; the folder itself and its logs stay."""
    for base in (home.store_path, home.cache_path):
        for suffix in ("", "-wal", "-shm", "-journal", ".wal"):
            path = base.with_name(base.name + suffix)
            if path.exists():
                path.unlink()
