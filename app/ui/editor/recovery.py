"""Offering autosaved drafts back after a crash or kill: restore them into editors, or discard them."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from app.models.services.autosave import Autosave
from app.ui.audiences.model import local_time


class RecoverDraftsDialog(QDialog):
    """Lists the drafts that were not saved; the ticked ones are restored or discarded."""

    #: the user chose to restore these drafts (a list of Autosave)
    restore_requested = Signal(list)
    #: the user chose to throw these drafts away (a list of Autosave)
    discard_requested = Signal(list)

    def __init__(self, autosaves: list[Autosave], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Unsaved drafts")
        self.setAccessibleName("Unsaved drafts")
        self.autosaves = autosaves
        count = len(autosaves)
        intro = QLabel(f"Audience Studio closed before {'this draft was' if count == 1 else 'these drafts were'} "
                       "saved. Restore to keep editing, or discard to keep the audiences as they were last saved.")
        intro.setWordWrap(True)
        self.list = QListWidget()
        self.list.setAccessibleName("Drafts")
        for autosave in autosaves:
            name = autosave.draft.name
            renamed = f" (was “{autosave.audience_name}”)" if autosave.audience_name and autosave.audience_name != name else ""
            item = QListWidgetItem(f"{name}{renamed} — edited {local_time(autosave.saved_at)}")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            item.setToolTip(str(autosave.path))
            self.list.addItem(item)
        buttons = QDialogButtonBox()
        self.restore_button = buttons.addButton("Restore", QDialogButtonBox.ButtonRole.AcceptRole)
        self.restore_button.setToolTip("Open the ticked drafts in the builder, with their changes unsaved")
        self.discard_button = buttons.addButton("Discard", QDialogButtonBox.ButtonRole.DestructiveRole)
        self.discard_button.setToolTip("Throw the ticked drafts away")
        self.later_button = buttons.addButton("Decide Later", QDialogButtonBox.ButtonRole.RejectRole)
        self.later_button.setToolTip("Keep the drafts; they are offered again next time")
        self.restore_button.clicked.connect(self._on_restore)
        self.discard_button.clicked.connect(self._on_discard)
        self.later_button.clicked.connect(self.reject)
        self.restore_button.setDefault(True)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.list)
        layout.addWidget(buttons)
        self.resize(520, 300)

    def chosen(self) -> list[Autosave]:
        return [a for row, a in enumerate(self.autosaves) if self.list.item(row).checkState() == Qt.CheckState.Checked]

    def _on_restore(self) -> None:
        self.restore_requested.emit(self.chosen())
        self.accept()

    def _on_discard(self) -> None:
        self.discard_requested.emit(self.chosen())
        self.accept()
