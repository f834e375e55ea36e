"""The draft being edited, and the undo command every edit of it is.

`DraftModel` holds the editor's draft (details and criteria) and says when it changes. `DraftEdit`
keeps the drafts before and after one edit; redo and undo only call `DraftModel.set_draft`.
Consecutive edits with the same merge key (typing in one field, spinning one box) merge into one
command, so undo takes back the whole typing rather than a keystroke.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand

from app.models.services.draft import Draft

#: QUndoCommand.id of edits that may merge; commands with other ids never do.
MERGEABLE = 1


class DraftModel(QObject):
    """The draft of one audience's editor."""

    #: fires after the criteria document changed (the new document)
    criteria_changed = Signal(dict)
    #: fires after a detail changed: name, external name, inputs or tags (the new draft)
    details_changed = Signal(object)
    #: fires after any change (the new draft)
    changed = Signal(object)

    def __init__(self, draft: Draft, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.draft = draft

    def set_draft(self, draft: Draft) -> None:
        old, self.draft = self.draft, draft
        if old.criteria != draft.criteria:
            self.criteria_changed.emit(draft.criteria)
        if (old.name, old.external_name, old.input_ids, old.tags) != \
                (draft.name, draft.external_name, draft.input_ids, draft.tags):
            self.details_changed.emit(draft)
        if old != draft:
            self.changed.emit(draft)


class DraftEdit(QUndoCommand):
    """One edit: the drafts before and after it."""

    def __init__(self, model: DraftModel, before: Draft, after: Draft, text: str, merge_key: str = "") -> None:
        super().__init__(text)
        self.model = model
        self.before = before
        self.after = after
        self.merge_key = merge_key

    def id(self) -> int:
        return MERGEABLE if self.merge_key else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, DraftEdit) or other.merge_key != self.merge_key or other.model is not self.model:
            return False
        if other.before != self.after:  # something else changed the draft in between
            return False
        self.after = other.after
        if self.after == self.before:
            self.setObsolete(True)  # typed and deleted again: nothing to undo
        return True

    def redo(self) -> None:
        self.model.set_draft(self.after)

    def undo(self) -> None:
        self.model.set_draft(self.before)
