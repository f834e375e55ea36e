"""The Members tab: the audience's members a page at a time (mpid, first and last seen, identities and the
attributes chosen), searched by any identity value as the user types, sorted by clicking a header,
copied with Ctrl+C and exported whole as CSV (written by a worker; closing the window stops it and
leaves no file)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.engines.insights.members_page import Member, export_csv, members_page
from app.engines.insights.subjects import Subject, attribute_names
from app.ui.home import HomeConnection
from app.ui.insights.members_table import MembersTable
from app.ui.insights.requests import Requests
from app.ui.insights.table_model import PagedTableModel
from app.ui.kit.busy import BusyBar
from app.ui.kit.empty_state import EmptyState
from app.ui.kit.times import minute
from app.ui.workers import Tasks
from app.ui.kit.export_path import ask_export_path

#: How long typing must pause before the search runs.
SEARCH_DELAY_MS = 300
#: Column → the engine's sort key; the identities and attribute columns cannot be sorted by.
SORT_KEYS = {0: "mpid", 1: "first_seen", 2: "last_seen"}
FIXED_HEADERS = ("mpid", "First seen", "Last seen", "Identities")
FIXED_TIPS = ("The profile's mParticle id", "When the profile was first seen (your time zone)",
              "When the profile was last seen (your time zone)", "Every identity of the profile: type: values")


def member_row(member: Member, attributes: list[str]) -> tuple[str, ...]:
    identities = "; ".join(f"{kind}: {', '.join(values)}" for kind, values in member.identities.items())
    return (str(member.mpid), minute(member.first_seen), minute(member.last_seen), identities,
            *(member.attributes.get(a) or "" for a in attributes))


class ErrorLine(QLabel):
    """A sentence saying what went wrong, above the results; hidden when there is nothing to say."""

    def __init__(self) -> None:
        super().__init__()
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # White on a dark red reads the same in light and dark themes; the words say what happened, not the colour.
        self.setStyleSheet("QLabel { color: white; background: #b3261e; padding: 4px 8px; border-radius: 3px; }")
        self.setVisible(False)

    def say(self, text: str) -> None:
        self.setText(text)
        self.setVisible(bool(text))


class MembersTab(QWidget):
    """Members of `subject`; `why_requested(mpid)` fires when a row is double-clicked."""

    #: an mpid (object: mParticle ids are 64-bit, a Qt int signal would wrap them)
    why_requested = Signal(object)
    export_finished = Signal(str)

    def __init__(self, connection: HomeConnection, tasks: Tasks, subject: Subject, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.connection, self.tasks, self.subject = connection, tasks, subject
        self.sort, self.descending = "mpid", False
        self.attributes: list[str] = []

        self.search = QLineEdit(placeholderText="Search by email, customer id, device id or mpid")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Members with an identity value containing this text (any case), or this mpid")
        self.search.setAccessibleName("Search members")
        self.search_timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self.search_timer.timeout.connect(self.reload)
        self.search.textChanged.connect(lambda _text: self.search_timer.start())

        self.attributes_button = QToolButton(text="Attributes")
        self.attributes_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.attributes_button.setToolTip("Choose user attributes to show as columns")
        self.attributes_menu = QMenu(self.attributes_button)
        self.attributes_menu.setToolTipsVisible(True)
        self.attributes_button.setMenu(self.attributes_menu)
        self.attributes_button.setEnabled(False)

        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip("Write every member matching the search to a CSV file, with every identity type "
                                      "and the chosen attributes as columns")
        self.export_button.clicked.connect(self.choose_export)
        self.count = QLabel()
        self.count.setToolTip("How many members match; the table reads more as you scroll")

        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.attributes_button)
        top.addWidget(self.export_button)
        self.busy_bar = BusyBar()
        self.export_bar = BusyBar()
        self.error = ErrorLine()
        self.requests = Requests(tasks, self.busy_bar, "Reading the members", self)
        self.requests.failed.connect(self.error.say)
        self.exports = Requests(tasks, self.export_bar, "Exporting the members", self)
        self.exports.failed.connect(self.error.say)
        self.catalog_requests = Requests(tasks, BusyBar(), "Reading the attributes", self)

        self.model = PagedTableModel(self.requests, FIXED_HEADERS, FIXED_TIPS)
        self.model.loaded.connect(self._on_loaded)
        self.model.sort_requested.connect(self._on_sort)
        self.table = MembersTable(self.model)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        self.table.activated_mpid.connect(self.why_requested)
        self.table.setToolTip("Double-click a member to see why it is in the audience; Ctrl+C copies the selected rows")
        self.empty = EmptyState()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.busy_bar)
        layout.addWidget(self.error)
        layout.addWidget(self.stack, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.count, 1)
        bottom.addWidget(self.export_bar)
        layout.addLayout(bottom)

    # -- asking --------------------------------------------------------------------------------------

    def start(self) -> None:
        """Read the first page and the attributes to offer (the window calls it once the home is open)."""
        self.reload()
        home, subject = self.connection.open_home, self.subject
        if home is None:
            return

        def names(_ticket) -> list[str]:
            return attribute_names(home, subject.workspace_ids)

        self.catalog_requests.ask(names, self._offer_attributes, on_failure=self.error.say)

    def reload(self) -> None:
        home = self.connection.open_home
        if home is None:
            return
        self.search_timer.stop()
        self.error.say("")
        subject, search, sort, descending = self.subject, self.search.text().strip(), self.sort, self.descending
        attributes = list(self.attributes)

        def read(offset: int, limit: int, queries) -> tuple[int, list[tuple[str, ...]]]:
            page = members_page(home, subject, search=search or None, sort=sort, descending=descending, offset=offset,
                                limit=limit, attributes=attributes, queries=queries)
            return page.total, [member_row(m, attributes) for m in page.members]

        self.model.ask(read, headers=[*FIXED_HEADERS, *attributes])

    def stop(self) -> None:
        self.search_timer.stop()
        for requests in (self.requests, self.exports, self.catalog_requests):
            requests.stop()

    # -- answers ---------------------------------------------------------------------------------------

    def _on_loaded(self, total: int) -> None:
        search = self.search.text().strip()
        if total:
            self.count.setText(f"{total:,} member{'s' if total != 1 else ''}" + (" match" if search else ""))
            self.stack.setCurrentWidget(self.table)
        elif search:
            self.count.setText("No match")
            self.empty.show_message("No member matches", f"No member of “{self.subject.name}” has an identity "
                                    f"containing “{search}”. Try part of an email or id.")
            self.stack.setCurrentWidget(self.empty)
        else:
            self.count.setText("No members")
            self.empty.show_message("No one is in this audience now",
                                    "Its criteria match no profile in the cache. The Why / why not tab shows which "
                                    "card a profile fails.")
            self.stack.setCurrentWidget(self.empty)
        self.export_button.setEnabled(bool(total))

    def _on_sort(self, column: int, descending: bool) -> None:
        key = SORT_KEYS.get(column)
        header = self.table.horizontalHeader()
        if key is None:
            # Put the arrow back where the rows are really sorted, and say why.
            current = next(c for c, k in SORT_KEYS.items() if k == self.sort)
            header.blockSignals(True)
            header.setSortIndicator(current, Qt.SortOrder.DescendingOrder if self.descending else Qt.SortOrder.AscendingOrder)
            header.blockSignals(False)
            self.count.setText("Sort by mpid, first seen or last seen")
            return
        if (key, descending) != (self.sort, self.descending):
            self.sort, self.descending = key, descending
            self.reload()

    def _offer_attributes(self, names: list[str]) -> None:
        self.attributes_menu.clear()
        for name in names:
            action = self.attributes_menu.addAction(name)
            action.setCheckable(True)
            action.setToolTip(f"Show the user attribute “{name}” as a column")
            action.toggled.connect(lambda on, n=name: self.show_attribute(n, on))
        self.attributes_button.setEnabled(bool(names))
        if not names:
            self.attributes_button.setToolTip("The audience's workspaces have no user attributes")

    def show_attribute(self, name: str, shown: bool) -> None:
        if shown and name not in self.attributes:
            self.attributes.append(name)
        elif not shown and name in self.attributes:
            self.attributes.remove(name)
        self.reload()

    # -- exporting -------------------------------------------------------------------------------------

    def choose_export(self) -> None:
        path = ask_export_path(self, "Export the members", f"{self.subject.name} members.csv")
        if path is not None:
            self.export_to(path)

    def export_to(self, path: Path) -> None:
        """Write every member matching the search to `path` in a worker; `export_finished` says how it went."""
        home = self.connection.open_home
        if home is None:
            return
        subject, search, sort, descending = self.subject, self.search.text().strip() or None, self.sort, self.descending
        attributes = list(self.attributes)
        self.export_button.setEnabled(False)

        def write(queries) -> int:
            return export_csv(home, subject, path, search=search, sort=sort, descending=descending,
                              attributes=attributes, cancelled=lambda: queries.cancelled)

        def written(count: int) -> None:
            self.export_button.setEnabled(True)
            said = f"Wrote {count:,} members to {path.name}"
            self.count.setText(said)
            self.export_finished.emit(said)

        def failed(message: str) -> None:
            self.export_button.setEnabled(True)
            self.error.say(message)
            self.export_finished.emit(message)

        self.exports.ask(write, written, on_failure=failed)
