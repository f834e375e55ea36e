"""Audience sizes for the audiences list: members now, adds and drops over the last 24 hours.

Adds are users who are members now and were not 24 hours earlier; drops the reverse. "24 hours
earlier" is the audience calculated at that moment over the same cache, so it follows what events
say (a purchase moves a user out of "no purchase in 14 days"); profile state such as an attribute
is kept only as it is now, so a changed attribute shows as of now at both moments.

Plain Python over a DuckDB cursor, run by a worker; `SizeCalculator.cancel` interrupts it.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import duckdb

from app.builder.catalog import Catalog
from app.builder.compiler import members_query
from app.builder.document import CriteriaError
from app.errors import UserError
from app.models.services.audiences import AudienceInfo
from app.engines.estimates import catalog_for, membership_resolver, scope_for
from app.engines.home import OpenHome

log = logging.getLogger(__name__)

CHANGE_WINDOW = dt.timedelta(hours=24)


class SizesCancelled(UserError):
    """The user (or a newer request) interrupted the sizing."""


@dataclass(frozen=True)
class AudienceSize:
    audience_id: int
    size: int | None
    adds: int | None
    drops: int | None
    #: Why there is no size (criteria the cache cannot answer), in the user's words; None when sized.
    problem: str | None = None

    @property
    def volatility(self) -> float | None:
        """(adds + drops) / size: how much the audience churns in a day; None when it is empty or unsized."""
        if not self.size or self.adds is None or self.drops is None:
            return None
        return (self.adds + self.drops) / self.size


class SizeCalculator:
    """Sizes audiences one query each, on a cursor of its own; cancellable from any thread."""

    def __init__(self, home: OpenHome):
        self._home = home
        self._cursor = home.cache.cursor()
        # Interrupting the cursor stops only the query running now; the flag stops the ones after it.
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        """Stop sizing (from any thread): `sizes` raises SizesCancelled; a cancelled calculator stays cancelled."""
        self._cancelled.set()
        self._cursor.interrupt()

    def sizes(
        self,
        audiences: Iterable[AudienceInfo],
        *,
        now: dt.datetime | None = None,
        progress: Callable[[int, int], None] | None = None,
        on_size: Callable[[AudienceSize], None] | None = None,
    ) -> dict[int, AudienceSize]:
        """audience id → size, adds and drops at `now` (default: the current time).

        `on_size` is told each audience's size as soon as it is known (a list can show it at once).
        """
        chosen = list(audiences)
        moment = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
        catalog = catalog_for(self._home, self._cursor)
        resolve = membership_resolver(self._home)
        out: dict[int, AudienceSize] = {}
        for index, audience in enumerate(chosen):
            if self._cancelled.is_set():
                raise SizesCancelled("Sizing the audiences was cancelled.")
            out[audience.id] = self._size(audience, catalog, resolve, moment)
            if on_size is not None:
                on_size(out[audience.id])
            if progress is not None:
                progress(index + 1, len(chosen))
        return out

    def _size(self, audience: AudienceInfo, catalog: Catalog, resolve, moment: dt.datetime) -> AudienceSize:
        try:
            scope = scope_for(self._home, audience.workspace_ids, audience.input_ids)
            now_sql, now_params = members_query(audience.criteria, scope=scope, catalog=catalog, now=moment, memberships=resolve)
            then_sql, then_params = members_query(audience.criteria, scope=scope, catalog=catalog, now=moment - CHANGE_WINDOW,
                                                  memberships=resolve)
        except CriteriaError as exc:
            return AudienceSize(audience.id, None, None, None, str(exc))
        sql = (f"WITH members_now AS MATERIALIZED ({now_sql}),\nmembers_then AS MATERIALIZED ({then_sql})\n"
               "SELECT (SELECT count(*) FROM members_now),"
               " (SELECT count(*) FROM members_now WHERE mpid NOT IN (SELECT mpid FROM members_then)),"
               " (SELECT count(*) FROM members_then WHERE mpid NOT IN (SELECT mpid FROM members_now))")
        try:
            size, adds, drops = self._cursor.execute(sql, now_params + then_params).fetchall()[0]
        except duckdb.InterruptException:
            raise SizesCancelled("Sizing the audiences was cancelled.") from None
        return AudienceSize(audience.id, size, adds, drops)
