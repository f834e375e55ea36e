"""The audience editor: palette, canvas, live estimate and details of one audience, with undo and autosave.

The editor is the window's tab for one audience; it reads the audience in a worker, then puts
together parts that each do one job:

- `EditorLayout` (layout.py): the widgets and where they sit;
- `EditCommands` (edit_commands.py): every change to the draft as one undoable `DraftEdit`;
- `EstimateOrchestrator` (estimating.py): the live estimate and what its answers show;
- `SaveFlow` (save_flow.py): save, activate, the autosaved copy and the close prompts;
- `WhyBar` (why_bar.py): why a profile is or is not in the draft, marked on the cards (Ctrl+Shift+Y);
  Insights… (Ctrl+Shift+I) opens the Insights window on the draft as it is now.

Every change goes through the undo stack; the draft model then tells the canvas, the details, the
estimate and the autosave timer. Reading the audience, estimating, saving and autosaving all run
off the GUI thread.

The window that hosts editors owns the keyboard shortcuts for save (Ctrl+S), undo and redo
(app.ui.editor.tabs routes them to the current editor); the canvas handles its own keys.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QPalette, QShortcut, QUndoStack
from PySide6.QtWidgets import QLabel, QMessageBox, QStackedWidget, QVBoxLayout, QWidget
from shiboken6 import isValid

from app.builder import editing
from app.engines.editing_session import Draft, EditorContext, load_editor_context
from app.engines.insights.subjects import Subject
from app.ui import settings as preferences
from app.ui.editor.commands import DraftModel
from app.ui.editor.edit_commands import EditCommands
from app.ui.editor.estimating import EstimateOrchestrator
from app.ui.editor.layout import EditorLayout
from app.ui.editor.save_flow import AUTOSAVE_DELAY_MS, SaveFlow
from app.ui.editor.services import EditorServices
from app.ui.editor.why_bar import WhyBar
from app.ui.home import HomeConnection
from app.ui.turns import on_next_turn
from app.ui.workers import Tasks, failure_message

__all__ = ["AUTOSAVE_DELAY_MS", "Ask", "AudienceEditor", "ask_with_a_message_box"]

#: What closing with unsaved changes does: "save", "discard" or "cancel".
Ask = Callable[["AudienceEditor"], str]


def ask_with_a_message_box(editor: AudienceEditor) -> str:
    parts = editor.unsaved_parts()
    box = QMessageBox(QMessageBox.Icon.Question, "Unsaved changes",
                      f"Save the changes to “{editor.model.draft.name}” before closing?",
                      QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                      | QMessageBox.StandardButton.Cancel, editor)
    what = " and ".join(parts) if parts else "your changes"
    box.setInformativeText(f"Unsaved: {what}. If you don't save, these changes are lost.")
    box.setDefaultButton(QMessageBox.StandardButton.Save)
    answer = box.exec()
    return {QMessageBox.StandardButton.Save: "save", QMessageBox.StandardButton.Discard: "discard"}.get(
        QMessageBox.StandardButton(answer), "cancel")


class AudienceEditor(QWidget):
    """Edits one audience; see the module docstring."""

    #: fires once the audience is read and shown
    loaded = Signal()
    #: fires after the draft was saved to the store (the audience id)
    saved = Signal(int)
    #: fires when the editor has closed (the audience id)
    closed = Signal(int)
    #: fires when the title shown for the editor changes (name, and a dot while there are unsaved changes)
    title_changed = Signal(str)
    #: fires after an unsaved draft was written to the autosave folder (its path)
    autosaved = Signal(object)
    #: fires when a save failed; the text is meant for the user
    save_failed = Signal(str)

    def __init__(self, connection: HomeConnection, tasks: Tasks, audience_id: int, *, draft: Draft | None = None,
                 ask: Ask = ask_with_a_message_box, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Audience editor")
        self.connection = connection
        self.home = connection.open_home
        self.tasks = tasks
        self.audience_id = audience_id
        self.ask = ask
        self.undo_stack = QUndoStack(self)
        self.context: EditorContext | None = None
        self.model: DraftModel | None = None
        self.saving = SaveFlow(self)
        self.saving.restored = draft
        self._ready = False

        self.pages = QStackedWidget()
        self.loading = QLabel("Opening the audience…", alignment=Qt.AlignmentFlag.AlignCenter)
        self.loading.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.pages.addWidget(self.loading)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.pages)

        if self.home is None:
            self.loading.setText("The home is not open yet.")
            return
        home = self.home
        tasks.run(lambda: load_editor_context(home, audience_id), label="Opening the audience",
                  on_success=self._on_loaded, on_failure=self._on_load_failed)

    # -- putting the parts together ----------------------------------------------------------------

    def _on_loaded(self, context: EditorContext) -> None:
        if self.saving.closed:
            return
        self.context = context
        self.saving.saved_draft = Draft.of(context.audience)
        self.model = DraftModel(self.saving.saved_draft, self)
        self.services = EditorServices(self.home, self.tasks, context, self)
        self.content = EditorLayout(self.connection, self.tasks, self.audience_id, context, self.services,
                                    self.undo_stack)
        # The widgets the window, the tabs and the tests reach through the editor.
        for name in ("palette_panel", "canvas", "estimate", "details", "splitter", "tabs", "ab_test", "segment",
                     "connect", "activate_button", "save_button"):
            setattr(self, name, getattr(self.content, name))
        self.why = WhyBar(self.connection, self.tasks, self.draft_subject, self.canvas.show_verdicts, self)
        self.content.canvas_layout.insertWidget(0, self.why)
        self.edits = EditCommands(self.model, self.undo_stack, self.canvas, self.services, self)
        self.estimating = EstimateOrchestrator(self.home, context, lambda: self.model.draft, self.canvas,
                                               self.estimate, self.services,
                                               debounce_ms=preferences.estimate_delay_ms(), parent=self)
        self.session, self.live = self.estimating.session, self.estimating.live
        self._connect()
        self.pages.addWidget(self.content)
        # Building the frame, showing it (Qt lays it out and paints it) and building the cards each take
        # tens of milliseconds: each on a turn of the event loop of its own, so the window answers between.
        on_next_turn(self, self._show_content)

    def _connect(self) -> None:
        content, edits = self.content, self.edits
        content.palette_panel.criterion_chosen.connect(edits.add_to_selection)
        self.canvas.criterion_dropped.connect(edits.add_criterion)
        self.canvas.add_requested.connect(edits.add_criterion)
        self.canvas.node_dropped.connect(edits.move_node)
        self.canvas.node_edited.connect(edits.edit_node)
        self.canvas.match_changed.connect(edits.set_match)
        self.canvas.command_requested.connect(edits.run_command)
        self.canvas.current_changed.connect(lambda _id: self.update_actions())
        self.details.edited.connect(edits.edit_detail)
        edits.refused.connect(self.show_message)
        content.history_button.clicked.connect(self.open_history)
        content.why_button.clicked.connect(self.why.open_bar)
        content.insights_button.clicked.connect(self.open_insights)
        for keys, slot in (("Ctrl+Shift+Y", self.why.open_bar), ("Ctrl+Shift+I", self.open_insights)):
            shortcut = QShortcut(QKeySequence(keys), self, slot)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)  # this editor's, not another tab's
        self.model.criteria_changed.connect(lambda _document: self.why.criteria_changed())
        content.save_button.clicked.connect(lambda: self.save())
        content.activate_button.clicked.connect(lambda: self.save(activate=True))
        self.model.changed.connect(self._on_draft_changed)
        self.model.criteria_changed.connect(self.canvas.show_document)
        self.model.details_changed.connect(self.details.show_draft)
        self.estimating.changed.connect(self.update_actions)
        self.estimating.counted.connect(self.hide_message)
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        self.connection.store_changed.connect(self._on_store_changed)

    def _show_content(self) -> None:
        if self.saving.closed:
            return
        self.details.show_draft(self.model.draft)
        self.details.show_audience(self.context.audience)
        self.pages.setCurrentWidget(self.content)
        self.show_title()
        self.update_actions()
        on_next_turn(self, self._show_criteria)

    def _show_criteria(self) -> None:
        if self.saving.closed:
            return
        self.canvas.show_document(self.model.draft.criteria)
        restored = self.saving.restored
        if restored is not None and restored != self.saving.saved_draft:
            self.edits.push(restored, "Restore the autosaved draft")
        else:
            self.estimating.estimate(now=True)
        self.show_title()
        self.update_actions()
        self._ready = True
        self.loaded.emit()

    def open_history(self) -> None:
        """The audience's edit history (Insights › History); a version chosen there loads into this draft, undoably."""
        from app.ui.insights.window import open_insights  # on first use: the window brings the engine's queries

        open_insights(self.connection, self.tasks, self.audience_id, self.window(), tab="history",
                      keep=lambda window: setattr(self, "history_window", window), on_failure=self.show_message,
                      editor_restore=lambda draft, text: self.edits.push(draft, text))

    def draft_subject(self, name: str | None = None) -> Subject:
        """The draft as it is now (saved or not) as the insights engine's subject."""
        draft = self.model.draft
        return Subject.draft(draft.criteria, self.context.workspace_ids, draft.input_ids, name=name or draft.name)

    def open_insights(self) -> None:
        """The Insights window on the draft as it is now (a snapshot: later edits need Insights… again)."""
        from app.ui.insights.window import InsightsWindow  # on first use: the window brings the engine's queries

        old = getattr(self, "insights_window", None)
        if old is not None and isValid(old):
            old.close()
        # Named apart from the saved audience, so the Overlap tab can compare the draft with it.
        window = InsightsWindow(self.connection, self.tasks, self.draft_subject(f"{self.model.draft.name} (draft)"),
                                self.window())
        self.insights_window = window
        window.show()
        window.raise_()

    def _on_load_failed(self, exc: BaseException) -> None:
        self.loading.setText(failure_message(exc, "Opening the audience"))

    def _on_store_changed(self, kind: str, subject_id: int) -> None:
        # A workspace's real-time window (Preferences) or attribute types (another editor) changed: the same
        # criteria now count other events, or cannot be counted.
        if kind == "workspace_changed" and self.context is not None and subject_id in self.context.workspace_ids:
            self.estimating.workspace_changed()

    # -- what the editor shows ---------------------------------------------------------------------

    @property
    def document(self) -> dict[str, Any]:
        return self.model.draft.criteria

    def is_loaded(self) -> bool:
        """Whether the audience is read and shown, cards included."""
        return self._ready

    def is_dirty(self) -> bool:
        """Whether the draft differs from what the store holds."""
        return self.saving.is_dirty()

    def display_title(self) -> str:
        name = self.model.draft.name if self.model else "Audience"
        return f"{name} •" if self.is_dirty() else name

    def _on_draft_changed(self, _draft: Draft) -> None:
        self.show_title()
        self.estimating.estimate()
        self.saving.draft_changed()
        self.update_actions()

    def _on_clean_changed(self, _clean: bool) -> None:
        self.show_title()

    def show_title(self) -> None:
        if self.model is None:
            return
        self.content.title.setText(self.model.draft.name)
        audience = self.context.audience
        status = {"draft": "Draft", "active": "Active", "inactive": "Inactive"}.get(audience.status, audience.status)
        self.content.status_chip.setText(f"{status}{' · unsaved changes' if self.is_dirty() else ''}")
        self.title_changed.emit(self.display_title())

    def update_actions(self) -> None:
        """Save and Activate as the draft, the estimate and a running save allow."""
        if self.model is None:
            return
        audience = self.context.audience
        self.save_button.setText("Save as Draft" if audience.status == "draft" else "Save")
        self.save_button.setToolTip("Save the audience (Ctrl+S)" + ("" if audience.status == "draft"
                                    else f"; it stays {audience.status}"))
        self.save_button.setEnabled(not self.saving.saving and (self.is_dirty() or self.saving.restored is not None))
        # A standard audience is calculated from the Standard audiences pane (it spends credits), not activated.
        self.activate_button.setVisible(audience.kind != "standard")
        reason = self.activate_blocker()
        self.activate_button.setEnabled(reason is None)
        self.activate_button.setToolTip(reason or "Save and make the audience active: it starts being calculated "
                                                  "and sent to its outputs")

    def activate_blocker(self) -> str | None:
        """Why Activate is not possible now (None when it is)."""
        if self.model is None:
            return "The audience is still opening"
        if self.saving.saving:
            return "Saving…"
        if self.context.audience.status == "active" and not self.is_dirty():
            return "The audience is already active"
        if editing.criteria_count(self.document) == 0:
            return "Add at least one criterion first: an audience without criteria matches no one"
        if self.estimating.problems:
            return "Fix the problems shown on the criteria first"
        if not self.estimating.valid:
            return "Waiting for the estimate to check the criteria against the data"
        return None

    def show_message(self, text: str) -> None:
        self.content.show_message(text)

    def hide_message(self) -> None:
        self.content.hide_message()

    # -- what the window asks of it ----------------------------------------------------------------

    def save(self, *, activate: bool = False) -> bool:
        """Save the draft (and with `activate`, make the audience active) in the background."""
        return self.saving.save(activate=activate)

    def delete_selected(self) -> bool:
        """Remove the selected criterion or group (Edit › Delete); False when nothing is selected."""
        return self.model is not None and self.edits.delete_selected()

    def has_selection(self) -> bool:
        return self.model is not None and self.edits.has_selection()

    def unsaved_parts(self) -> list[str]:
        """What closing now would lose, in the user's words: the criteria and details, the segment settings."""
        return self.saving.unsaved_parts()

    def close_editor(self) -> bool:
        """Close, asking first about unsaved changes (the criteria and details, and the Segment tab's
        settings, which are saved on their own); False if the user chose to keep editing."""
        return self.saving.close_editor()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.saving.closed or self.close_editor():
            event.accept()
        else:
            event.ignore()

    def shutdown(self) -> None:
        """Stop background work without asking (the application is quitting; the autosave keeps the draft)."""
        self.saving.shutdown()

    def stop_parts(self) -> None:
        """Stop the estimate thread and the tabs' background work (the editor closes)."""
        history = getattr(self, "history_window", None)
        if history is not None and isValid(history):
            history.close()  # it loads versions into this editor's draft: it goes with the editor
        insights = getattr(self, "insights_window", None)
        if insights is not None and isValid(insights):
            insights.close()  # it explains this editor's draft
        if self.model is not None:
            self.why.stop()
            self.estimating.shutdown()
            self.ab_test.shutdown()
            self.segment.shutdown()
