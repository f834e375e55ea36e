"""The New Audience dialog: name, external name, single or multi workspace, inputs; Create opens the builder.

The workspaces and the names already taken are read in a worker before the dialog opens; Create
runs in a worker too, and a refusal from the store (a name taken meanwhile) shows in the dialog.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.models.services.audiences import MAX_NAME_LENGTH, AudienceInfo
from app.engines.home import OpenHome
from app.models.services.workspaces import WorkspaceInfo
from app.ui.audiences.dialogs import name_problem
from app.ui.mnemonics import literal
from app.ui.workers import Tasks, failure_message
from app.ui.kit.dialogs import keep_whole


@dataclass(frozen=True)
class NewAudienceChoices:
    """What the dialog offers, read in one go in a worker."""

    workspaces: tuple[WorkspaceInfo, ...]
    taken_names: tuple[str, ...]


def read_choices(home: OpenHome) -> NewAudienceChoices:
    return NewAudienceChoices(tuple(home.workspaces.list()), tuple(a.name for a in home.audiences.list()))


@dataclass(frozen=True)
class NewAudience:
    """What the user asked for; `create` writes it."""

    name: str
    external_name: str | None
    scope: str
    workspace_ids: tuple[int, ...]
    input_ids: tuple[int, ...]

    def create(self, home: OpenHome) -> AudienceInfo:
        return home.audiences.create(self.name, external_name=self.external_name, scope=self.scope,
                                     workspace_ids=self.workspace_ids, input_ids=self.input_ids)


def _hint_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    return label


def _room(label: QLabel, lines: int = 1) -> QWidget:
    """The room of a hint or problem of up to `lines` lines, kept while it is hidden, so the form below it does
    not jump as the user types and the line comes and goes. (Its texts are written to fit; the clipping test,
    tests/ui/test_no_clipping.py, checks them.)"""
    room = QWidget()
    layout = QVBoxLayout(room)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(label, 0, Qt.AlignmentFlag.AlignTop)
    # Fixed: a wrapped label's height-for-width would still let the row grow and shrink.
    room.setFixedHeight(lines * label.fontMetrics().lineSpacing())
    return room


class NewAudienceDialog(QDialog):
    """Asks for a new audience's name, external name, workspaces and inputs; creates it in the background."""

    #: fires after the audience was created (its id); the dialog then closes
    created = Signal(int)

    def __init__(self, home: OpenHome, tasks: Tasks, choices: NewAudienceChoices, parent: QWidget | None = None,
                 *, scope: str = "single") -> None:
        """`scope`: the scope to start with, the tab of the list the dialog was opened from ("single" or "multi";
        a home with fewer than two workspaces starts single anyway)."""
        super().__init__(parent)
        self.setWindowTitle("New Audience")
        self.setAccessibleName("New audience")
        self._home = home
        self._tasks = tasks
        self._choices = choices
        self._creating = False
        self._inputs_shown_for: tuple[int, ...] | None = None
        #: every input the user ticked, kept while its workspace is not chosen (a scope or workspace switch
        #: hides its box) so that it is ticked again when it comes back
        self._ticked_inputs: set[int] = set()

        self.name = QLineEdit()
        self.name.setAccessibleName("Name")
        self.name.setPlaceholderText("e.g. Lapsed buyers")
        self.name.setToolTip(f"The audience's name in Audience Studio: unique, at most {MAX_NAME_LENGTH} characters")
        self.name_problem = QLabel()
        self.name_problem.setWordWrap(True)
        self.name_problem.setAccessibleName("Name problem")
        self.external_name = QLineEdit()
        self.external_name.setAccessibleName("External name")
        self.external_name.setToolTip("The name partners see when the audience is sent to them")
        self.external_hint = _hint_label()
        self.external_hint.setAccessibleName("External name hint")

        self.single = QRadioButton("Single workspace")
        self.single.setToolTip("The audience reads one workspace's data")
        self.multi = QRadioButton("Multi workspace")
        self.multi.setToolTip("The audience combines the data of two or more workspaces")
        self.scope_buttons = QButtonGroup(self)
        self.scope_buttons.addButton(self.single)
        self.scope_buttons.addButton(self.multi)
        self.multi.setEnabled(len(choices.workspaces) >= 2)
        (self.multi if scope == "multi" and self.multi.isEnabled() else self.single).setChecked(True)
        if len(choices.workspaces) < 2:
            self.multi.setToolTip("Needs two or more workspaces; this home has "
                                  f"{len(choices.workspaces)}")
        scope_row = QHBoxLayout()
        scope_row.addWidget(self.single)
        scope_row.addWidget(self.multi)
        scope_row.addStretch(1)

        self.workspace = QComboBox()
        self.workspace.setAccessibleName("Workspace")
        for workspace in choices.workspaces:
            self.workspace.addItem(workspace.name, workspace.id)
        self.workspace_checks: dict[int, QCheckBox] = {}
        self.workspace_box = QWidget()
        box_layout = QVBoxLayout(self.workspace_box)
        box_layout.setContentsMargins(0, 0, 0, 0)
        for workspace in choices.workspaces:
            check = QCheckBox(literal(workspace.name))
            check.setAccessibleName(f"Workspace {workspace.name}")
            check.toggled.connect(self._on_changed)
            box_layout.addWidget(check)
            self.workspace_checks[workspace.id] = check
        self.workspace_problem = QLabel()
        self.workspace_problem.setWordWrap(True)
        self.workspace_problem.setAccessibleName("Workspace problem")

        self.inputs_group = QGroupBox("Inputs")
        self.inputs_group.setToolTip("Only events from the ticked platforms and feeds count; none ticked means all of them")
        self.inputs_layout = QVBoxLayout(self.inputs_group)
        self.input_checks: dict[int, QCheckBox] = {}
        self.inputs_hint = _hint_label()
        self._inputs_hint_room = _room(self.inputs_hint)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("&Name", self.name)
        form.addRow("", _room(self.name_problem, lines=2))  # it quotes the name taken: two lines at most
        form.addRow("&External name", self.external_name)
        form.addRow("", _room(self.external_hint, lines=2))  # it quotes the name: two lines at most
        form.addRow("Scope", scope_row)
        form.addRow("&Workspace", self.workspace)
        form.addRow("Workspaces", self.workspace_box)
        self._workspace_problem_room = _room(self.workspace_problem)
        form.addRow("", self._workspace_problem_room)
        self._form = form

        self.create_problem = QLabel()
        self.create_problem.setWordWrap(True)
        self.create_problem.setAccessibleName("Create problem")
        self.create_problem.setVisible(False)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.create_button = self.buttons.addButton("Create", QDialogButtonBox.ButtonRole.AcceptRole)
        self.create_button.setDefault(True)
        self.create_button.setToolTip("Create the audience as a draft and open it in the builder")
        self.buttons.accepted.connect(self.create)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.inputs_group)
        layout.addWidget(_room(self.create_problem, lines=2))
        layout.addWidget(self.buttons)
        keep_whole(self, 460)

        self.name.textChanged.connect(self._on_changed)
        self.external_name.textChanged.connect(self._on_changed)
        self.single.toggled.connect(self._on_scope_changed)
        self.multi.toggled.connect(self._on_multi_toggled)
        self.workspace.currentIndexChanged.connect(self._on_scope_changed)
        self._on_scope_changed()

    # -- what was asked ------------------------------------------------------------------------------

    def scope(self) -> str:
        return "single" if self.single.isChecked() else "multi"

    def chosen_workspace_ids(self) -> tuple[int, ...]:
        if self.scope() == "single":
            workspace_id = self.workspace.currentData()
            return () if workspace_id is None else (workspace_id,)
        return tuple(ws for ws, check in self.workspace_checks.items() if check.isChecked())

    def chosen_input_ids(self) -> tuple[int, ...]:
        return tuple(i for i, check in self.input_checks.items() if check.isChecked())

    def request(self) -> NewAudience:
        return NewAudience(self.name.text().strip(), self.external_name.text().strip() or None, self.scope(),
                           self.chosen_workspace_ids(), self.chosen_input_ids())

    def problems(self) -> dict[str, str]:
        """Field → why it cannot be created yet (empty when it can)."""
        found: dict[str, str] = {}
        problem = name_problem(self.name.text(), self._choices.taken_names)
        if problem is not None:
            found["name"] = problem
        if len(self.external_name.text().strip()) > MAX_NAME_LENGTH:
            found["external_name"] = f"External names are at most {MAX_NAME_LENGTH} characters."
        chosen = self.chosen_workspace_ids()
        if not self._choices.workspaces:
            found["workspaces"] = "There is no workspace yet: run `audience-studio demo` or import data first."
        elif self.scope() == "multi" and len(chosen) < 2:
            found["workspaces"] = f"Choose at least two workspaces ({len(chosen)} chosen)."
        return found

    # -- creating ------------------------------------------------------------------------------------

    def create(self) -> None:
        if self._creating or self.problems():
            self._on_changed()
            return
        request = self.request()
        home = self._home
        self._creating = True
        self._update_buttons()
        self._tasks.run(lambda: request.create(home), label="Creating the audience",
                        on_success=self._on_created, on_failure=self._on_create_failed)

    def _on_created(self, audience: AudienceInfo) -> None:
        self._creating = False
        self.created.emit(audience.id)
        self.accept()

    def _on_create_failed(self, exc: BaseException) -> None:
        self._creating = False
        self.create_problem.setText(failure_message(exc, "Creating the audience"))
        self.create_problem.setVisible(True)
        self._update_buttons()

    # -- showing -------------------------------------------------------------------------------------

    def _on_multi_toggled(self, multi: bool) -> None:
        if multi and not any(check.isChecked() for check in self.workspace_checks.values()):
            # Switched from single: the workspace chosen there is one of the several, with its ticked inputs.
            check = self.workspace_checks.get(self.workspace.currentData())
            if check is not None:
                check.blockSignals(True)
                check.setChecked(True)
                check.blockSignals(False)
            self._on_scope_changed()

    def _on_scope_changed(self, *_args) -> None:
        single = self.scope() == "single"
        self._form.setRowVisible(self.workspace, single)
        self._form.setRowVisible(self.workspace_box, not single)
        # Its problem (too few workspaces) is a multi-workspace one, unless there are none at all.
        self._form.setRowVisible(self._workspace_problem_room, not single or not self._choices.workspaces)
        self._show_inputs(self.chosen_workspace_ids())
        self._on_changed()

    def _show_inputs(self, workspace_ids: tuple[int, ...]) -> None:
        self._inputs_shown_for = workspace_ids
        while self.inputs_layout.count():
            widget = self.inputs_layout.takeAt(0).widget()
            if widget is not None and widget is not self._inputs_hint_room:
                widget.deleteLater()
        self.input_checks = {}
        chosen = [ws for ws in self._choices.workspaces if ws.id in set(workspace_ids)]
        for workspace in chosen:
            for item in workspace.inputs:
                where = f" · {workspace.name}" if len(chosen) > 1 else ""
                check = QCheckBox(literal(f"{item.name} ({item.kind}){where}"))
                check.setAccessibleName(f"Input {item.name} of {workspace.name}")
                check.setChecked(item.id in self._ticked_inputs)
                check.toggled.connect(lambda on, input_id=item.id: self._on_input_ticked(input_id, on))
                self.inputs_layout.addWidget(check)
                self.input_checks[item.id] = check
        self.inputs_layout.addWidget(self._inputs_hint_room)
        if not chosen:
            self.inputs_hint.setText("Choose the workspaces first.")
        elif not self.input_checks:
            self.inputs_hint.setText("The workspace has no platforms or feeds yet: all its data counts.")

    def _on_input_ticked(self, input_id: int, ticked: bool) -> None:
        (self._ticked_inputs.add if ticked else self._ticked_inputs.discard)(input_id)
        self._on_changed()

    def _on_changed(self, *_args) -> None:
        if self.chosen_workspace_ids() != self._inputs_shown_for:
            self._show_inputs(self.chosen_workspace_ids())
        name = self.name.text().strip()
        self.external_name.setPlaceholderText(name or "Same as the name")
        external = self.external_name.text().strip()
        self.external_hint.setText(
            f"Partners see “{external}”." if external else
            (f"Left empty, partners see the name: “{name}”." if name else "Left empty, partners see the name."))
        problems = self.problems()
        typed = bool(self.name.text())  # no complaint about an empty name before the user typed one
        self.name_problem.setText(problems.get("name", "") if typed else "")
        self.name_problem.setVisible(typed and "name" in problems)
        if "external_name" in problems:
            self.external_hint.setText(problems["external_name"])
        self.workspace_problem.setText(problems.get("workspaces", ""))
        self.workspace_problem.setVisible("workspaces" in problems)
        if self.input_checks:
            self.inputs_hint.setText("" if self.chosen_input_ids() else "None ticked: all of them count.")
            self.inputs_hint.setVisible(not self.chosen_input_ids())
        self.create_problem.setVisible(False)
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.create_button.setEnabled(not self._creating and not self.problems())
        self.create_button.setText("Creating…" if self._creating else "Create")


def open_new_audience_dialog(home: OpenHome, tasks: Tasks, parent: QWidget, on_created, *, scope: str = "single") -> None:
    """Read the workspaces and taken names in a worker, then show the dialog (modal to `parent`), starting on
    `scope` (the list's tab)."""

    def show(choices: NewAudienceChoices) -> None:
        dialog = NewAudienceDialog(home, tasks, choices, parent, scope=scope)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.created.connect(on_created)
        parent.new_audience_dialog = dialog  # for tests and for the window to find it
        # Let go of it (and the home it holds) once closed.
        dialog.finished.connect(lambda _result: setattr(parent, "new_audience_dialog", None))
        dialog.open()

    tasks.run(lambda: read_choices(home), label="Reading the workspaces", on_success=show)
