"""Calculating standard (historical) audiences: the job that scans the cache and writes the members.

A calculation scans all cached history in each audience's range (not the real-time window), finds the
members with the same compiler as real-time audiences, and writes them to Parquet under home/standard/
(a temporary name, then renamed). What it costs, its states and refunds are the service's
(app.models.services.standard_audiences); this module adds what needs the cache: the data's range and
the job itself, with progress and Cancel (the running query is interrupted).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from app.engines.home import OpenHome
from app.models.services.standard_audiences import Clock, Quote, QuotedAudience, StandardAudienceService
from app.models.store.db import utc_now

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)


class StandardAudiences(StandardAudienceService):
    """A home's standard audiences: the service, with the cache's data range and calculations."""

    def __init__(self, home: OpenHome, *, now: Clock = utc_now) -> None:
        super().__init__(home.store, home.user, home.audiences, home.credits, home.home.standard_members_dir,
                         now=now)
        self.home = home

    def data_range(self, workspace_id: int) -> tuple[dt.date, dt.date] | None:
        """The first and last days with events of the workspace in the cache (None when it has none)."""
        cursor = self.home.cache.cursor()
        try:
            first, last = cursor.execute("SELECT min(ts)::DATE, max(ts)::DATE FROM events WHERE workspace_id = ?",
                                         [workspace_id]).fetchone()
        finally:
            cursor.close()
        return None if first is None else (first, last)

    def calculate(self, audience_ids: Sequence[int]) -> CalculationJob:
        """Spend the credits and mark the drafts Calculating (one transaction); returns the job to run."""
        calculation_id, quote = self.begin(audience_ids)
        return CalculationJob(self, calculation_id, quote)


class CalculationJob:
    """One running calculation: `run()` on a worker; `cancel()` from any thread; `progress` is (done, total)."""

    def __init__(self, service: StandardAudiences, calculation_id: int, quote: Quote) -> None:
        self._service = service
        self.calculation_id = calculation_id
        self.quote = quote
        self.progress = (0, len(quote.audiences))
        self._cancelled = threading.Event()
        self._cursor: duckdb.DuckDBPyConnection | None = None
        self._cursor_lock = threading.Lock()
        #: "done", "cancelled" or "failed" once run() has returned
        self.outcome: str | None = None

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def cancel(self) -> None:
        """Stop now: the query running is interrupted; every audience not finished goes back to Draft and what
        those would have cost is refunded (finished ones stay Ready)."""
        self._cancelled.set()
        with self._cursor_lock:
            if self._cursor is not None:
                self._cursor.interrupt()

    def run(self, report: Callable[[int, int], None] | None = None) -> str:
        """Calculate each audience in turn; returns the outcome ("done", "cancelled"); raises on failure."""
        # DuckDB and the estimator are imported by the worker that calculates, not with this module: the
        # Standard audiences pane imports it before the main window shows (docs/performance.md, start-up).
        import duckdb

        finished: list[QuotedAudience] = []
        total = len(self.quote.audiences)
        try:
            for audience in self.quote.audiences:
                if self._cancelled.is_set():
                    break
                try:
                    self._calculate(audience)
                except duckdb.InterruptException:
                    if self._cancelled.is_set():
                        break
                    raise
                finished.append(audience)
                self.progress = (len(finished), total)
                if report is not None:
                    report(len(finished), total)
        except BaseException as exc:
            self.outcome = "failed"
            self._service.finish(self.calculation_id, finished, "failed", message=str(exc) or type(exc).__name__)
            raise
        self.outcome = "done" if len(finished) == total else "cancelled"
        self._service.finish(self.calculation_id, finished, self.outcome)
        return self.outcome

    def _calculate(self, audience: QuotedAudience) -> None:
        import duckdb

        from app.builder.compiler import members_query
        from app.engines.estimates import (
            catalog_for,
            counting_moment,
            history_scope,
            membership_resolver,
            scope_for,
        )

        service, home = self._service, self._service.home
        info = home.audiences.get(audience.id)
        scope = history_scope(scope_for(home, info.workspace_ids, info.input_ids), (audience.start, audience.end))
        # Relative windows ("in the last 7 days") count back from the end of the range, never from the future.
        moment = counting_moment(scope, service.now())
        home.cache.refresh_catalogs()
        cursor = home.cache.cursor()
        with self._cursor_lock:
            self._cursor = cursor
        folder = service.members_folder()
        final = folder / f"{audience.id}-{self.calculation_id}.parquet"
        temporary = folder / f".{final.name}.tmp"
        try:
            if self._cancelled.is_set():
                raise duckdb.InterruptException("cancelled")
            sql, params = members_query(info.criteria, scope=scope, catalog=catalog_for(home, cursor), now=moment,
                                        memberships=membership_resolver(home))
            path_literal = str(temporary).replace("'", "''")
            cursor.execute(f"COPY ({sql}) TO '{path_literal}' (FORMAT parquet)", params)
            size = cursor.execute("SELECT count(*) FROM read_parquet(?)", [str(temporary)]).fetchone()[0]
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        finally:
            with self._cursor_lock:
                self._cursor = None
            cursor.close()
        os.replace(temporary, final)
        service.mark_calculated(audience, final.name, int(size))
        log.info("standard audience %s calculated: %d members (%s..%s)", audience.id, size, audience.start,
                 audience.end)
