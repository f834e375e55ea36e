"""A table model over the audiences (AudienceInfo values), one row per audience."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QDateTime, QLocale, QModelIndex, QPersistentModelIndex, Qt

from app.models.audiences import AudienceInfo

#: The value the proxy sorts by: the real datetime's timestamp, names ignoring case.
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
#: The row's AudienceInfo, for panes that act on the selected audiences.
AUDIENCE_ROLE = Qt.ItemDataRole.UserRole + 2

_Index = QModelIndex | QPersistentModelIndex


class Column(IntEnum):
    NAME = 0
    STATUS = 1
    SCOPE = 2
    TAGS = 3
    CREATED_BY = 4
    LAST_UPDATED = 5


HEADERS = {
    Column.NAME: "Name",
    Column.STATUS: "Status",
    Column.SCOPE: "Scope",
    Column.TAGS: "Tags",
    Column.CREATED_BY: "Created By",
    Column.LAST_UPDATED: "Last Updated",
}

STATUS_TEXT = {"draft": "Draft", "active": "Active", "inactive": "Inactive"}
SCOPE_TEXT = {"single": "Single workspace", "multi": "Multi-workspace"}


def local_time(value: dt.datetime) -> str:
    """A stored UTC time as the user reads it: local time zone, the locale's short format."""
    moment = QDateTime.fromMSecsSinceEpoch(round(value.timestamp() * 1000))
    locale = QLocale.system()
    if locale.language() == QLocale.Language.C:
        # The bare "C" locale (no language set) writes "23 11 2026"; ISO order is clearer there.
        return moment.toString("yyyy-MM-dd HH:mm")
    return locale.toString(moment, QLocale.FormatType.ShortFormat)


def audience_tooltip(audience: AudienceInfo) -> str:
    lines = [f"<b>{html.escape(audience.name)}</b>"]
    if audience.external_name:
        lines.append(f"Sent to partners as “{html.escape(audience.effective_external_name)}”")
    else:
        lines.append("Sent to partners under the same name")
    lines.append("Tags: " + (html.escape(", ".join(audience.tags)) if audience.tags else "none"))
    return "<br>".join(lines)


class AudienceTableModel(QAbstractTableModel):
    """The audiences in the order they were loaded; sorting and searching belong to a proxy."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[AudienceInfo] = []

    # -- reading -----------------------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[Column(section)]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        audience = self._rows[index.row()]
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(audience, column)
        if role == SORT_ROLE:
            return self._sort_key(audience, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == Column.LAST_UPDATED:
                return f"Created {local_time(audience.created_at)}, last changed {local_time(audience.updated_at)}"
            return audience_tooltip(audience)
        if role == AUDIENCE_ROLE:
            return audience
        return None

    def audience(self, row: int) -> AudienceInfo:
        return self._rows[row]

    def audiences(self) -> list[AudienceInfo]:
        return list(self._rows)

    @staticmethod
    def _display(audience: AudienceInfo, column: Column) -> str:
        match column:
            case Column.NAME:
                return audience.name
            case Column.STATUS:
                return STATUS_TEXT.get(audience.status, audience.status)
            case Column.SCOPE:
                return SCOPE_TEXT.get(audience.scope, audience.scope)
            case Column.TAGS:
                return ", ".join(audience.tags)
            case Column.CREATED_BY:
                return audience.created_by
            case Column.LAST_UPDATED:
                return local_time(audience.updated_at)

    @classmethod
    def _sort_key(cls, audience: AudienceInfo, column: Column) -> Any:
        if column == Column.LAST_UPDATED:
            # The instant itself: the displayed text sorts wrongly across days and locales.
            return audience.updated_at.timestamp()
        return cls._display(audience, column).casefold()

    # -- changing ----------------------------------------------------------------------------------

    def set_audiences(self, audiences: Sequence[AudienceInfo]) -> None:
        """Follow a fresh list: rows are removed, updated and appended in place (never a reset),
        so the view keeps its selection, scroll position and current row across refreshes."""
        fresh = {audience.id: audience for audience in audiences}
        # Bottom-up, so the row numbers still to visit stay valid.
        for row in reversed(range(len(self._rows))):
            if self._rows[row].id not in fresh:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._rows[row]
                self.endRemoveRows()
        for row, old in enumerate(self._rows):
            new = fresh[old.id]
            if new != old:
                self._rows[row] = new
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(Column) - 1))
        known = {audience.id for audience in self._rows}
        added = [audience for audience in audiences if audience.id not in known]
        if added:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(added) - 1)
            self._rows.extend(added)
            self.endInsertRows()
