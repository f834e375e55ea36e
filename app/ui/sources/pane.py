"""The Sources pane (the integration center): the team server's inputs of the workspaces the user
administers, with their status, last data received and volume; New Source (its API key and secret shown
once, in a dialog with a copyable example request), Disable, Enable, Rotate Secret. Every request runs on
the task pool; the server decides who may (admin), and a refusal is shown in its words.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QPalette, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QStyle,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.engines.home import OpenHome
from app.ui.kit.pane import Pane
from app.ui.kit.times import age, minute
from app.ui.pane_actions import pane_action
from app.ui.workers import failure_message

COLUMNS = ["Source", "Kind", "Workspace", "Status", "Last data", "Batches (24 h)", "Batches", "Events", "Refused", "API key"]
ID_ROLE = Qt.ItemDataRole.UserRole + 1
PLATFORMS = ("iOS", "Android", "Web", "Desktop", "tvOS", "Roku", "Alexa", "Out of band")


def _ask(parent: QWidget, title: str, text: str, yes: str) -> bool:
    box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.Cancel, parent)
    proceed = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is proceed


class NewSourceDialog(QDialog):
    """The workspace, the kind (platform or feed) and the name of a new source."""

    def __init__(self, workspaces: list, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New Source")
        self.workspace = QComboBox()
        self.workspace.setAccessibleName("Workspace")
        for workspace in workspaces:
            self.workspace.addItem(workspace.name, workspace.id)
        self.kind = QComboBox()
        self.kind.setAccessibleName("Kind")
        self.kind.addItem("Platform (an app or site)", "platform")
        self.kind.addItem("Feed (any sender: a CRM, a warehouse job…)", "feed")
        self.name = QComboBox()
        self.name.setEditable(True)
        self.name.setAccessibleName("Name")
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self._kind_changed()
        form = QFormLayout(self)
        form.addRow("&Workspace:", self.workspace)
        form.addRow("&Kind:", self.kind)
        form.addRow("&Name:", self.name)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.create_button = buttons.addButton("C&reate", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _kind_changed(self) -> None:
        self.name.clear()
        if self.kind.currentData() == "platform":
            self.name.addItems(PLATFORMS)
        else:
            self.name.setEditText("")
            self.name.lineEdit().setPlaceholderText("e.g. CRM")

    def values(self) -> tuple[int, str, str]:
        return self.workspace.currentData(), self.kind.currentData(), self.name.currentText()


class SecretDialog(QDialog):
    """A source's API key and secret, shown this once, with an example request to copy."""

    def __init__(self, new, what: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{what}: {new.source.name}")
        warning = QLabel("<b>Copy the secret now: it is shown only this once.</b> The server keeps only its hash; "
                         "if it is lost, rotate the secret to get a new one.", wordWrap=True)
        self.api_key = QLineEdit(new.api_key, readOnly=True)
        self.api_key.setAccessibleName("API key")
        self.secret = QLineEdit(new.secret, readOnly=True)
        self.secret.setAccessibleName("Secret")
        self.example = QPlainTextEdit(new.example_request, readOnly=True)
        self.example.setAccessibleName("Example request")
        self.example.setMinimumHeight(90)
        copy_secret = QPushButton("Copy &Secret")
        copy_secret.clicked.connect(lambda: QGuiApplication.clipboard().setText(new.secret))
        copy_example = QPushButton("Copy E&xample Request")
        copy_example.clicked.connect(lambda: QGuiApplication.clipboard().setText(new.example_request))
        form = QFormLayout()
        form.addRow("API key:", self.api_key)
        secret_row = QHBoxLayout()
        secret_row.addWidget(self.secret, 1)
        secret_row.addWidget(copy_secret)
        form.addRow("Secret:", secret_row)
        note = QLabel("Send mParticle batches to /v2/events or /v2/bulkevents with the key and secret as HTTP Basic "
                      "credentials. This request sends one small batch; it then shows in the Activity pane.", wordWrap=True)
        note.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.accept)
        buttons.addButton(copy_example, QDialogButtonBox.ButtonRole.ActionRole)
        layout = QVBoxLayout(self)
        layout.addWidget(warning)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.example, 1)
        layout.addWidget(buttons)
        self.resize(640, 360)


class SourcesPane(Pane):
    """The integration center: the sources of the workspaces the user administers on the team server."""

    key = "sources"
    title = "Sources"
    tooltip = "The team server's sources (apps and feeds sending data): status, last data, volume; add, disable, rotate"
    icon = QStyle.StandardPixmap.SP_DriveNetIcon
    loading_label = "Reading the sources"

    def __init__(self, connection, tasks, parent: QWidget | None = None, *, bus=None) -> None:
        super().__init__(connection, tasks, parent, bus=bus)
        #: asks before disabling or rotating; tests answer for the user
        self.confirm: Callable[[str, str, str], bool] = lambda title, text, yes: _ask(self, title, text, yes)
        #: asks for a new source's workspace, kind and name (None: cancelled); tests answer for the user
        self.ask_new_source: Callable[[list], tuple[int, str, str] | None] = self._ask_new_source
        #: shows the key and secret, once (window-modal, not blocking the task that made them); tests look at the dialog instead
        self.show_secret: Callable[[QDialog], None] = lambda dialog: dialog.open()
        self.view_data = None
        self.last_secret_dialog: SecretDialog | None = None

        self.model = QStandardItemModel(0, len(COLUMNS), self)
        self.model.setHorizontalHeaderLabels(COLUMNS)
        self.list = QTreeView()
        self.list.setModel(self.model)
        self.list.setRootIsDecorated(False)
        self.list.setAlternatingRowColors(True)
        self.list.setUniformRowHeights(True)
        self.list.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list.setAccessibleName("Sources")
        for column, width in enumerate((140, 70, 140, 120, 100, 100, 80, 80, 110)):
            self.list.setColumnWidth(column, width)
        self.list.selectionModel().currentRowChanged.connect(lambda *_: self.update_enabled())

        self.new_action = pane_action(self, "&New Source…", "Ctrl+N", "Make a source: its API key and secret are shown once",
                                      self.new_source)
        self.disable_action = pane_action(self, "&Disable", "", "Refuse the source's batches (403) from now on",
                                          lambda: self.set_enabled(False))
        self.enable_action = pane_action(self, "&Enable", "", "Accept the source's batches again", lambda: self.set_enabled(True))
        self.rotate_action = pane_action(self, "&Rotate Secret…", "", "Give the source a new secret; the old one stops working",
                                         self.rotate)
        self.refresh_action = pane_action(self, "Re&fresh", "F5", "Read the sources again", self.refresh)
        toolbar = QHBoxLayout()
        for action in (self.new_action, self.disable_action, self.enable_action, self.rotate_action, self.refresh_action):
            button = QToolButton()
            button.setDefaultAction(action)
            toolbar.addWidget(button)
        toolbar.addStretch(1)
        self.summary = QLabel("", wordWrap=True)
        self.summary.setAccessibleName("Sources summary")
        self.outcome = QLabel("", wordWrap=True)
        self.outcome.setAccessibleName("Outcome")
        self.outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addWidget(self.busy_bar)
        layout.addLayout(toolbar)
        layout.addWidget(self.summary)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty, 1)
        layout.addWidget(self.outcome)
        self.empty.setVisible(False)
        self.update_enabled()

    # -- reading -------------------------------------------------------------------------------------

    def set_current(self, current: bool) -> None:
        """Shown: read again (a sign-in, or a source's traffic, may have changed what it shows)."""
        if current and self.home is not None:
            self.refresh()

    def reader(self, home: OpenHome):
        from app.engines.team import sources

        return lambda: sources(home)

    def read_failed(self, exc: BaseException) -> None:
        self.view_data = None
        self.model.removeRows(0, self.model.rowCount())
        self.list.setVisible(False)
        self.summary.setText("")
        self.empty.show_message("Sources live on the team server", failure_message(exc, self.loading_label))
        self.empty.setVisible(True)
        self.update_enabled()

    def show_data(self, data) -> None:
        self.view_data = data
        current = self.current_source()
        self.model.removeRows(0, self.model.rowCount())
        now = dt.datetime.now(dt.UTC)
        for source in data.sources:
            last = "never" if source.last_received_at is None else age(source.last_received_at, now)
            refused = f"{source.refused:,}" + (f" (last {age(source.last_refused_at, now)})" if source.last_refused_at else "")
            cells = [source.name, source.kind, source.workspace, source.status, last, f"{source.batches_24h:,}",
                     f"{source.batches:,}", f"{source.events:,}", refused, source.api_key]
            items = [QStandardItem(text) for text in cells]
            items[0].setData(source.id, ID_ROLE)
            if source.last_received_at is not None:
                items[4].setToolTip(minute(source.last_received_at))
            for item in items[5:9]:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if not source.enabled:
                for item in items:
                    item.setForeground(self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text))
            if source.refused:
                items[8].setToolTip("Requests refused although the key and secret matched (sent while the source was disabled)")
            self.model.appendRow(items)
        admin = data.administered
        others = [w.name for w in data.workspaces if w.role != "admin"]
        count = f"{len(data.sources)} source" + ("" if len(data.sources) == 1 else "s")
        words = f"{count} in {', '.join(w.name for w in admin)} on {data.server}." if admin else ""
        if others:
            words += (" " if words else "") + f"Sources of {', '.join(others)} need the admin role there (ask an admin)."
        self.summary.setText(words)
        has = bool(data.sources)
        self.list.setVisible(has)
        self.empty.setVisible(not has)
        if not has:
            if admin:
                self.empty.show_message("No sources yet", "Make one with <b>New Source…</b>: its API key and secret are "
                                        "shown once, with an example request to send a first batch.", "New Source…", self.new_source)
            else:
                self.empty.show_message("Sources need the admin role", "You administer no workspace on this server; "
                                        "an admin of a workspace can make and manage its sources.")
        if current is not None:
            self.select(current.id)
        self.update_enabled()

    # -- the selection --------------------------------------------------------------------------------

    def current_source(self):
        index = self.list.currentIndex()
        if not index.isValid() or self.view_data is None:
            return None
        wanted = self.model.item(index.row(), 0).data(ID_ROLE)
        return next((s for s in self.view_data.sources if s.id == wanted), None)

    def select(self, source_id: int) -> None:
        for row in range(self.model.rowCount()):
            if self.model.item(row, 0).data(ID_ROLE) == source_id:
                self.list.setCurrentIndex(self.model.index(row, 0))
                return

    def update_enabled(self) -> None:
        source = self.current_source()
        self.new_action.setEnabled(bool(self.view_data and self.view_data.administered))
        self.disable_action.setEnabled(source is not None and source.enabled)
        self.enable_action.setEnabled(source is not None and not source.enabled)
        self.rotate_action.setEnabled(source is not None)

    # -- changes ----------------------------------------------------------------------------------------

    def _ask_new_source(self, workspaces: list) -> tuple[int, str, str] | None:
        dialog = NewSourceDialog(workspaces, self)
        return dialog.values() if dialog.exec() == QDialog.DialogCode.Accepted else None

    def new_source(self) -> None:
        home = self.home
        if home is None or not self.view_data or not self.view_data.administered:
            return
        answer = self.ask_new_source(self.view_data.administered)
        if answer is None:
            return
        workspace_id, kind, name = answer
        from app.engines.team import create_source

        self.outcome.setText(f"Making the {kind} source {name.strip()}…")
        self.tasks.run(lambda: create_source(home, workspace_id, kind, name), label="Making a source",
                       on_success=lambda new: self._secret_ready(new, "New source"), on_failure=self._failed)

    def set_enabled(self, enabled: bool) -> None:
        home, source = self.home, self.current_source()
        if home is None or source is None:
            return
        if not enabled and not self.confirm("Disable Source", f"Refuse every batch {source.name} sends from now on? Its "
                                            "senders get 403 until it is enabled again; their refusals show in the "
                                            "Activity pane.", "Disable"):
            return
        from app.engines.team import set_source_enabled

        self.tasks.run(lambda: set_source_enabled(home, source.id, enabled), label="Changing a source",
                       on_success=lambda s: self._changed(f"{s.name} is {'enabled' if s.enabled else 'disabled'}."),
                       on_failure=self._failed)

    def rotate(self) -> None:
        home, source = self.home, self.current_source()
        if home is None or source is None:
            return
        if not self.confirm("Rotate Secret", f"Give {source.name} a new secret? The current one stops working at once: "
                            "every sender must be given the new one.", "Rotate"):
            return
        from app.engines.team import rotate_secret

        self.tasks.run(lambda: rotate_secret(home, source.id), label="Rotating a secret",
                       on_success=lambda new: self._secret_ready(new, "New secret"), on_failure=self._failed)

    def _secret_ready(self, new, what: str) -> None:
        self._changed(f"{what} for {new.source.name}: copy it from the dialog; it is not shown again.")
        dialog = SecretDialog(new, what, self)
        self.last_secret_dialog = dialog
        self.show_secret(dialog)

    def _changed(self, words: str) -> None:
        self.outcome.setText(words)
        self.refresh()

    def _failed(self, exc: BaseException) -> None:
        self.outcome.setText(failure_message(exc, "The change"))
