"""The History tab: every saved version of the audience (who saved it, when, why), what changed between
any two of them in words, and restoring one.

Restoring saves the chosen version as a new version (the history is never rewritten); the tab's Undo
restores the version that was newest before, which is saved as a new version too, and Redo does the
restore again. Opened from an audience's editor, Restore instead loads the version into the editor's
draft as one step of the editor's undo stack; saving the editor keeps it as a new version.

Every read and every restore runs in a worker; the tab reads again when the audience changes.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush, QKeySequence, QPalette, QShortcut, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from shiboken6 import isValid

from app.builder.history import Change
from app.engines.insights.subjects import Subject
from app.models.services.draft import Draft
from app.models.services.versions import History, VersionInfo
from app.ui.home import HomeConnection
from app.ui.insights.requests import Requests
from app.ui.kit.busy import BusyBar
from app.ui.kit.times import local_time
from app.ui.workers import Tasks

#: A change's mark, so it reads without colour too.
MARKS = {"added": "+", "removed": "−", "changed": "~", "moved": "→"}
#: Loads a version into an open editor: (the draft, the undo step's text).
EditorRestore = Callable[[Draft, str], None]


class RestoreCommand(QUndoCommand):
    """Restore one version (redo) or the version that was newest before (undo), each saved as a new version."""

    def __init__(self, tab: HistoryTab, number: int, before: int) -> None:
        super().__init__(f"Restore version {number}")
        self.tab, self.number, self.before = tab, number, before

    def redo(self) -> None:
        self.tab.restore_now(self.number)

    def undo(self) -> None:
        self.tab.restore_now(self.before, undoing=self.number)


class HistoryTab(QWidget):
    """The versions of one saved audience; a draft has none and says so."""

    def __init__(self, connection: HomeConnection, tasks: Tasks, subject: Subject, parent: QWidget | None = None,
                 *, editor_restore: EditorRestore | None = None) -> None:
        super().__init__(parent)
        self.connection, self.subject, self.editor_restore = connection, subject, editor_restore
        self.history: History | None = None
        self._show_newest = False
        self.undo_stack = QUndoStack(self)
        self.busy_bar = BusyBar()
        self.requests = Requests(tasks, self.busy_bar, "Reading the history", self)
        self.requests.failed.connect(self._say)
        # Comparing runs beside reading and restoring: choosing a version never drops a restore's answer.
        self.compare_bar = BusyBar()
        self.comparisons = Requests(tasks, self.compare_bar, "Comparing the versions", self)
        self.comparisons.failed.connect(self._say)
        # Restoring and loading into the editor run apart from reading too: a read asked meanwhile (the store
        # changed) never drops their answer.
        self.changing = Requests(tasks, self.busy_bar, "Restoring the version", self)

        self.headline = QLabel("Reading the saved versions…")
        self.headline.setWordWrap(True)
        #: what a restore did, or why something failed (kept when the history is read again)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setAccessibleName("Message")
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note.setVisible(False)
        self.versions = QTreeWidget()
        self.versions.setAccessibleName("Saved versions")
        self.versions.setHeaderLabels(["Version", "Saved", "By", "Note"])
        self.versions.setRootIsDecorated(False)
        self.versions.setAlternatingRowColors(True)
        self.versions.headerItem().setToolTip(0, "Versions are numbered in the order they were saved")
        self.versions.headerItem().setToolTip(2, "The account signed in to the team's server, else the computer's user")
        header = self.versions.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.versions.currentItemChanged.connect(self._on_version_chosen)

        self.old = QComboBox()
        self.old.setAccessibleName("Compare from version")
        self.new = QComboBox()
        self.new.setAccessibleName("Compare to version")
        for combo in (self.old, self.new):
            combo.setToolTip("The two versions compared")
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            combo.currentIndexChanged.connect(self._compare)
        compare = QHBoxLayout()
        compare.addWidget(QLabel("What changed from"))
        compare.addWidget(self.old)
        compare.addWidget(QLabel("to"))
        compare.addWidget(self.new)
        compare.addStretch(1)
        self.changes = QTreeWidget()
        self.changes.setAccessibleName("What changed")
        self.changes.setHeaderLabels(["", "What changed"])
        self.changes.setRootIsDecorated(False)
        self.changes.setWordWrap(True)
        self.changes.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.changes.header().setStretchLastSection(True)

        self.restore_button = QPushButton("&Restore This Version")
        self.restore_button.clicked.connect(self.restore_chosen)
        self.undo_button = QToolButton(text="Undo", autoRaise=True)
        self.redo_button = QToolButton(text="Redo", autoRaise=True)
        self.undo_button.clicked.connect(self.undo_stack.undo)
        self.redo_button.clicked.connect(self.undo_stack.redo)
        self.undo_stack.indexChanged.connect(lambda _i: self._update_buttons())
        QShortcut(QKeySequence.StandardKey.Undo, self, self.undo_stack.undo,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        QShortcut(QKeySequence.StandardKey.Redo, self, self.undo_stack.redo,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        buttons = QHBoxLayout()
        buttons.addWidget(self.restore_button)
        buttons.addStretch(1)
        buttons.addWidget(self.undo_button)
        buttons.addWidget(self.redo_button)
        if editor_restore is not None:
            self.restore_button.setText("&Load Into the Editor")
            self.restore_button.setToolTip("Make the editor's draft say what this version says (the editor's Undo "
                                           "takes it back); saving the editor keeps it as a new version")
            self.undo_button.setVisible(False)
            self.redo_button.setVisible(False)
        else:
            self.restore_button.setToolTip("Make the audience say what this version says, saved as a new version "
                                           "(Undo restores the version before)")

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.versions, 1)
        left_layout.addLayout(buttons)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addLayout(compare)
        right_layout.addWidget(self.changes, 1)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([460, 700])
        layout = QVBoxLayout(self)
        layout.addWidget(self.busy_bar)
        layout.addWidget(self.compare_bar)
        layout.addWidget(self.headline)
        layout.addWidget(self.note)
        layout.addWidget(splitter, 1)
        # A burst of store events (a save touches several rows) is read once.
        self._reread = QTimer(self, singleShot=True, interval=150, timeout=self.read)
        connection.store_changed.connect(self._on_store_changed)
        self._update_buttons()

    # -- the window's contract ---------------------------------------------------------------------

    def start(self) -> None:
        if self.subject.audience is None:
            self.headline.setText("A draft has no saved versions yet: each save of the audience is kept here.")
            self.restore_button.setEnabled(False)
            return
        self.read()

    def stop(self) -> None:
        self._reread.stop()
        self.requests.stop()
        self.comparisons.stop()
        self.changing.stop()

    # -- reading -----------------------------------------------------------------------------------

    def _on_store_changed(self, kind: str, subject_id: int) -> None:
        audience = self.subject.audience
        if audience is not None and subject_id == audience.id and kind in ("audience_changed", "audience_added"):
            self._reread.start()

    def read(self) -> None:
        home = self.connection.open_home
        if home is None or self.subject.audience is None:
            return
        audience_id = self.subject.audience.id
        self.requests.ask(lambda _ticket: home.versions.history(audience_id), self._show)

    def _show(self, history: History) -> None:
        # After a restore the new version is shown, with what it changed; otherwise the choice stays.
        chosen = None if self._show_newest else self._chosen_number()
        # Read again after a change elsewhere: the two versions the user compares stay compared.
        compared = None if self._show_newest or chosen is None else (self.old.currentData(), self.new.currentData())
        self._show_newest = False
        self.history = history
        count = len(history.versions)
        self.headline.setText(f"“{history.audience_name}”: {count} saved version{'s' if count != 1 else ''}. "
                              "Choose one to see what changed in it.")
        self.versions.clear()
        for version in reversed(history.versions):  # newest first
            item = QTreeWidgetItem([str(version.number), local_time(version.saved_at), version.saved_by,
                                    version.note or ""])
            item.setData(0, Qt.ItemDataRole.UserRole, version.number)
            item.setToolTip(1, f"{version.saved_at:%Y-%m-%d %H:%M:%S} UTC")
            self.versions.addTopLevelItem(item)
        for combo in (self.old, self.new):
            combo.blockSignals(True)
            combo.clear()
            for version in history.versions:
                combo.addItem(f"{version.number} · {local_time(version.saved_at)} · {version.saved_by}", version.number)
            combo.blockSignals(False)
        self._choose(chosen if chosen is not None and chosen <= count else count)
        if compared is not None and all(isinstance(n, int) and 1 <= n <= count for n in compared):
            for combo, number in zip((self.old, self.new), compared):
                combo.blockSignals(True)
                combo.setCurrentIndex(combo.findData(number))
                combo.blockSignals(False)
            self._compare()
        self._update_buttons()

    def _choose(self, number: int | None) -> None:
        for index in range(self.versions.topLevelItemCount()):
            item = self.versions.topLevelItem(index)
            if item.data(0, Qt.ItemDataRole.UserRole) == number:
                self.versions.setCurrentItem(item)
                return
        self._compare()

    def _chosen_number(self) -> int | None:
        item = self.versions.currentItem()
        return None if item is None else item.data(0, Qt.ItemDataRole.UserRole)

    def _on_version_chosen(self, *_args) -> None:
        number = self._chosen_number()
        if number is None:
            return
        for combo, value in ((self.old, max(1, number - 1)), (self.new, number)):
            combo.blockSignals(True)
            combo.setCurrentIndex(combo.findData(value))
            combo.blockSignals(False)
        self._compare()
        self._update_buttons()

    # -- comparing ---------------------------------------------------------------------------------

    def _compare(self) -> None:
        home = self.connection.open_home
        if home is None or self.history is None or self.old.currentIndex() < 0 or self.new.currentIndex() < 0:
            self.changes.clear()
            return
        audience_id, old, new = self.history.audience_id, self.old.currentData(), self.new.currentData()
        self.comparisons.ask(lambda _ticket: (old, new, home.versions.diff(audience_id, old, new)), self._show_changes)

    def _show_changes(self, answer: tuple[int, int, list[Change]]) -> None:
        old, new, changes = answer
        self.changes.clear()
        if not changes:
            words = "the first version" if old == new == 1 else "the same"
            item = QTreeWidgetItem(["=", f"Versions {old} and {new} say {words}." if old != new else
                                    f"Version {new} is {'the first version' if new == 1 else 'compared with itself'}."])
            item.setForeground(1, QBrush(self.palette().color(QPalette.ColorRole.PlaceholderText)))
            self.changes.addTopLevelItem(item)
            return
        for change in changes:
            item = QTreeWidgetItem([MARKS.get(change.how, "·"), change.text])
            item.setToolTip(0, f"{change.part} {change.how}")
            item.setToolTip(1, change.text)
            self.changes.addTopLevelItem(item)

    # -- restoring ---------------------------------------------------------------------------------

    def _update_buttons(self) -> None:
        newest = len(self.history.versions) if self.history else 0
        chosen = self._chosen_number()
        self.restore_button.setEnabled(chosen is not None and (chosen != newest or self.editor_restore is not None)
                                       and not getattr(self, "_restoring", False))
        stack = self.undo_stack
        if not isValid(stack) or not isValid(self.undo_button):
            return  # the tab is being deleted: its stack empties itself on the way out
        self.undo_button.setEnabled(stack.canUndo())
        self.redo_button.setEnabled(stack.canRedo())
        self.undo_button.setToolTip(f"Undo: {stack.undoText()} (Ctrl+Z)" if stack.canUndo() else "Nothing to undo")
        self.redo_button.setToolTip(f"Redo: {stack.redoText()} (Ctrl+Shift+Z)" if stack.canRedo() else "Nothing to redo")

    def restore_chosen(self) -> None:
        number = self._chosen_number()
        if number is None or self.history is None:
            return
        if self.editor_restore is not None:
            self._load_into_editor(number)
            return
        self.undo_stack.push(RestoreCommand(self, number, len(self.history.versions)))

    def restore_now(self, number: int, *, undoing: int | None = None) -> None:
        """Restore version `number` in a worker (saved as a new version); the history is read again after."""
        home = self.connection.open_home
        if home is None or self.history is None:
            return
        audience_id = self.history.audience_id
        self._restoring = True
        self._update_buttons()

        def done(restored: VersionInfo | None) -> None:
            self._restoring = False
            if undoing is not None:
                self._say(f"Undid the restore of version {undoing}: version {number} is back"
                          + (f", saved as version {restored.number}." if restored else "."), error=False)
            else:
                self._say(f"Restored version {number}" + (f", saved as version {restored.number}." if restored
                                                          else ": the audience said that already."), error=False)
            self._show_newest = True
            self.read()

        def failed(message: str) -> None:
            self._restoring = False
            self._say(message)
            self._update_buttons()

        self.changing.ask(lambda _ticket: home.versions.restore(audience_id, number), done, on_failure=failed)

    def _load_into_editor(self, number: int) -> None:
        home = self.connection.open_home
        if home is None or self.history is None:
            return
        audience_id = self.history.audience_id

        def load(answer: tuple[Draft, list[str]]) -> None:
            draft, left_out = answer
            self.editor_restore(draft, f"Restore version {number}")
            extra = (f" Its {' and '.join(left_out)} differ from the audience's now and are not part of the editor's "
                     "draft.") if left_out else ""
            self._say(f"Version {number} is loaded into the editor: save there to keep it as a new version "
                      f"(the editor's Undo takes it back).{extra}", error=False)

        self.changing.ask(lambda _ticket: home.versions.as_draft(audience_id, number), load,
                          label="Loading the version", on_failure=self._say)

    def _say(self, message: str, *, error: bool = True) -> None:
        self.note.setText(("⚠ " if error else "") + message)
        self.note.setVisible(True)
