"""What can be done to the audiences chosen in the list: open, clone, rename, tag, activate, deactivate, download,
delete.

Each is a QAction (shown in the row's Actions menu, the context menu and the window's Audience
menu, with its shortcut); the store writes run one after another in the background, so an undo's
restore never overtakes the delete it undoes. Deleting is undoable through the window's undo.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QUndoCommand, QUndoStack
from PySide6.QtWidgets import QMenu, QWidget

from app.builder import editing
from app.errors import InvalidInput
from app.models.services.audiences import AudienceInfo, AudienceSnapshot
from app.engines.home import OpenHome
from app.ui.audiences.dialogs import AddTagDialog, RenameDialog
from app.ui.home import HomeConnection
from app.ui.workers import SerialTasks, Tasks, failure_message


class AudienceChoice(Protocol):
    """What the actions act on: the audiences the user chose, and the list they were chosen from.

    The audience list (app/ui/audiences/pane.py) is one; the actions never need to know which."""

    def chosen_audiences(self) -> list[AudienceInfo]: ...

    def select_when_listed(self, audience_id: int) -> None: ...

    def audience_names(self) -> list[str]: ...

    def all_tags(self) -> set[str]: ...


def _names(audiences: Sequence[AudienceInfo]) -> str:
    if len(audiences) == 1:
        return f"“{audiences[0].name}”"
    return f"{len(audiences)} audiences"


def check_can_activate(home: OpenHome, audience: AudienceInfo) -> None:
    """Runs in a worker: refuse (InvalidInput) to activate an audience the cache cannot count."""
    # Imported here: the editing session brings the estimator, DuckDB and pyarrow, which the audience
    # list does not need before the window shows.
    from app.engines.editing_session import Draft, criteria_problems

    if editing.criteria_count(audience.criteria) == 0:
        raise InvalidInput(f"“{audience.name}” has no criteria yet: open it and add some before activating it.")
    problems = criteria_problems(home, Draft.of(audience), audience.workspace_ids)
    if problems:
        raise InvalidInput(f"“{audience.name}” cannot be activated: {problems[0]}. Open it to fix its criteria.")


class DeleteAudiences(QUndoCommand):
    """Deleting audiences: undo restores them (same id, tags, inputs, timestamps); redo deletes them again."""

    def __init__(self, actions: AudienceActions, snapshots: list[AudienceSnapshot]) -> None:
        super().__init__(f"Delete {_names([s.audience for s in snapshots])}")
        self.actions = actions
        self.snapshots = snapshots
        self._done = True  # pushed after the delete succeeded: the first redo has nothing left to do

    def redo(self) -> None:
        if self._done:
            self._done = False
            return
        self.actions.delete_now([s.audience for s in self.snapshots], self)

    def undo(self) -> None:
        self.actions.restore(self)


class AudienceActions(QObject):
    """The audience list's actions and what they do; `choice` says which audiences are chosen, `owner` is the
    widget whose shortcuts they are (and the parent of their dialogs)."""

    #: fires when the user asks to open an audience (its id)
    open_requested = Signal(int)
    #: fires with a short sentence after an action succeeded ("Cloned …"), and whether it can be undone
    done = Signal(str, bool)
    #: fires when a store write made by an action failed; the text is meant for the user
    failed = Signal(str)
    #: fires after audiences were activated (their ids): the list calculates them at once
    activated = Signal(list)

    def __init__(self, owner: QWidget, choice: AudienceChoice, connection: HomeConnection, tasks: Tasks) -> None:
        super().__init__(owner)
        self.owner = owner
        self.choice = choice
        self.connection = connection
        self.writes = SerialTasks(tasks, self)
        self.tasks = tasks
        #: the list's undo stack; the window's Edit › Undo uses it while the list is shown
        self.undo_stack = QUndoStack(self)
        #: tells whether an audience is open in an editor (deleting it then would lose the editor's work)
        self.is_open_in_editor: Callable[[int], bool] = lambda _audience_id: False

        def action(text: str, shortcut: str | QKeySequence.StandardKey | None, tip: str, slot) -> QAction:
            made = QAction(text, owner)
            if shortcut is not None:
                made.setShortcut(QKeySequence(shortcut))
                # Only while the list (or a widget inside it) has focus: editors have keys of their own.
                made.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            made.setStatusTip(tip)
            made.setToolTip(tip)
            made.triggered.connect(slot)
            owner.addAction(made)
            return made

        self.open = action("&Open", "Ctrl+O", "Open the audience in a tab to edit its criteria", self._on_open)
        self.insights = action("&Insights…", "Ctrl+I", "Who is in the audience and why, its overlaps and what it is "
                               "made of", lambda: self.open_insights())
        self.history = action("Edit &History…", "Ctrl+Shift+H", "Every saved version of the audience: who saved it "
                              "and when, what changed, restore one", lambda: self.open_insights(tab="history"))
        self.clone = action("&Clone", "Ctrl+D", "Make a draft copy of the audience, with its tags", self._on_clone)
        self.rename = action("&Rename…", "F2", "Give the audience another name", self._on_rename)
        self.add_tag = action("Add &Tag…", "Ctrl+T", "Tag the audience (tags are at most 18 characters)",
                              self._on_add_tag)
        self.remove_tag_menu = QMenu("Remove Ta&g", owner)
        self.remove_tag_menu.setToolTipsVisible(True)
        self.remove_tag_menu.aboutToShow.connect(self._fill_remove_tag_menu)
        self.activate = action("&Activate", "Ctrl+Shift+A", "Make the audience active (its criteria must be countable)",
                               self._on_activate)
        self.deactivate = action("D&eactivate", "Ctrl+Shift+E", "Make the audience inactive", self._on_deactivate)
        # No shortcut here: File › Download Audience… (Ctrl+Shift+D) acts on the list's selection too.
        self.download = action("Do&wnload…", None, "Download the members' identities as CSV files in a ZIP",
                               self.download_chosen)
        # No shortcut here: Edit › Delete (the Delete key) deletes audiences while the list is shown.
        self.delete = action("&Delete", None, "Delete the audience (Edit › Undo brings it back)", self.delete_chosen)
        self.update_enabled()

    # -- enabling ----------------------------------------------------------------------------------

    def update_enabled(self) -> None:
        chosen = self.choice.chosen_audiences()
        one = len(chosen) == 1
        for made in (self.open, self.clone, self.add_tag, self.download, self.delete):
            made.setEnabled(bool(chosen))
        self.rename.setEnabled(one)
        self.insights.setEnabled(one)
        self.history.setEnabled(one)
        self.activate.setEnabled(any(a.status != "active" for a in chosen))
        self.deactivate.setEnabled(any(a.status == "active" for a in chosen))
        self.remove_tag_menu.setEnabled(any(a.tags for a in chosen))

    def fill_menu(self, menu: QMenu) -> None:
        """The actions in the order menus show them."""
        menu.addAction(self.open)
        menu.addAction(self.insights)
        menu.addAction(self.history)
        menu.addSeparator()
        menu.addAction(self.clone)
        menu.addAction(self.rename)
        menu.addAction(self.add_tag)
        menu.addMenu(self.remove_tag_menu)
        menu.addSeparator()
        menu.addAction(self.activate)
        menu.addAction(self.deactivate)
        menu.addSeparator()
        menu.addAction(self.download)
        menu.addSeparator()
        menu.addAction(self.delete)

    # -- handlers ----------------------------------------------------------------------------------

    def _on_open(self) -> None:
        for audience in self.choice.chosen_audiences()[:10]:  # a handful of tabs, not hundreds by accident
            self.open_requested.emit(audience.id)

    def _on_clone(self) -> None:
        home, chosen = self.connection.open_home, self.choice.chosen_audiences()
        if home is None or not chosen:
            return
        ids = [a.id for a in chosen]

        def cloned(copies: list[AudienceInfo]) -> None:
            self.choice.select_when_listed(copies[-1].id)
            self.done.emit(f"Cloned {_names(chosen)} as {_names(copies)}", False)

        self.writes.run(lambda: [home.audiences.clone(i) for i in ids], label="Cloning",
                        on_success=cloned, on_failure=self._on_failed)

    def _on_rename(self) -> None:
        home, chosen = self.connection.open_home, self.choice.chosen_audiences()
        if home is None or len(chosen) != 1:
            return
        audience = chosen[0]
        dialog = RenameDialog(audience.name, self.choice.audience_names(), self.owner.window())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def accepted() -> None:
            name = dialog.text()
            self.writes.run(lambda: home.audiences.rename(audience.id, name), label="Renaming",
                            on_success=lambda renamed: self.done.emit(f"Renamed “{audience.name}” to “{renamed.name}”",
                                                                      False),
                            on_failure=self._on_failed)

        dialog.accepted.connect(accepted)
        self.rename_dialog = dialog
        dialog.open()

    def _on_add_tag(self) -> None:
        home, chosen = self.connection.open_home, self.choice.chosen_audiences()
        if home is None or not chosen:
            return
        dialog = AddTagDialog([a.name for a in chosen], self.choice.all_tags(), self.owner.window())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        ids = [a.id for a in chosen]

        def accepted() -> None:
            tag = dialog.text()
            self.writes.run(lambda: [home.audiences.add_tag(i, tag) for i in ids], label="Tagging",
                            on_success=lambda _: self.done.emit(f"Tagged {_names(chosen)} “{tag}”", False),
                            on_failure=self._on_failed)

        dialog.accepted.connect(accepted)
        self.tag_dialog = dialog
        dialog.open()

    def remove_tag(self, tag: str) -> None:
        home = self.connection.open_home
        chosen = [a for a in self.choice.chosen_audiences() if tag in a.tags]
        if home is None or not chosen:
            return
        ids = [a.id for a in chosen]
        self.writes.run(lambda: [home.audiences.remove_tag(i, tag) for i in ids], label="Removing a tag",
                        on_success=lambda _: self.done.emit(f"Removed the tag “{tag}” from {_names(chosen)}", False),
                        on_failure=self._on_failed)

    def _fill_remove_tag_menu(self) -> None:
        self.remove_tag_menu.clear()
        tags = sorted({tag for a in self.choice.chosen_audiences() for tag in a.tags}, key=str.casefold)
        for tag in tags:
            item = self.remove_tag_menu.addAction(tag)
            item.triggered.connect(lambda _checked=False, t=tag: self.remove_tag(t))

    def _on_activate(self) -> None:
        home = self.connection.open_home
        chosen = [a for a in self.choice.chosen_audiences() if a.status != "active"]
        if home is None or not chosen:
            return

        def work() -> None:
            for audience in chosen:
                check_can_activate(home, audience)
            for audience in chosen:
                home.audiences.activate(audience.id)

        def activated(_result) -> None:
            self.done.emit(f"Activated {_names(chosen)}; calculating its members…" if len(chosen) == 1
                           else f"Activated {_names(chosen)}; calculating their members…", False)
            self.activated.emit([a.id for a in chosen])

        self.writes.run(work, label="Activating", on_success=activated, on_failure=self._on_failed)

    def _on_deactivate(self) -> None:
        home = self.connection.open_home
        chosen = [a for a in self.choice.chosen_audiences() if a.status == "active"]
        if home is None or not chosen:
            return
        ids = [a.id for a in chosen]
        self.writes.run(lambda: [home.audiences.deactivate(i) for i in ids], label="Deactivating",
                        on_success=lambda _: self.done.emit(f"Deactivated {_names(chosen)}", False),
                        on_failure=self._on_failed)

    def download_chosen(self) -> bool:
        """Open the Download dialog for the chosen audiences (several may be chosen)."""
        return self.download_audiences([a.id for a in self.choice.chosen_audiences()])

    def download_audiences(self, audience_ids: Sequence[int]) -> bool:
        # Imported on first use: downloads bring DuckDB and pyarrow, which the window does not need to show.
        from app.ui.audiences.download_dialog import open_download_dialog

        return open_download_dialog(self.connection, self.tasks, audience_ids, self.owner.window(),
                                    lambda dialog: setattr(self, "download_dialog", dialog))

    def open_insights(self, tab: str | None = None) -> None:
        from app.ui.insights.window import open_insights  # on first use: the window brings the engine's queries

        chosen = self.choice.chosen_audiences()
        if len(chosen) == 1:
            open_insights(self.connection, self.tasks, chosen[0].id, self.owner.window(),
                          keep=lambda window: setattr(self, "insights_window", window), on_failure=self.failed.emit,
                          tab=tab)

    # -- deleting, undoably --------------------------------------------------------------------------

    def delete_chosen(self) -> bool:
        """Delete the chosen audiences; one undo step brings them all back."""
        chosen = self.choice.chosen_audiences()
        if self.connection.open_home is None or not chosen:
            return False
        open_ones = [a for a in chosen if self.is_open_in_editor(a.id)]
        if open_ones:
            self.failed.emit(f"{_names(open_ones)} {'is' if len(open_ones) == 1 else 'are'} open in a tab: "
                             "close the tab first, then delete.")
            return False
        self.delete_now(chosen, None)
        return True

    def delete_now(self, audiences: Sequence[AudienceInfo], command: DeleteAudiences | None) -> None:
        home = self.connection.open_home
        if home is None:
            return
        ids = [a.id for a in audiences]

        def deleted(snapshots: list[AudienceSnapshot]) -> None:
            if command is None:
                self.undo_stack.push(DeleteAudiences(self, snapshots))
            else:
                command.snapshots = snapshots
            self.done.emit(f"Deleted {_names(audiences)}", True)

        self.writes.run(lambda: [home.audiences.delete(i) for i in ids], label="Deleting",
                        on_success=deleted, on_failure=self._on_failed)

    def restore(self, command: DeleteAudiences) -> None:
        home = self.connection.open_home
        if home is None:
            return

        def work() -> list[AudienceInfo]:
            # Read when it runs: a redo queued before this may have replaced the snapshots.
            return [home.audiences.restore(snapshot) for snapshot in command.snapshots]

        def restored(audiences: list[AudienceInfo]) -> None:
            if audiences:
                self.choice.select_when_listed(audiences[0].id)
            self.done.emit(f"Restored {_names(audiences)}", False)

        self.writes.run(work, label="Restoring", on_success=restored, on_failure=self._on_failed)

    def _on_failed(self, exc: BaseException) -> None:
        self.failed.emit(failure_message(exc, "Changing the audience"))


def popup_menu(actions: AudienceActions, parent: QWidget) -> QMenu:
    menu = QMenu(parent)
    menu.setToolTipsVisible(True)
    actions.fill_menu(menu)
    return menu
