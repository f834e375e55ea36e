"""The editor's edit commands: every change to the draft as one undoable step.

Adding a criterion (from the palette, by drop or by Enter), moving, changing, grouping, ungrouping,
duplicating, excluding and removing cards, changing the match of a group, and editing the details
(name, external name, inputs, tags). Each goes on the editor's undo stack as one `DraftEdit`; an
edit that the criteria language refuses is not made, and `refused` says why.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from app.builder import editing
from app.engines.editing_session import Draft
from app.ui.editor.canvas import CriteriaCanvas
from app.ui.editor.commands import DraftEdit, DraftModel
from app.ui.editor.services import EditorServices

#: Undo texts of the details' edits, in the user's words.
DETAIL_EDITS = {"name": "Rename the audience", "external_name": "Change the external name",
                "input_ids": "Change the inputs", "tags": "Change the tags"}


class EditCommands(QObject):
    """Edits one editor's draft through its undo stack; the canvas shows where the focus goes next."""

    #: an edit could not be made; the text says why and is meant for the user
    refused = Signal(str)

    def __init__(self, model: DraftModel, undo_stack: QUndoStack, canvas: CriteriaCanvas, services: EditorServices,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.undo_stack = undo_stack
        self.canvas = canvas
        self.services = services

    @property
    def document(self) -> dict[str, Any]:
        return self.model.draft.criteria

    def apply(self, criteria: dict[str, Any], text: str, merge_key: str = "") -> None:
        """Make `criteria` the draft's document as one undoable step."""
        self.push(self.model.draft.with_criteria(criteria), text, merge_key)

    def push(self, draft: Draft, text: str, merge_key: str = "") -> None:
        """Make `draft` the draft as one undoable step (nothing when it is the draft already)."""
        if draft == self.model.draft:
            return
        self.undo_stack.push(DraftEdit(self.model, self.model.draft, draft, text, merge_key))

    def add_criterion(self, key: str, parent_id: str, index: int) -> str | None:
        """Add a new criterion (or group) of palette type `key`; returns its id."""
        document = self.document
        node = editing.new_node(document, key, catalog=self.services.catalog, workspace_ids=self.services.workspace_ids)
        try:
            after = editing.insert(document, parent_id, index, node)
        except editing.EditError as exc:
            self.refused.emit(str(exc))
            return None
        self.apply(after, f"Add {editing.palette_entry(key).label}")
        self.canvas.focus_node(node["id"])
        return node["id"]

    def add_to_selection(self, key: str) -> str | None:
        """Add a criterion to the selected group, or after the selected criterion (the palette's Enter)."""
        current = self.canvas.current_id
        document = self.document
        if current and current in editing.node_ids(document):
            node = editing.find(document, current)
            if node["type"] == "group":
                return self.add_criterion(key, current, len(node["children"]))
            parent_id, index = editing.parent_of(document, current)
            return self.add_criterion(key, parent_id, index + 1)
        return self.add_criterion(key, "root", len(document["root"]["children"]))

    def move_node(self, node_id: str, parent_id: str, index: int) -> None:
        label = self._label(node_id)
        self._try(lambda: self.apply(editing.move(self.document, node_id, parent_id, index), f"Move {label}"))
        self.canvas.focus_node(node_id)

    def edit_node(self, node_id: str, changes: dict[str, Any], merge_key: str) -> None:
        label = self._label(node_id)
        text = ("Exclude " if changes.get("exclude") else "Include ") + label if set(changes) == {"exclude"} \
            else f"Change {label}"
        self._try(lambda: self.apply(editing.update(self.document, node_id, changes), text,
                                     f"{node_id}:{merge_key}" if merge_key else ""))

    def set_match(self, group_id: str, match: str) -> None:
        self._try(lambda: self.apply(editing.set_match(self.document, group_id, match),
                                     f"Match {match} in {self._label(group_id)}"))

    def run_command(self, command: str, node_id: str) -> None:
        """A card's command (its menu or keys): remove, move_up, move_down, wrap, ungroup, duplicate, exclude."""
        document = self.document
        label = self._label(node_id)
        try:
            if command == "remove":
                neighbour = self._neighbour(node_id)
                self.apply(editing.remove(document, node_id), f"Remove {label}")
                if neighbour:
                    self.canvas.focus_node(neighbour)
            elif command in ("move_up", "move_down"):
                self.apply(editing.move_by(document, node_id, -1 if command == "move_up" else 1), f"Move {label}")
                self.canvas.focus_node(node_id)
            elif command == "wrap":
                group_id = editing.wrapped_group_id(document)
                self.apply(editing.wrap_in_group(document, node_id, group_id=group_id), f"Put {label} into a group")
                self.canvas.focus_node(group_id)
            elif command == "ungroup":
                if editing.find(document, node_id)["type"] == "group":
                    self.apply(editing.ungroup(document, node_id), f"Ungroup {label}")
            elif command == "duplicate":
                parent_id, index = editing.parent_of(document, node_id)
                copy_ = editing.renumbered(document, editing.find(document, node_id))
                self.apply(editing.insert(document, parent_id, index + 1, copy_), f"Duplicate {label}")
                self.canvas.focus_node(copy_["id"])
            elif command == "exclude":
                excluded = bool(editing.find(document, node_id).get("exclude"))
                self.apply(editing.set_exclude(document, node_id, not excluded),
                           f"{'Include' if excluded else 'Exclude'} {label}")
                self.canvas.focus_node(node_id)
        except editing.EditError as exc:
            self.refused.emit(str(exc))

    def delete_selected(self) -> bool:
        """Remove the selected criterion or group (Edit › Delete); False when nothing is selected."""
        current = self.canvas.current_id
        if not current or current == self.document["root"]["id"] or current not in editing.node_ids(self.document):
            return False
        self.run_command("remove", current)
        return True

    def has_selection(self) -> bool:
        return bool(self.canvas.current_id and self.canvas.current_id != "root")

    def edit_detail(self, field: str, value: Any) -> None:
        merge = f"details:{field}" if field in ("name", "external_name") else ""
        self.push(dataclasses.replace(self.model.draft, **{field: value}), DETAIL_EDITS[field], merge)

    def _try(self, change: Callable[[], None]) -> None:
        try:
            change()
        except editing.EditError as exc:
            self.refused.emit(str(exc))

    def _label(self, node_id: str) -> str:
        try:
            node = editing.find(self.document, node_id)
        except editing.EditError:
            return "criterion"
        return "group" if node["type"] == "group" else f"“{editing.entry_for(node).label}”"

    def _neighbour(self, node_id: str) -> str:
        ids = editing.node_ids(self.document)
        gone = set(editing.node_ids({"version": 1, "root": editing.find(self.document, node_id)}))
        position = ids.index(node_id)
        after = [i for i in ids[position + 1:] if i not in gone]
        before = [i for i in reversed(ids[:position]) if i not in gone]
        return (after or before or [""])[0]
