"""The main window: wires the panes, the menus and the status bar together, and nothing more."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QListWidget,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QWidget,
)

from app.ui.about import AboutDialog
from app.ui.audiences.pane import AudiencesPane
from app.ui.editor.tabs import EditorTabs
from app.ui.connections.pane import ConnectionsPane
from app.ui.faults.pane import FaultsPane
from app.ui.home import HomeConnection
from app.ui.preferences import open_preferences
from app.ui.revenue.pane import RevenuePane
from app.ui.standard.pane import StandardAudiencesPane
from app.ui.status_bar import HomeStatusBar
from app.ui.sync.pane import SyncPane
from app.ui.workers import Tasks

GEOMETRY_KEY = "main_window/geometry"
STATE_KEY = "main_window/state"


class MainWindow(QMainWindow):
    """Navigation list and pane stack, menus, status bar; the panes do the work."""

    def __init__(self, connection: HomeConnection, tasks: Tasks, parent: QWidget | None = None, *,
                 welcome: bool = False) -> None:
        super().__init__(parent)
        self.setWindowTitle("Audience Studio")
        self.connection = connection
        self.tasks = tasks

        self.audiences = AudiencesPane(connection, tasks)
        self.panes = QStackedWidget()
        self.navigation = QListWidget()
        self.navigation.setAccessibleName("Panes")
        self.navigation.setToolTip("Choose what to work on")
        self.navigation.setObjectName("navigation")  # styled by resources/styles/audience-studio.qss
        self.navigation.setFixedWidth(150)
        self.navigation.setFrameShape(QListWidget.Shape.NoFrame)
        # Take the style sheet's item padding before the items are laid out (else they keep their unpadded height).
        self.navigation.ensurePolished()
        # Opened audiences are tabs beside the list, so the user can go back and forth between several.
        self.editors = EditorTabs(connection, tasks, self.audiences, list_undo_stack=self.audiences.actions.undo_stack)
        self.audiences.open_requested.connect(self.editors.open_audience)
        self.audiences.actions.is_open_in_editor = self.editors.is_open
        connection.opened.connect(self.editors.offer_autosaves)
        # Segments past their expiration (or made private) come off their channels at start and every hour.
        connection.opened.connect(lambda _home: self._tidy_channels())
        self._channel_timer = QTimer(self, interval=3_600_000)
        self._channel_timer.timeout.connect(self._tidy_channels)
        self._channel_timer.start()
        if welcome:  # the app's start offers it; tests and embedders ask for it
            connection.opened.connect(lambda _home: self.show_welcome())
        self._add_pane("Audiences", self.editors, "Every audience: search, sort, see status and tags; open one to edit it")
        self.standard = StandardAudiencesPane(connection, tasks)
        self._add_pane("Standard audiences", self.standard,
                       "Historical audiences over a date range: calculate them for credits, send them, archive")
        self.standard.open_requested.connect(self._open_in_builder)
        self.connections = ConnectionsPane(connection, tasks)
        self._add_pane("Connections", self.connections, "Outputs, and the audiences connected to them")
        self.faults = FaultsPane(connection, tasks)
        self._add_pane("Faults", self.faults, "Why forwarding to a connection stopped, and resuming it")
        faults_item = self.navigation.item(self.navigation.count() - 1)
        self.faults.count_changed.connect(lambda count: faults_item.setText(f"Faults ({count})" if count else "Faults"))
        self.revenue = RevenuePane(connection, tasks)
        self._add_pane("Revenue", self.revenue,
                       "Where the money comes from: revenue over time, by segment, agency and channel; compare; export")
        self.sync = SyncPane(connection, tasks)
        self._add_pane("Sync", self.sync, "The team's server: sign in, sync, conflicts and the sync history")
        sync_item = self.navigation.item(self.navigation.count() - 1)
        self.sync.loaded.connect(lambda: sync_item.setText(f"Sync ({len(self.sync.conflicts)})" if self.sync.conflicts else "Sync"))
        self.navigation.currentRowChanged.connect(self.panes.setCurrentIndex)
        self.navigation.setCurrentRow(0)

        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.navigation)
        layout.addWidget(self.panes, 1)
        self.setCentralWidget(central)

        self.status = HomeStatusBar(connection, tasks)
        self.setStatusBar(self.status)
        self.sync.sync_finished.connect(self.status.reload)  # "synced just now"
        self._build_menus()

        tasks.error_reported.connect(self._on_error_reported)
        connection.open_failed.connect(self._on_error_reported)
        self._restore_layout()

    def _tidy_channels(self) -> None:
        home = self.connection.open_home
        if home is not None:
            # `home.channels` is made on the pool thread too: it reads (and may refuse) the endpoints variable.
            self.tasks.run(lambda: home.channels.tidy(), label="Taking expired segments off their channels",
                           on_success=self._on_channels_tidied)

    def _on_channels_tidied(self, tried: list) -> None:
        # Each push tried: state "removed", or still "pushed" when the channel refused (retried on the next tidy).
        removed = sum(p.state == "removed" for p in tried)
        failed = len(tried) - removed
        said = []
        if removed:
            said.append(f"{removed} segment push(es) taken off their channels (expired or made private)")
        if failed:
            said.append(f"{failed} could not be taken off (the channel refused or could not be reached; retried "
                        "every hour)")
        if said:
            self.statusBar().showMessage("; ".join(said) + "; the audience's Segment tab shows which.", 15_000)

    def show_welcome(self, *, force: bool = False) -> None:
        """The first-run welcome, when the home holds no workspace (or on request, from the Help menu)."""
        from app.ui.welcome import offer_welcome  # only a new home needs it

        offer_welcome(self.connection, self.tasks, self, on_setup=lambda text: self.statusBar().showMessage(text, 10_000),
                      force=force)

    def _add_pane(self, title: str, pane: QWidget, tooltip: str) -> None:
        self.panes.addWidget(pane)
        self.navigation.addItem(title)
        self.navigation.item(self.navigation.count() - 1).setToolTip(tooltip)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.new_action = self._action("&New Audience…", QKeySequence.StandardKey.New,
                                       "Create an audience and open it in the builder", self._on_new_audience)
        self.save_action = self._action("&Save Audience", QKeySequence.StandardKey.Save,
                                        "Save the audience being edited (as a draft unless it is active)",
                                        self.editors.save_current)
        self.close_audience_action = self._action("&Close Audience", QKeySequence.StandardKey.Close,
                                                  "Close the audience being edited; unsaved changes are asked about",
                                                  self.editors.close_current)
        self.preferences_action = self._action("&Preferences…", "Ctrl+,",
                                               "Real-time windows of the workspaces, and how the app counts",
                                               self._on_preferences)
        self.preferences_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        quit_action = self._action("&Quit", "Ctrl+Q", "Close Audience Studio", self._on_quit)
        quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        file_menu.addAction(self.new_action)
        file_menu.addSeparator()
        file_menu.addAction(self.save_action)
        file_menu.addAction(self.close_audience_action)
        self.download_action = self._action("&Download Audience…", "Ctrl+Shift+D",
                                            "Download the open audience, or the audiences selected in the list, as "
                                            "CSV files in a ZIP", self._on_download)
        file_menu.addAction(self.download_action)
        file_menu.addSeparator()
        file_menu.addAction(self.preferences_action)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)

        edit_menu = self.menuBar().addMenu("&Edit")
        self.undo_action = self.editors.undo_group.createUndoAction(self, "&Undo")
        self.undo_action.setShortcuts(QKeySequence.StandardKey.Undo)
        self.redo_action = self.editors.undo_group.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts(QKeySequence.StandardKey.Redo)
        # Ctrl+F: the audience search while the list is shown, the palette's "Find a criterion" in an editor.
        self.find_action = self._action("&Find…", QKeySequence.StandardKey.Find,
                                        "Search the audiences by name, or find a criterion in the palette",
                                        self._on_find)
        # One Delete for the window: the selected audiences in the list, the selected criterion in an editor.
        self.delete_action = self._action("&Delete", QKeySequence.StandardKey.Delete,
                                          "Delete the selected audiences, or the selected criterion of the audience "
                                          "being edited", self._on_delete)
        edit_menu.addAction(self.undo_action)
        edit_menu.addAction(self.redo_action)
        edit_menu.addSeparator()
        edit_menu.addAction(self.find_action)
        edit_menu.addAction(self.delete_action)

        self.audience_menu = self.menuBar().addMenu("&Audience")
        self.audiences.actions.fill_menu(self.audience_menu)
        self.audience_menu.addSeparator()
        self.audience_menu.addAction(self.audiences.refresh_action)
        self.audience_menu.aboutToShow.connect(self.audiences.actions.update_enabled)

        self.editors.current_editor_changed.connect(self._on_editor_changed)
        self.navigation.currentRowChanged.connect(self._on_pane_changed)
        self._on_editor_changed(None)

        help_menu = self.menuBar().addMenu("&Help")
        about_action = QAction("&About Audience Studio…", self)
        about_action.setMenuRole(QAction.MenuRole.AboutRole)
        about_action.setStatusTip("Versions, and where the home and the logs are")
        about_action.triggered.connect(self._on_about)
        help_menu.addAction(about_action)
        welcome_action = QAction("&Welcome…", self)
        welcome_action.setStatusTip("The first-run choices again: the demo workspace or your team's server")
        welcome_action.triggered.connect(lambda: self.show_welcome(force=True))
        help_menu.addAction(welcome_action)

    def _action(self, text: str, shortcut, tip: str, slot) -> QAction:
        action = QAction(text, self)
        if isinstance(shortcut, QKeySequence.StandardKey):
            action.setShortcuts(shortcut)  # every key of the platform's set (Close: Ctrl+W and Ctrl+F4), not the first
        else:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        action.setToolTip(tip)
        action.triggered.connect(slot)
        return action

    # -- remembering the layout --------------------------------------------------------------------

    def _restore_layout(self) -> None:
        settings = QSettings()
        geometry = settings.value(GEOMETRY_KEY)
        if geometry is None or not self.restoreGeometry(geometry):
            # First start: room for the audience list's columns and the builder's three panels, but
            # never more than 90 % of the screen (a 1366 x 768 laptop gets 1229 x 691).
            available = self.screen().availableGeometry()
            self.resize(min(1280, int(available.width() * 0.9)), min(800, int(available.height() * 0.9)))
        state = settings.value(STATE_KEY)
        if state is not None:
            self.restoreState(state)
        self.audiences.restore_layout(settings)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.editors.close_all():
            event.ignore()  # the user kept an audience with unsaved changes open
            return
        settings = QSettings()
        settings.setValue(GEOMETRY_KEY, self.saveGeometry())
        settings.setValue(STATE_KEY, self.saveState())
        self.audiences.save_layout(settings)
        super().closeEvent(event)

    # -- handlers ----------------------------------------------------------------------------------

    def _on_quit(self) -> None:
        # close() first, so the layout is saved exactly as when the window is closed by hand.
        if self.close():
            QApplication.quit()

    def _on_editor_changed(self, editor) -> None:
        self.delete_action.setText("&Delete Criterion" if editor is not None else "&Delete Audience")
        self._update_audience_actions()

    def _on_pane_changed(self, _row: int) -> None:
        self.editors.set_shown(self.panes.currentWidget() is self.editors)
        self._update_audience_actions()

    def _update_audience_actions(self) -> None:
        # The audience actions act on the Audiences pane only while it is shown: Delete pressed in the
        # Connections pane must never delete an audience selected out of sight. Shortcuts of disabled
        # actions stay free for the pane that is shown.
        shown = self.panes.currentWidget() is self.editors
        editor = self.editors.current_editor()
        for action in (self.save_action, self.close_audience_action):
            action.setEnabled(shown and editor is not None)
        for action in (self.find_action, self.delete_action, self.download_action):
            action.setEnabled(shown)
        self.audience_menu.setEnabled(shown and editor is None)

    def _open_in_builder(self, audience_id: int) -> None:
        """A standard draft opens in the same builder as real-time audiences, on the Audiences pane."""
        self.navigation.setCurrentRow(0)
        self.editors.open_audience(audience_id)

    def _on_new_audience(self) -> None:
        self.navigation.setCurrentRow(0)  # from any pane: the new audience opens where it can be seen
        self.editors.setCurrentIndex(0)
        self.audiences.new_audience()

    def _on_find(self) -> None:
        editor = self.editors.current_editor()
        if editor is not None and editor.is_loaded():
            editor.palette_panel.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
            editor.palette_panel.search.selectAll()
        else:
            self.editors.setCurrentIndex(0)
            self.audiences.focus_search()

    def _on_download(self) -> None:
        editor = self.editors.current_editor()
        if editor is not None:
            self.audiences.actions.download_audiences([editor.audience_id])  # as saved: the dialog reads the store
        elif not self.audiences.actions.download_chosen():
            self.statusBar().showMessage("Select one or more audiences in the list (or open one) to download them.",
                                         5_000)

    def _on_delete(self) -> None:
        if self.editors.current_editor() is not None:
            self.editors.delete_in_current()
        else:
            self.audiences.actions.delete_chosen()

    def _on_preferences(self) -> None:
        def opened(dialog) -> None:
            self.preferences_dialog = dialog
            dialog.finished.connect(lambda _result: setattr(self, "preferences_dialog", None))

        open_preferences(self.connection.open_home, self.tasks, self, opened)

    def _on_about(self) -> None:
        dialog = AboutDialog(self.connection.home, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def _on_error_reported(self, message: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, "Audience Studio", message, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
