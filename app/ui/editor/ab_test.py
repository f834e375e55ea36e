"""The audience's "A/B Test" tab: set up variations (sized live), save them for good, connect each, delete the test.

With no test the tab shows the draft (app.ui.editor.ab_draft: Control holds 100 % and each added
variation takes its share from it). Once saved, it shows the saved test (app.ui.editor.ab_saved:
each variation's size and connections, a Connect… for each and for the whole audience, and Delete
Test…, which first names the connections that go with it). This module reads the test, switches
between the two, and runs the save and the delete, each confirmed first.

Every read, count and write runs through `Tasks`, never on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QLabel, QMessageBox, QScrollArea, QStackedWidget, QVBoxLayout, QWidget

from app.models.services.ab_tests import ABTestInfo, DeletionImpact, draft_problems
from app.models.services.connections import ConnectionInfo
from app.ui.editor.ab_draft import DraftSplit, muted
from app.ui.editor.ab_saved import ConnectVariationDialog, SavedTestView
from app.ui.home import HomeConnection
from app.ui.workers import Tasks, failure_message

__all__ = ["ABTestTab", "Confirm", "ConnectVariationDialog", "confirm_with_a_message_box"]

#: Asks the user to go ahead: (parent, title, text, informative text, the button that goes ahead) → go ahead?
Confirm = Callable[[QWidget, str, str, str, str], bool]


def confirm_with_a_message_box(parent: QWidget, title: str, text: str, informative: str, accept: str) -> bool:
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Cancel, parent)
    box.setInformativeText(informative)
    go = box.addButton(accept, QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is go


class ABTestTab(QWidget):
    """See the module docstring. Reads the test when first shown (or on `load()`)."""

    #: fires once the tab shows the audience's draft or saved test
    loaded = Signal()
    #: fires when the users per variation are shown (Control first)
    sizes_shown = Signal(object)
    #: fires after the test was saved (the ABTestInfo)
    saved = Signal(object)
    #: fires after the test was deleted (the DeletionImpact)
    deleted = Signal(object)

    def __init__(self, connection: HomeConnection, tasks: Tasks, audience_id: int, *,
                 confirm: Confirm = confirm_with_a_message_box, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("A/B test")
        self.connection = connection
        self.tasks = tasks
        self.audience_id = audience_id
        self.confirm = confirm
        self.test: ABTestInfo | None = None
        self.connections: list[ConnectionInfo] = []
        self._started = False
        self._busy = False
        self._ready = False
        self._closed = False

        self.pages = QStackedWidget()
        self.loading = muted(QLabel("Reading the A/B test…", alignment=Qt.AlignmentFlag.AlignCenter))
        self.loading.setWordWrap(True)
        self.pages.addWidget(self.loading)
        #: the split being set up (no test saved yet)
        self.draft = DraftSplit(tasks, audience_id, self._home)
        self.draft.save_requested.connect(self.save)
        self.draft.sizes_shown.connect(self.sizes_shown)
        self.draft_scroll = self._page(self.draft)
        #: the saved test and its connections
        self.saved_view = SavedTestView(connection, tasks, audience_id, self._home)
        self.saved_view.delete_requested.connect(self.delete_test)
        self.saved_view.sizes_shown.connect(self.sizes_shown)
        self.saved_scroll = self._page(self.saved_view)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.pages)

        self._reload_timer = QTimer(self, singleShot=True, interval=100)
        self._reload_timer.timeout.connect(self.load)
        connection.store_changed.connect(self._on_store_changed)

    def _page(self, content: QWidget) -> QScrollArea:
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(content)
        self.pages.addWidget(scroll)
        return scroll

    @property
    def sizes(self) -> list[int] | None:
        """The users per variation last shown (Control first), of the draft or the saved test."""
        return self.saved_view.sizes if self.test is not None else self.draft.sizes

    # -- loading -----------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Start nothing more (the editor closes, or the app quits); answers still on their way are ignored."""
        self._closed = True
        self.draft.stop()
        self.saved_view.stop()
        self._reload_timer.stop()

    def _home(self):
        """The open home, or None once closed (nothing new starts then)."""
        return None if self._closed else self.connection.open_home

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._started:
            self.load()

    def is_loaded(self) -> bool:
        return self._ready

    def load(self) -> None:
        """Read the audience's test and its connections again (in the background)."""
        home = self._home()
        if home is None:
            self.loading.setText("The home is not open yet.")
            return
        self._started = True
        audience_id = self.audience_id
        self.tasks.run(lambda: (home.ab_tests.get(audience_id), home.connections.list(audience_id=audience_id),
                                home.audiences.get(audience_id).effective_external_name),
                       label="Reading the A/B test", on_success=self._on_loaded, on_failure=self._on_load_failed)

    def _on_loaded(self, loaded: tuple[ABTestInfo | None, list[ConnectionInfo], str]) -> None:
        if self._closed:
            return
        test, connections, external_name = loaded
        had_test = self.test is not None
        self.test, self.connections = test, connections
        self.draft.has_test = test is not None
        if test is None:
            if had_test or not self._ready:
                self.draft.reset()
            self.pages.setCurrentWidget(self.draft_scroll)
        else:
            self.draft.stop()  # a count of the draft on its way is not the saved test's
            self.saved_view.show_test(test, connections, external_name)
            self.pages.setCurrentWidget(self.saved_scroll)
        self._ready = True
        self.loaded.emit()

    def _on_load_failed(self, exc: BaseException) -> None:
        self.loading.setText(failure_message(exc, "Reading the A/B test"))
        self.pages.setCurrentWidget(self.loading)

    def _on_store_changed(self, kind: str, subject_id: int) -> None:
        if not self._started:
            return
        if (kind == "audience_changed" and subject_id == self.audience_id) or kind in ("connection_changed",
                                                                                       "output_changed"):
            if self.test is None and kind == "audience_changed":
                self.draft.schedule_sizes()  # the saved criteria changed: the draft's sizes with them
            if not self._reload_timer.isActive():
                self._reload_timer.start()

    # -- saving and deleting -----------------------------------------------------------------------

    def save(self) -> bool:
        """Ask, then save the draft for good (in the background); False when nothing was started."""
        drafts = self.draft.drafts()
        if not drafts or draft_problems(drafts) or self._busy:
            return False
        if not self.confirm(self, "Save the A/B test", f"Save the A/B test ({self.draft.listed()})?",
                            "Once saved, the variations cannot be edited: the test can only be deleted as a whole, "
                            "with every connection made for its variations.", "Save Test"):
            return False
        home, audience_id, seed = self._home(), self.audience_id, self.draft.seed
        if home is None:
            return False
        self._set_busy(True)
        self.tasks.run(lambda: home.ab_tests.save(audience_id, drafts, seed=seed), label="Saving the A/B test",
                       on_success=self._on_saved, on_failure=self._on_save_failed)
        return True

    def _on_saved(self, test: ABTestInfo) -> None:
        self._set_busy(False)
        self.saved.emit(test)
        self.load()  # the saved view, with the connections (none yet) and the sizes

    def _on_save_failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        self.draft.show_message(f"Not saved. {failure_message(exc, 'Saving the A/B test')}")

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.draft.busy = busy
        self.saved_view.delete_button.setEnabled(not busy)
        self.draft.refresh(sizes=False)

    def delete_test(self) -> None:
        """Say what goes (the variations and their connections), ask, then delete in the background."""
        home, audience_id = self._home(), self.audience_id
        if home is None or self.test is None or self._busy:
            return
        self.tasks.run(lambda: home.ab_tests.deletion_impact(audience_id), label="Reading what the test holds",
                       on_success=self._confirm_delete, on_failure=self._on_delete_failed)

    def _confirm_delete(self, impact: DeletionImpact) -> None:
        names = ", ".join(v.name for v in impact.test.variations)
        if impact.connections:
            gone = "\n".join(f"• {c.variation_name} → {c.output_name}" for c in impact.connections)
            count = len(impact.connections)
            informative = (f"{count} connection{'s' if count != 1 else ''} made for the variations go with it:\n"
                           f"{gone}\n\nThe partners keep what they already received. Connections of the whole "
                           "audience stay.")
        else:
            informative = "No connections were made for the variations. Connections of the whole audience stay."
        if not self.confirm(self, "Delete the A/B test", f"Delete the A/B test and its variations ({names})?",
                            informative, "Delete Test"):
            return
        home, audience_id = self._home(), self.audience_id
        if home is None:
            return
        self._set_busy(True)
        self.tasks.run(lambda: home.ab_tests.delete(audience_id), label="Deleting the A/B test",
                       on_success=self._on_deleted, on_failure=self._on_delete_failed)

    def _on_deleted(self, impact: DeletionImpact) -> None:
        self._set_busy(False)
        self.test = None
        self.saved_view.stop()
        self.draft.has_test = False
        self.draft.reset()
        self.pages.setCurrentWidget(self.draft_scroll)
        self.deleted.emit(impact)
        self.load()

    def _on_delete_failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        self.saved_view.show_failure(failure_message(exc, "Deleting the A/B test"))
