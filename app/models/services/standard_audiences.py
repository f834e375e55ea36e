"""Standard (historical) audiences: drafts over a date range, calculated for credits, Ready for 30 days, kept after.

Lifecycle: Draft → Calculating (app.engines.standard_calculation's job, with progress and Cancel) → Ready → Expired
(`EXPIRY_DAYS` after its calculation, by the service's clock). An expired audience cannot be connected
or sent, but can be cloned and calculated again; its members file stays in the home, so membership
criteria that refer to it keep working.

A calculation scans all cached history in each audience's range (not the real-time window), finds
the members with the same compiler as real-time audiences, and writes them to Parquet under
home/standard/ (a temporary name, then renamed). Credits are spent when it starts (app.models.services.credits)
and refunded when it is cancelled or fails; a calculation a crash left running is failed and refunded
by `recover()`. Only one process can open a home's cache, so recovery never races a calculation
of another process; those of this process are known and left alone.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import InvalidInput, NotFound, UserError
from app.models.services import credits as credit_rules
from app.models.services.audiences import AudienceInfo, AudienceService
from app.models.services.credits import CreditService
from app.models.store.db import Store, emit_after_commit, utc_now
from app.models.store.schema import Audience, Connection, StandardAudience, StandardCalculation, Workspace

log = logging.getLogger(__name__)

EXPIRY_DAYS = 30
TABS = ("in_progress", "ready", "archive")
TAB_TITLES = {"in_progress": "In progress", "ready": "Ready", "archive": "Archive"}

Clock = Callable[[], dt.datetime]

#: Calculations running in this process: recovery never fails one of these.
_live_calculations: set[int] = set()
_live_lock = threading.Lock()


def expires_at(calculated_at: dt.datetime | None) -> dt.datetime | None:
    return None if calculated_at is None else calculated_at + dt.timedelta(days=EXPIRY_DAYS)


def is_expired(state: str, calculated_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Ready and calculated at least EXPIRY_DAYS ago."""
    end = expires_at(calculated_at)
    return state == "ready" and end is not None and now >= end


@dataclass(frozen=True)
class StandardInfo:
    """A standard audience as the pane and the command line show it."""

    audience: AudienceInfo
    workspace_id: int
    workspace_name: str
    #: Inclusive UTC dates; both None: all available data.
    range_start: dt.date | None
    range_end: dt.date | None
    state: str
    calculation_id: int | None
    calculated_at: dt.datetime | None
    scanned_start: dt.date | None
    scanned_end: dt.date | None
    size: int | None
    members_file: str | None
    expired: bool

    @property
    def id(self) -> int:
        return self.audience.id

    @property
    def name(self) -> str:
        return self.audience.name

    @property
    def expires_at(self) -> dt.datetime | None:
        return expires_at(self.calculated_at)

    @property
    def all_data(self) -> bool:
        return self.range_start is None

    @property
    def status(self) -> str:
        """Draft, Calculating, Ready or Expired."""
        return "Expired" if self.expired else self.state.capitalize()

    @property
    def tab(self) -> str:
        if self.state in ("draft", "calculating"):
            return "in_progress"
        return "archive" if self.expired else "ready"

    def range_text(self) -> str:
        if self.range_start is None:
            scanned = (f" ({self.scanned_start:%d %b %Y} – {self.scanned_end:%d %b %Y})"
                       if self.scanned_start is not None else "")
            return "All available data" + scanned
        return f"{self.range_start:%d %b %Y} – {self.range_end:%d %b %Y}"


@dataclass(frozen=True)
class QuotedAudience:
    id: int
    name: str
    #: The inclusive dates it scans ("all available data" resolved against the cache now).
    start: dt.date
    end: dt.date


@dataclass(frozen=True)
class Quote:
    """What pressing Calculate on these drafts would cost, before anything starts."""

    workspace_id: int
    workspace_name: str
    audiences: tuple[QuotedAudience, ...]
    days: int
    credits: int
    balance: int

    @property
    def enough(self) -> bool:
        return self.credits <= self.balance

    def shortfall_text(self) -> str | None:
        if self.enough:
            return None
        return (f'This needs {self.credits} credit{"s" if self.credits != 1 else ""}; workspace '
                f'"{self.workspace_name}" has {self.balance}. Ask an admin to add credits.')


class StandardAudienceService:
    """Standard audiences in a store, on an injectable clock (`now`); calculating them (which reads the
    cache) is app.engines.standard_calculation's."""

    def __init__(self, store: Store, user: str, audiences: AudienceService, credits: CreditService,
                 members_dir: Path, *, now: Clock = utc_now) -> None:
        self.store = store
        self.user = user
        self.audiences = audiences
        self.credits = credits
        self.members_dir = members_dir
        self.now = now

    # -- reading --------------------------------------------------------------------------------

    def list(self, tab: str | None = None, *, workspace_id: int | None = None) -> list[StandardInfo]:
        """Standard audiences by name; only those of one tab ("in_progress", "ready", "archive") if given."""
        if tab is not None and tab not in TABS:
            raise InvalidInput(f'Tab "{tab}" is not known; use one of: {", ".join(TABS)}.')
        audiences = {a.id: a for a in self.audiences.list(kind="standard", workspace_id=workspace_id)}
        now = self.now()
        with self.store.transaction() as session:
            rows = {row.audience_id: row for row in session.scalars(
                select(StandardAudience).where(StandardAudience.audience_id.in_(list(audiences))))}
            names = dict(session.execute(select(Workspace.id, Workspace.name)).all())
        found = [self._info(audiences[aid], rows[aid], names, now) for aid in audiences if aid in rows]
        return [info for info in found if tab is None or info.tab == tab]

    def get(self, name_or_id: str | int) -> StandardInfo:
        audience = self.audiences.get(name_or_id)
        with self.store.transaction() as session:
            row = session.get(StandardAudience, audience.id)
            if audience.kind != "standard" or row is None:
                raise InvalidInput(f'Audience "{audience.name}" is a real-time audience, not a standard one.')
            names = dict(session.execute(select(Workspace.id, Workspace.name)).all())
            return self._info(audience, row, names, self.now())

    @staticmethod
    def _info(audience: AudienceInfo, row: StandardAudience, names: dict[int, str], now: dt.datetime) -> StandardInfo:
        workspace_id = audience.workspace_ids[0]
        return StandardInfo(audience, workspace_id, names.get(workspace_id, "?"), row.range_start, row.range_end,
                            row.state, row.calculation_id, row.calculated_at, row.scanned_start, row.scanned_end,
                            row.size, row.members_file, is_expired(row.state, row.calculated_at, now))

    def members_folder(self) -> Path:
        folder = self.members_dir
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def data_range(self, workspace_id: int) -> tuple[dt.date, dt.date] | None:
        """The first and last days with events of the workspace (None when it has none): the cache knows,
        so app.engines.standard_calculation answers; a service over the store alone has no data."""
        return None

    # -- creating -------------------------------------------------------------------------------

    def create(self, name: str, *, workspace_id: int, start: dt.date | None = None, end: dt.date | None = None,
               input_ids: Iterable[int] = (), criteria: dict | None = None, external_name: str | None = None,
               tags: Iterable[str] = ()) -> StandardInfo:
        """A standard draft over the inclusive UTC dates start..end (neither: all available data)."""
        audience = self.audiences.create(name, external_name=external_name, scope="single",
                                              workspace_ids=[workspace_id], input_ids=input_ids, criteria=criteria,
                                              tags=tags, kind="standard", date_range=(start, end))
        return self.get(audience.id)

    def set_range(self, audience_id: int, start: dt.date | None, end: dt.date | None) -> StandardInfo:
        """Change a draft's date range."""
        if (start is None) != (end is None) or (start is not None and start > end):
            raise InvalidInput("Give a start and an end date (the end not before the start), or neither for all data.")
        with self.store.transaction() as session:
            row = self._row(session, audience_id)
            if row.state != "draft":
                raise InvalidInput("Only a draft's date range can change; clone the audience to calculate another range.")
            row.range_start, row.range_end = start, end
            emit_after_commit(session, "audience_changed", audience_id)
        return self.get(audience_id)

    def delete(self, audience_id: int) -> StandardInfo:
        """Delete a standard audience that is not being calculated, and then its members file."""
        info = self.get(audience_id)
        if info.state == "calculating":
            raise InvalidInput(f'"{info.name}" is being calculated; cancel the calculation before deleting it.')
        self.audiences.delete(info.id)
        if info.members_file:
            (self.members_dir / info.members_file).unlink(missing_ok=True)
        return info

    def clone(self, audience_id: int) -> StandardInfo:
        """A new draft with the same criteria, inputs and date range: how an expired audience is recalculated."""
        self.get(audience_id)  # refuses real-time audiences with a clear message
        return self.get(self.audiences.clone(audience_id).id)

    # -- calculating ----------------------------------------------------------------------------

    def quote(self, audience_ids: Sequence[int]) -> Quote:
        """The days scanned and credits that calculating these drafts together would cost, and the balance."""
        chosen = [self.get(int(a)) for a in dict.fromkeys(audience_ids)]
        if not chosen:
            raise InvalidInput("Choose one or more draft standard audiences to calculate.")
        not_drafts = [f'"{a.name}" ({a.status})' for a in chosen if a.state != "draft"]
        if not_drafts:
            raise InvalidInput("Only drafts can be calculated; not: " + ", ".join(not_drafts)
                               + ". Clone a Ready or Expired audience to calculate it again.")
        workspaces = {a.workspace_id for a in chosen}
        if len(workspaces) > 1:
            raise InvalidInput("Calculate the drafts of one workspace at a time (each workspace pays for its own); "
                               "the chosen drafts read " + ", ".join(sorted({a.workspace_name for a in chosen})) + ".")
        workspace_id = workspaces.pop()
        available: tuple[dt.date, dt.date] | None = None
        quoted = []
        for audience in chosen:
            if audience.all_data:
                if available is None:
                    available = self.data_range(workspace_id)
                if available is None:
                    raise UserError(f'Workspace "{audience.workspace_name}" has no events in the cache yet, so '
                                    f'"{audience.name}" (all available data) has nothing to scan; sync or import first.')
                start, end = available
            else:
                start, end = audience.range_start, audience.range_end
            quoted.append(QuotedAudience(audience.id, audience.name, start, end))
        ranges = [(q.start, q.end) for q in quoted]
        return Quote(workspace_id, chosen[0].workspace_name, tuple(quoted), credit_rules.days_scanned(ranges),
                     credit_rules.cost(ranges), self.credits.balance(workspace_id))

    def begin(self, audience_ids: Sequence[int]) -> tuple[int, Quote]:
        """Spend the credits and mark the drafts Calculating, in one transaction; returns the calculation's id
        and its quote (app.engines.standard_calculation runs it).

        Refused (nothing changed) when the balance is short or a draft is no longer a draft.
        """
        quote = self.quote(audience_ids)
        with self.store.transaction() as session:
            rows = [self._row(session, q.id) for q in quote.audiences]
            for row, quoted in zip(rows, quote.audiences):
                if row.state != "draft":
                    raise InvalidInput(f'"{quoted.name}" is no longer a draft (another calculation took it).')
            calculation = StandardCalculation(workspace_id=quote.workspace_id, state="running", days_scanned=quote.days,
                                              credits=quote.credits, started_by=self.user, started_at=self.now())
            session.add(calculation)
            session.flush()
            credit_rules.debit(session, quote.workspace_id, quote.credits, calculation.id, self.user,
                               f"Calculation {calculation.id}: {len(rows)} audience{'s' if len(rows) != 1 else ''}, "
                               f"{quote.days} days scanned")
            for row in rows:
                row.state = "calculating"
                row.calculation_id = calculation.id
                emit_after_commit(session, "audience_changed", row.audience_id)
            calculation_id = calculation.id
        with _live_lock:
            _live_calculations.add(calculation_id)
        log.info("calculation %s started: %d audiences, %d days, %d credits", calculation_id, len(quote.audiences),
                 quote.days, quote.credits)
        return calculation_id, quote

    def finish(self, calculation_id: int, finished: list[QuotedAudience], outcome: str,
               message: str | None = None) -> None:
        """Close the calculation; unfinished audiences go back to Draft and what they would have cost is refunded."""
        with self.store.transaction() as session:
            calculation = session.get(StandardCalculation, calculation_id)
            if calculation is None or calculation.state != "running":
                return  # already closed (by recovery): never refund twice
            calculation.state = outcome
            calculation.finished_at = self.now()
            calculation.message = message
            self._release(session, calculation, finished_ranges=[(q.start, q.end) for q in finished])
        with _live_lock:
            _live_calculations.discard(calculation_id)
        log.info("calculation %s %s", calculation_id, outcome)

    def _release(self, session: Session, calculation: StandardCalculation,
                 finished_ranges: list[tuple[dt.date, dt.date]]) -> None:
        unfinished = session.scalars(select(StandardAudience).where(
            StandardAudience.calculation_id == calculation.id, StandardAudience.state == "calculating")).all()
        for row in unfinished:
            row.state = "draft"
            row.calculation_id = None
            emit_after_commit(session, "audience_changed", row.audience_id)
        # The finished audiences keep what they scanned; the rest of the price comes back.
        back = calculation.credits - credit_rules.cost(finished_ranges)
        if back > 0:
            credit_rules.refund(session, calculation.workspace_id, back, calculation.id, self.user,
                                f"Refund: calculation {calculation.id} {calculation.state}")

    def mark_calculated(self, audience: QuotedAudience, members_file: str, size: int) -> None:
        """A calculated audience is Ready with its members file (already in place) and size."""
        with self.store.transaction() as session:
            row = session.get(StandardAudience, audience.id)
            row.state = "ready"
            row.calculated_at = self.now()
            row.scanned_start, row.scanned_end = audience.start, audience.end
            row.size = int(size)
            row.members_file = members_file
            emit_after_commit(session, "audience_changed", audience.id)

    def recover(self) -> list[int]:
        """Fail and refund calculations left running by a crash (never one running in this process); their ids."""
        with _live_lock:
            live = set(_live_calculations)
        recovered = []
        with self.store.transaction() as session:
            for calculation in session.scalars(select(StandardCalculation).where(StandardCalculation.state == "running")):
                if calculation.id in live:
                    continue
                finished = session.scalars(select(StandardAudience).where(
                    StandardAudience.calculation_id == calculation.id, StandardAudience.state == "ready")).all()
                calculation.state = "failed"
                calculation.finished_at = self.now()
                calculation.message = "Audience Studio stopped while it ran"
                self._release(session, calculation,
                              [(r.scanned_start, r.scanned_end) for r in finished if r.scanned_start is not None])
                recovered.append(calculation.id)
        folder = self.members_dir
        for calculation_id in recovered:
            for leftover in folder.glob(f".*-{calculation_id}.parquet.tmp"):
                leftover.unlink(missing_ok=True)
        if recovered:
            log.warning("failed and refunded calculations left running: %s", recovered)
        return recovered

    # -- sending --------------------------------------------------------------------------------

    def send(self, audience_id: int, connection_ids: Iterable[int]) -> list[int]:
        """Ask for these connections of a Ready audience to be forwarded (the next forwarding run sends them)."""
        info = self.get(audience_id)
        if info.state != "ready":
            raise InvalidInput(f'"{info.name}" is {info.status}: calculate it before sending it.')
        if info.expired:
            raise InvalidInput(f'"{info.name}" expired on {info.expires_at:%d %b %Y}; clone it and calculate the copy '
                               "to send it again.")
        ids = list(dict.fromkeys(int(c) for c in connection_ids))
        if not ids:
            raise InvalidInput("Choose one or more of the audience's connections to send.")
        # The wall clock, not the service's: it is compared with when forwarding last ran (the engine's records).
        now = utc_now()
        with self.store.transaction() as session:
            for connection_id in ids:
                row = session.get(Connection, connection_id)
                if row is None or row.audience_id != info.id:
                    raise NotFound(f'Connection {connection_id} is not a connection of "{info.name}".')
                row.send_requested_at = now
                emit_after_commit(session, "connection_changed", connection_id)
        return ids

    # -- helpers --------------------------------------------------------------------------------

    @staticmethod
    def _row(session: Session, audience_id: int) -> StandardAudience:
        row = session.get(StandardAudience, int(audience_id))
        if row is None:
            audience = session.get(Audience, int(audience_id))
            if audience is None:
                raise NotFound(f"There is no audience with id {audience_id}.")
            raise InvalidInput(f'Audience "{audience.name}" is a real-time audience, not a standard one.')
        return row


def expiry_refusal(session: Session, audience_id: int, now: dt.datetime | None = None) -> str | None:
    """Why a standard audience cannot be connected now (not yet calculated is fine; expired is not), or None."""
    row = session.get(StandardAudience, audience_id)
    if row is None or not is_expired(row.state, row.calculated_at, now or utc_now()):
        return None
    return (f"it expired on {expires_at(row.calculated_at):%d %b %Y} ({EXPIRY_DAYS} days after its calculation); "
            "clone it and calculate the copy")


def send_refusal(store: Store, audience_id: int, connection, now: dt.datetime) -> str | None:
    """Why forwarding skips this connection of a standard audience now, or None to forward it.

    `connection` is an app.models.services.connections.ConnectionInfo. Forwarded only after Send was pressed
    since its last forwarding (or while batches of that send are pending), and never once expired.
    """
    with store.transaction() as session:
        row = session.get(StandardAudience, audience_id)
        state, calculated_at = (row.state, row.calculated_at) if row is not None else ("draft", None)
    if state != "ready":
        return "the standard audience is not calculated yet; calculate it, then press Send"
    if is_expired(state, calculated_at, now):
        return (f"the standard audience expired on {expires_at(calculated_at):%d %b %Y}; clone it and calculate "
                "the copy to send it")
    requested, forwarded = connection.send_requested_at, connection.last_forwarded_at
    if requested is None:
        return "a standard audience is forwarded only when you press Send"
    if forwarded is not None and forwarded >= requested and not connection.pending_batches:
        return "already sent; press Send to send it again"
    return None
