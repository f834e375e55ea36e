"""The main window: builds the panes of the registry (app/ui/panes.py) beside a navigation list, the
window-wide menus and the status bar; it knows no pane. Panes talk to one another through the
`PaneBus` and to the window through the pane contract (app/ui/kit/pane.py): their title, icon,
tooltip and badge, asking to be shown, menus, layout memory and whether the window may close."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSettings, QSize, Qt
from PySide6.QtGui import QAction, QCloseEvent, QFont, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.ui.about import AboutDialog
from app.ui.channels.tidying import ChannelTidying
from app.ui.home import HomeConnection
from app.ui.kit.icons import themed_icon
from app.ui.kit.pane import Pane, PaneBus, WindowMenus
from app.ui.automatic_forwarding import AutomaticForwarding
from app.ui.fault_notifier import FaultNotifier
from app.ui.membership_clock import MembershipClock
from app.ui.panes import PANE_ICONS, PANES
from app.ui.preferences import open_preferences
from app.ui.status_bar import HomeStatusBar
from app.ui.workers import Tasks

GEOMETRY_KEY = "main_window/geometry"
STATE_KEY = "main_window/state"
#: Room for the longest title ("Standard audiences") and its icon, and no more: the panes get the rest.
NAVIGATION_WIDTH = 172


class MainWindow(QMainWindow):
    """Navigation list and pane stack, menus, status bar; the panes do the work."""

    def __init__(self, connection: HomeConnection, tasks: Tasks, parent: QWidget | None = None, *,
                 welcome: bool = False, panes: tuple[type[Pane], ...] = PANES) -> None:
        super().__init__(parent)
        self.setWindowTitle("Audience Studio")
        self.connection = connection
        self.tasks = tasks
        self.bus = PaneBus(self)

        self.panes = QStackedWidget()
        self.navigation = QListWidget()
        self.navigation.setAccessibleName("Panes")
        self.navigation.setToolTip("Choose what to work on")
        self.navigation.setObjectName("navigation")  # styled by resources/styles/audience-studio.qss
        self.navigation.setFixedWidth(NAVIGATION_WIDTH)
        self.navigation.setFrameShape(QListWidget.Shape.NoFrame)
        # Small icons and no sideways scrolling: every title fits whole beside its icon.
        self.navigation.setIconSize(QSize(18, 18))
        self.navigation.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # Take the style sheet's item padding before the items are laid out (else they keep their unpadded height).
        self.navigation.ensurePolished()
        #: the panes in navigation order
        self.pane_list: list[Pane] = [pane_class(connection, tasks, bus=self.bus) for pane_class in panes]
        for pane in self.pane_list:
            self._add_pane(pane)
        self._fit_navigation()
        self.navigation.currentRowChanged.connect(self._on_pane_changed)
        self.navigation.setCurrentRow(0)

        # The shown pane's title above it: the top of the window's type hierarchy (pane title, then the panes'
        # own section headers, then text), in the application's font so it follows a larger system font.
        self.pane_title = QLabel()
        self.pane_title.setObjectName("paneTitle")  # spacing in resources/styles/audience-studio.qss
        self.pane_title.setAccessibleName("Pane title")
        title_font = self.pane_title.font()
        title_font.setPointSizeF(title_font.pointSizeF() * 1.45)
        title_font.setBold(True)
        self.pane_title.setFont(title_font)
        self.pane_title.setContentsMargins(16, 10, 16, 2)
        self.pane_title.setText(self.pane_list[0].title if self.pane_list else "")
        main = QVBoxLayout()
        main.setContentsMargins(0, 0, 0, 0)
        main.setSpacing(0)
        main.addWidget(self.pane_title)
        main.addWidget(self.panes, 1)

        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.navigation)
        layout.addLayout(main, 1)
        self.setCentralWidget(central)

        self.status = HomeStatusBar(connection, tasks, bus=self.bus)
        self.setStatusBar(self.status)
        self.channel_tidying = ChannelTidying(connection, tasks, self)
        self.channel_tidying.said.connect(self.status.showMessage)
        # Live audiences follow the clock while the window is open (recency windows slide).
        self.membership_clock = MembershipClock(connection, tasks, self.bus, self)
        # Sending connections of Active audiences are forwarded on their own while the app is open (issue 21).
        self.automatic_forwarding = AutomaticForwarding(connection, tasks, self)
        self.fault_notifier = FaultNotifier(self.automatic_forwarding, self)
        self.fault_notifier.notified.connect(lambda text: self.status.showMessage(text, 15_000))
        self.fault_notifier.open_faults.connect(self._show_faults)
        self.automatic_forwarding.state_changed.connect(lambda _forwarding: self.pane("connections").refresh())
        self._build_menus()
        if welcome:  # the app's start offers it; tests and embedders ask for it
            connection.opened.connect(lambda _home: self.show_welcome())

        tasks.error_reported.connect(self._on_error_reported)
        connection.open_failed.connect(self._on_error_reported)
        self._restore_layout()

    def pane(self, key: str) -> Pane:
        """The pane whose `key` this is (KeyError when there is none)."""
        for pane in self.pane_list:
            if pane.key == key:
                return pane
        raise KeyError(key)

    def _add_pane(self, pane: Pane) -> None:
        self.panes.addWidget(pane)
        item = QListWidgetItem(self._pane_icon(pane), pane.title)
        item.setToolTip(pane.tooltip)
        self.navigation.addItem(item)
        pane.badge_changed.connect(lambda badge, i=item, p=pane: self._show_badge(i, p, badge))
        pane.raise_requested.connect(lambda p=pane: self.navigation.setCurrentRow(self.panes.indexOf(p)))

    def _pane_icon(self, pane: Pane) -> QIcon:
        """The pane's navigation icon from the app's icon set, in the palette's colours (its own icon when unlisted)."""
        name = PANE_ICONS.get(pane.key)
        return themed_icon(name, self.palette()) if name else pane.pane_icon()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.FontChange and hasattr(self, "pane_title"):  # the title stays 1.45 times the window's text
            font = QFont(self.font())
            font.setPointSizeF(font.pointSizeF() * 1.45)
            font.setBold(True)
            self.pane_title.setFont(font)
        # A switch between light and dark: the icons are drawn again in the new palette's colours.
        if event.type() == QEvent.Type.PaletteChange:
            for row, pane in enumerate(self.pane_list):
                self.navigation.item(row).setIcon(self._pane_icon(pane))
        super().changeEvent(event)

    def _show_badge(self, item: QListWidgetItem, pane: Pane, badge: object) -> None:
        item.setText(f"{pane.title} ({badge})" if badge else pane.title)
        self._fit_navigation()

    def _fit_navigation(self) -> None:
        """As wide as the widest title (with its icon, its badge and the style's padding), never narrower
        than NAVIGATION_WIDTH: a larger font or a long badge never cuts a title."""
        self.navigation.ensurePolished()
        widest = self.navigation.sizeHintForColumn(0)
        # The frame and the scroll bar's room, should the panes outgrow the window's height.
        room = 2 * self.navigation.frameWidth() + self.navigation.verticalScrollBar().sizeHint().width()
        self.navigation.setFixedWidth(max(NAVIGATION_WIDTH, widest + room))

    def _on_pane_changed(self, row: int) -> None:
        self.panes.setCurrentIndex(row)
        if hasattr(self, "pane_title") and 0 <= row < len(self.pane_list):
            self.pane_title.setText(self.pane_list[row].title)
        for pane in self.pane_list:
            pane.set_current(pane is self.panes.currentWidget())

    def show_welcome(self, *, force: bool = False) -> None:
        """The first-run welcome, when the home holds no workspace (or on request, from the Help menu)."""
        from app.ui.welcome import offer_welcome  # only a new home needs it

        offer_welcome(self.connection, self.tasks, self, on_setup=self._on_setup, force=force)

    def _on_setup(self, text: str) -> None:
        """The welcome built the demo or synced: say so, and every pane reads the new data and its live
        audiences' membership (the list may have read while the audiences were being created)."""
        self.statusBar().showMessage(text, 10_000)
        self.bus.cache_changed.emit()

    # -- menus -------------------------------------------------------------------------------------

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        edit_menu = self.menuBar().addMenu("&Edit")
        menus = WindowMenus(file_menu, edit_menu, self.menuBar().addMenu)
        for pane in self.pane_list:
            pane.add_to_menus(menus)
        self.preferences_action = self._action("&Preferences…", "Ctrl+,",
                                               "Real-time windows of the workspaces, and how the app counts",
                                               self._on_preferences)
        self.preferences_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        quit_action = self._action("&Quit", "Ctrl+Q", "Close Audience Studio", self._on_quit)
        quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        file_menu.addSeparator()
        file_menu.addAction(self.preferences_action)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        self._on_pane_changed(self.navigation.currentRow())

        help_menu = self.menuBar().addMenu("&Help")
        self.guide_action = self._action("&User Guide", "F1", "How to build, send and measure audiences: the guide",
                                         lambda: self.show_guide())  # not triggered's `checked` as the page
        self.shortcuts_action = self._action("&Keyboard Shortcuts", "Ctrl+/", "Every key of the window, and what it does",
                                             self.show_shortcuts)
        help_menu.addAction(self.guide_action)
        help_menu.addAction(self.shortcuts_action)
        help_menu.addSeparator()
        about_action = QAction("&About Audience Studio…", self)
        about_action.setMenuRole(QAction.MenuRole.AboutRole)
        about_action.setStatusTip("Versions, and where the home and the logs are")
        about_action.triggered.connect(self._on_about)
        help_menu.addAction(about_action)
        welcome_action = QAction("&Welcome…", self)
        welcome_action.setStatusTip("The first-run choices again: the demo workspace or your team's server")
        welcome_action.triggered.connect(lambda: self.show_welcome(force=True))
        help_menu.addAction(welcome_action)

    def _action(self, text: str, shortcut: str, tip: str, slot) -> QAction:
        action = QAction(text, self)
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
        for pane in self.pane_list:
            pane.restore_layout(settings)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not all(pane.can_close() for pane in self.pane_list):
            event.ignore()  # the user kept unsaved work open
            return
        settings = QSettings()
        settings.setValue(GEOMETRY_KEY, self.saveGeometry())
        settings.setValue(STATE_KEY, self.saveState())
        for pane in self.pane_list:
            pane.save_layout(settings)
        self.automatic_forwarding.stop()  # before the home closes: no forwarding thread outlives it
        super().closeEvent(event)

    # -- handlers ----------------------------------------------------------------------------------

    def _show_faults(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()
        self.navigation.setCurrentRow(self.panes.indexOf(self.pane("faults")))

    def _on_quit(self) -> None:
        # close() first, so the layout is saved exactly as when the window is closed by hand.
        if self.close():
            QApplication.quit()

    def _on_preferences(self) -> None:
        def opened(dialog) -> None:
            self.preferences_dialog = dialog
            dialog.finished.connect(lambda _result: setattr(self, "preferences_dialog", None))

        open_preferences(self.connection.open_home, self.tasks, self, opened)

    def show_guide(self, page: str = "", section: str = "") -> None:
        """The user guide's window (one, raised when open again), at `page` (a docs/ file name) when given."""
        from app.ui.help.guide import UserGuide

        if getattr(self, "guide", None) is None:
            self.guide = UserGuide(self)
            self.guide.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            self.guide.destroyed.connect(lambda: setattr(self, "guide", None))
        if page:
            self.guide.show_page(page, section)
        self.guide.show()
        self.guide.raise_()
        self.guide.activateWindow()

    def show_shortcuts(self) -> None:
        """The keyboard-shortcut sheet, read from the window's actions now (so it lists what the keys do now)."""
        from app.ui.help.shortcuts import ShortcutSheet

        sheet = ShortcutSheet(self)
        sheet.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.shortcut_sheet = sheet
        sheet.finished.connect(lambda _result: setattr(self, "shortcut_sheet", None))
        sheet.open()

    def _on_about(self) -> None:
        dialog = AboutDialog(self.connection.home, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def _on_error_reported(self, message: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, "Audience Studio", message, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
