"""What the audience table shows of the model: one scope (the tab), names containing the search, all chosen tags."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel

from app.ui.audiences.model import AUDIENCE_ROLE, SORT_ROLE, Column


class AudienceFilter(QSortFilterProxyModel):
    """Sorts by SORT_ROLE; hides audiences of the other scope, not matching the search, or lacking a chosen tag."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self._scope: str | None = None
        self._search = ""
        self._tags: frozenset[str] = frozenset()

    # -- what to show ------------------------------------------------------------------------------

    @property
    def scope(self) -> str | None:
        return self._scope

    @property
    def search(self) -> str:
        return self._search

    @property
    def tags(self) -> frozenset[str]:
        return self._tags

    def set_scope(self, scope: str | None) -> None:
        """"single" or "multi" (the tabs); None shows both."""
        if scope != self._scope:
            self.beginFilterChange()
            self._scope = scope
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_search(self, text: str) -> None:
        text = text.strip().casefold()
        if text != self._search:
            self.beginFilterChange()
            self._search = text
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_tags(self, tags: Iterable[str]) -> None:
        """Show only audiences having every one of these tags (none: no tag filter)."""
        tags = frozenset(tags)
        if tags != self._tags:
            self.beginFilterChange()
            self._tags = tags
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def is_filtering(self) -> bool:
        """Whether the search or the tags hide anything (the scope is a tab, not a filter)."""
        return bool(self._search or self._tags)

    def count_in_scope(self, scope: str) -> int:
        """Audiences of `scope` that the search and tags let through (for the tab titles)."""
        source = self.sourceModel()
        return sum(1 for row in range(source.rowCount()) if self._accepts(source.audience(row), scope))

    # -- QSortFilterProxyModel ---------------------------------------------------------------------

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        audience = self.sourceModel().index(source_row, Column.NAME, source_parent).data(AUDIENCE_ROLE)
        return audience is not None and self._accepts(audience, self._scope)

    def _accepts(self, audience, scope: str | None) -> bool:
        if scope is not None and audience.scope != scope:
            return False
        # casefold, like the store's own search: "STRASSE" finds "Straße".
        if self._search and self._search not in audience.name.casefold():
            return False
        return self._tags.issubset(audience.tags)

    def lessThan(self, left, right) -> bool:
        a, b = left.data(SORT_ROLE), right.data(SORT_ROLE)
        if a == b:
            # Ties (same size, same status) keep a stable, readable order: by name.
            a = left.siblingAtColumn(Column.NAME).data(SORT_ROLE)
            b = right.siblingAtColumn(Column.NAME).data(SORT_ROLE)
        try:
            return a < b
        except TypeError:
            return str(a) < str(b)


def scope_of_tab(index: int) -> str:
    return ("single", "multi")[index]


TAB_TITLES = ("Single Workspace", "Multi Workspace")
TAB_TOOLTIPS = (
    "Audiences built on one workspace's data",
    "Audiences that combine the data of two or more workspaces",
)
