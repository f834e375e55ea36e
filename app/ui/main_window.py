"""The main window: wires the panes, the menus and the status bar together, and nothing more."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
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
from app.ui.builder.tabs import EditorTabs
from app.ui.home import HomeConnection
from app.ui.status_bar import HomeStatusBar
from app.ui.workers import Tasks

GEOMETRY_KEY = "main_window/geometry"
STATE_KEY = "main_window/state"


class MainWindow(QMainWindow):
    """Navigation list and pane stack, menus, status bar; the panes do the work."""

    def __init__(self, connection: HomeConnection, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Audience Studio")
        self.connection = connection
        self.tasks = tasks

        self.audiences = AudiencesPane(connection, tasks)
        self.panes = QStackedWidget()
        self.navigation = QListWidget()
        self.navigation.setAccessibleName("Panes")
        self.navigation.setToolTip("Choose what to work on")
        self.navigation.setFixedWidth(150)
        self.navigation.setFrameShape(QListWidget.Shape.NoFrame)
        # Padding only: colours still come from the OS palette.
        self.navigation.setStyleSheet("QListWidget { padding-top: 8px; } QListWidget::item { padding: 6px 10px; }")
        # Opened audiences are tabs beside the list, so the user can go back and forth between several.
        self.editors = EditorTabs(connection, tasks, self.audiences)
        self.audiences.open_requested.connect(self.editors.open_audience)
        connection.opened.connect(self.editors.offer_autosaves)
        self._add_pane("Audiences", self.editors, "Every audience: search, sort, see status and tags; open one to edit it")
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
        self._build_menus()

        tasks.error_reported.connect(self._on_error_reported)
        connection.open_failed.connect(self._on_error_reported)
        self._restore_layout()

    def _add_pane(self, title: str, pane: QWidget, tooltip: str) -> None:
        self.panes.addWidget(pane)
        self.navigation.addItem(title)
        self.navigation.item(self.navigation.count() - 1).setToolTip(tooltip)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        quit_action.setStatusTip("Close Audience Studio")
        quit_action.triggered.connect(self._on_quit)
        self.save_action = QAction("&Save Audience", self)
        self.save_action.setShortcut(QKeySequence.StandardKey.Save)
        self.save_action.setStatusTip("Save the audience being edited (as a draft unless it is active)")
        self.save_action.triggered.connect(self.editors.save_current)
        self.close_audience_action = QAction("&Close Audience", self)
        self.close_audience_action.setShortcut(QKeySequence.StandardKey.Close)
        self.close_audience_action.setStatusTip("Close the audience being edited; unsaved changes are asked about")
        self.close_audience_action.triggered.connect(self.editors.close_current)
        file_menu.addAction(self.save_action)
        file_menu.addAction(self.close_audience_action)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)

        edit_menu = self.menuBar().addMenu("&Edit")
        self.undo_action = self.editors.undo_group.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo_action = self.editors.undo_group.createRedoAction(self, "&Redo")
        self.redo_action.setShortcut(QKeySequence.StandardKey.Redo)
        self.delete_action = QAction("&Delete Criterion", self)
        self.delete_action.setShortcut(QKeySequence.StandardKey.Delete)
        self.delete_action.setStatusTip("Remove the selected criterion or group from the audience being edited")
        self.delete_action.triggered.connect(self.editors.delete_in_current)
        edit_menu.addAction(self.undo_action)
        edit_menu.addAction(self.redo_action)
        edit_menu.addSeparator()
        edit_menu.addAction(self.delete_action)
        self.editors.current_editor_changed.connect(self._on_editor_changed)
        self._on_editor_changed(None)

        help_menu = self.menuBar().addMenu("&Help")
        about_action = QAction("&About Audience Studio…", self)
        about_action.setMenuRole(QAction.MenuRole.AboutRole)
        about_action.setStatusTip("Versions, and where the home and the logs are")
        about_action.triggered.connect(self._on_about)
        help_menu.addAction(about_action)

    # -- remembering the layout --------------------------------------------------------------------

    def _restore_layout(self) -> None:
        settings = QSettings()
        geometry = settings.value(GEOMETRY_KEY)
        if geometry is None or not self.restoreGeometry(geometry):
            # First start: roomy, but never larger than a small laptop screen.
            available = self.screen().availableGeometry()
            self.resize(min(1100, int(available.width() * 0.9)), min(700, int(available.height() * 0.9)))
        state = settings.value(STATE_KEY)
        if state is not None:
            self.restoreState(state)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.editors.close_all():
            event.ignore()  # the user kept an audience with unsaved changes open
            return
        settings = QSettings()
        settings.setValue(GEOMETRY_KEY, self.saveGeometry())
        settings.setValue(STATE_KEY, self.saveState())
        super().closeEvent(event)

    # -- handlers ----------------------------------------------------------------------------------

    def _on_quit(self) -> None:
        # close() first, so the layout is saved exactly as when the window is closed by hand.
        if self.close():
            QApplication.quit()

    def _on_editor_changed(self, editor) -> None:
        # Shortcuts of disabled actions stay free for the pane that is shown.
        for action in (self.save_action, self.close_audience_action, self.delete_action):
            action.setEnabled(editor is not None)

    def _on_about(self) -> None:
        dialog = AboutDialog(self.connection.home, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def _on_error_reported(self, message: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, "Audience Studio", message, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
