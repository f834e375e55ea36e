"""The audience editor: palette, canvas, live estimate and details of one audience, with undo and autosave.

Every change goes through `apply` as one undoable `DraftEdit`; the draft model then tells the
canvas, the details, the live estimate and the autosave timer. Reading the audience, estimating,
saving and autosaving all run off the GUI thread.

The window that hosts editors owns the keyboard shortcuts for save (Ctrl+S), undo and redo
(app.ui.editor.tabs routes them to the current editor); the canvas handles its own keys.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QIcon, QPalette, QUndoStack
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.builder import editing
from app.builder.document import CriteriaError, Problem
from app.builder.estimator import Estimate
from app.models.services.audiences import AudienceInfo
from app.models.services.autosave import remove_autosave, write_autosave
from app.engines.editing_session import Draft, EditorContext, EstimateSession, load_editor_context, save_draft
from app.ui import settings as preferences
from app.ui.editor.ab_test import ABTestTab
from app.ui.editor.canvas import CriteriaCanvas
from app.ui.editor.commands import DraftEdit, DraftModel
from app.ui.editor.details import DetailsPanel
from app.ui.editor.estimate_panel import EstimatePanel
from app.ui.editor.live_estimate import LiveEstimate
from app.ui.editor.palette import CriteriaPalette
from app.ui.editor.segment import SegmentTab
from app.ui.editor.services import EditorServices
from app.ui.home import HomeConnection
from app.ui.turns import on_next_turn
from app.ui.workers import Tasks, failure_message

log = logging.getLogger(__name__)

#: How long after the last edit an unsaved draft is written to the autosave folder.
AUTOSAVE_DELAY_MS = 3_000
#: QSettings key of the palette / canvas / details widths.
SPLITTER_KEY = "builder/splitter"

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
        self.saved_draft: Draft | None = None
        self.live: LiveEstimate | None = None
        self._restored = draft
        self._valid = False
        self._ready = False
        #: the parts ("criteria", "segment") still being saved before the editor closes
        self._saves_before_close: set[str] = set()
        #: (signal, slot) connected for that, disconnected when the closing ends either way
        self._closing_connections: list[tuple[Any, Any]] = []
        self._saving = False
        self._closed = False
        self._problems: list[Problem] = []
        self._autosave_writing = False
        self._autosave_stale = False
        self.autosave_delay_ms = AUTOSAVE_DELAY_MS

        self.pages = QStackedWidget()
        self.loading = QLabel("Opening the audience…", alignment=Qt.AlignmentFlag.AlignCenter)
        self.loading.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.pages.addWidget(self.loading)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.pages)

        self._autosave_timer = QTimer(self, singleShot=True)
        self._autosave_timer.timeout.connect(self._autosave)

        if self.home is None:
            self.loading.setText("The home is not open yet.")
            return
        home = self.home
        tasks.run(lambda: load_editor_context(home, audience_id), label="Opening the audience",
                  on_success=self._on_loaded, on_failure=self._on_load_failed)

    # -- building ----------------------------------------------------------------------------------

    def _on_loaded(self, context: EditorContext) -> None:
        if self._closed:
            return
        self.context = context
        self.saved_draft = Draft.of(context.audience)
        self.model = DraftModel(self.saved_draft, self)
        self.services = EditorServices(self.home, self.tasks, context, self)
        standard = context.audience.id if context.audience.kind == "standard" else None
        self.session = EstimateSession(self.home, context.workspace_ids, standard_audience_id=standard)
        self.live = LiveEstimate(self.session, self, debounce_ms=preferences.estimate_delay_ms())
        self._build()
        self.model.changed.connect(self._on_draft_changed)
        self.model.criteria_changed.connect(self.canvas.show_document)
        self.model.details_changed.connect(self.details.show_draft)
        self.live.requested.connect(self._on_estimate_requested)
        self.live.sample_shown.connect(self.estimate.show_sample)
        self.live.total_shown.connect(self._on_total)
        self.live.exact_shown.connect(self._on_exact)
        self.live.problems_shown.connect(self._on_problems)
        self.live.failed.connect(self._on_estimate_failed)
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        self.connection.store_changed.connect(self._on_store_changed)
        # Building the frame, showing it (Qt lays it out and paints it) and building the cards each take
        # tens of milliseconds: each on a turn of the event loop of its own, so the window answers between.
        on_next_turn(self, self._show_content)

    def _show_content(self) -> None:
        if self._closed:
            return
        self.details.show_draft(self.model.draft)
        self.details.show_audience(self.context.audience)
        self.pages.setCurrentWidget(self.content)
        self._show_title()
        self._update_actions()
        on_next_turn(self, self._show_criteria)

    def _show_criteria(self) -> None:
        if self._closed:
            return
        self.canvas.show_document(self.model.draft.criteria)
        if self._restored is not None and self._restored != self.saved_draft:
            self._push(self._restored, "Restore the autosaved draft")
        else:
            self._estimate(now=True)
        self._show_title()
        self._update_actions()
        self._ready = True
        self.loaded.emit()

    def _build(self) -> None:
        self.content = QWidget()
        self.palette_panel = CriteriaPalette()
        self.palette_panel.criterion_chosen.connect(self.add_to_selection)
        self.canvas = CriteriaCanvas(self.services)
        self.canvas.criterion_dropped.connect(self.add_criterion)
        self.canvas.add_requested.connect(self.add_criterion)
        self.canvas.node_dropped.connect(self.move_node)
        self.canvas.node_edited.connect(self.edit_node)
        self.canvas.match_changed.connect(self.set_match)
        self.canvas.command_requested.connect(self.run_command)
        self.canvas.current_changed.connect(lambda _id: self._update_actions())
        self.estimate = EstimatePanel()
        self.details = DetailsPanel(self.context.workspaces)
        self.details.edited.connect(self.edit_detail)

        # The estimate stays put at the top of the side column and only the details scroll: a
        # scroll bar that comes and goes as the details grow would change the estimate's width, and
        # re-laying out and repainting its chart costs the GUI thread 10-20 ms at each edit.
        details_caption = QLabel("Details")
        font = details_caption.font()
        font.setBold(True)
        details_caption.setFont(font)
        details = QWidget()
        details_layout = QVBoxLayout(details)
        details_layout.setContentsMargins(14, 0, 14, 12)
        details_layout.setSpacing(10)
        details_layout.addWidget(details_caption)
        details_layout.addWidget(self.details)
        details_layout.addStretch(1)
        details_scroll = QScrollArea()
        details_scroll.setWidgetResizable(True)
        details_scroll.setFrameShape(QFrame.Shape.NoFrame)
        details_scroll.setWidget(details)
        details_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        side = QWidget()
        side.setMinimumWidth(300)
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 12, 0, 0)
        side_layout.setSpacing(10)
        estimate_box = QVBoxLayout()
        estimate_box.setContentsMargins(14, 0, 14, 0)
        estimate_box.setSpacing(10)
        estimate_box.addWidget(self.estimate)
        estimate_box.addWidget(_rule())
        side_layout.addLayout(estimate_box)
        side_layout.addWidget(details_scroll, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.palette_panel)
        self.splitter.addWidget(self.canvas)
        self.splitter.addWidget(side)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setSizes([200, 700, 340])
        sizes = QSettings().value(SPLITTER_KEY)
        if isinstance(sizes, list) and len(sizes) == 3:
            try:
                self.splitter.setSizes([int(size) for size in sizes])
            except (TypeError, ValueError):
                pass  # an old or hand-edited setting: keep the default sizes
        self.splitter.splitterMoved.connect(self._on_splitter_moved)

        self.title = QLabel()
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        self.title.setFont(font)
        self.title.setAccessibleName("Audience name")
        self.status_chip = QLabel()
        self.status_chip.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.status_chip.setAccessibleName("Status")
        # Short labels that do not jump about; what would be undone is in the tooltip.
        self.undo_button = QToolButton(text="Undo", autoRaise=True)
        self.redo_button = QToolButton(text="Redo", autoRaise=True)
        self.undo_button.setIcon(QIcon.fromTheme("edit-undo"))
        self.redo_button.setIcon(QIcon.fromTheme("edit-redo"))
        for button in (self.undo_button, self.redo_button):
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.undo_button.setAccessibleName("Undo")
        self.redo_button.setAccessibleName("Redo")
        self.undo_button.clicked.connect(self.undo_stack.undo)
        self.redo_button.clicked.connect(self.undo_stack.redo)
        self.undo_stack.indexChanged.connect(self._on_undo_index)
        self._on_undo_index(0)
        self.save_button = QPushButton("Save as Draft")
        self.save_button.setAccessibleName("Save")
        self.save_button.clicked.connect(lambda: self.save())
        self.activate_button = QPushButton("Activate")
        self.activate_button.setAccessibleName("Activate")
        self.activate_button.setDefault(True)
        self.activate_button.clicked.connect(lambda: self.save(activate=True))

        top = QHBoxLayout()
        top.setContentsMargins(14, 10, 14, 8)
        top.setSpacing(8)
        top.addWidget(self.title)
        top.addWidget(self.status_chip)
        top.addStretch(1)
        top.addWidget(self.undo_button)
        top.addWidget(self.redo_button)
        top.addSpacing(8)
        top.addWidget(self.save_button)
        top.addWidget(self.activate_button)

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAccessibleName("Message")
        self.message.setContentsMargins(14, 0, 14, 6)
        self.message.setVisible(False)

        layout = QVBoxLayout(self.content)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addWidget(_rule())
        # The criteria and the A/B test are two views of one audience; the A/B tab reads its test when first shown.
        self.ab_test = ABTestTab(self.connection, self.tasks, self.audience_id)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.splitter, "Criteria")
        self.tabs.addTab(self.ab_test, "A/B Test")
        self.tabs.setTabToolTip(1, "Split the audience into variations to connect to different outputs")
        # Saved with its own button: selling the audience is not part of the criteria's undo.
        self.segment = SegmentTab(self.connection, self.tasks, self.audience_id)
        self.tabs.addTab(self.segment, "Segment")
        self.tabs.setTabToolTip(2, "Expiration, visibility on the data marketplace, CPM price and category")
        layout.addWidget(self.tabs, 1)
        self.pages.addWidget(self.content)

    def _on_undo_index(self, _index: int) -> None:
        stack = self.undo_stack
        self.undo_button.setEnabled(stack.canUndo())
        self.redo_button.setEnabled(stack.canRedo())
        self.undo_button.setToolTip(f"Undo {stack.undoText()} (Ctrl+Z)" if stack.canUndo() else "Nothing to undo")
        self.redo_button.setToolTip(f"Redo {stack.redoText()} (Ctrl+Shift+Z)" if stack.canRedo() else "Nothing to redo")

    def _on_splitter_moved(self, _position: int, _index: int) -> None:
        # Remembered for the next editor and the next start (palette, canvas, details widths).
        QSettings().setValue(SPLITTER_KEY, self.splitter.sizes())

    def _on_store_changed(self, kind: str, subject_id: int) -> None:
        # A workspace's real-time window changed (Preferences): the same criteria now count other events.
        if kind == "workspace_changed" and self.context is not None and subject_id in self.context.workspace_ids:
            self._estimate(now=True)

    def _on_load_failed(self, exc: BaseException) -> None:
        self.loading.setText(failure_message(exc, "Opening the audience"))

    # -- reading -----------------------------------------------------------------------------------

    @property
    def document(self) -> dict[str, Any]:
        return self.model.draft.criteria

    def is_loaded(self) -> bool:
        """Whether the audience is read and shown, cards included."""
        return self._ready

    def is_dirty(self) -> bool:
        """Whether the draft differs from what the store holds."""
        return self.model is not None and self.model.draft != self.saved_draft

    def display_title(self) -> str:
        name = self.model.draft.name if self.model else "Audience"
        return f"{name} •" if self.is_dirty() else name

    # -- edits -------------------------------------------------------------------------------------

    def apply(self, criteria: dict[str, Any], text: str, merge_key: str = "") -> None:
        """Make `criteria` the draft's document as one undoable step."""
        self._push(self.model.draft.with_criteria(criteria), text, merge_key)

    def _push(self, draft: Draft, text: str, merge_key: str = "") -> None:
        if draft == self.model.draft:
            return
        self.undo_stack.push(DraftEdit(self.model, self.model.draft, draft, text, merge_key))

    def _try(self, change: Callable[[], None]) -> None:
        try:
            change()
        except editing.EditError as exc:
            self.show_message(str(exc))

    def add_criterion(self, key: str, parent_id: str, index: int) -> str | None:
        """Add a new criterion (or group) of palette type `key`; returns its id."""
        document = self.document
        node = editing.new_node(document, key, catalog=self.services.catalog, workspace_ids=self.context.workspace_ids)
        try:
            after = editing.insert(document, parent_id, index, node)
        except editing.EditError as exc:
            self.show_message(str(exc))
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
            self.show_message(str(exc))

    def delete_selected(self) -> bool:
        """Remove the selected criterion or group (Edit › Delete); False when nothing is selected."""
        current = self.canvas.current_id if self.model else ""
        if not current or current == self.document["root"]["id"] or current not in editing.node_ids(self.document):
            return False
        self.run_command("remove", current)
        return True

    def has_selection(self) -> bool:
        return bool(self.model and self.canvas.current_id and self.canvas.current_id != "root")

    def edit_detail(self, field: str, value: Any) -> None:
        words = {"name": "Rename the audience", "external_name": "Change the external name",
                 "input_ids": "Change the inputs", "tags": "Change the tags"}
        merge = f"details:{field}" if field in ("name", "external_name") else ""
        self._push(dataclasses.replace(self.model.draft, **{field: value}), words[field], merge)

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

    # -- reacting to the draft ---------------------------------------------------------------------

    def _on_draft_changed(self, draft: Draft) -> None:
        self._show_title()
        self._estimate()
        if self.is_dirty():
            self._autosave_timer.start(self.autosave_delay_ms)
        else:
            self._autosave_timer.stop()
            self._remove_autosave()
        self._update_actions()

    def _on_clean_changed(self, _clean: bool) -> None:
        self._show_title()

    def _show_title(self) -> None:
        if self.model is None:
            return
        self.title.setText(self.model.draft.name)
        audience = self.context.audience
        status = {"draft": "Draft", "active": "Active", "inactive": "Inactive"}.get(audience.status, audience.status)
        self.status_chip.setText(f"{status}{' · unsaved changes' if self.is_dirty() else ''}")
        self.title_changed.emit(self.display_title())

    def _update_actions(self) -> None:
        if self.model is None:
            return
        audience = self.context.audience
        self.save_button.setText("Save as Draft" if audience.status == "draft" else "Save")
        self.save_button.setToolTip("Save the audience (Ctrl+S)" + ("" if audience.status == "draft"
                                    else f"; it stays {audience.status}"))
        self.save_button.setEnabled(not self._saving and (self.is_dirty() or self._restored is not None))
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
        if self._saving:
            return "Saving…"
        if self.context.audience.status == "active" and not self.is_dirty():
            return "The audience is already active"
        if editing.criteria_count(self.document) == 0:
            return "Add at least one criterion first: an audience without criteria matches no one"
        if self._problems:
            return "Fix the problems shown on the criteria first"
        if not self._valid:
            return "Waiting for the estimate to check the criteria against the data"
        return None

    # -- live estimate -----------------------------------------------------------------------------

    def _estimate(self, now: bool = False) -> None:
        if self.live is None:
            return
        if editing.criteria_count(self.document) == 0:
            self.live.latest += 1  # answers on their way are about criteria that are gone
            self.session.cancel()
            self._valid = False
            self._problems = []
            self.canvas.show_counts(None)
            self.canvas.show_problems(self._problem_map([]))
            self.estimate.show_empty()
            return
        self.live.request(self.document, self.model.draft.input_ids, now=now)

    def _on_estimate_requested(self, _generation: int) -> None:
        self._valid = False
        self.canvas.show_counts(None, pending=True)
        self.estimate.show_counting()
        self._update_actions()

    def _on_total(self, estimate: Estimate) -> None:
        # The criteria compiled and were counted: they are valid even before each node's count is in.
        self._valid = True
        self._problems = []
        self.estimate.show_exact(estimate, nodes_pending=True)
        self.canvas.show_problems({})
        self.hide_message()
        self._update_actions()

    def _on_exact(self, estimate: Estimate) -> None:
        self._valid = True
        self._problems = []
        self.estimate.show_nodes_counted(estimate)
        self.canvas.show_counts(estimate.nodes, root_count=estimate.count, universe=estimate.universe)
        self.canvas.show_problems({})
        self._update_actions()

    def _on_problems(self, problems: list[Problem]) -> None:
        self._valid = False
        self._problems = problems
        self.canvas.show_counts(None)
        self.canvas.show_problems(self._problem_map(problems))
        unplaced = [str(p) for p in problems if p.node_id is None or p.node_id not in self.canvas.frames]
        self.estimate.show_problem("The criteria cannot be counted yet: see the messages on the cards." if not unplaced
                                   else "The criteria cannot be counted: " + "; ".join(unplaced))
        self._update_actions()

    def _problem_map(self, problems: list[Problem]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for problem in problems:
            if problem.node_id:
                found.setdefault(problem.node_id, []).append(_sentence(problem.message))
        return found

    def _on_estimate_failed(self, message: str) -> None:
        self._valid = False
        self.canvas.show_counts(None)
        self.estimate.show_problem(message)
        self._update_actions()

    # -- saving ------------------------------------------------------------------------------------

    def save(self, *, activate: bool = False) -> bool:
        """Save the draft (and with `activate`, make the audience active) in the background."""
        if self.model is None or self._saving:
            return False
        if activate and self.activate_blocker() is not None:
            return False
        self._saving = True
        self._update_actions()
        home, audience_id, draft = self.home, self.audience_id, self.model.draft
        self.tasks.run(lambda: save_draft(home, audience_id, draft, activate=activate),
                       label="Activating the audience" if activate else "Saving the audience",
                       on_success=lambda audience: self._on_saved(draft, audience),
                       on_failure=self._on_save_failed)
        return True

    def _on_saved(self, draft: Draft, audience: AudienceInfo) -> None:
        self._saving = False
        self._restored = None
        self.context = dataclasses.replace(self.context, audience=audience)
        self.saved_draft = draft
        if self.model.draft == draft:
            self.undo_stack.setClean()
        self.details.show_audience(audience)
        self._remove_autosave()
        self.hide_message()
        self._show_title()
        self._update_actions()
        self.saved.emit(self.audience_id)

    def _on_save_failed(self, exc: BaseException) -> None:
        self._saving = False
        if isinstance(exc, CriteriaError):
            self._problems = list(exc.problems)
            self.canvas.show_problems(self._problem_map(exc.problems))
            message = "Not saved: fix the problems shown on the criteria."
        else:
            message = f"Not saved. {failure_message(exc, 'Saving the audience')}"
        self.show_message(message)
        self._update_actions()
        self.save_failed.emit(message)

    def show_message(self, text: str) -> None:
        self.message.setText(f"⚠ {text}")
        self.message.setVisible(True)

    def hide_message(self) -> None:
        self.message.setVisible(False)

    # -- autosave ----------------------------------------------------------------------------------

    def _autosave(self) -> None:
        if not self.is_dirty() or self._closed:
            return
        if self._autosave_writing:  # one write at a time; this edit is written once that one is done
            self._autosave_timer.start(self.autosave_delay_ms)
            return
        home, audience_id, name, draft = self.home.home, self.audience_id, self.context.audience.name, self.model.draft
        self._autosave_writing = True
        self._autosave_stale = False
        self.tasks.run(lambda: write_autosave(home, audience_id, name, draft), label="Keeping a copy of the draft",
                       on_success=self._on_autosaved, on_failure=self._on_autosave_failed)

    def _on_autosaved(self, path: Path) -> None:
        self._autosave_writing = False
        if self._autosave_stale or not self.is_dirty():
            self._remove_autosave()  # saved (or undone) while the copy was being written
            return
        self.autosaved.emit(path)

    def _on_autosave_failed(self, exc: BaseException) -> None:
        self._autosave_writing = False
        log.warning("could not keep a copy of the draft: %s", exc)

    def _remove_autosave(self) -> None:
        if self._autosave_writing:
            self._autosave_stale = True
            return
        home, audience_id = self.home.home, self.audience_id
        self.tasks.run(lambda: remove_autosave(home, audience_id), label="Removing the draft's copy",
                       on_failure=lambda exc: log.warning("could not remove the draft's copy: %s", exc))

    # -- closing -----------------------------------------------------------------------------------

    def unsaved_parts(self) -> list[str]:
        """What closing now would lose, in the user's words: the criteria and details, the segment settings."""
        parts = []
        if self.is_dirty():
            parts.append("the criteria and details")
        if self.model is not None and self.segment.is_dirty():
            parts.append("the segment settings")
        return parts

    def close_editor(self) -> bool:
        """Close, asking first about unsaved changes (the criteria and details, and the Segment tab's
        settings, which are saved on their own); False if the user chose to keep editing."""
        if self._closed:
            return True
        criteria = self.is_dirty()
        segment = self.model is not None and self.segment.is_dirty()
        if criteria or segment:
            answer = self.ask(self)
            if answer == "cancel":
                return False
            if answer == "save":
                # Closed once every part is saved; a failed save leaves the editor open with the reason shown.
                if segment:
                    if not self.segment.save():  # a value is wrong: the tab says which
                        self.tabs.setCurrentWidget(self.segment)
                        return False
                    self._saves_before_close.add("segment")
                    self._connect_while_closing(self.segment.saved, self._segment_saved_before_close)
                    self._connect_while_closing(self.segment.save_failed, self._keep_open_after_failed_save)
                if criteria:
                    self._saves_before_close.add("criteria")
                    self._connect_while_closing(self.saved, self._criteria_saved_before_close)
                    self._connect_while_closing(self.save_failed, self._keep_open_after_failed_save)
                    self.save()
                return False
            self._finish_close(discard=True)
            return True
        self._finish_close(discard=False)
        return True

    def _criteria_saved_before_close(self, _audience_id: int) -> None:
        self._saved_before_close("criteria")

    def _segment_saved_before_close(self, _settings: object) -> None:
        self._saved_before_close("segment")

    def _saved_before_close(self, part: str) -> None:
        self._saves_before_close.discard(part)
        if not self._saves_before_close:
            self._stop_closing()
            self._finish_close(discard=False)
            self.close()

    def _keep_open_after_failed_save(self, _message: str) -> None:
        if "segment" in self._saves_before_close and self.segment.is_dirty():
            self.tabs.setCurrentWidget(self.segment)
        self._saves_before_close.clear()
        self._stop_closing()

    def _connect_while_closing(self, signal, slot) -> None:
        signal.connect(slot)
        self._closing_connections.append((signal, slot))

    def _stop_closing(self) -> None:
        while self._closing_connections:
            signal, slot = self._closing_connections.pop()
            signal.disconnect(slot)

    def _finish_close(self, *, discard: bool) -> bool:
        self._closed = True
        self._autosave_timer.stop()
        if self.live is not None:
            self.live.shutdown()
            self.ab_test.shutdown()
            self.segment.shutdown()
        if discard and self.home is not None:
            home, audience_id = self.home.home, self.audience_id
            self.tasks.run(lambda: remove_autosave(home, audience_id), label="Removing the draft's copy")
        self.closed.emit(self.audience_id)
        return True

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._closed or self.close_editor():
            event.accept()
        else:
            event.ignore()

    def shutdown(self) -> None:
        """Stop background work without asking (the application is quitting; the autosave keeps the draft)."""
        if not self._closed:
            self._closed = True
            self._autosave_timer.stop()
            if self.live is not None:
                self.live.shutdown()
                self.ab_test.shutdown()
                self.segment.shutdown()


def _rule() -> QFrame:
    line = QFrame()
    line.setFrameShape(QFrame.Shape.HLine)
    line.setFrameShadow(QFrame.Shadow.Plain)
    line.setForegroundRole(QPalette.ColorRole.Mid)
    return line


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")

