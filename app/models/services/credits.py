"""Calculation credits: what a workspace can spend on calculating standard audiences, and the rule of their cost.

A workspace's balance is the sum of its ledger: an admin's grants (+), calculations (−) and refunds
(+) of calculations that were cancelled or failed. Nothing else changes a balance. No store event is
published for a credit change ("workspace_changed" would make every audience be sized again); the
Standard audiences pane reloads after its own changes.

The cost rule (docs/standard_audiences.md): the days scanned by one calculation are the distinct
days in the union of the inclusive date ranges of the audiences calculated together; one credit
covers 365 days, so it costs max(1, ceil((days − 1) / 365)) credits. 2018-01-01..2020-01-01 is 731
days → 2 credits; three audiences each 2019-01-01..2019-12-31 together → 365 days → 1 credit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import InvalidInput, NotFound, UserError
from app.models.store.db import Store, utc_now
from app.models.store.schema import CreditEntry, Workspace

DAYS_PER_CREDIT = 365
#: One grant at most this many credits: a typo of a few extra digits is refused, not booked.
MAX_GRANT = 100_000
MAX_NOTE_LENGTH = 200

DateRange = tuple[date, date]


class NotEnoughCredits(UserError):
    """The workspace's balance does not cover a calculation."""


def merged_ranges(ranges: Iterable[DateRange]) -> list[DateRange]:
    """The inclusive ranges merged where they overlap or touch, sorted."""
    merged: list[list[date]] = []
    for start, end in sorted(ranges):
        if start > end:
            raise InvalidInput(f"A date range cannot end ({end}) before it starts ({start}).")
        if merged and start <= merged[-1][1] + timedelta(days=1):
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def days_scanned(ranges: Iterable[DateRange]) -> int:
    """The number of distinct days in the union of the inclusive ranges."""
    return sum((end - start).days + 1 for start, end in merged_ranges(ranges))


def credits_for_days(days: int) -> int:
    """Credits for scanning `days` days together: one per 365 days begun after the first day; none for none."""
    if days <= 0:
        return 0
    return max(1, math.ceil((days - 1) / DAYS_PER_CREDIT))


def cost(ranges: Iterable[DateRange]) -> int:
    """The credits a calculation of audiences with these inclusive date ranges costs (one workspace)."""
    return credits_for_days(days_scanned(ranges))


@dataclass(frozen=True)
class LedgerEntry:
    id: int
    workspace_id: int
    change: int
    reason: str
    calculation_id: int | None
    created_by: str
    created_at: datetime


def _entry(row: CreditEntry) -> LedgerEntry:
    return LedgerEntry(row.id, row.workspace_id, row.change, row.reason, row.calculation_id, row.created_by,
                       row.created_at)


def balance_in(session: Session, workspace_id: int) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(CreditEntry.change), 0))
                              .where(CreditEntry.workspace_id == workspace_id)))


def debit(session: Session, workspace_id: int, credits: int, calculation_id: int, user: str, reason: str) -> None:
    """Spend `credits` within the caller's transaction; refused when the balance is short."""
    available = balance_in(session, workspace_id)
    if credits > available:
        workspace = session.get(Workspace, workspace_id)
        raise NotEnoughCredits(
            f'Workspace "{workspace.name if workspace else workspace_id}" has {available} calculation '
            f"credit{'s' if available != 1 else ''}; this calculation needs {credits}. Ask an admin to add credits.")
    if credits > 0:
        session.add(CreditEntry(workspace_id=workspace_id, change=-credits, reason=reason,
                                calculation_id=calculation_id, created_by=user, created_at=utc_now()))


def refund(session: Session, workspace_id: int, credits: int, calculation_id: int, user: str, reason: str) -> None:
    """Give back what a calculation spent, within the caller's transaction."""
    if credits > 0:
        session.add(CreditEntry(workspace_id=workspace_id, change=credits, reason=reason,
                                calculation_id=calculation_id, created_by=user, created_at=utc_now()))


class CreditService:
    """Balances and ledgers of calculation credits, and admins' grants; each method is one transaction."""

    def __init__(self, store: Store, user: str) -> None:
        self.store = store
        self.user = user

    def balance(self, workspace_id: int) -> int:
        with self.store.transaction() as session:
            self._workspace(session, workspace_id)
            return balance_in(session, workspace_id)

    def balances(self) -> dict[int, int]:
        """workspace id → balance, for every workspace (0 for those without entries)."""
        with self.store.transaction() as session:
            found = dict(session.execute(select(CreditEntry.workspace_id, func.sum(CreditEntry.change))
                                         .group_by(CreditEntry.workspace_id)).all())
            return {ws: int(found.get(ws, 0)) for ws in session.scalars(select(Workspace.id))}

    def ledger(self, workspace_id: int) -> list[LedgerEntry]:
        """Every change to the workspace's credits, oldest first."""
        with self.store.transaction() as session:
            self._workspace(session, workspace_id)
            rows = session.scalars(select(CreditEntry).where(CreditEntry.workspace_id == workspace_id)
                                   .order_by(CreditEntry.id))
            return [_entry(row) for row in rows]

    def add(self, workspace_id: int, credits: int, note: str) -> LedgerEntry:
        """An admin's grant of `credits` (a positive whole number) with a note saying why."""
        if isinstance(credits, bool) or not isinstance(credits, int) or credits <= 0:
            raise InvalidInput(f"Credits to add must be a positive whole number, not {credits!r}.")
        if credits > MAX_GRANT:
            raise InvalidInput(f"At most {MAX_GRANT:,} credits can be added at once ({credits:,} were asked).")
        cleaned = (note or "").strip()
        if not cleaned:
            raise InvalidInput("Say why the credits are added (a note, e.g. the order or invoice number).")
        if len(cleaned) > MAX_NOTE_LENGTH:
            raise InvalidInput(f"The note is {len(cleaned)} characters; notes are at most {MAX_NOTE_LENGTH}.")
        with self.store.transaction() as session:
            self._workspace(session, workspace_id)
            row = CreditEntry(workspace_id=workspace_id, change=credits, reason=f"Added: {cleaned}",
                              created_by=self.user, created_at=utc_now())
            session.add(row)
            session.flush()
            return _entry(row)

    @staticmethod
    def _workspace(session: Session, workspace_id: int) -> Workspace:
        row = session.get(Workspace, int(workspace_id))
        if row is None:
            raise NotFound(f"There is no workspace with id {workspace_id}.")
        return row
