"""Open audiences as tabs beside the audience list, with one undo group routing Edit › Undo to the current one.

The window's menus call `save_current`, `delete_in_current` and the undo group's actions; the tab
bar closes an editor only once it agreed (unsaved changes are asked about).
"""

from __future__ import annotations

import importlib
import threading
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QUndoGroup, QUndoStack
from PySide6.QtWidgets import QTabWidget, QWidget

from app.models.services.autosave import Autosave, find_autosaves, remove_autosave
from app.models.services.draft import Draft
from app.engines.home import OpenHome
from app.ui.editor.recovery import RecoverDraftsDialog
from app.ui.home import HomeConnection
from app.ui.mnemonics import literal
from app.ui.workers import Tasks

if TYPE_CHECKING:
    from app.ui.editor.editor import AudienceEditor

#: What an editor needs that the first window does not (the estimate's chart: pyqtgraph and numpy,
#: ~0.25 s): imported after the window is shown, in a background thread, so that opening the first
#: audience neither waits for them nor stalls the window importing them.
EDITOR_MODULES = ("app.ui.editor.editor", "pyqtgraph")


def preload_editor_modules() -> threading.Thread:
    """Import EDITOR_MODULES in a background thread (Python's import lock makes a concurrent import wait)."""
    def load() -> None:
        for name in EDITOR_MODULES:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - whatever failed fails again, and is reported, where it is used
                return

    thread = threading.Thread(target=load, name="preload-editor-modules", daemon=True)
    thread.start()
    return thread


def _editor_class() -> type[AudienceEditor]:
    from app.ui.editor.editor import AudienceEditor

    return AudienceEditor


class EditorTabs(QTabWidget):
    """The audience list as the first tab, then one tab per open audience."""

    #: fires when the current tab changes (the editor shown, or None for the audience list)
    current_editor_changed = Signal(object)
    #: fires after the autosave folder was looked at on start (how many drafts were offered back)
    autosaves_checked = Signal(int)

    def __init__(self, connection: HomeConnection, tasks: Tasks, audiences: QWidget, parent: QWidget | None = None,
                 *, list_undo_stack: QUndoStack | None = None) -> None:
        super().__init__(parent)
        self.connection = connection
        self.tasks = tasks
        self.setDocumentMode(True)
        self.setTabsClosable(True)
        self.setMovable(True)
        self.setAccessibleName("Open audiences")
        self.undo_group = QUndoGroup(self)
        self._shown = True  # whether the window shows this pane (set_shown)
        # The list's own undo (a deleted audience comes back) while the list is the tab shown.
        self.list_undo_stack = list_undo_stack
        if list_undo_stack is not None:
            self.undo_group.addStack(list_undo_stack)
            self.undo_group.setActiveStack(list_undo_stack)
        self.list_page = audiences
        self.addTab(audiences, "All Audiences")
        self.setTabToolTip(0, "Every audience of the home")
        for side in (self.tabBar().ButtonPosition.RightSide, self.tabBar().ButtonPosition.LeftSide):
            button = self.tabBar().tabButton(0, side)
            if button is not None:
                button.hide()  # the list stays open
        self.tabCloseRequested.connect(self._on_close_requested)
        self.currentChanged.connect(self._on_current_changed)
        self.editors: dict[int, AudienceEditor] = {}
        self.recovery_dialog: RecoverDraftsDialog | None = None
        # Once the window is up (the first turn of the event loop), not before: it is shown first.
        QTimer.singleShot(0, preload_editor_modules)

    def open_audience(self, audience_id: int, draft: Draft | None = None) -> AudienceEditor:
        """Show the audience's editor, opening one if needed (with `draft`, restoring autosaved edits)."""
        editor = self.editors.get(audience_id)
        if editor is None:
            editor = _editor_class()(self.connection, self.tasks, audience_id, draft=draft)
            self.editors[audience_id] = editor
            self.undo_group.addStack(editor.undo_stack)
            index = self.addTab(editor, "Opening…")
            self.setTabToolTip(index, "Close with Ctrl+W; unsaved changes are asked about")
            editor.title_changed.connect(lambda title, e=editor: self._on_title(e, title))
            editor.closed.connect(lambda _id, e=editor: self._remove(e))
        self.setCurrentWidget(editor)
        return editor

    def current_editor(self) -> AudienceEditor | None:
        widget = self.currentWidget()
        return widget if widget is not None and widget in self.editors.values() else None

    def save_current(self) -> bool:
        editor = self.current_editor()
        return editor.save() if editor is not None else False

    def delete_in_current(self) -> bool:
        editor = self.current_editor()
        return editor.delete_selected() if editor is not None else False

    def is_open(self, audience_id: int) -> bool:
        return audience_id in self.editors

    def close_current(self) -> bool:
        editor = self.current_editor()
        return editor.close_editor() if editor is not None else False

    def close_all(self) -> bool:
        """Close every editor (asking about unsaved changes); False if the user kept one open."""
        for editor in list(self.editors.values()):
            self.setCurrentWidget(editor)
            if not editor.close_editor():
                return False
        return True

    def shutdown(self) -> None:
        """Stop every editor's background work without asking (their autosaves keep unsaved drafts)."""
        for editor in list(self.editors.values()):
            editor.shutdown()

    # -- drafts left by a crash ----------------------------------------------------------------------

    def offer_autosaves(self, home: OpenHome) -> None:
        """Look for drafts a crash or kill left unsaved, and offer them back (connected to HomeConnection.opened)."""
        self.tasks.run(lambda: find_autosaves(home.home), label="Looking for unsaved drafts",
                       on_success=self._on_autosaves_found)

    def _on_autosaves_found(self, autosaves: list[Autosave]) -> None:
        if autosaves:
            self.recovery_dialog = RecoverDraftsDialog(autosaves, self.window())
            self.recovery_dialog.restore_requested.connect(self._restore)
            self.recovery_dialog.discard_requested.connect(self._discard)
            self.recovery_dialog.open()
        self.autosaves_checked.emit(len(autosaves))

    def _restore(self, autosaves: list[Autosave]) -> None:
        for autosave in autosaves:
            self.open_audience(autosave.audience_id, draft=autosave.draft)

    def _discard(self, autosaves: list[Autosave]) -> None:
        home = self.connection.home
        ids = [a.audience_id for a in autosaves]
        self.tasks.run(lambda: [remove_autosave(home, i) for i in ids], label="Discarding unsaved drafts")

    # -- tabs --------------------------------------------------------------------------------------

    def _on_title(self, editor: AudienceEditor, title: str) -> None:
        index = self.indexOf(editor)
        if index >= 0:
            self.setTabText(index, literal(title))

    def _remove(self, editor: AudienceEditor) -> None:
        self.editors.pop(editor.audience_id, None)
        self.undo_group.removeStack(editor.undo_stack)
        index = self.indexOf(editor)
        if index >= 0:
            self.removeTab(index)
        editor.deleteLater()

    def _on_close_requested(self, index: int) -> None:
        editor = self.widget(index)
        if editor is not None and editor in self.editors.values():
            editor.close_editor()

    def _on_current_changed(self, _index: int) -> None:
        editor = self.current_editor()
        if self._shown:
            self._activate_undo(editor)
        self.current_editor_changed.emit(editor)

    def set_shown(self, shown: bool) -> None:
        """Whether the window shows this pane: Undo and Redo act on it only then, never out of sight."""
        self._shown = shown
        if shown:
            self._activate_undo(self.current_editor())
        else:
            self.undo_group.setActiveStack(None)

    def _activate_undo(self, editor: AudienceEditor | None) -> None:
        self.undo_group.setActiveStack(editor.undo_stack if editor is not None else self.list_undo_stack)
