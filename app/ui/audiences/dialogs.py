"""Small dialogs of the audience list: rename an audience, add a tag; both say what is wrong as you type."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.models.services.audiences import MAX_NAME_LENGTH, MAX_TAG_LENGTH

TAG_LIMIT_REASON = f"Tags are at most {MAX_TAG_LENGTH} characters, so they fit in lists and filters."


def name_problem(name: str, taken: Iterable[str], *, current: str | None = None) -> str | None:
    """Why `name` cannot be an audience's name (None when it can), in the words the store would use."""
    cleaned = name.strip()
    if not cleaned:
        return "An audience needs a name."
    if len(cleaned) > MAX_NAME_LENGTH:
        return f"The name is {len(cleaned)} characters; names are at most {MAX_NAME_LENGTH} characters."
    if current is not None and cleaned.casefold() == current.casefold():
        return None
    for other in taken:
        if other.casefold() == cleaned.casefold():
            return f"“{other}” already exists (names are unique, ignoring case)."
    return None


def tag_problem(tag: str) -> str | None:
    cleaned = tag.strip()
    if not cleaned:
        return "Type a tag."
    if len(cleaned) > MAX_TAG_LENGTH:
        return f"“{cleaned[:MAX_TAG_LENGTH]}…” is {len(cleaned)} characters. {TAG_LIMIT_REASON}"
    return None


class _CheckedLineDialog(QDialog):
    """One line edit, a hint under it that explains a refusal, OK enabled only when the text is acceptable."""

    def __init__(self, title: str, label: str, text: str, problem: Callable[[str], str | None],
                 hint: str | Callable[[str], str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self._problem = problem
        self._hint_text = hint
        self.field = QLineEdit(text)
        self.field.setAccessibleName(label)
        self.field.selectAll()
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setAccessibleName("Problem")
        self.hint.setMinimumWidth(320)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow(label, self.field)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.hint)
        layout.addWidget(self.buttons)
        self.field.textChanged.connect(self._check)
        self._check(text)

    def text(self) -> str:
        return self.field.text().strip()

    def problem(self) -> str | None:
        return self._problem(self.field.text())

    def _check(self, text: str) -> None:
        problem = self._problem(text)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(problem is None)
        hint = self._hint_text(text) if callable(self._hint_text) else self._hint_text
        self.hint.setText(problem or hint)
        # A refusal reads in the normal text colour; the plain hint is quieter.
        self.hint.setForegroundRole(QPalette.ColorRole.WindowText if problem else QPalette.ColorRole.PlaceholderText)

    def accept(self) -> None:
        if self.problem() is None:
            super().accept()


class RenameDialog(_CheckedLineDialog):
    """Asks for an audience's new name; refuses an empty, too long or taken one before anything is written."""

    def __init__(self, current: str, taken: Iterable[str], parent: QWidget | None = None) -> None:
        others = [name for name in taken if name != current]
        super().__init__(
            f"Rename “{current}”", "New name", current,
            lambda text: name_problem(text, others, current=current),
            f"Unique among the audiences, at most {MAX_NAME_LENGTH} characters.", parent,
        )


class AddTagDialog(_CheckedLineDialog):
    """Asks for a tag to add (completing from the tags in use); explains the 18-character limit."""

    def __init__(self, audience_names: list[str], known_tags: Iterable[str], parent: QWidget | None = None) -> None:
        what = f"“{audience_names[0]}”" if len(audience_names) == 1 else f"{len(audience_names)} audiences"
        super().__init__(
            f"Add a tag to {what}", "Tag", "", tag_problem,
            lambda text: f"{len(text.strip())}/{MAX_TAG_LENGTH} characters. {TAG_LIMIT_REASON}", parent,
        )
        completer = QCompleter(sorted(set(known_tags), key=str.casefold), self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.field.setCompleter(completer)
        self.field.setToolTip(TAG_LIMIT_REASON)
