"""The Audiences entry of the navigation: the audience list as the first tab, each open audience a tab
after it, and the window-wide commands that act on them (File › New, Save, Close, Download; Edit ›
Undo, Redo, Find, Delete; the Audience menu).

It joins the list (app/ui/audiences) and the builder's tabs (app/ui/editor), which do not import
each other; every other pane reaches it only through the bus ("open this audience").
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QStyle, QVBoxLayout, QWidget

from app.ui.audiences.pane import AudiencesPane
from app.ui.editor.tabs import EditorTabs
from app.ui.home import HomeConnection
from app.ui.kit.pane import Pane, PaneBus, WindowMenus
from app.ui.workers import Tasks


def _action(parent: QWidget, text: str, shortcut, tip: str, slot) -> QAction:
    action = QAction(text, parent)
    if isinstance(shortcut, QKeySequence.StandardKey):
        action.setShortcuts(shortcut)  # every key of the platform's set (Close: Ctrl+W and Ctrl+F4), not the first
    else:
        action.setShortcut(QKeySequence(shortcut))
    action.setStatusTip(tip)
    action.setToolTip(tip)
    action.triggered.connect(slot)
    return action


class AudiencesPage(Pane):
    """The audience list and the open audiences' tabs; the list reads, this page routes the commands."""

    key = "audiences"
    title = "Audiences"
    tooltip = "Every audience: search, sort, see status and tags; open one to edit it"
    icon = QStyle.StandardPixmap.SP_FileDialogListView

    def __init__(self, connection: HomeConnection, tasks: Tasks, parent: QWidget | None = None, *,
                 bus: PaneBus | None = None) -> None:
        super().__init__(connection, tasks, parent, bus=bus)
        self.list = AudiencesPane(connection, tasks, bus=self.bus)
        # The list's empty state and busy bar are the page's: it is the tab shown first.
        self.empty, self.busy_bar = self.list.empty, self.list.busy_bar
        self.list.busy_changed.connect(self.busy_changed)
        # Opened audiences are tabs beside the list, so the user can go back and forth between several.
        self.editors = EditorTabs(connection, tasks, self.list, list_undo_stack=self.list.actions.undo_stack)
        self.list.open_requested.connect(self.editors.open_audience)
        self.list.actions.is_open_in_editor = self.editors.is_open
        self.bus.open_audience.connect(self.open_audience)
        connection.opened.connect(self.editors.offer_autosaves)
        self._shown = True
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.editors)
        self._build_actions()

    def _build_actions(self) -> None:
        self.new_action = _action(self, "&New Audience…", QKeySequence.StandardKey.New,
                                  "Create an audience and open it in the builder", self.new_audience)
        self.save_action = _action(self, "&Save Audience", QKeySequence.StandardKey.Save,
                                   "Save the audience being edited (as a draft unless it is active)",
                                   self.editors.save_current)
        self.close_audience_action = _action(self, "&Close Audience", QKeySequence.StandardKey.Close,
                                             "Close the audience being edited; unsaved changes are asked about",
                                             self.editors.close_current)
        self.download_action = _action(self, "&Download Audience…", "Ctrl+Shift+D",
                                       "Download the open audience, or the audiences selected in the list, as "
                                       "CSV files in a ZIP", self._on_download)
        self.undo_action = self.editors.undo_group.createUndoAction(self, "&Undo")
        self.undo_action.setShortcuts(QKeySequence.StandardKey.Undo)
        self.redo_action = self.editors.undo_group.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts(QKeySequence.StandardKey.Redo)
        # Ctrl+F: the audience search while the list is shown, the palette's "Find a criterion" in an editor.
        self.find_action = _action(self, "&Find…", QKeySequence.StandardKey.Find,
                                   "Search the audiences by name, or find a criterion in the palette", self._on_find)
        # One Delete for the window: the selected audiences in the list, the selected criterion in an editor.
        self.delete_action = _action(self, "&Delete", QKeySequence.StandardKey.Delete,
                                     "Delete the selected audiences, or the selected criterion of the audience "
                                     "being edited", self._on_delete)
        self.editors.current_editor_changed.connect(self._on_editor_changed)
        self.editors.current_editor_changed.connect(self._calculate_on_save)

    # -- the pane contract ---------------------------------------------------------------------------

    def refresh(self) -> None:
        self.list.refresh()  # the list reads, on its own triggers (the home opening, store events)

    def _on_home_opened(self, _home) -> None:
        pass  # the list reads then

    def wants_refresh(self, kind: str) -> bool:
        return False  # the list reads then

    def is_busy(self) -> bool:
        return self.list.is_busy()

    def add_to_menus(self, menus: WindowMenus) -> None:
        for action in (self.new_action, None, self.save_action, self.close_audience_action, self.download_action):
            menus.file.addAction(action) if action is not None else menus.file.addSeparator()
        for action in (self.undo_action, self.redo_action, None, self.find_action, self.delete_action):
            menus.edit.addAction(action) if action is not None else menus.edit.addSeparator()
        self.audience_menu = menus.add_menu("&Audience")
        self.list.actions.fill_menu(self.audience_menu)
        self.audience_menu.addSeparator()
        self.audience_menu.addAction(self.list.refresh_action)
        self.audience_menu.aboutToShow.connect(self.list.actions.update_enabled)
        self._on_editor_changed(self.editors.current_editor())

    def set_current(self, current: bool) -> None:
        self._shown = current
        self.editors.set_shown(current)
        self._update_actions()

    def restore_layout(self, settings: QSettings) -> None:
        self.list.restore_layout(settings)

    def save_layout(self, settings: QSettings) -> None:
        self.list.save_layout(settings)

    def can_close(self) -> bool:
        return self.editors.close_all()  # False: the user kept an audience with unsaved changes open

    # -- requests --------------------------------------------------------------------------------------

    def open_audience(self, audience_id: int) -> None:
        """Open the audience in the builder (a standard draft opens in the same builder as real-time ones)."""
        self.raise_requested.emit()
        self.editors.open_audience(audience_id)

    def new_audience(self) -> None:
        self.raise_requested.emit()  # from any pane: the new audience opens where it can be seen
        self.editors.setCurrentIndex(0)
        self.list.new_audience()

    # -- commands --------------------------------------------------------------------------------------

    def _calculate_on_save(self, editor) -> None:
        """An editor is saved (or activated) while it is the current tab: from then on, a save that leaves its
        audience Active calculates it at once, with progress on the list's busy bar, as activating from the list
        does, rather than at the membership clock's next tick."""
        if editor is None or editor.property("calculates_on_save"):
            return
        editor.setProperty("calculates_on_save", True)
        editor.saved.connect(lambda audience_id, e=editor: self._on_editor_saved(e, audience_id))

    def _on_editor_saved(self, editor, audience_id: int) -> None:
        audience = editor.context.audience
        if audience.status == "active" and audience.kind == "realtime":
            # Only what could have changed is calculated (an unchanged definition is found current at once).
            self.list.calculate([audience_id])

    def _on_editor_changed(self, editor) -> None:
        self.delete_action.setText("&Delete Criterion" if editor is not None else "&Delete Audience")
        self._update_actions()

    def _update_actions(self) -> None:
        # The audience actions act on this pane only while it is shown: Delete pressed in the
        # Connections pane must never delete an audience selected out of sight. Shortcuts of disabled
        # actions stay free for the pane that is shown.
        shown = self._shown
        editor = self.editors.current_editor()
        for action in (self.save_action, self.close_audience_action):
            action.setEnabled(shown and editor is not None)
        for action in (self.find_action, self.delete_action, self.download_action):
            action.setEnabled(shown)
        if hasattr(self, "audience_menu"):
            self.audience_menu.setEnabled(shown and editor is None)

    def _on_find(self) -> None:
        editor = self.editors.current_editor()
        if editor is not None and editor.is_loaded():
            editor.palette_panel.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
            editor.palette_panel.search.selectAll()
        else:
            self.editors.setCurrentIndex(0)
            self.list.focus_search()

    def _on_download(self) -> None:
        editor = self.editors.current_editor()
        if editor is not None:
            self.list.actions.download_audiences([editor.audience_id])  # as saved: the dialog reads the store
        elif not self.list.actions.download_chosen():
            self.bus.message.emit("Select one or more audiences in the list (or open one) to download them.", 5_000)

    def _on_delete(self) -> None:
        if self.editors.current_editor() is not None:
            self.editors.delete_in_current()
        else:
            self.list.actions.delete_chosen()
