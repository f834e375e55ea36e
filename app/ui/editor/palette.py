"""The palette: every criteria type, grouped and searchable, to drag onto the canvas or add with Enter.

Its sections and entries are those declared in app/builder/criteria_types.py.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QMimeData, QModelIndex, QSize, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QKeyEvent, QPalette, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QLabel, QLineEdit, QTreeView, QVBoxLayout, QWidget

from app.builder import criteria_types
from app.ui.editor.mime import CRITERION_MIME, criterion_mime
from app.ui.kit.icons import themed_icon

#: The palette key of an entry (None on section headings).
KEY_ROLE = Qt.ItemDataRole.UserRole + 1
#: What the search box matches: label, section and description.
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 2

#: Each entry's icon (Material Design Icons names, app/ui/kit/icons.py), by palette key.
ENTRY_ICONS: dict[str, str] = {
    "custom_event": "gesture-tap", "session_start": "play-circle-outline", "screen_view": "cellphone-screenshot",
    "install": "download", "upgrade": "update", "uninstall": "delete-outline", "crash_report": "bug-outline",
    "session_end": "stop-circle-outline", "application_state_transition": "swap-horizontal",
    "push_registration": "bell-plus-outline", "push_message": "bell-ring-outline",
    "user_attribute_change": "account-edit-outline", "user_identity_change": "card-account-details-outline",
    "opt_out": "cancel",
    "add_to_cart": "cart-plus", "purchase": "shopping-outline", "purchase_revenue": "cash", "view_detail": "eye-outline",
    "checkout": "cart-check", "commerce_event": "storefront-outline", "cart_abandonment": "cart-remove",
    "user_attribute": "account-outline", "calculated_attribute": "calculator-variant-outline",
    "first_seen": "account-clock-outline",
    "device": "cellphone", "location": "map-marker-outline", "location_near": "map-marker-radius-outline",
    "identity": "card-account-details-outline", "consent_gdpr": "shield-check-outline",
    "consent_ccpa": "shield-account-outline",
    "attribution_event": "bullhorn-outline", "install_attribution": "download-network-outline",
    "uninstall_attribution": "download-off-outline",
    "audience_membership": "account-group-outline", "group": "code-parentheses",
}
#: The icon of an entry not in ENTRY_ICONS (a type added later): its section's.
SECTION_ICONS: dict[str, str] = {
    "Events": "flash-outline", "Ecommerce": "storefront-outline", "Users": "account-outline",
    "Devices & location": "cellphone", "Identities & consent": "shield-check-outline",
    "Attribution": "bullhorn-outline", "Audiences": "account-group-outline", "Structure": "code-parentheses",
}


def entry_icon_name(key: str, section: str) -> str:
    """The icon name of the palette entry `key` of `section`."""
    return ENTRY_ICONS.get(key) or SECTION_ICONS.get(section, "flash-outline")


class PaletteModel(QStandardItemModel):
    """Sections with their criteria types; entries drag as CRITERION_MIME."""

    def __init__(self, parent=None, palette: QPalette | None = None) -> None:
        super().__init__(parent)
        for section, entries in criteria_types.sections():
            heading = QStandardItem(section)
            heading.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = heading.font()
            font.setBold(True)
            heading.setFont(font)
            heading.setData(section, SEARCH_ROLE)
            heading.setAccessibleText(section)
            for entry in entries:
                item = QStandardItem(entry.label)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled)
                item.setToolTip(f"{entry.tooltip}.\nDrag onto the canvas, or press Enter to add it to the selected group.")
                item.setData(entry.key, KEY_ROLE)
                item.setIcon(themed_icon(entry_icon_name(entry.key, section), palette))
                item.setData(f"{entry.label} {section} {entry.tooltip}", SEARCH_ROLE)
                heading.appendRow(item)
            self.appendRow(heading)

    def retheme(self, palette: QPalette) -> None:
        """Draw the entries' icons again in `palette`'s colours (after a switch between light and dark)."""
        for row in range(self.rowCount()):
            heading = self.item(row)
            for child in range(heading.rowCount()):
                item = heading.child(child)
                item.setIcon(themed_icon(entry_icon_name(item.data(KEY_ROLE), heading.text()), palette))

    def mimeTypes(self) -> list[str]:
        return [CRITERION_MIME]

    def mimeData(self, indexes) -> QMimeData:
        keys = [index.data(KEY_ROLE) for index in indexes if index.data(KEY_ROLE)]
        return criterion_mime(keys[0]) if keys else QMimeData()


class _PaletteTree(QTreeView):
    """Enter adds the chosen type; the search box hands Down over to here."""

    chosen = Signal(str)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().data(KEY_ROLE):
            self.chosen.emit(self.currentIndex().data(KEY_ROLE))
            return
        super().keyPressEvent(event)


class CriteriaPalette(QWidget):
    """A filterable tree of the criteria types."""

    #: the user double-clicked a type or pressed Enter on it: (palette key)
    criterion_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Criteria palette")
        self.model = PaletteModel(self, self.palette())
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterRole(SEARCH_ROLE)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setRecursiveFilteringEnabled(True)

        self.search = QLineEdit(placeholderText="Find a criterion")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Find a criterion")
        self.search.setToolTip("Show only the criteria types whose name or description contains this text")
        self.search.textChanged.connect(self._on_search)
        self.search.returnPressed.connect(self._on_search_return)

        self.tree = _PaletteTree()
        self.tree.setModel(self.proxy)
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(False)
        self.tree.setIndentation(10)
        self.tree.setUniformRowHeights(True)
        self.tree.setIconSize(QSize(16, 16))
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setAccessibleName("Criteria types")
        self.tree.setExpandsOnDoubleClick(False)
        self.tree.expandAll()
        self.tree.doubleClicked.connect(self._on_activated)
        self.tree.chosen.connect(self.criterion_chosen)

        hint = QLabel("Drag onto the canvas, or double-click to add")
        hint.setWordWrap(True)
        hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 10, 4, 8)
        layout.setSpacing(6)
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)
        layout.addWidget(hint)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self.model.retheme(self.palette())
        super().changeEvent(event)

    def keys_shown(self) -> list[str]:
        """The palette keys the search leaves visible, in order."""
        keys = []
        for row in range(self.proxy.rowCount()):
            section = self.proxy.index(row, 0)
            for child in range(self.proxy.rowCount(section)):
                keys.append(self.proxy.index(child, 0, section).data(KEY_ROLE))
        return keys

    def _on_search(self, text: str) -> None:
        self.proxy.setFilterFixedString(text.strip())
        self.tree.expandAll()
        keys = self.keys_shown()
        if keys and text.strip():
            self._select(keys[0])

    def _select(self, key: str) -> None:
        for row in range(self.proxy.rowCount()):
            section = self.proxy.index(row, 0)
            for child in range(self.proxy.rowCount(section)):
                index = self.proxy.index(child, 0, section)
                if index.data(KEY_ROLE) == key:
                    self.tree.setCurrentIndex(index)
                    return

    def _on_search_return(self) -> None:
        key = self.tree.currentIndex().data(KEY_ROLE)
        if key:
            self.criterion_chosen.emit(key)

    def _on_activated(self, index: QModelIndex) -> None:
        key = index.data(KEY_ROLE)
        if key:
            self.criterion_chosen.emit(key)
