"""The New Standard Audience dialog: name, workspace, date range (all available data, or start and end, inclusive,
UTC) and inputs; Create makes the draft and the pane opens it in the same builder as real-time audiences.

What it offers (workspaces, names taken, each workspace's cached days) is read in a worker before it
opens; Create runs in a worker too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDateEdit,
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

from app.models.services.audiences import MAX_NAME_LENGTH
from app.models.services.standard_audiences import StandardInfo
from app.engines.standard_calculation import StandardAudiences
from app.models.services.workspaces import WorkspaceInfo
from app.ui.audiences.dialogs import name_problem
from app.ui.mnemonics import literal
from app.ui.workers import Tasks, failure_message
from app.ui.kit.dialogs import keep_whole


@dataclass(frozen=True)
class StandardChoices:
    workspaces: tuple[WorkspaceInfo, ...]
    taken_names: tuple[str, ...]
    #: workspace id → (first, last) day with events in the cache; missing when it has none
    data_ranges: dict[int, tuple[dt.date, dt.date]]


def read_choices(service: StandardAudiences) -> StandardChoices:
    home = service.home
    workspaces = tuple(home.workspaces.list())
    ranges = {}
    for workspace in workspaces:
        found = service.data_range(workspace.id)
        if found is not None:
            ranges[workspace.id] = found
    return StandardChoices(workspaces, tuple(a.name for a in home.audiences.list()), ranges)


def _qdate(day: dt.date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _date(value: QDate) -> dt.date:
    return dt.date(value.year(), value.month(), value.day())


def _hint() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    return label


class NewStandardAudienceDialog(QDialog):
    """Asks for a standard draft's name, workspace, date range and inputs; creates it in the background."""

    #: fires after the draft was created (its audience id); the dialog then closes
    created = Signal(int)

    def __init__(self, service: StandardAudiences, tasks: Tasks, choices: StandardChoices,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New Standard Audience")
        self.setAccessibleName("New standard audience")
        self._service, self._tasks, self._choices = service, tasks, choices
        self._creating = False

        self.name = QLineEdit()
        self.name.setAccessibleName("Name")
        self.name.setPlaceholderText("e.g. Bought in 2024")
        self.name.setToolTip(f"Unique among all audiences, at most {MAX_NAME_LENGTH} characters")
        self.name_problem = QLabel()
        self.name_problem.setWordWrap(True)
        self.name_problem.setVisible(False)

        self.workspace = QComboBox()
        self.workspace.setAccessibleName("Workspace")
        self.workspace.setToolTip("A standard audience reads one workspace, which pays its calculation credits")
        for workspace in choices.workspaces:
            self.workspace.addItem(workspace.name, workspace.id)

        self.all_data = QRadioButton("All available data")
        self.all_data.setToolTip("Every day the cache holds for the workspace when the audience is calculated")
        self.between = QRadioButton("From")
        self.between.setToolTip("Only events from the start day to the end day, both included (UTC)")
        group = QButtonGroup(self)
        group.addButton(self.all_data)
        group.addButton(self.between)
        self.all_data.setChecked(True)
        today = dt.datetime.now(dt.timezone.utc).date()
        self.start = QDateEdit(_qdate(today.replace(month=1, day=1)))
        self.end = QDateEdit(_qdate(today))
        for edit, label in ((self.start, "Start date"), (self.end, "End date")):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setAccessibleName(label)
            edit.setEnabled(False)
        between_row = QHBoxLayout()
        between_row.addWidget(self.between)
        between_row.addWidget(self.start)
        between_row.addWidget(QLabel("to"))
        between_row.addWidget(self.end)
        between_row.addWidget(QLabel("(inclusive, UTC)"))
        between_row.addStretch(1)
        range_box = QVBoxLayout()
        range_box.addWidget(self.all_data)
        range_box.addLayout(between_row)
        self.range_hint = _hint()
        self.range_hint.setAccessibleName("Date range hint")
        range_box.addWidget(self.range_hint)

        self.inputs_group = QGroupBox("Inputs")
        self.inputs_group.setToolTip("Only events from the ticked platforms and feeds count; none ticked means all")
        self.inputs_layout = QVBoxLayout(self.inputs_group)
        self.input_checks: dict[int, QCheckBox] = {}

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("&Name", self.name)
        form.addRow("", self.name_problem)
        form.addRow("&Workspace", self.workspace)
        form.addRow("Date range", range_box)

        self.create_problem = QLabel()
        self.create_problem.setWordWrap(True)
        self.create_problem.setVisible(False)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.create_button = self.buttons.addButton("Create", QDialogButtonBox.ButtonRole.AcceptRole)
        self.create_button.setDefault(True)
        self.create_button.setToolTip("Create the draft and open it in the builder; nothing is spent until Calculate")
        self.buttons.accepted.connect(self.create)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.inputs_group)
        layout.addWidget(self.create_problem)
        layout.addWidget(self.buttons)
        keep_whole(self, 520)

        self.name.textChanged.connect(self._on_changed)
        self.all_data.toggled.connect(self._on_changed)
        self.start.dateChanged.connect(self._on_changed)
        self.end.dateChanged.connect(self._on_changed)
        self.workspace.currentIndexChanged.connect(self._on_workspace_changed)
        self._on_workspace_changed()

    # -- what was asked -------------------------------------------------------------------------

    def date_range(self) -> tuple[dt.date | None, dt.date | None]:
        if self.all_data.isChecked():
            return None, None
        return _date(self.start.date()), _date(self.end.date())

    def problems(self) -> dict[str, str]:
        found = {}
        problem = name_problem(self.name.text(), self._choices.taken_names)
        if problem is not None:
            found["name"] = problem
        if not self._choices.workspaces:
            found["workspace"] = "There is no workspace yet: run `audience-studio demo` or import data first."
        start, end = self.date_range()
        if start is not None and start > end:
            found["range"] = "The end date is before the start date."
        return found

    # -- creating -------------------------------------------------------------------------------

    def create(self) -> None:
        if self._creating or self.problems():
            self._on_changed()
            return
        name, workspace_id = self.name.text().strip(), self.workspace.currentData()
        start, end = self.date_range()
        inputs = [i for i, check in self.input_checks.items() if check.isChecked()]
        service = self._service
        self._creating = True
        self._update_button()
        self._tasks.run(lambda: service.create(name, workspace_id=workspace_id, start=start, end=end, input_ids=inputs),
                        label="Creating the standard audience", on_success=self._on_created,
                        on_failure=self._on_create_failed)

    def _on_created(self, info: StandardInfo) -> None:
        self._creating = False
        self.created.emit(info.id)
        self.accept()

    def _on_create_failed(self, exc: BaseException) -> None:
        self._creating = False
        self.create_problem.setText(failure_message(exc, "Creating the standard audience"))
        self.create_problem.setVisible(True)
        self._update_button()

    # -- showing --------------------------------------------------------------------------------

    def _on_workspace_changed(self, *_args) -> None:
        while self.inputs_layout.count():
            widget = self.inputs_layout.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        self.input_checks = {}
        workspace = next((w for w in self._choices.workspaces if w.id == self.workspace.currentData()), None)
        for item in workspace.inputs if workspace else ():
            check = QCheckBox(literal(f"{item.name} ({item.kind})"))
            check.setAccessibleName(f"Input {item.name}")
            self.inputs_layout.addWidget(check)
            self.input_checks[item.id] = check
        if not self.input_checks:
            self.inputs_layout.addWidget(_hint())
            self.inputs_layout.itemAt(0).widget().setText("The workspace has no platforms or feeds yet: all its data counts.")
        cached = self._choices.data_ranges.get(workspace.id) if workspace else None
        if cached is not None and self.all_data.isChecked():
            # A sensible default for "From": the cached days, so switching shows what there is.
            self.start.setDate(_qdate(cached[0]))
            self.end.setDate(_qdate(cached[1]))
        self._on_changed()

    def _on_changed(self, *_args) -> None:
        between = self.between.isChecked()
        self.start.setEnabled(between)
        self.end.setEnabled(between)
        problems = self.problems()
        typed = bool(self.name.text())
        self.name_problem.setText(problems.get("name", "") if typed else "")
        self.name_problem.setVisible(typed and "name" in problems)
        cached = self._choices.data_ranges.get(self.workspace.currentData())
        if "range" in problems:
            self.range_hint.setText(problems["range"])
        elif "workspace" in problems:
            self.range_hint.setText(problems["workspace"])
        elif cached is None:
            self.range_hint.setText("The cache holds no events of this workspace yet: sync or import before calculating.")
        else:
            self.range_hint.setText(f"The cache holds events from {cached[0]:%d %b %Y} to {cached[1]:%d %b %Y}. "
                                    "Every 365 days scanned costs a credit when the audience is calculated.")
        self.create_problem.setVisible(False)
        self._update_button()

    def _update_button(self) -> None:
        self.create_button.setEnabled(not self._creating and not self.problems())
        self.create_button.setText("Creating…" if self._creating else "Create")


def open_new_standard_dialog(service: StandardAudiences, tasks: Tasks, parent: QWidget, on_created) -> None:
    """Read what the dialog offers in a worker, then show it (modal to `parent`)."""

    def show(choices: StandardChoices) -> None:
        dialog = NewStandardAudienceDialog(service, tasks, choices, parent)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.created.connect(on_created)
        parent.new_dialog = dialog  # for tests
        dialog.finished.connect(lambda _result: setattr(parent, "new_dialog", None))
        dialog.open()

    tasks.run(lambda: read_choices(service), label="Reading the workspaces", on_success=show)
