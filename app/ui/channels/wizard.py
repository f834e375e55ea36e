"""The step-by-step set-up of a channel that needs configuration (e.g. DSP Taxonomy API).

One page per step of the channel's directory entry. A page is complete only when the model's pure
`check_step` accepts its values, so Next (and Finish) stay disabled until then, and the problem is shown
under the fields, naming the field. Finishing stores the configuration through `tasks.run` (the service
checks every step again); a refusal is shown on the last page and the wizard stays open.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from app.errors import InvalidInput
from app.models.services.channels import (
    Channel,
    ChannelService,
    ChannelState,
    SetupField,
    check_step,
)
from app.ui.workers import Tasks, failure_message

ERROR_STYLE = "color: #c62828;"


class StepPage(QWizardPage):
    """One set-up step: its fields, and the step's problem below them while there is one."""

    def __init__(self, channel: Channel, index: int, initial: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.channel = channel
        self.index = index
        step = channel.steps[index]
        self.setTitle(f"Step {index + 1} of {len(channel.steps)}: {step.title}")
        self.setSubTitle(step.explanation)
        self.inputs: dict[str, QLineEdit | QComboBox | QCheckBox] = {}
        form = QFormLayout()
        for f in step.fields:
            widget = self._input(f, initial.get(f.key))
            self.inputs[f.key] = widget
            if f.kind == "confirm":
                form.addRow(widget)
            else:
                form.addRow(f"{f.label}:", widget)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(ERROR_STYLE)
        self.problem.setAccessibleName(f"{step.title} problem")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addStretch(1)
        self._touched = any(initial.get(f.key) for f in step.fields)
        self._refresh()

    def _input(self, f: SetupField, value: Any) -> QLineEdit | QComboBox | QCheckBox:
        if f.kind == "confirm":
            box = QCheckBox(f.label)
            box.setChecked(value is True)
            box.toggled.connect(self._edited)
            widget: QLineEdit | QComboBox | QCheckBox = box
        elif f.kind == "choice":
            combo = QComboBox()
            combo.addItem("Choose…", None)
            for choice in f.choices:
                combo.addItem(choice, choice)
            combo.setCurrentIndex(max(0, combo.findData(value)))
            combo.currentIndexChanged.connect(self._edited)
            widget = combo
        else:
            line = QLineEdit(str(value or ""))
            line.setPlaceholderText(f.placeholder)
            line.setMinimumWidth(320)
            line.textChanged.connect(self._edited)
            widget = line
        widget.setAccessibleName(f.label)
        if f.help:
            widget.setToolTip(f.help)
        return widget

    def values(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, widget in self.inputs.items():
            if isinstance(widget, QCheckBox):
                result[key] = widget.isChecked()
            elif isinstance(widget, QComboBox):
                result[key] = widget.currentData()
            else:
                result[key] = widget.text()
        return result

    def problem_text(self) -> str:
        """What is wrong with the step ("" when it is valid)."""
        try:
            check_step(self.channel.key, self.index, self.values())
        except InvalidInput as exc:
            return str(exc)
        return ""

    def _edited(self, *_args: object) -> None:
        self._touched = True
        self._refresh()

    def _refresh(self) -> None:
        # An untouched step shows no complaint yet; Next is disabled all the same.
        problem = self.problem_text()
        self.problem.setText(problem if self._touched else "")
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return not self.problem_text()

    def validatePage(self) -> bool:
        problem = self.problem_text()
        self._touched = True
        self.problem.setText(problem)
        return not problem


class ChannelSetupWizard(QWizard):
    """See the module docstring. `configured` fires with the stored ChannelState after Finish succeeded."""

    configured = Signal(object)

    def __init__(self, service: ChannelService, tasks: Tasks, state: ChannelState,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.tasks = tasks
        self.channel = state.channel
        self.setWindowTitle(f"Set Up {self.channel.name}")
        self.setAccessibleName(f"Set up {self.channel.name}")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setButtonText(QWizard.WizardButton.FinishButton, "&Finish and Switch On")
        self.step_pages = [StepPage(self.channel, i, state.settings) for i in range(len(self.channel.steps))]
        for page in self.step_pages:
            self.addPage(page)
        self._busy = False
        self.resize(560, 360)

    def values(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for page in self.step_pages:
            merged.update(page.values())
        return merged

    def accept(self) -> None:
        if self._busy:
            return
        self._busy = True
        self.button(QWizard.WizardButton.FinishButton).setEnabled(False)
        service, key, values = self.service, self.channel.key, self.values()
        self.tasks.run(lambda: service.configure(key, values), label=f"Setting up {self.channel.name}",
                       on_success=self._on_configured, on_failure=self._on_failed)

    def _on_configured(self, state: ChannelState) -> None:
        self._busy = False
        self.configured.emit(state)
        super().accept()

    def _on_failed(self, exc: BaseException) -> None:
        self._busy = False
        self.button(QWizard.WizardButton.FinishButton).setEnabled(True)
        self.step_pages[-1].problem.setText(failure_message(exc, f"Setting up {self.channel.name}"))
