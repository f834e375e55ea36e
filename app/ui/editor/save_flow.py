"""The editor's save and close flow: saving (as a draft, or activating), the autosaved copy, closing.

- Save (Ctrl+S, "Save as Draft"/"Save") stores the draft's details and criteria in one transaction;
  Activate saves and makes the audience active once its criteria are valid. Both run in a worker; a
  refused save leaves the draft as it is, with the reason shown.
- While the draft has unsaved changes, a copy is written to the home's autosave folder a few
  seconds after the last edit (one write at a time); it goes once the draft is saved, undone back
  to what is stored, or discarded. The copies left by a crash are offered back on the next start
  (app.ui.editor.recovery) and restored as an unsaved draft.
- Closing with unsaved changes (the criteria and details, or the Segment tab's settings, which are
  saved on their own) asks first: Save closes once every part is saved, Discard drops them and the
  autosaved copy, Cancel keeps the editor open.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer

from app.builder.document import CriteriaError
from app.engines.editing_session import Draft, save_draft
from app.models.services.audiences import AudienceInfo
from app.models.services.autosave import remove_autosave, write_autosave
from app.ui.workers import failure_message

if TYPE_CHECKING:
    from app.ui.editor.editor import AudienceEditor

log = logging.getLogger(__name__)

#: How long after the last edit an unsaved draft is written to the autosave folder.
AUTOSAVE_DELAY_MS = 3_000


class SaveFlow(QObject):
    """Saves, autosaves and closes one editor; the editor's signals say what happened."""

    def __init__(self, editor: AudienceEditor) -> None:
        super().__init__(editor)
        self.editor = editor
        #: the draft as the store holds it (None until the audience is read)
        self.saved_draft: Draft | None = None
        #: a draft restored from an autosaved copy, kept unsaved until it is saved
        self.restored: Draft | None = None
        self.saving = False
        self.closed = False
        self.autosave_delay_ms = AUTOSAVE_DELAY_MS
        self._autosave_writing = False
        self._autosave_stale = False
        #: the parts ("criteria", "segment") still being saved before the editor closes
        self._saves_before_close: set[str] = set()
        #: (signal, slot) connected for that, disconnected when the closing ends either way
        self._closing_connections: list[tuple[Any, Any]] = []
        self._autosave_timer = QTimer(self, singleShot=True)
        self._autosave_timer.timeout.connect(self._autosave)

    def is_dirty(self) -> bool:
        """Whether the draft differs from what the store holds."""
        model = self.editor.model
        return model is not None and model.draft != self.saved_draft

    # -- saving ------------------------------------------------------------------------------------

    def save(self, *, activate: bool = False) -> bool:
        """Save the draft (and with `activate`, make the audience active) in the background."""
        editor = self.editor
        if editor.model is None or self.saving:
            return False
        if activate and editor.activate_blocker() is not None:
            return False
        self.saving = True
        editor.update_actions()
        home, audience_id, draft = editor.home, editor.audience_id, editor.model.draft
        editor.tasks.run(lambda: save_draft(home, audience_id, draft, activate=activate),
                         label="Activating the audience" if activate else "Saving the audience",
                         on_success=lambda audience: self._on_saved(draft, audience),
                         on_failure=self._on_save_failed)
        return True

    def _on_saved(self, draft: Draft, audience: AudienceInfo) -> None:
        editor = self.editor
        self.saving = False
        self.restored = None
        editor.context = dataclasses.replace(editor.context, audience=audience)
        self.saved_draft = draft
        if editor.model.draft == draft:
            editor.undo_stack.setClean()
        editor.details.show_audience(audience)
        self.remove_autosave()
        editor.hide_message()
        editor.show_title()
        editor.update_actions()
        editor.saved.emit(editor.audience_id)

    def _on_save_failed(self, exc: BaseException) -> None:
        editor = self.editor
        self.saving = False
        if isinstance(exc, CriteriaError):
            editor.estimating.show_problems(list(exc.problems))
            message = "Not saved: fix the problems shown on the criteria."
        else:
            message = f"Not saved. {failure_message(exc, 'Saving the audience')}"
        editor.show_message(message)
        editor.update_actions()
        editor.save_failed.emit(message)

    # -- autosave ----------------------------------------------------------------------------------

    def draft_changed(self) -> None:
        """Keep a copy of an unsaved draft once edits pause; drop it when the draft is back to what is stored."""
        if self.is_dirty():
            self._autosave_timer.start(self.autosave_delay_ms)
        else:
            self._autosave_timer.stop()
            self.remove_autosave()

    def _autosave(self) -> None:
        editor = self.editor
        if not self.is_dirty() or self.closed:
            return
        if self._autosave_writing:  # one write at a time; this edit is written once that one is done
            self._autosave_timer.start(self.autosave_delay_ms)
            return
        home, audience_id = editor.home.home, editor.audience_id
        name, draft = editor.context.audience.name, editor.model.draft
        self._autosave_writing = True
        self._autosave_stale = False
        editor.tasks.run(lambda: write_autosave(home, audience_id, name, draft), label="Keeping a copy of the draft",
                         on_success=self._on_autosaved, on_failure=self._on_autosave_failed)

    def _on_autosaved(self, path: Path) -> None:
        self._autosave_writing = False
        if self._autosave_stale or not self.is_dirty():
            self.remove_autosave()  # saved (or undone) while the copy was being written
            return
        self.editor.autosaved.emit(path)

    def _on_autosave_failed(self, exc: BaseException) -> None:
        self._autosave_writing = False
        log.warning("could not keep a copy of the draft: %s", exc)

    def remove_autosave(self) -> None:
        if self._autosave_writing:
            self._autosave_stale = True
            return
        home, audience_id = self.editor.home.home, self.editor.audience_id
        self.editor.tasks.run(lambda: remove_autosave(home, audience_id), label="Removing the draft's copy",
                              on_failure=lambda exc: log.warning("could not remove the draft's copy: %s", exc))

    # -- closing -----------------------------------------------------------------------------------

    def unsaved_parts(self) -> list[str]:
        """What closing now would lose, in the user's words: the criteria and details, the segment settings."""
        parts = []
        if self.is_dirty():
            parts.append("the criteria and details")
        if self.editor.model is not None and self.editor.segment.is_dirty():
            parts.append("the segment settings")
        return parts

    def close_editor(self) -> bool:
        """Close, asking first about unsaved changes; False if the user chose to keep editing."""
        editor = self.editor
        if self.closed:
            return True
        criteria = self.is_dirty()
        segment = editor.model is not None and editor.segment.is_dirty()
        if criteria or segment:
            answer = editor.ask(editor)
            if answer == "cancel":
                return False
            if answer == "save":
                # Closed once every part is saved; a failed save leaves the editor open with the reason shown.
                if segment:
                    if not editor.segment.save():  # a value is wrong: the tab says which
                        editor.tabs.setCurrentWidget(editor.segment)
                        return False
                    self._saves_before_close.add("segment")
                    self._connect_while_closing(editor.segment.saved, self._segment_saved_before_close)
                    self._connect_while_closing(editor.segment.save_failed, self._keep_open_after_failed_save)
                if criteria:
                    self._saves_before_close.add("criteria")
                    self._connect_while_closing(editor.saved, self._criteria_saved_before_close)
                    self._connect_while_closing(editor.save_failed, self._keep_open_after_failed_save)
                    self.save()
                return False
            self._finish_close(discard=True)
            return True
        self._finish_close(discard=False)
        return True

    def shutdown(self) -> None:
        """Stop background work without asking (the application is quitting; the autosave keeps the draft)."""
        if not self.closed:
            self.closed = True
            self._autosave_timer.stop()
            self.editor.stop_parts()

    def _criteria_saved_before_close(self, _audience_id: int) -> None:
        self._saved_before_close("criteria")

    def _segment_saved_before_close(self, _settings: object) -> None:
        self._saved_before_close("segment")

    def _saved_before_close(self, part: str) -> None:
        self._saves_before_close.discard(part)
        if not self._saves_before_close:
            self._stop_closing()
            self._finish_close(discard=False)
            self.editor.close()

    def _keep_open_after_failed_save(self, _message: str) -> None:
        editor = self.editor
        if "segment" in self._saves_before_close and editor.segment.is_dirty():
            editor.tabs.setCurrentWidget(editor.segment)
        self._saves_before_close.clear()
        self._stop_closing()

    def _connect_while_closing(self, signal, slot) -> None:
        signal.connect(slot)
        self._closing_connections.append((signal, slot))

    def _stop_closing(self) -> None:
        while self._closing_connections:
            signal, slot = self._closing_connections.pop()
            signal.disconnect(slot)

    def _finish_close(self, *, discard: bool) -> None:
        editor = self.editor
        self.closed = True
        self._autosave_timer.stop()
        editor.stop_parts()
        if discard and editor.home is not None:
            home, audience_id = editor.home.home, editor.audience_id
            editor.tasks.run(lambda: remove_autosave(home, audience_id), label="Removing the draft's copy")
        editor.closed.emit(editor.audience_id)
