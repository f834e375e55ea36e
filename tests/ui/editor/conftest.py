"""Fixtures of the editor's tests: a home with audiences to edit, and editors opened on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication

from app.builder import editing
from app.paths import Home
from app.ui.editor.editor import AudienceEditor
from app.ui.home import HomeConnection
from app.ui.workers import Tasks
from tests.ui.editor.support import NAME, TIMEOUT_MS, shown_exact
from tests.ui.editor_homes import document, fill_home, multi_group_document


@pytest.fixture
def builder_home(home_dir: Home) -> tuple[Home, dict[str, int]]:
    ids = fill_home(home_dir, audiences={NAME: multi_group_document(), "Empty draft": document()})
    return home_dir, ids


@pytest.fixture
def open_editor(qtbot, builder_home) -> Iterator[Callable[..., AudienceEditor]]:
    """Opens the editor of an audience of `builder_home` on a real connection; waits until it shows its estimate."""
    home, ids = builder_home
    tasks = Tasks()
    connection = HomeConnection(home, tasks)
    with qtbot.waitSignal(connection.opened, timeout=TIMEOUT_MS):
        connection.start()
    editors: list[AudienceEditor] = []

    def open_(name: str = NAME, *, ask=lambda _editor: "discard", wait_estimate: bool = True, **kwargs) -> AudienceEditor:
        editor = AudienceEditor(connection, tasks, ids[name], ask=ask, **kwargs)
        editor.resize(1200, 800)
        qtbot.addWidget(editor)
        editors.append(editor)
        editor.show()
        qtbot.waitUntil(editor.is_loaded, timeout=TIMEOUT_MS)
        if wait_estimate and editing.criteria_count(editor.document):
            qtbot.waitUntil(lambda: shown_exact(editor) is not None, timeout=TIMEOUT_MS)
        return editor

    open_.connection = connection
    open_.ids = ids
    yield open_
    for editor in editors:
        editor.shutdown()
        editor.deleteLater()
    tasks.wait()
    connection.close()
    # Deleted now rather than at exit, so nothing holds the closed cache while Python shuts down.
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
