"""Estimates: a criteria document's size from the 1 % sample (scaled, with its 95 % interval), then exact.

The engine is plain Python over a DuckDB cursor, callable from any worker thread. `Estimator.cancel`
interrupts the query running on the estimator's own cursor (interrupting the parent connection
would not stop it). Results are cached by the document's canonical form, the audience's scope,
the moment (to the minute), the cache's data version and the catalog's fingerprint (a changed attribute
type makes the same document mean something else, or nothing at all).
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable

import duckdb

from app.builder.catalog import Catalog
from app.builder.compiler import FULL, SAMPLE, Compiled, Membership, Scope, Tables, compile_count, compile_document
from app.builder.document import Problem, canonical, check
from app.connectors.cache import first_row, sample_fraction
from app.errors import UserError

_Z95 = 1.959963984540054


class EstimateCancelled(UserError):
    """A newer request (or the user) interrupted this estimate."""


@dataclass(frozen=True)
class Estimate:
    count: int
    exact: bool
    #: 95 % interval of a sampled count (None when exact).
    interval: tuple[int, int] | None
    #: Node id → users that node matches on its own (exact answers only).
    nodes: dict[str, int]
    elapsed_ms: float
    now: dt.datetime
    #: Profiles in the audience's workspaces (the universe the count is out of).
    universe: int
    realtime_days: int | None
    sql: str = field(default="", repr=False)
    params: list[Any] = field(default_factory=list, repr=False)
    #: Unfinished or uncountable parts of the document that were left out of this count, each naming
    #: its node (the editor's live estimates only: `app.engines.editing_session`).
    left_out: tuple[Problem, ...] = ()

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "count": self.count,
            "exact": self.exact,
            "elapsed_ms": round(self.elapsed_ms, 1),
            "nodes": self.nodes,
            "now": self.now.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z"),
            "universe": self.universe,
            "realtime_window_days": self.realtime_days,
        }
        if self.interval is not None:
            data["interval"] = {"low": self.interval[0], "high": self.interval[1]}
        return data


def wilson_interval(hits: int, trials: int) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion: stays inside [0, 1] even for 0 or all hits."""
    if trials == 0:
        return 0.0, 0.0
    p = hits / trials
    z2 = _Z95 * _Z95
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    spread = _Z95 * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)
    return max(0.0, centre - spread), min(1.0, centre + spread)


class Estimator:
    """Runs estimates on one cursor of its own; one estimate at a time, cancellable from any thread."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection, *, cache_size: int = 256):
        self._cursor = cursor
        self._lock = threading.Lock()
        self._results: OrderedDict[tuple, Estimate] = OrderedDict()
        self._cache_size = cache_size
        self._universes: dict[tuple, int] = {}

    def cancel(self) -> None:
        """Interrupt the running query, if any (safe from any thread)."""
        self._cursor.interrupt()

    def estimate(
        self,
        document: dict[str, Any],
        *,
        scope: Scope,
        catalog: Catalog,
        now: dt.datetime,
        exact: bool,
        memberships: Callable[[int], Membership | None] | None = None,
        nodes: bool = True,
    ) -> Estimate:
        """The sampled estimate, or (`exact`) the exact count and, unless `nodes` is False, each node's count.

        The per-node counts cost a second query that computes every node on its own; a caller that
        wants to show the exact total first can ask with `nodes=False`, then again with nodes.
        """
        check(document)  # first: the cache key below reads the document's shape
        now = now if now.tzinfo else now.replace(tzinfo=dt.timezone.utc)
        nodes = nodes and exact
        version = self._data_version()
        key = (canonical(document), _scope_key(scope), now.replace(second=0, microsecond=0), version,
               catalog.fingerprint, exact, nodes)
        cached = self._results.get(key)
        if cached is not None:
            self._results.move_to_end(key)
            return cached
        started = time.perf_counter()
        tables = FULL if exact else SAMPLE
        compiled = compile_count(document, scope=scope, catalog=catalog, now=now, tables=tables, memberships=memberships)
        per_node = compile_document(document, scope=scope, catalog=catalog, now=now, tables=tables,
                                    memberships=memberships) if nodes else None
        with self._lock:
            root = self._run(compiled)[0]
            node_counts = dict(zip(per_node.node_ids, self._run(per_node))) if per_node else {}
            universe = self._universe(FULL, scope, version)
            sample_universe = None if exact else self._universe(SAMPLE, scope, version)
        if exact:
            result = Estimate(root, True, None, node_counts, _ms(started), now, universe,
                              scope.realtime_days if scope.date_range is None else None, compiled.sql, compiled.params)
        else:
            if sample_universe:
                low, high = wilson_interval(root, sample_universe)
                scaled = round(root / sample_universe * universe)
                interval = (math.floor(low * universe), math.ceil(high * universe))
            else:  # nothing sampled in these workspaces: only the bounds are known
                scaled, interval = round(root / sample_fraction()), (0, universe)
            result = Estimate(scaled, False, interval, {}, _ms(started), now, universe,
                              scope.realtime_days if scope.date_range is None else None, compiled.sql, compiled.params)
        self._results[key] = result
        if len(self._results) > self._cache_size:
            self._results.popitem(last=False)
        return result

    def _data_version(self) -> int:
        """The cache's version, read each time: a result cached before an import or sync is stale."""
        with self._lock:
            row = first_row(self._cursor, "SELECT value FROM cache_meta WHERE key = 'data_version'")
        return int(row[0]) if row else 0

    def _run(self, compiled: Compiled) -> list[int]:
        try:
            rows = self._cursor.execute(compiled.sql, compiled.params).fetchall()
        except duckdb.InterruptException:
            raise EstimateCancelled("The estimate was cancelled.") from None
        return list(rows[0])

    def _universe(self, tables: Tables, scope: Scope, version: int) -> int:
        """Profiles in the scope's workspaces; kept per data version (counting 2M profiles takes a while)."""
        key = (tables.profiles, scope.workspace_ids, version)
        known = self._universes.get(key)
        if known is not None:
            return known
        sql = f"SELECT count(DISTINCT mpid) FROM {tables.profiles} WHERE list_contains(?, workspace_id)"
        try:
            count = self._cursor.execute(sql, [list(scope.workspace_ids)]).fetchall()[0][0]
        except duckdb.InterruptException:
            raise EstimateCancelled("The estimate was cancelled.") from None
        if len(self._universes) > 64:
            self._universes.clear()
        self._universes[key] = count
        return count


def _scope_key(scope: Scope) -> tuple:
    return (scope.workspace_ids, tuple(sorted((k, tuple(v)) for k, v in scope.inputs.items())), scope.realtime_days, scope.date_range)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
