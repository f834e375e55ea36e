"""A form generated from a partner's declared fields: typed inputs, and each field's problem shown under it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.connectors.outputs.identities import IDENTITY_LABELS
from app.connectors.outputs.settings import Field


class _Input(QWidget):
    """One field's editor, its help and its problem (red, hidden while there is none)."""

    def __init__(self, field: Field, value: Any, *, secret_present: bool = False) -> None:
        super().__init__()
        self.field = field
        self._checks: dict[str, QCheckBox] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.editor = self._make_editor(field, value, secret_present)
        layout.addWidget(self.editor)
        # The choices' help repeats the boxes' labels; the boxes say it better.
        if field.help and field.kind != "choices":
            help_label = QLabel(field.help)
            help_label.setWordWrap(True)
            help_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
            layout.addWidget(help_label)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #c62828;")
        self.problem.setVisible(False)
        layout.addWidget(self.problem)

    def _make_editor(self, field: Field, value: Any, secret_present: bool) -> QWidget:
        if field.kind == "choice":
            editor = QComboBox()
            if not field.required:
                editor.addItem("", "")
            for choice in field.choices:
                editor.addItem(choice, choice)
            current = value if value is not None else field.default
            if current is not None:
                editor.setCurrentIndex(max(0, editor.findData(current)))
            return editor
        if field.kind == "choices":
            box = QWidget()
            grid = QGridLayout(box)
            grid.setContentsMargins(0, 0, 0, 0)
            grid.setVerticalSpacing(2)
            chosen = set(value if value is not None else (field.default or ()))
            for position, choice in enumerate(field.choices):
                check = QCheckBox(IDENTITY_LABELS.get(choice, choice))
                check.setChecked(choice in chosen)
                self._checks[choice] = check
                # Two columns: a partner may accept a dozen identity types.
                grid.addWidget(check, position // 2, position % 2)
            return box
        if field.kind == "boolean":
            check = QCheckBox()
            check.setChecked(bool(value if value is not None else field.default))
            return check
        if field.kind == "integer":
            spin = QSpinBox()
            spin.setRange(field.minimum if field.minimum is not None else -2**31,
                          field.maximum if field.maximum is not None else 2**31 - 1)
            spin.setValue(int(value if value is not None else (field.default or 0)))
            return spin
        edit = QLineEdit()
        if field.kind == "secret":
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            # Secrets are never read back from the keyring into the window: only whether one is stored.
            edit.setPlaceholderText("Stored in the keyring; type to replace" if secret_present
                                    else ("Required" if field.required else "Optional"))
        else:
            # A partner's preset (e.g. its sign-in URLs) is shown filled in, for the admin to see and change.
            shown = value if value is not None else field.default
            edit.setText("" if shown is None else str(shown))
            if field.kind == "url":
                edit.setPlaceholderText("https://…")
            elif field.kind == "folder":
                edit.setPlaceholderText("/an/absolute/folder")
            if isinstance(field.default, str):
                # Left empty, the field takes its default (a partner's preset endpoint or scopes): show it.
                edit.setPlaceholderText(field.default)
        return edit

    def value(self) -> Any:
        editor = self.editor
        if self.field.kind == "choices":
            return [key for key, check in self._checks.items() if check.isChecked()]
        if isinstance(editor, QComboBox):
            return editor.currentData()
        if isinstance(editor, QCheckBox):
            return editor.isChecked()
        if isinstance(editor, QSpinBox):
            return editor.value()
        return editor.text()

    def set_value(self, value: Any) -> None:
        """Fill the input as a user would (tests and defaults)."""
        editor = self.editor
        if self.field.kind == "choices":
            for key, check in self._checks.items():
                check.setChecked(key in value)
        elif isinstance(editor, QComboBox):
            editor.setCurrentIndex(editor.findData(value))
        elif isinstance(editor, QCheckBox):
            editor.setChecked(bool(value))
        elif isinstance(editor, QSpinBox):
            editor.setValue(int(value))
        else:
            editor.setText(str(value))

    def show_problem(self, message: str | None) -> None:
        self.problem.setText(message or "")
        self.problem.setVisible(bool(message))


class FieldsForm(QWidget):
    """Inputs for `fields`, filled from `values`; `values()` reads them back for the service to check."""

    def __init__(self, fields: Sequence[Field], values: Mapping[str, Any] | None = None, *,
                 secrets_present: Mapping[str, bool] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.inputs: dict[str, _Input] = {}
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for field in fields:
            widget = _Input(field, (values or {}).get(field.key),
                            secret_present=bool((secrets_present or {}).get(field.key)))
            self.inputs[field.key] = widget
            label = QLabel(field.label + ("" if not field.required or field.default is not None else " *"))
            label.setBuddy(widget.editor)
            layout.addRow(label, widget)

    def values(self) -> dict[str, Any]:
        return {key: widget.value() for key, widget in self.inputs.items()}

    def show_problems(self, problems: Mapping[str, str]) -> list[str]:
        """Show each problem under its field; the problems no field here owns, to be shown elsewhere."""
        for key, widget in self.inputs.items():
            widget.show_problem(problems.get(key))
        return [f"{key}: {message}" for key, message in problems.items() if key not in self.inputs]
