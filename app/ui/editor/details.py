"""The audience's details beside the canvas: name, external name, inputs, tags, status, who and when."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.models.services.audiences import MAX_NAME_LENGTH, MAX_TAG_LENGTH, AudienceInfo
from app.models.services.draft import Draft
from app.models.services.workspaces import WorkspaceInfo
from app.ui.audiences.model import STATUS_TEXT, local_time
from app.ui.mnemonics import literal

TAG_HINT = f"Tags are at most {MAX_TAG_LENGTH} characters, so they fit in lists and filters."


class DetailsPanel(QWidget):
    """Shows a draft's details; each change is reported, never applied here (the editor makes it undoable)."""

    #: the user changed a detail: (field: "name" / "external_name" / "input_ids" / "tags", new value)
    edited = Signal(str, object)

    def __init__(self, workspaces: tuple[WorkspaceInfo, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Audience details")
        self.name = QLineEdit()
        self.name.setAccessibleName("Name")
        self.name.setToolTip("The audience's name in Audience Studio; unique, at most 100 characters")
        self.name.setMaxLength(MAX_NAME_LENGTH)
        self.name.textEdited.connect(lambda text: self.edited.emit("name", text))
        self.external_name = QLineEdit()
        self.external_name.setAccessibleName("External name")
        self.external_name.setToolTip("The name partners see. Left empty, it is the audience's name (shown greyed).")
        self.external_name.textEdited.connect(lambda text: self.edited.emit("external_name", text))

        self.inputs_box = QWidget()
        inputs_layout = QVBoxLayout(self.inputs_box)
        inputs_layout.setContentsMargins(0, 0, 0, 0)
        inputs_layout.setSpacing(2)
        self.input_checks: dict[int, QCheckBox] = {}
        for workspace in workspaces:
            if len(workspaces) > 1 and workspace.inputs:
                # The workspace's name above its inputs, not after each one: "iOS (platform) · Harbor & Pine US"
                # was wider than the panel and cut off at its right edge.
                heading = QLabel(literal(workspace.name))
                heading.setAccessibleName(f"Inputs of {workspace.name}")
                heading.setWordWrap(True)
                heading.setForegroundRole(QPalette.ColorRole.PlaceholderText)
                inputs_layout.addWidget(heading)
            for item in workspace.inputs:
                check = QCheckBox(literal(f"{item.name} ({item.kind})"))
                check.setAccessibleName(f"{item.name} ({item.kind})"
                                        + (f" of {workspace.name}" if len(workspaces) > 1 else ""))
                check.setToolTip("Only events from the chosen platforms and feeds count; none chosen means all of them")
                check.toggled.connect(self._on_inputs)
                inputs_layout.addWidget(check)
                self.input_checks[item.id] = check
        if not self.input_checks:
            inputs_layout.addWidget(QLabel("All data (the workspace has no inputs yet)"))
        self.inputs_hint = QLabel()
        self.inputs_hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        inputs_layout.addWidget(self.inputs_hint)

        self.tags_box = QWidget()
        self.tags_layout = _FlowRow(self.tags_box)
        self.new_tag = QLineEdit(placeholderText="Add a tag")
        self.new_tag.setAccessibleName("New tag")
        self.new_tag.setToolTip(f"Type a tag and press Enter. {TAG_HINT}")
        self.new_tag.textChanged.connect(self._on_tag_typed)
        self.new_tag.returnPressed.connect(self._on_add_tag)
        self.tag_hint = QLabel()
        self.tag_hint.setWordWrap(True)
        self.tag_hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.tag_hint.setAccessibleName("Tag length")
        tags_column = QWidget()
        tags_column_layout = QVBoxLayout(tags_column)
        tags_column_layout.setContentsMargins(0, 0, 0, 0)
        tags_column_layout.setSpacing(4)
        tags_column_layout.addWidget(self.tags_box)
        tags_column_layout.addWidget(self.new_tag)
        tags_column_layout.addWidget(self.tag_hint)

        self.status = QLabel()
        self.status.setAccessibleName("Status")
        self.created_by = QLabel()
        self.created_by.setAccessibleName("Created by")
        self.updated = QLabel()
        self.updated.setAccessibleName("Last updated")
        for label in (self.status, self.created_by, self.updated):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        # A narrow panel (a large font, a long workspace name) puts a field under its label instead of cutting it.
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.addRow("Name", self.name)
        form.addRow("External name", self.external_name)
        form.addRow("Inputs", self.inputs_box)
        form.addRow("Tags", tags_column)
        form.addRow("Status", self.status)
        form.addRow("Created by", self.created_by)
        form.addRow("Last updated", self.updated)
        self._draft: Draft | None = None
        self._on_tag_typed("")

    def show_draft(self, draft: Draft) -> None:
        self._draft = draft
        if self.name.text() != draft.name:
            self.name.setText(draft.name)
        if self.external_name.text() != draft.external_name:
            self.external_name.setText(draft.external_name)
        self.external_name.setPlaceholderText(draft.name)
        for input_id, check in self.input_checks.items():
            check.blockSignals(True)
            check.setChecked(input_id in draft.input_ids)
            check.blockSignals(False)
        self.inputs_hint.setText("" if draft.input_ids or not self.input_checks else "None chosen: all of them count")
        self.tags_layout.clear()
        for tag in draft.tags:
            chip = QToolButton(text=f"{tag}  ✕")
            chip.setAccessibleName(f"Remove tag {tag}")
            chip.setToolTip(f"Remove the tag “{tag}”")
            chip.clicked.connect(lambda _c=False, t=tag: self._on_remove_tag(t))
            self.tags_layout.add(chip)

    def show_audience(self, audience: AudienceInfo) -> None:
        self.status.setText(STATUS_TEXT.get(audience.status, audience.status))
        self.created_by.setText(f"{audience.created_by}, {local_time(_utc(audience.created_at))}")
        self.updated.setText(local_time(_utc(audience.updated_at)))

    def tag_chips(self) -> list[str]:
        return [chip.text().removesuffix("  ✕") for chip in self.tags_layout.widgets()]

    def _on_inputs(self, _checked: bool) -> None:
        self.edited.emit("input_ids", tuple(sorted(i for i, check in self.input_checks.items() if check.isChecked())))

    def _on_tag_typed(self, text: str) -> None:
        length = len(text.strip())
        if length > MAX_TAG_LENGTH:
            self.tag_hint.setText(f"“{text.strip()[:MAX_TAG_LENGTH]}…” is {length} characters; {TAG_HINT}")
        else:
            self.tag_hint.setText(f"{length}/{MAX_TAG_LENGTH} characters" if length else TAG_HINT)

    def _on_add_tag(self) -> None:
        tag = self.new_tag.text().strip()
        if not tag or len(tag) > MAX_TAG_LENGTH or self._draft is None:
            return  # the hint below the field already says why
        if tag not in self._draft.tags:
            self.edited.emit("tags", tuple(self._draft.tags) + (tag,))
        self.new_tag.clear()

    def _on_remove_tag(self, tag: str) -> None:
        if self._draft is not None:
            self.edited.emit("tags", tuple(t for t in self._draft.tags if t != tag))


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


class _FlowRow:
    """Tag chips in rows that wrap (a simple flow: a vertical stack of horizontal rows of ≤ 3)."""

    PER_ROW = 3

    def __init__(self, holder: QWidget) -> None:
        self.layout: QLayout = QVBoxLayout(holder)
        self.layout.setContentsMargins(0, 0, 0, 0)
        self.layout.setSpacing(4)
        self._chips: list[QWidget] = []
        self._rows: list[QHBoxLayout] = []

    def clear(self) -> None:
        for chip in self._chips:
            chip.deleteLater()
        self._chips = []
        while self.layout.count():
            item = self.layout.takeAt(0)
            if item.layout() is not None:
                item.layout().deleteLater()
        self._rows = []

    def add(self, chip: QWidget) -> None:
        if not self._rows or len(self._chips) % self.PER_ROW == 0:
            row = QHBoxLayout()
            row.setSpacing(4)
            row.addStretch(1)
            self.layout.addLayout(row)
            self._rows.append(row)
        row = self._rows[-1]
        row.insertWidget(row.count() - 1, chip)
        self._chips.append(chip)

    def widgets(self) -> list[QWidget]:
        return list(self._chips)
