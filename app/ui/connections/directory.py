"""The partner directory: every kind of output, filterable by name, category, authentication and identity type."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QTreeView,
    QVBoxLayout,
    QWidget,
)


PARTNER_KEY_ROLE = Qt.ItemDataRole.UserRole + 1


class PartnerDirectory(QWidget):
    """Filters above a list of partners; double-click (or Enter) asks for a new output of that partner."""

    #: fires when the admin asks for a new output of the partner (its key)
    new_output_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search = QLineEdit(placeholderText="Filter partners")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Filter partners by name")
        self.category = self._combo("Any category")
        self.auth = self._combo("Any sign-in")
        self.identity_type = self._combo("Any identity type")
        self._filled = False
        self.model = QStandardItemModel(0, 3, self)
        self.model.setHorizontalHeaderLabels(["Partner", "Category", "Sign-in"])
        self.view = QTreeView()
        self.view.setAccessibleName("Partners")
        self.view.setModel(self.model)
        self.view.setRootIsDecorated(False)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.activated.connect(self._on_activated)
        # The category and sign-in fit their words and the name takes the rest: no sideways scrolling in
        # the narrow column the pane gives the directory (a long name is elided; its tooltip says it whole).
        header = self.view.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        # Never narrower than the "Partner" header: a narrower pane scrolls sideways instead of cutting it.
        header.setMinimumSectionSize(header.sectionSizeHint(0))

        combos = QHBoxLayout()
        combos.addWidget(self.category)
        combos.addWidget(self.auth)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.search)
        layout.addLayout(combos)
        layout.addWidget(self.identity_type)
        layout.addWidget(self.view, 1)

    @staticmethod
    def _combo(anything: str) -> QComboBox:
        combo = QComboBox()
        combo.addItem(anything, None)
        return combo

    def showEvent(self, event) -> None:
        # Filled when first shown: the partners' modules pull in HTTP libraries the window's start need not wait for.
        self.fill()
        super().showEvent(event)

    def fill(self) -> None:
        """Fill the filters and the list, once."""
        if self._filled:
            return
        self._filled = True
        from app.connectors.outputs.directory import categories
        from app.connectors.outputs.identities import IDENTITY_LABELS
        from app.connectors.outputs.partner import AUTH_KINDS, AUTH_LABELS

        for combo, items in ((self.category, [(c, c) for c in categories()]),
                             (self.auth, [(k, AUTH_LABELS[k]) for k in AUTH_KINDS]),
                             (self.identity_type, list(IDENTITY_LABELS.items()))):
            for key, label in items:
                combo.addItem(label, key)
        self.search.textChanged.connect(self.refresh)
        for combo in (self.category, self.auth, self.identity_type):
            combo.currentIndexChanged.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        """Show the partners matching every filter (the directory is in memory: no worker needed)."""
        from app.connectors.outputs.directory import find_partners
        from app.connectors.outputs.identities import IDENTITY_LABELS
        from app.connectors.outputs.partner import AUTH_LABELS

        self.model.removeRows(0, self.model.rowCount())
        for found in find_partners(name=self.search.text().strip() or None, category=self.category.currentData(),
                                   auth=self.auth.currentData(), identity_type=self.identity_type.currentData()):
            name = QStandardItem(found.name)
            name.setData(found.key, PARTNER_KEY_ROLE)
            accepts = ", ".join(IDENTITY_LABELS.get(t, t) for t in found.identity_types)
            name.setToolTip(f"{found.name}: {found.description}\n\nAccepts: {accepts}")
            self.model.appendRow([name, QStandardItem(found.category), QStandardItem(AUTH_LABELS[found.auth])])

    def partner_keys(self) -> list[str]:
        return [self.model.item(row, 0).data(PARTNER_KEY_ROLE) for row in range(self.model.rowCount())]

    def current_key(self) -> str | None:
        index = self.view.currentIndex()
        return self.model.item(index.row(), 0).data(PARTNER_KEY_ROLE) if index.isValid() else None

    def _on_activated(self, index) -> None:
        self.new_output_requested.emit(self.model.item(index.row(), 0).data(PARTNER_KEY_ROLE))
