"""Shared fixtures: a fresh home per test, with the real SQLite store and the real DuckDB cache."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def home_dir(tmp_path):
    from app.paths import resolve_home

    return resolve_home(tmp_path / "home")


@pytest.fixture
def cache(tmp_path):
    from app.connectors.cache import Cache

    opened = Cache(tmp_path / "cache.duckdb")
    yield opened
    opened.close()
