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
        self._add_pane("Audiences", self.audiences, "Every audience: search, sort, see status and tags")
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
        file_menu.addAction(quit_action)

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
        settings = QSettings()
        settings.setValue(GEOMETRY_KEY, self.saveGeometry())
        settings.setValue(STATE_KEY, self.saveState())
        super().closeEvent(event)

    # -- handlers ----------------------------------------------------------------------------------

    def _on_quit(self) -> None:
        # close() first, so the layout is saved exactly as when the window is closed by hand.
        if self.close():
            QApplication.quit()

    def _on_about(self) -> None:
        dialog = AboutDialog(self.connection.home, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def _on_error_reported(self, message: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, "Audience Studio", message, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
