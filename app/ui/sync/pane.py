"""The Sync pane: the team's server and the account signed in to it (the token kept in the OS
keyring), the last sync, Sync Now with a progress bar (rows, bytes, time left) and Cancel, the
audiences waiting to be sent, the conflicts to resolve (Keep Mine, Take Theirs, Compare…) and the
history of syncs with their errors.

A sync runs on the task pool: the window, and estimates in open editors, keep working meanwhile.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QPalette,
    QStandardItem,
    QStandardItemModel,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStyle,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.engines.home import OpenHome
from app.ui.home import HomeConnection
from app.ui.kit.pane import Pane, PaneBus
from app.ui.kit.times import age, minute, parse_utc
from app.ui.sync.compare import KEEP_MINE, TAKE_THEIRS, CompareDialog
from app.ui.sync.progress import ProgressClock, RevenueProgress, SyncProgress, progress_words, revenue_words, size_words
from app.ui.pane_actions import pane_action
from app.ui.workers import Tasks, failure_message

ID_ROLE = Qt.ItemDataRole.UserRole + 1
RELOAD_ON = {"audience_added", "audience_changed", "audience_removed", "workspace_changed"}
CONFLICT_COLUMNS = ["Audience", "What happened", "Server's copy by", "Found"]
HISTORY_COLUMNS = ["Started", "Outcome", "Error", "Took", "Batches", "Rows", "Data", "Audiences sent",
                   "Audiences received", "Conflicts"]


def _ask(parent: QWidget, title: str, text: str, yes: str) -> bool:
    box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.Cancel, parent)
    proceed = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is proceed


class _Relay(QObject):
    """Carries progress from the sync's worker thread to the pane (a queued signal)."""

    progressed = Signal(object)


class SyncPane(Pane):
    """The team's server, syncing, conflicts and history; the navigation shows the conflicts ("Sync (2)")."""

    key = "sync"
    title = "Sync"
    tooltip = "The team's server: sign in, sync, conflicts and the sync history"
    icon = QStyle.StandardPixmap.SP_BrowserReload
    reload_on = frozenset(RELOAD_ON)
    loading_label = "Reading the sync state"

    #: fires on the GUI thread after each (re)load of the account, outbox, conflicts and history
    loaded = Signal()
    #: fires on the GUI thread when a sync ends, however it ended (then the bus says the cache changed)
    sync_finished = Signal()

    def __init__(self, connection: HomeConnection, tasks: Tasks, parent: QWidget | None = None, *,
                 bus: PaneBus | None = None) -> None:
        super().__init__(connection, tasks, parent, bus=bus)
        #: asks the user before signing out or replacing their version; tests answer for them
        self.confirm: Callable[[str, str, str], bool] = lambda title, text, yes: _ask(self, title, text, yes)
        #: opens the compare dialog and returns its result; tests answer for the user
        self.compare_with: Callable[[CompareDialog], int] = lambda dialog: dialog.exec()
        #: shows the e-mail sign-in dialog (window-modal, not blocking); tests only keep it to fill in
        self.open_dialog: Callable[[QWidget], None] = lambda dialog: dialog.open()
        self.sign_in_dialog = None
        self.account = None
        self.conflicts: list = []
        self.runs: list = []
        self.outbox: list = []
        self.syncing = False
        self._cancel = threading.Event()
        self._relay = _Relay(self)
        self._relay.progressed.connect(self._on_progress)

        # -- the server and the account --
        self.server_url = QLineEdit()
        self.server_url.setPlaceholderText("https://audiences.example.com")
        self.server_url.setAccessibleName("Server address")
        self.server_url.setToolTip("The address of your team's Audience Studio server")
        self.token = QLineEdit()
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText("Paste the API token your server's admin gave you")
        self.token.setAccessibleName("API token")
        self.token.setToolTip("Kept in the OS keyring, never in a file")
        self.token.returnPressed.connect(self.sign_in)
        self.sign_in_button = QPushButton("Sign &In")
        self.sign_in_button.setToolTip("Check the token with the server and keep it in the OS keyring")
        self.sign_in_button.clicked.connect(self.sign_in)
        self.sign_out_button = QPushButton("Sign &Out")
        self.sign_out_button.setToolTip("Forget the token kept for this server (the data synced stays)")
        self.sign_out_button.clicked.connect(self.sign_out)
        self.account_label = QLabel("Not signed in", wordWrap=True)
        self.account_label.setAccessibleName("Account")
        self.account_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.last_sync_label = QLabel("Never", wordWrap=True)
        self.last_sync_label.setAccessibleName("Last sync")
        token_row = QHBoxLayout()
        token_row.addWidget(self.token, 1)
        token_row.addWidget(self.sign_in_button)
        token_row.addWidget(self.sign_out_button)
        self.email_sign_in_button = QPushButton("With &E-mail…")
        self.email_sign_in_button.setToolTip("Sign in with your e-mail and password (the account your invitation made)")
        self.email_sign_in_button.clicked.connect(self.sign_in_with_email)
        token_row.addWidget(self.email_sign_in_button)
        form = QFormLayout()
        form.addRow("&Server:", self.server_url)
        token_label = QLabel("API &token:")
        token_label.setBuddy(self.token)
        form.addRow(token_label, token_row)
        form.addRow("Account:", self.account_label)
        form.addRow("Last sync:", self.last_sync_label)
        server_box = QGroupBox("Team server")
        server_box.setLayout(form)

        # -- syncing --
        self.sync_action = pane_action(self, "Sync &Now", "Ctrl+Shift+S",
                                        "Send the audiences changed here, receive the team's, and bring the cache up to date",
                                        self.sync_now)
        self.cancel_action = pane_action(self, "&Cancel", "Esc", "Stop the sync; the next one goes on from where it stopped",
                                          self.cancel)
        self.sync_button = QPushButton()
        self.sync_button.setDefault(True)
        self._bind(self.sync_button, self.sync_action)
        self.cancel_button = QPushButton()
        self._bind(self.cancel_button, self.cancel_action)
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Sync progress")
        self.progress.setTextVisible(False)
        self.progress.setRange(0, 1)
        # Shown only while a sync runs (an empty bar reads as a broken field); keeps its place meanwhile.
        policy = self.progress.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.progress.setSizePolicy(policy)
        self.progress.setVisible(False)
        self.progress_label = QLabel("", wordWrap=True)
        self.progress_label.setAccessibleName("Sync progress detail")
        self.outbox_label = QLabel("", wordWrap=True)
        self.outbox_label.setAccessibleName("Waiting to be sent")
        self.outbox_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        sync_row = QHBoxLayout()
        sync_row.addWidget(self.sync_button)
        sync_row.addWidget(self.cancel_button)
        sync_row.addWidget(self.progress, 1)
        sync_box = QGroupBox("Sync")
        sync_layout = QVBoxLayout(sync_box)
        sync_layout.addLayout(sync_row)
        sync_layout.addWidget(self.progress_label)
        sync_layout.addWidget(self.outbox_label)

        # -- conflicts --
        self.conflict_model = QStandardItemModel(0, len(CONFLICT_COLUMNS), self)
        self.conflict_model.setHorizontalHeaderLabels(CONFLICT_COLUMNS)
        self.conflict_view = self._table(self.conflict_model, "Sync conflicts", (200, 300, 130, 130))
        self.conflict_view.selectionModel().currentRowChanged.connect(lambda *_: self.update_enabled())
        self.conflict_view.doubleClicked.connect(lambda _index: self.compare())
        self.keep_mine_action = pane_action(self, "Keep &Mine", "Ctrl+Shift+M",
                                             "Send your version to the server on the next sync, replacing the server's",
                                             lambda: self.resolve("mine"))
        self.take_theirs_action = pane_action(self, "Take &Theirs", "Ctrl+Shift+T",
                                               "Replace your version here with the server's", lambda: self.resolve("theirs"))
        self.compare_action = pane_action(self, "Com&pare…", "Ctrl+D", "Show both versions side by side", self.compare)
        self.conflict_buttons = QWidget()
        conflict_buttons = QHBoxLayout(self.conflict_buttons)
        conflict_buttons.setContentsMargins(0, 0, 0, 0)
        for action in (self.compare_action, self.keep_mine_action, self.take_theirs_action):
            button = QToolButton()
            button.setDefaultAction(action)
            conflict_buttons.addWidget(button)
        conflict_buttons.addStretch(1)
        self.no_conflicts = QLabel("No conflicts. When an audience you changed offline was also changed (or deleted) "
                                   "on the server, it waits here for you to choose which version to keep.", wordWrap=True)
        self.no_conflicts.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.conflict_box = QGroupBox("Conflicts")
        conflict_layout = QVBoxLayout(self.conflict_box)
        conflict_layout.addWidget(self.conflict_buttons)
        conflict_layout.addWidget(self.conflict_view, 1)
        conflict_layout.addWidget(self.no_conflicts)
        conflict_layout.addStretch(0)

        # -- history --
        self.history_model = QStandardItemModel(0, len(HISTORY_COLUMNS), self)
        self.history_model.setHorizontalHeaderLabels(HISTORY_COLUMNS)
        self.history_view = self._table(self.history_model, "Sync history", (130, 80, 260, 60, 70, 80, 80, 110, 130, 70))
        for column, tip in ((2, "Why the sync stopped, or what could not be sent (hover for all of it)"),
                            (4, "mParticle batches received"), (5, "Rows loaded into the cache"),
                            (6, "Size of the pages received"), (7, "Audiences created, changed or deleted here and sent"),
                            (8, "Teammates' audiences created, changed or deleted here by the sync"),
                            (9, "Audiences changed on both sides, waiting for you to choose")):
            self.history_model.setHeaderData(column, Qt.Orientation.Horizontal, tip, Qt.ItemDataRole.ToolTipRole)
        self.empty.show_message("No syncs yet", "Each sync is listed here: when it ran, what it received and sent, "
                                "and why it stopped if it did not finish.")
        history_box = QGroupBox("History")
        history_layout = QVBoxLayout(history_box)
        history_layout.addWidget(self.empty, 1)
        history_layout.addWidget(self.history_view, 1)
        self.history_view.setVisible(False)  # until there is a sync to list

        self.outcome = QLabel(wordWrap=True)
        self.outcome.setAccessibleName("Outcome")
        self.outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.lists = lists = QSplitter(Qt.Orientation.Vertical)
        lists.addWidget(self.conflict_box)
        lists.addWidget(history_box)
        lists.setChildrenCollapsible(False)
        lists.setSizes([1, 3])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.busy_bar)
        layout.addWidget(server_box)
        layout.addWidget(sync_box)
        layout.addWidget(lists, 1)
        layout.addWidget(self.outcome)
        self.setMinimumSize(480, 360)

        self.update_enabled()

    # -- building ---------------------------------------------------------------------------------


    @staticmethod
    def _bind(button: QPushButton, action: QAction) -> None:
        button.setText(action.text())
        button.setToolTip(action.toolTip())
        button.clicked.connect(action.trigger)
        action.changed.connect(lambda: button.setEnabled(action.isEnabled()))

    @staticmethod
    def _table(model: QStandardItemModel, name: str, widths: tuple[int, ...]) -> QTreeView:
        view = QTreeView()
        view.setAccessibleName(name)
        view.setModel(model)
        view.setRootIsDecorated(False)
        view.setAlternatingRowColors(True)
        view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        for column, width in enumerate(widths):
            view.setColumnWidth(column, width)
        return view

    # -- loading ----------------------------------------------------------------------------------

    def reader(self, home: OpenHome):
        def load():
            from app.engines import audience_sync, sync

            account = sync.account(home)
            outbox = audience_sync.outbox(home, account.server) if account.server else []
            return account, outbox, audience_sync.conflicts(home), sync.history(home)

        return load

    def wants_refresh(self, kind: str) -> bool:
        return kind in self.reload_on and not self.syncing  # the sync's own writes: read once it ends

    def show_data(self, loaded) -> None:
        self.account, self.outbox, self.conflicts, self.runs = loaded
        self._show_account()
        self._show_outbox()
        self._show_conflicts()
        self._show_history()
        self.update_enabled()
        self.set_badge(len(self.conflicts))  # "Sync (2)" in the navigation
        self.loaded.emit()

    def _show_account(self) -> None:
        account = self.account
        if account.server and not self.server_url.text().strip():
            self.server_url.setText(account.server)
        if account.signed_in:
            sample = f" The cache holds a {account.sample * 100:g} % sample of the profiles." if account.sample else ""
            self.account_label.setText(f"{account.user or 'signed in'} on {account.server}.{sample}")
        elif account.server:
            self.account_label.setText(f"Not signed in to {account.server}: paste your API token and sign in.")
        else:
            self.account_label.setText("Not signed in. Enter your team's server and your API token to sync; "
                                       "until then everything you do stays on this laptop.")
        synced = parse_utc(account.last_sync)
        self.last_sync_label.setText("Never" if synced is None else
                                     f"{age(synced, dt.datetime.now(dt.UTC))} ({minute(synced)})")

    def _show_outbox(self) -> None:
        if not self.outbox:
            self.outbox_label.setText("Nothing waiting to be sent: every audience changed here has reached the server."
                                      if self.account and self.account.signed_in else "")
            return
        shown = ", ".join(f"“{item.name}” ({'deleted' if item.action == 'delete' else item.action + 'd'})"
                          for item in self.outbox[:5])
        more = f" and {len(self.outbox) - 5} more" if len(self.outbox) > 5 else ""
        self.outbox_label.setText(f"Waiting to be sent ({len(self.outbox)}): {shown}{more}.")

    def _show_conflicts(self) -> None:
        current = self.current_conflict()
        self.conflict_model.removeRows(0, self.conflict_model.rowCount())
        for conflict in self.conflicts:
            cells = [conflict.name, conflict.words, conflict.theirs_by, minute(conflict.found_at)]
            items = [QStandardItem(text) for text in cells]
            items[0].setData(conflict.id, ID_ROLE)
            items[1].setToolTip(f"“{conflict.name}” was {conflict.words}. Compare both versions, then keep one.")
            self.conflict_model.appendRow(items)
        has = bool(self.conflicts)
        if has != self.conflict_view.isVisibleTo(self):
            # Room for the conflicts while there are some; otherwise for the history.
            total = sum(self.lists.sizes()) or 400
            self.lists.setSizes([total // 2, total - total // 2] if has else [total // 5, total - total // 5])
        self.conflict_view.setVisible(has)
        self.conflict_buttons.setVisible(has)
        self.no_conflicts.setVisible(not has)
        self.conflict_box.setTitle(f"Conflicts ({len(self.conflicts)})" if has else "Conflicts")
        if has:
            ids = [c.id for c in self.conflicts]
            row = ids.index(current.id) if current is not None and current.id in ids else 0
            self.conflict_view.setCurrentIndex(self.conflict_model.index(row, 0))

    def _show_history(self) -> None:
        self.history_model.removeRows(0, self.history_model.rowCount())
        for run in self.runs:
            took = "" if run.finished_at is None else f"{(run.finished_at - run.started_at).total_seconds():,.1f} s"
            outcome = {"done": "Done", "failed": "Failed", "cancelled": "Cancelled", "running": "Running"}[run.outcome]
            cells = [minute(run.started_at), outcome, run.error or "", took, f"{run.batches:,}", f"{run.rows:,}",
                     size_words(run.bytes), str(run.audiences_sent), str(run.audiences_received), str(run.conflicts)]
            items = [QStandardItem(text) for text in cells]
            for item in items[3:]:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            items[0].setToolTip(f"With {run.server}")
            if run.error:
                items[2].setToolTip(run.error)
            self.history_model.appendRow(items)
        self.empty.setVisible(not self.runs)
        self.history_view.setVisible(bool(self.runs))

    def update_enabled(self) -> None:
        signed_in = bool(self.account and self.account.signed_in)
        self.sync_action.setEnabled(signed_in and not self.syncing)
        self.cancel_action.setEnabled(self.syncing)
        self.sign_in_button.setEnabled(not self.syncing)
        self.email_sign_in_button.setEnabled(not self.syncing)
        self.sign_out_button.setEnabled(signed_in and not self.syncing)
        chosen = self.current_conflict() is not None and not self.syncing
        for action in (self.keep_mine_action, self.take_theirs_action, self.compare_action):
            action.setEnabled(chosen)

    def current_conflict(self):
        index = self.conflict_view.currentIndex()
        if not index.isValid():
            return None
        wanted = self.conflict_model.item(index.row(), 0).data(ID_ROLE)
        return next((c for c in self.conflicts if c.id == wanted), None)

    # -- signing in and out -------------------------------------------------------------------------

    def sign_in(self) -> None:
        home, url, token = self.home, self.server_url.text(), self.token.text()
        if home is None:
            return
        from app.engines.sync import sign_in

        self.sign_in_button.setEnabled(False)
        self.outcome.setText(f"Signing in to {url.strip()}…")
        self.tasks.run(lambda: sign_in(home, url, token), label="Signing in",
                       on_success=self._on_signed_in, on_failure=self._on_sign_in_failed)

    def sign_in_with_email(self) -> None:
        """Open the e-mail and password sign-in; on success the pane shows the account as after a token sign-in."""
        if self.home is None or self.syncing:
            return
        from app.ui.sync.sign_in_dialog import SignInDialog

        dialog = SignInDialog(self.home, self.tasks, self.server_url.text().strip(), self)
        dialog.signed_in.connect(lambda user, workspaces: self._on_signed_in((user, workspaces)))
        self.sign_in_dialog = dialog  # tests fill it in
        self.open_dialog(dialog)

    def _on_signed_in(self, answer) -> None:
        user, workspaces = answer
        self.token.clear()
        names = ", ".join(w.name for w in workspaces) or "none yet"
        self.outcome.setText(f"Signed in as {user}; your workspaces on the server: {names}. Press Sync Now to sync.")
        self.refresh()

    def _on_sign_in_failed(self, exc: BaseException) -> None:
        self.outcome.setText(failure_message(exc, "Signing in"))
        self.update_enabled()

    def sign_out(self) -> None:
        home = self.home
        if home is None or self.account is None or not self.account.server:
            return
        if not self.confirm("Sign Out", f"Forget the token for {self.account.server}? Signing in again needs the token "
                            "(ask your server's admin for a new one if you no longer have it). The synced data and "
                            "your audiences stay on this laptop.", "Sign Out"):
            return
        from app.engines.sync import sign_out

        self.tasks.run(lambda: sign_out(home), label="Signing out",
                       on_success=lambda url: (self.outcome.setText(f"Signed out of {url}."), self.refresh()))

    # -- syncing ----------------------------------------------------------------------------------

    def sync_now(self) -> None:
        home = self.home
        if home is None or self.syncing or self.account is None or not self.account.signed_in:
            return
        from app.engines.sync import sync_home

        self.syncing = True
        self._cancel.clear()
        clock = ProgressClock()
        relay = self._relay.progressed

        def progress(name, report) -> None:
            # Made here, on the worker: the GUI thread gets a frozen copy while the worker goes on
            # changing the report. (The sync client is imported by the worker, not at start-up.)
            from app.connectors.sync_client import RevenueReport

            if name == "audiences":
                relay.emit(None)
            elif isinstance(report, RevenueReport):
                relay.emit(clock.revenue(name, report))
            else:
                relay.emit(clock.update(name, dataclasses.replace(report)))

        server = self.account.server
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.progress_label.setText("Connecting to the server…")
        self.outcome.setText("")
        self.update_enabled()
        self.tasks.run(lambda: sync_home(home, server, progress=progress, cancelled=self._cancel.is_set),
                       label="Syncing", on_success=self._on_synced, on_failure=self._on_sync_failed)

    def cancel(self) -> None:
        if not self.syncing:
            return
        self._cancel.set()
        self.cancel_action.setEnabled(False)
        self.progress_label.setText("Stopping after the page being loaded…")

    def _on_progress(self, progress: SyncProgress | RevenueProgress | None) -> None:
        if not self.syncing or self._cancel.is_set():
            return
        if progress is None:
            self.progress_label.setText("Sending and receiving audiences…")
            return
        if isinstance(progress, RevenueProgress):
            self.progress.setRange(0, 0)  # busy: the server does not say how many revenue pages follow
            self.progress_label.setText(revenue_words(progress))
            return
        if progress.batches_total:
            self.progress.setRange(0, progress.batches_total)
            self.progress.setValue(min(progress.batches, progress.batches_total))
        self.progress_label.setText(progress_words(progress))

    def _finish(self, text: str) -> None:
        self.syncing = False
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setVisible(False)
        self.progress_label.setText("")
        self.outcome.setText(text)
        self.update_enabled()
        self.refresh()
        self.sync_finished.emit()
        self.bus.cache_changed.emit()  # "synced just now" in the status bar

    def _on_synced(self, result) -> None:
        batches = sum(w.report.batches for w in result)
        rows = sum(w.report.rows for w in result)
        received = sum(w.report.bytes for w in result)
        audiences = result.audiences
        parts = [f"Synced {', '.join(w.name for w in result) or 'no workspaces'}: {batches:,} batches, {rows:,} rows, "
                 f"{size_words(received)}."]
        if audiences.sent or audiences.received:
            parts.append(f"Audiences sent: {audiences.sent}, received: {audiences.received}.")
        if audiences.conflicts:
            parts.append(f"New conflicts: {', '.join(audiences.conflicts)} — choose a version below.")
        parts.extend(audiences.notes)
        self._finish(" ".join(parts))

    def _on_sync_failed(self, exc: BaseException) -> None:
        self._finish(failure_message(exc, "Syncing"))

    # -- conflicts --------------------------------------------------------------------------------

    def compare(self) -> None:
        conflict = self.current_conflict()
        if conflict is None:
            return
        dialog = CompareDialog(conflict, self)
        self.compare_dialog = dialog
        choice = self.compare_with(dialog)
        self.compare_dialog = None
        dialog.deleteLater()
        if choice == KEEP_MINE:
            self.resolve("mine", confirmed=True)
        elif choice == TAKE_THEIRS:
            self.resolve("theirs", confirmed=True)

    def resolve(self, keep: str, *, confirmed: bool = False) -> None:
        conflict, home = self.current_conflict(), self.home
        if conflict is None or home is None:
            return
        if not confirmed:
            question = (f"Replace the server's “{conflict.name}” with your version on the next sync?" if keep == "mine"
                        else f"Replace your “{conflict.name}” here with the server's version? Your changes to it are lost.")
            if not self.confirm("Keep Mine" if keep == "mine" else "Take Theirs", question,
                                "Keep Mine" if keep == "mine" else "Take Theirs"):
                return
        from app.engines.audience_sync import resolve

        def done(sentence: str) -> None:
            self.outcome.setText(sentence)
            self.refresh()
            if keep == "mine" and self.account is not None and self.account.signed_in:
                self.sync_now()  # mine only counts once the server has it

        self.tasks.run(lambda: resolve(home, conflict.id, keep), label="Resolving a conflict", on_success=done,
                       on_failure=lambda exc: self.outcome.setText(failure_message(exc, "Resolving the conflict")))
