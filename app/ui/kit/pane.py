"""The pane contract: what every entry of the window's navigation is and does, written once.

A pane says who it is (`key`, `title`, `tooltip`, `icon`), which store events make what it shows
stale (`reload_on`), how to read its data in a worker (`reader`) and how to show it (`show_data`).
The base class does the rest the same way for every pane: it reads when the home opens and when
one of those events arrives (a burst of them costs one read), never runs two reads at once (a
change during a read reads once more after it; the newest request wins), shows the busy bar while
reading, and reports a failed read.

Panes never reach into one another: they make requests on the `PaneBus` ("open this audience",
"the cache changed", "say this in the status bar"), and the window only iterates the registry
(app/ui/panes.py). The shape follows Spyder's dockable plugins and orange-canvas's widget
descriptions: a class carries its description, the host builds from a list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from PySide6.QtCore import QObject, QSettings, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QStyle, QWidget

from app.ui.kit.busy import BusyBar
from app.ui.kit.empty_state import EmptyState
from app.ui.kit.newest import NewestWins, Ticket
from app.ui.workers import failure_message

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMenu

    from app.engines.home import OpenHome
    from app.ui.home import HomeConnection
    from app.ui.workers import Tasks


class PaneBus(QObject):
    """Requests one pane makes of the others without knowing which pane answers them."""

    #: open this audience (its id) in the builder, wherever the builder lives
    open_audience = Signal(int)
    #: the cache's data changed (a sync finished): what shows its freshness or reads it reads again
    cache_changed = Signal()
    #: a sentence for the window's status bar, and for how many milliseconds
    message = Signal(str, int)


class WindowMenus:
    """The window's menus, for panes that add window-wide actions (File, Edit) or a menu of their own."""

    def __init__(self, file: QMenu, edit: QMenu, add_menu: Callable[[str], QMenu]) -> None:
        self.file = file
        self.edit = edit
        #: makes a top-level menu (placed before Help)
        self.add_menu = add_menu


class Pane(QWidget):
    """One entry of the window's navigation; subclasses fill in the class attributes and the two hooks."""

    #: a short unique name (used by `MainWindow.pane(key)` and the tests)
    key: ClassVar[str] = ""
    #: the navigation's text
    title: ClassVar[str] = ""
    #: the navigation item's tooltip: what the pane is for, in the users' words
    tooltip: ClassVar[str] = ""
    #: the navigation item's icon, from the platform's style (so it follows light and dark)
    icon: ClassVar[QStyle.StandardPixmap] = QStyle.StandardPixmap.SP_FileIcon
    #: the store events (HomeConnection.store_changed kinds) after which the pane reads again
    reload_on: ClassVar[frozenset[str]] = frozenset()
    #: whether a sync's new cache data makes the pane stale too
    reload_on_cache_change: ClassVar[bool] = False
    #: how long after a store event to read, so a burst of events costs one read
    refresh_delay_ms: ClassVar[int] = 0
    #: what the status bar says while the pane reads
    loading_label: ClassVar[str] = "Loading"

    #: the text the navigation shows after the title ("3" → "Faults (3)"); empty for none
    badge_changed = Signal(str)
    #: True while the pane reads (its busy bar moves), False after
    busy_changed = Signal(bool)
    #: the pane asks to be the one shown (e.g. it opened an audience the user asked for elsewhere)
    raise_requested = Signal()

    def __init__(self, connection: HomeConnection, tasks: Tasks, parent: QWidget | None = None, *,
                 bus: PaneBus | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(self.title)
        self.connection, self.tasks = connection, tasks
        #: shared by the window's panes; a pane made on its own (tests, embedding) gets its own
        self.bus = bus if bus is not None else PaneBus(self)
        self.busy_bar = BusyBar()
        #: what the pane shows instead of an empty list (each pane places it)
        self.empty = EmptyState()
        self.badge = ""
        self._reads = NewestWins()
        self._reading: Ticket | None = None
        self._refresh_timer = QTimer(self, singleShot=True, interval=self.refresh_delay_ms)
        self._refresh_timer.timeout.connect(self.refresh)
        connection.opened.connect(self._on_home_opened)
        connection.store_changed.connect(self._on_store_changed)
        if self.reload_on_cache_change:
            self.bus.cache_changed.connect(self.request_refresh)
        if connection.open_home is not None:
            # After the subclass has built its widgets (it is still in __init__ now).
            QTimer.singleShot(0, self, lambda: self._on_home_opened(connection.open_home))

    # -- what a pane fills in ----------------------------------------------------------------------

    def reader(self, home: OpenHome) -> Callable[[], Any] | None:
        """The read to run in a worker (made on the GUI thread, so it may capture the pane's state);
        None when the pane has nothing to read."""
        return None

    def show_data(self, data: Any) -> None:
        """Show what `reader` read (GUI thread)."""

    def read_failed(self, exc: BaseException) -> None:
        """A read failed: by default the window says why, in the words of `loading_label`."""
        self.tasks.error_reported.emit(failure_message(exc, self.loading_label))

    def wants_refresh(self, kind: str) -> bool:
        """Whether the store event `kind` makes what the pane shows stale."""
        return kind in self.reload_on

    @property
    def home(self) -> OpenHome | None:
        """The open home, or None while it opens (or when it could not be opened)."""
        return self.connection.open_home

    # -- what the window may call ------------------------------------------------------------------

    def pane_icon(self) -> QIcon:
        return self.style().standardIcon(self.icon)

    def add_to_menus(self, menus: WindowMenus) -> None:
        """Add window-wide actions or menus (called once, when the window builds its menus)."""

    def set_current(self, current: bool) -> None:
        """The window shows this pane (True) or another one (False): actions acting out of sight stop."""

    def restore_layout(self, settings: QSettings) -> None:
        """Put back column widths, tabs and the like remembered by `save_layout`."""

    def save_layout(self, settings: QSettings) -> None:
        """Remember column widths, tabs and the like for the next start."""

    def can_close(self) -> bool:
        """False keeps the window open (the user kept unsaved work); may ask the user."""
        return True

    # -- the refresh idiom, once -------------------------------------------------------------------

    def refresh(self) -> None:
        """Read again now; while a read runs, once more after it (its answer is shown all the same, so a
        steady stream of changes never starves the pane)."""
        home = self.connection.open_home
        if home is None:
            return
        ticket = self._reads.begin()  # makes a running read's ticket stale: it reads again when done
        if self._reading is not None:
            return
        read = self.reader(home)
        if read is None:
            return
        self._reading = ticket
        self._set_busy(True)
        self.tasks.run(read, label=self.loading_label, on_success=lambda data: self._on_read(ticket, data),
                       on_failure=lambda exc: self._on_read_failed(ticket, exc))

    def request_refresh(self) -> None:
        """Read again after `refresh_delay_ms` (started, not restarted: a steady stream of events still reads)."""
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def is_busy(self) -> bool:
        return self.busy_bar.is_busy()

    def set_badge(self, badge: str | int) -> None:
        """What the navigation shows after the title; 0 or "" shows none."""
        text = str(badge) if badge else ""
        if text != self.badge:
            self.badge = text
            self.badge_changed.emit(text)

    def _on_read(self, ticket: Ticket, data: Any) -> None:
        self._reading = None
        self.show_data(data)
        self._after_read(ticket)

    def _on_read_failed(self, ticket: Ticket, exc: BaseException) -> None:
        self._reading = None
        self.read_failed(exc)
        self._after_read(ticket)

    def _after_read(self, ticket: Ticket) -> None:
        if not ticket.current:
            self.refresh()  # something changed while it read
        self._set_busy(self._reading is not None)

    def _set_busy(self, busy: bool) -> None:
        if busy != self.busy_bar.is_busy():
            self.busy_bar.set_busy(busy)
            self.busy_changed.emit(busy)

    def _on_home_opened(self, _home: OpenHome) -> None:
        self.refresh()

    def _on_store_changed(self, kind: str, _subject_id: int) -> None:
        if self.wants_refresh(kind):
            if self.refresh_delay_ms:
                self.request_refresh()
            else:
                self.refresh()
