"""A table model over the audiences (AudienceInfo values), one row per audience."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Sequence
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QApplication, QStyle

from app.models.services.audiences import AudienceInfo
# Also read through this module by the editor (details, recovery, segment tabs).
from app.ui.kit.times import age, local_time

if TYPE_CHECKING:
    from app.engines.membership import MembershipStatus

#: The value the proxy sorts by: the real datetime's timestamp, names ignoring case.
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
#: The row's AudienceInfo, for panes that act on the selected audiences.
AUDIENCE_ROLE = Qt.ItemDataRole.UserRole + 2

_Index = QModelIndex | QPersistentModelIndex


class Column(IntEnum):
    NAME = 0
    SIZE = 1
    ADDS = 2
    DROPS = 3
    VOLATILITY = 4
    AS_OF = 5
    CONNECTED_OUTPUTS = 6
    CREATED_BY = 7
    LAST_UPDATED = 8
    STATUS = 9
    TAGS = 10
    ACTIONS = 11


HEADERS = {
    Column.NAME: "Name",
    Column.SIZE: "Size",
    # "(24 h)" is in their tooltips: the short headers leave room for As of at a laptop's first window size.
    Column.ADDS: "Adds",
    Column.DROPS: "Drops",
    Column.VOLATILITY: "Volatility",
    Column.AS_OF: "As of",
    Column.CONNECTED_OUTPUTS: "Outputs",  # "Connected Outputs" in full in its tooltip: room for As of
    Column.CREATED_BY: "Created By",
    Column.LAST_UPDATED: "Last Updated",
    Column.STATUS: "Status",
    Column.TAGS: "Tags",
    Column.ACTIONS: "Actions",
}

HEADER_TOOLTIPS = {
    Column.SIZE: "Users in the audience as of its last calculation (Active audiences are kept up to date)",
    Column.ADDS: "Adds (24 h): users who entered the audience in the last 24 hours",
    Column.DROPS: "Drops (24 h): users who left the audience in the last 24 hours",
    Column.VOLATILITY: "(adds + drops) / size: how much of the audience changed in the last 24 hours",
    Column.AS_OF: "When the audience's members were last calculated; whether a calculation runs or failed",
    Column.ACTIONS: "Open, clone, rename, tag, activate or delete the audience",
    Column.CONNECTED_OUTPUTS: "Connected outputs: the ad, email and push partners the audience is connected to; a warning when forwarding to one has failed",
}

#: The columns read from the membership engine's statuses (app/engines/membership.py).
SIZE_COLUMNS = (Column.SIZE, Column.ADDS, Column.DROPS, Column.VOLATILITY, Column.AS_OF)
#: The columns of numbers: right-aligned, their headers too.
NUMBER_COLUMNS = (Column.SIZE, Column.ADDS, Column.DROPS, Column.VOLATILITY, Column.CONNECTED_OUTPUTS)

#: Shown in a size cell while the audience is calculated for the first time.
COMPUTING = "…"
#: Shown in a size cell when the audience's only calculation failed (the tooltip says why).
UNANSWERED = "?"
#: Shown in the size cells of an audience never calculated (a draft, or not reached yet).
NOT_CALCULATED = "—"
#: The "As of" texts of the states that have no time of their own.
NOT_CALCULATED_TEXT = "Not calculated"
CALCULATING_TEXT = "Calculating…"
FAILED_TEXT = "Failed"
NOT_CALCULATED_TIP = ("Not calculated: drafts and inactive audiences are not kept up to date. Activate the "
                      "audience to calculate it now; the builder shows a live estimate of a draft.")

STATUS_TEXT = {"draft": "Draft", "active": "Active", "inactive": "Inactive"}
SCOPE_TEXT = {"single": "Single workspace", "multi": "Multi-workspace"}


#: The tooltip line of an audience with an A/B test (marked with % in the list).
AB_TEST_TIP = "% An A/B test splits this audience into variations; connect them from its A/B Test tab"
_percent_icon: QIcon | None = None


def percent_icon() -> QIcon:
    """The % badge of audiences with an A/B test, drawn once (on the GUI thread, where models are read)."""
    global _percent_icon
    if _percent_icon is None:
        pixmap = QPixmap(32, 32)
        pixmap.fill(QColor(0, 0, 0, 0))
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QColor(0, 0, 0, 0))
        painter.setBrush(QPalette().color(QPalette.ColorRole.Highlight))
        painter.drawRoundedRect(1, 1, 30, 30, 7, 7)
        font = QFont()
        font.setBold(True)
        font.setPixelSize(21)
        painter.setFont(font)
        painter.setPen(QPalette().color(QPalette.ColorRole.HighlightedText))
        painter.drawText(pixmap.rect(), Qt.AlignmentFlag.AlignCenter, "%")
        painter.end()
        _percent_icon = QIcon(pixmap)
    return _percent_icon


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
        #: audience id → the membership engine's last word on it (the audience as a whole)
        self._statuses: dict[int, MembershipStatus] = {}
        self._computing: set[int] = set()
        #: audience id → (connections, connections with an open fault)
        self._outputs: dict[int, tuple[int, int]] = {}
        #: the audiences with a saved A/B test, marked with %
        self._ab_tests: set[int] = set()

    # -- reading -----------------------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[Column(section)]
        if role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TOOLTIPS.get(Column(section))
        if role == Qt.ItemDataRole.TextAlignmentRole:  # a column of numbers is headed on the numbers' side
            right = section in NUMBER_COLUMNS
            return int((Qt.AlignmentFlag.AlignRight if right else Qt.AlignmentFlag.AlignLeft) | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        audience = self._rows[index.row()]
        column = Column(index.column())
        if column in SIZE_COLUMNS:
            return self._size_data(audience, column, role)
        if column == Column.CONNECTED_OUTPUTS:
            return self._outputs_data(audience, role)
        if column == Column.NAME and audience.id in self._ab_tests:
            if role == Qt.ItemDataRole.DecorationRole:
                return percent_icon()
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"{audience_tooltip(audience)}<br>{AB_TEST_TIP}"
            if role == Qt.ItemDataRole.AccessibleTextRole:
                return f"{audience.name}, with an A/B test"
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(audience, column)
        if role == SORT_ROLE:
            return self._sort_key(audience, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == Column.LAST_UPDATED:
                return f"Created {local_time(audience.created_at)}, last changed {local_time(audience.updated_at)}"
            if column == Column.ACTIONS:
                return "Open, clone, rename, tag, activate or delete (or right-click the row)"
            return audience_tooltip(audience)
        if role == AUDIENCE_ROLE:
            return audience
        if role == Qt.ItemDataRole.AccessibleTextRole and column == Column.ACTIONS:
            return f"Actions for {audience.name}"
        return None

    def _size_data(self, audience: AudienceInfo, column: Column, role: int) -> Any:
        status = self._statuses.get(audience.id)
        state = membership_state(status, audience.id in self._computing)
        known = status is not None and status.size is not None  # a good calculation's numbers, kept on failure
        if role == Qt.ItemDataRole.DisplayRole:
            if column == Column.AS_OF:
                return as_of_text(status, state)
            if known:
                return size_text(status, column)
            return {"calculating": COMPUTING, "failed": UNANSWERED}.get(state, NOT_CALCULATED)
        if role == SORT_ROLE:
            if column == Column.AS_OF:
                return -1.0 if status is None or status.as_of is None else status.as_of.timestamp()
            value = size_value(status, column) if known else None
            # Unknown sizes sort below every known one, whichever way the column is sorted by the user.
            return -1.0 if value is None else float(value)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if column == Column.AS_OF:
                return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.DecorationRole and column == Column.AS_OF and state == "failed":
            return QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        # Grey while there is nothing to read; a failure's "Failed" stays in the text colour, beside its icon.
        if role == Qt.ItemDataRole.ForegroundRole and state in ("calculating", "not calculated") and not (
                known and column != Column.AS_OF):
            return QPalette().brush(QPalette.ColorGroup.Active, QPalette.ColorRole.PlaceholderText)
        if role == Qt.ItemDataRole.ToolTipRole:
            # Rich text, so Qt wraps a long reason rather than showing one line across the screen.
            return f"<p>{html.escape(state_tooltip(status, state, HEADER_TOOLTIPS[column]))}</p>"
        if role == Qt.ItemDataRole.AccessibleTextRole and column == Column.AS_OF and state == "failed":
            return f"Calculation failed: {status.error}" if status is not None else FAILED_TEXT
        if role == AUDIENCE_ROLE:
            return audience
        return None

    def _outputs_data(self, audience: AudienceInfo, role: int) -> Any:
        connected, faulted = self._outputs.get(audience.id, (0, 0))
        if role == Qt.ItemDataRole.DisplayRole:
            if not connected:
                return ""
            return f"{connected} ({faulted} faulted)" if faulted else str(connected)
        if role == SORT_ROLE:
            return float(connected)
        if role == Qt.ItemDataRole.TextAlignmentRole:  # a number, aligned like the sizes
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.DecorationRole and faulted:
            return QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        if role == Qt.ItemDataRole.ToolTipRole:
            if faulted:
                return (f"Forwarding to {faulted} of its {connected} connected output{'s' if connected != 1 else ''} "
                        "has stopped on a fault; the Faults pane shows why and resumes it")
            return "Not connected to any output" if not connected else HEADER_TOOLTIPS[Column.CONNECTED_OUTPUTS]
        if role == Qt.ItemDataRole.AccessibleTextRole and faulted:
            return f"{connected} connected outputs, {faulted} faulted"
        if role == AUDIENCE_ROLE:
            return audience
        return None

    def set_outputs(self, outputs: dict[int, tuple[int, int]]) -> None:
        """audience id → (connected outputs, faulted ones), as read with the list."""
        if outputs == self._outputs:
            return
        self._outputs = dict(outputs)
        if self._rows:
            column = Column.CONNECTED_OUTPUTS
            self.dataChanged.emit(self.index(0, column), self.index(len(self._rows) - 1, column))

    def set_ab_tests(self, audience_ids: Iterable[int]) -> None:
        """The audiences that have a saved A/B test, as read with the list."""
        ids = set(audience_ids)
        if ids == self._ab_tests:
            return
        changed = ids ^ self._ab_tests
        self._ab_tests = ids
        for row, audience in enumerate(self._rows):
            if audience.id in changed:
                self.dataChanged.emit(self.index(row, Column.NAME), self.index(row, Column.NAME))

    def has_ab_test(self, audience_id: int) -> bool:
        return audience_id in self._ab_tests

    def outputs_of(self, audience_id: int) -> tuple[int, int]:
        return self._outputs.get(audience_id, (0, 0))

    def status_of(self, audience_id: int) -> MembershipStatus | None:
        """The membership engine's last word on the audience, as last read (None: never calculated)."""
        return self._statuses.get(audience_id)

    def is_computing(self, audience_id: int) -> bool:
        return audience_id in self._computing

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
            case Column.TAGS:
                return ", ".join(audience.tags)
            case Column.CREATED_BY:
                return audience.created_by
            case Column.LAST_UPDATED:
                return local_time(audience.updated_at)
            case _:
                return ""

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

    # -- membership ------------------------------------------------------------------------------

    def set_computing(self, audience_ids: Iterable[int]) -> None:
        """These audiences are being calculated now (an activation): they say so until the next `set_statuses`."""
        ids = set(audience_ids)
        changed = ids ^ self._computing
        self._computing = ids
        self._size_cells_changed(changed)

    def set_statuses(self, statuses: dict[int, MembershipStatus]) -> None:
        """audience id → the engine's status of the audience as a whole, as read with the list."""
        changed = {a for a in set(statuses) | set(self._statuses) if statuses.get(a) != self._statuses.get(a)}
        self._statuses = dict(statuses)
        self._size_cells_changed(changed)

    def _size_cells_changed(self, audience_ids: set[int]) -> None:
        if not audience_ids:
            return
        for row, audience in enumerate(self._rows):
            if audience.id in audience_ids:
                self.dataChanged.emit(self.index(row, Column.SIZE), self.index(row, Column.AS_OF))


def membership_state(status: MembershipStatus | None, computing: bool) -> str:
    """ok, calculating, failed or not calculated."""
    if computing:
        return "calculating"
    return "not calculated" if status is None else status.state


def as_of_text(status: MembershipStatus | None, state: str) -> str:
    if state == "calculating":
        return CALCULATING_TEXT
    if state == "failed":
        return FAILED_TEXT
    if status is None or status.as_of is None:
        return NOT_CALCULATED_TEXT
    # How long ago reads at a glance and fits a narrow column; the tooltip gives the local time.
    return age(status.as_of, dt.datetime.now(dt.UTC))


def state_tooltip(status: MembershipStatus | None, state: str, what: str) -> str:
    """What a membership cell means, and the state of the audience's calculation."""
    kept = (f"The numbers are those of the last good calculation, as of {local_time(status.as_of)}."
            if status is not None and status.as_of is not None else "It has no members calculated yet.")
    if state == "failed":
        reason = status.error if status is not None else "unknown"
        return f"The last calculation failed: {reason}. {kept} The next run tries again."
    if state == "calculating":
        return f"Being calculated now. {kept}"
    if status is None or status.as_of is None:
        return NOT_CALCULATED_TIP
    return f"{what}. As of {local_time(status.as_of)}."


def size_value(size: MembershipStatus, column: Column) -> float | int | None:
    match column:
        case Column.SIZE:
            return size.size
        case Column.ADDS:
            return size.adds
        case Column.DROPS:
            return size.drops
        case Column.VOLATILITY:
            return size.volatility
    return None


def size_text(size: MembershipStatus, column: Column) -> str:
    value = size_value(size, column)
    if column == Column.VOLATILITY:
        # An empty audience has no volatility: nothing to churn.
        return "—" if value is None else f"{value:.1%}"
    return "" if value is None else f"{value:,}"
