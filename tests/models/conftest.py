"""Fixtures for store tests: a real SQLite store in a temporary folder, services on it, sample workspaces."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.models.services.audiences import AudienceService
from app.models.store.db import Store, open_store
from app.models.services.workspaces import WorkspaceInfo, WorkspaceService


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "profile" / "store.sqlite3"


@pytest.fixture
def store(store_path: Path) -> Iterator[Store]:
    store = open_store(store_path)
    yield store
    store.close()


@pytest.fixture
def workspaces(store: Store) -> WorkspaceService:
    return WorkspaceService(store)


@pytest.fixture
def audiences(store: Store) -> AudienceService:
    return AudienceService(store, user="maria")


@pytest.fixture
def retail(workspaces: WorkspaceService) -> WorkspaceInfo:
    return workspaces.create(
        "Retail", [("platform", "iOS"), ("platform", "Android"), ("platform", "Web"), ("feed", "CRM")]
    )


@pytest.fixture
def travel(workspaces: WorkspaceService) -> WorkspaceInfo:
    return workspaces.create("Travel", [("platform", "iOS"), ("platform", "Web")])


@pytest.fixture
def recorded_events(store: Store) -> list[tuple[str, int]]:
    events: list[tuple[str, int]] = []
    store.events.subscribe(lambda kind, subject_id: events.append((kind, subject_id)))
    return events
