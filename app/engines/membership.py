"""Live audiences: who is in each Active real-time audience (and each variation of its A/B test), kept in the
cache with when members entered and left, brought up to date incrementally, with a daily history.

What runs when (docs/membership.md):
- `refresh` when an audience is activated, and by hand: every Active audience whose calculation could have
  changed is calculated again;
- `run_due` on the app's clock (every 15 minutes by default, a per-workspace preference) and after every import
  and sync (`after_load`): the same, except that an audience whose only change is the clock (its recency
  windows slid) waits for its workspace's interval since its last calculation.

After a load, an audience is calculated only for the profiles the loads since its last calculation touched
(the cache's `load_profiles`), merged with its kept members, when its query is unchanged or only its windows
slid within the interval: a profile's membership depends only on its own rows and the clock. Loads into
workspaces it does not read leave it alone. Anything else (an edit, an unrecorded data change) is calculated
whole.

An audience is calculated again when any of these changed since its last good calculation: the cache's data
(`data_version`), or the members query itself (`members_sql` at `now`: definition, scope, inputs, real-time
window, the attribute types it compiles with, the audiences it refers to, and the bounds of its time windows,
which are bound parameters, so a window that has not slid compiles to the same query). A standard audience's
members are those its calculation kept (its Parquet file): they change only when it is calculated again.

Each calculation is diffed against the stored members: the adds and drops go to the change log (kept for the
real-time window) and to the audience's row of the day (kept 13 months); the first calculation of an audience
is its baseline (its members enter, nothing is counted as an add). A calculation that fails (the definition no
longer compiles, or the cache cannot run it) is recorded with its reason; the last good members stay, and the
other audiences go on. Drafts and inactive audiences are not calculated; what they had is kept.

Plain Python over the home's store and cache (one cursor of its own), for the CLI, a worker or the agent.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from app.builder.compiler import FULL, Tables, members_query
from app.builder.document import walk
from app.builder.variants import in_variation_sql
from app.connectors.cache import first_row
from app.engines.estimates import catalog_for, membership_resolver, scope_for, standard_members_file
from app.engines.home import OpenHome
from app.engines.members import members_sql
from app.errors import NotFound, UserError
from app.models.services.audiences import AudienceInfo

log = logging.getLogger(__name__)

#: The window of adds and drops (and so of volatility).
CHANGE_WINDOW = dt.timedelta(hours=24)
#: Daily rows are kept this long: 13 months and some days.
HISTORY_DAYS = 400
#: The change log is kept for the longest real-time window of the home, and never less than this.
MIN_CHANGE_LOG = dt.timedelta(days=2)
#: variant_id of an audience as a whole (a variation's is its id in the store).
WHOLE = 0

OK, CALCULATING, FAILED = "ok", "calculating", "failed"

#: The cache's tables restricted to the profiles the loads since a calculation touched (temp tables of the run's
#: cursor): an audience's members query compiled over them finds its members among those profiles only.
TOUCHED = Tables(*(f"membership_touched_{name}" for name in dataclasses.asdict(FULL)))

Progress = Callable[[int, int, str], None]

#: One run at a time per cache: a clock tick during an import's refresh waits, then finds little to do.
_runs_lock = threading.Lock()
_runs: dict[int, threading.Lock] = {}


def _run_lock(home: OpenHome) -> threading.Lock:
    with _runs_lock:
        return _runs.setdefault(id(home.cache), threading.Lock())


@dataclass(frozen=True)
class MembershipStatus:
    """An audience's (or variation's) membership as the engine last calculated it."""

    audience_id: int
    variant_id: int
    #: ok, calculating or failed; "not calculated" when the engine has never calculated it.
    state: str
    #: Why the last calculation failed (the last good members stay), in the user's words.
    error: str | None
    #: Members as of `as_of` (None: never calculated).
    size: int | None
    #: When the members were last calculated (UTC).
    as_of: dt.datetime | None
    #: When a calculation was last tried (UTC), good or not.
    attempted_at: dt.datetime | None
    #: Members who entered, and who left, in the 24 hours before the moment asked about.
    adds: int = 0
    drops: int = 0

    @property
    def volatility(self) -> float | None:
        """(adds + drops) / size: how much the audience churns in a day; None when it is empty or never calculated."""
        if not self.size:
            return None
        return (self.adds + self.drops) / self.size

    def as_json(self) -> dict[str, object]:
        return {"audience_id": self.audience_id, "variant_id": self.variant_id or None, "state": self.state,
                "error": self.error, "size": self.size, "adds": self.adds, "drops": self.drops,
                "volatility": None if self.volatility is None else round(self.volatility, 4),
                "as_of": _iso(self.as_of), "attempted_at": _iso(self.attempted_at)}


@dataclass(frozen=True)
class HistoryDay:
    """One day of an audience's history: its size at the day's last calculation, the adds and drops of the day."""

    day: dt.date
    size: int
    adds: int
    drops: int


@dataclass
class RunReport:
    """What a run did: (audience_id, variant_id) pairs calculated, failed, and left as they were. `incremental`
    are those of `calculated` calculated only for the profiles the loads since their last calculation touched."""

    calculated: list[tuple[int, int]] = dataclasses.field(default_factory=list)
    incremental: list[tuple[int, int]] = dataclasses.field(default_factory=list)
    failed: list[tuple[int, int]] = dataclasses.field(default_factory=list)
    unchanged: list[tuple[int, int]] = dataclasses.field(default_factory=list)


@dataclass(frozen=True)
class _Previous:
    state: str
    inputs_key: str | None
    data_version: int | None
    as_of: dt.datetime | None


@dataclass(frozen=True)
class _Variation:
    id: int
    seed: str
    percents: tuple[int, ...]
    index: int


# -- running ----------------------------------------------------------------------------------------------


def refresh(home: OpenHome, now: dt.datetime | None = None, *, full: bool = False,
            audience_ids: Iterable[int] | None = None, progress: Progress | None = None) -> RunReport:
    """Calculate every Active audience (or those of `audience_ids`) whose members could have changed.

    `full`: calculate them all whatever changed (a benchmark's reference, or a user's "recalculate")."""
    return _Run(home, _utc(now), full=full, due_only=False, only=audience_ids, progress=progress).run()


def run_due(home: OpenHome, now: dt.datetime | None = None, *, progress: Progress | None = None) -> RunReport:
    """What the app's clock calls: like `refresh`, except that an audience whose only change is the clock (its
    recency windows slid) waits until its workspace's refresh interval has passed since its last calculation."""
    return _Run(home, _utc(now), full=False, due_only=True, only=None, progress=progress).run()


def after_load(home: OpenHome, now: dt.datetime | None = None) -> RunReport | None:
    """The hook run after an import or a sync: `run_due` (what the load touched is calculated at once, only for
    the profiles it touched; recency windows slide on the clock's interval), never failing the load that
    already committed (a problem is logged; each audience's own failure is recorded on it)."""
    try:
        return run_due(home, now)
    except Exception:  # the load is done and kept; membership catches up on the next run
        log.exception("updating audience membership after a load failed")
        return None


class _Run:
    def __init__(self, home: OpenHome, now: dt.datetime, *, full: bool, due_only: bool, only: Iterable[int] | None,
                 progress: Progress | None):
        self.home = home
        self.now = now
        self.naive_now = now.replace(tzinfo=None)
        self.full = full
        self.due_only = due_only
        self.only = None if only is None else {int(a) for a in only}
        self.progress = progress
        self.report = RunReport()
        self._loads: dict[int, frozenset[int] | None] = {}
        self._touched_since: tuple[int, int] | None = None
        self._touched = pa.table({"mpid": pa.array([], pa.int64())})
        self._scopes: dict[tuple, object] = {}  # (workspace ids, input ids) → Scope, for this run

    def run(self) -> RunReport:
        with _run_lock(self.home):
            self.cursor = self.home.cache.cursor()
            try:
                self._run()
            finally:
                self.cursor.close()
        # Members changed: whoever forwards automatically in this process looks for due connections.
        from app.engines import activation

        activation.membership_ran(self.home, self.report.calculated)
        return self.report

    def _run(self) -> None:
        home = self.home
        audiences = [a for a in home.audiences.list() if self.only is None or a.id in self.only]
        targets = [a for a in audiences if _calculated_by_engine(home, a)]
        previous = self._previous()
        self.version = home.cache.data_version  # what the loads' touched profiles are pruned up to
        if not targets:
            self._tidy(set(), previous, [])
            return
        home.cache.refresh_catalogs()
        version = self.version = home.cache.data_version
        catalog = catalog_for(home, self.cursor)
        intervals = {ws.id: ws.membership_refresh_minutes for ws in home.workspaces.list()}
        for index, audience in enumerate(targets):
            if self.progress is not None:
                self.progress(index, len(targets), audience.name)
            self._audience(audience, previous, version, catalog, intervals)
        if self.progress is not None:
            self.progress(len(targets), len(targets), "")
        self._tidy({(a.id, WHOLE) for a in targets}, previous, [a.id for a in targets])

    # -- one audience

    def _audience(self, audience: AudienceInfo, previous: dict[tuple[int, int], _Previous], version: int,
                  catalog, intervals: dict[int, int]) -> None:
        whole = previous.get((audience.id, WHOLE))
        variations = _variations(self.home, audience) if audience.kind == "realtime" else []
        try:
            sql, params = members_sql(self.home, audience, self.cursor, now=self.now, catalog=catalog)
            key = _inputs_key(sql, params)
        except UserError as exc:
            self._failed(audience, variations, str(exc))
            return
        if not self.full and whole is not None and whole.state == OK:
            same_query = whole.inputs_key == key
            waits = False  # its windows slid, but its workspace's interval has not passed yet
            if not same_query and self.due_only and whole.as_of is not None:
                interval = dt.timedelta(minutes=min(intervals.get(ws, 15) for ws in audience.workspace_ids))
                waits = self.now - whole.as_of < interval and self._only_the_clock_moved(audience, catalog, whole)
            loads: frozenset[int] | None = frozenset()  # the workspaces the loads since its calculation touched
            if whole.data_version != version:
                loads = self._loads_since(whole.data_version, version)
            # A standard audience's members come from its kept file (in its key), never from the cache's data.
            data_same = (audience.kind == "standard" or
                         (loads is not None and not loads & self._workspaces_read(audience)))
            if data_same and (same_query or waits):
                self.report.unchanged.append((audience.id, WHOLE))
                # Against the key the variations were made with: the audience's as last calculated.
                self._variations_only(audience, variations, previous, whole.inputs_key)
                # The query now is the one its members came from, over the same data: they are current now, so
                # "as of" says so (else an audience without time windows looks days old).
                self._confirm(audience.id, as_of=same_query, data_version=version)
                return
            if loads is not None and (same_query or waits):
                # Only the profiles the loads touched can have changed: calculate those, keep the others.
                self._incremental(audience, variations, previous, whole, catalog, version,
                                  key if same_query else whole.inputs_key, keep_as_of=not same_query)
                return
        self._mark_calculating(audience.id)
        try:
            # As numpy (every DuckDB version has it), handed to the write transaction's cursor as an Arrow table.
            mpids = self.cursor.execute(sql, params).fetchnumpy()["mpid"]
            members = pa.table({"mpid": pa.array(mpids, pa.int64())})
        except duckdb.InterruptException:
            raise
        except (duckdb.Error, UserError) as exc:
            reason = str(exc) if isinstance(exc, UserError) else f"the cache could not calculate it: {_one_line(exc)}"
            self._failed(audience, variations, reason)
            return
        with self.home.cache.deriving() as cur:
            cur.register("membership_fresh_arrow", members)
            try:
                cur.execute("CREATE OR REPLACE TEMP TABLE membership_whole AS "
                            "SELECT DISTINCT mpid FROM membership_fresh_arrow")
            finally:
                cur.unregister("membership_fresh_arrow")
            self._apply(cur, audience.id, WHOLE, "SELECT mpid FROM membership_whole", [], key, version,
                        baseline=whole is None or whole.as_of is None)
            for variation in variations:
                self._apply_variation(cur, audience.id, variation, "membership_whole", key, version, previous)
            cur.execute("DROP TABLE membership_whole")
        self.report.calculated.append((audience.id, WHOLE))
        self.report.calculated.extend((audience.id, v.id) for v in variations)

    def _confirm(self, audience_id: int, *, as_of: bool, data_version: int) -> None:
        """The audience's kept members (and its variations') were found current with the data of `data_version`,
        and (`as_of`) at this run's moment."""
        with self.home.cache.deriving() as cur:
            if as_of:
                cur.execute("UPDATE membership_status SET as_of = ?, attempted_at = ? WHERE audience_id = ? "
                            "AND state = ?", [self.naive_now, self.naive_now, audience_id, OK])
            cur.execute("UPDATE membership_status SET data_version = ? WHERE audience_id = ? AND state = ?",
                        [data_version, audience_id, OK])

    # -- the profiles the loads touched

    def _loads_since(self, since: int | None, version: int) -> frozenset[int] | None:
        """The workspaces the loads after data version `since` (up to `version`) touched; None when one of those
        changes was not recorded as a load (forgetting a workspace, a cache from before load_profiles)."""
        if since is None:
            return None
        if since not in self._loads:
            recorded, workspaces = self.cursor.execute("""
                SELECT count(DISTINCT data_version) FILTER (WHERE workspace_id IS NULL AND mpid IS NULL),
                       list(DISTINCT workspace_id) FILTER (WHERE workspace_id IS NOT NULL)
                FROM load_profiles WHERE data_version > ? AND data_version <= ?""", [since, version]).fetchone()
            complete = recorded == version - since
            self._loads[since] = frozenset(workspaces or ()) if complete else None
        return self._loads[since]

    def _workspaces_read(self, audience: AudienceInfo) -> set[int]:
        """The workspaces whose data an audience's members depend on: its own and those of the real-time
        audiences its membership criteria name."""
        found = set(audience.workspace_ids)
        for _, node in walk((audience.criteria or {}).get("root") or {}):
            if node.get("type") == "audience_membership":
                try:
                    other = self.home.audiences.get(int(node["audience_id"]))
                except (NotFound, KeyError, TypeError, ValueError):
                    continue  # the audience's query did not compile then; it is failed before it gets here
                if other.kind == "realtime":
                    found.update(other.workspace_ids)
        return found

    def _touched_profiles(self, since: int, version: int) -> pa.Table:
        """The mpids the loads after `since` touched (in any workspace: one mpid's rows in every workspace are
        what decides it), and the run cursor's TOUCHED tables: the cache's rows of those profiles only."""
        if self._touched_since != (since, version):
            cursor = self.cursor
            bounds = [since, version]
            cursor.execute("""
                CREATE OR REPLACE TEMP TABLE membership_touched AS
                SELECT mpid FROM load_profiles WHERE data_version > ? AND data_version <= ? AND mpid IS NOT NULL
                UNION
                SELECT p.mpid FROM profiles p WHERE p.workspace_id IN (
                    SELECT workspace_id FROM load_profiles WHERE data_version > ? AND data_version <= ?
                    AND workspace_id IS NOT NULL AND mpid IS NULL)""", bounds + bounds)
            for name, table in dataclasses.asdict(FULL).items():
                cursor.execute(f"CREATE OR REPLACE TEMP TABLE {getattr(TOUCHED, name)} AS SELECT * FROM {table} "
                               "WHERE mpid IN (SELECT mpid FROM membership_touched)")
            mpids = cursor.execute("SELECT mpid FROM membership_touched").fetchnumpy()["mpid"]
            self._touched = pa.table({"mpid": pa.array(mpids, pa.int64())})
            self._touched_since = (since, version)
        return self._touched

    def _incremental(self, audience: AudienceInfo, variations: list[_Variation],
                     previous: dict[tuple[int, int], _Previous], whole: _Previous, catalog, version: int, key: str,
                     *, keep_as_of: bool) -> None:
        """Calculate the audience (and its variations) for the profiles the loads since its last calculation
        touched, and merge: membership is a function of one profile's rows (in the audience's workspaces, and in
        those of the audiences it names) and of the clock, so the others' stays as it was. `keep_as_of`: its
        windows slid since "as of" and wait for the clock; the touched profiles are calculated now."""
        touched = self._touched_profiles(whole.data_version, version)
        # Not marked "calculating" first (a write of its own): the touched profiles take a moment, and the
        # list marks what it asked for itself.
        try:
            scope_key = (tuple(audience.workspace_ids), tuple(audience.input_ids))
            if scope_key not in self._scopes:
                self._scopes[scope_key] = scope_for(self.home, audience.workspace_ids, audience.input_ids)
            sql, params = members_query(audience.criteria, scope=self._scopes[scope_key],
                                        catalog=catalog, now=self.now, tables=TOUCHED,
                                        memberships=membership_resolver(self.home))
            mpids = self.cursor.execute(sql, params).fetchnumpy()["mpid"]
            members = pa.table({"mpid": pa.array(mpids, pa.int64())})
        except duckdb.InterruptException:
            raise
        except (duckdb.Error, UserError) as exc:
            reason = str(exc) if isinstance(exc, UserError) else f"the cache could not calculate it: {_one_line(exc)}"
            self._failed(audience, variations, reason)
            return
        as_of = whole.as_of if keep_as_of else None
        changed_at = self.now
        with self.home.cache.deriving() as cur:
            cur.register("membership_fresh_arrow", members)
            cur.register("membership_touched_arrow", touched)
            try:
                cur.execute("CREATE OR REPLACE TEMP TABLE membership_whole AS "
                            "SELECT DISTINCT mpid FROM membership_fresh_arrow")
                cur.execute("CREATE OR REPLACE TEMP TABLE membership_among AS "
                            "SELECT DISTINCT mpid FROM membership_touched_arrow")
            finally:
                cur.unregister("membership_fresh_arrow")
                cur.unregister("membership_touched_arrow")
            self._apply(cur, audience.id, WHOLE, "SELECT mpid FROM membership_whole", [], key, version,
                        baseline=False, as_of=as_of, changed_at=changed_at, among="membership_among")
            stale = []
            for variation in variations:
                before = previous.get((audience.id, variation.id))
                if before is None or before.state != OK or before.inputs_key != _variation_key(whole.inputs_key,
                                                                                               variation):
                    stale.append(variation)
                else:
                    self._apply_variation(cur, audience.id, variation, "membership_whole", key, version, previous,
                                          as_of=as_of, changed_at=changed_at, among="membership_among")
            if stale:  # a test saved since: its variations from the audience's members as they are now
                cur.execute("CREATE OR REPLACE TEMP TABLE membership_all AS SELECT mpid FROM audience_members "
                            "WHERE audience_id = ? AND variant_id = ?", [audience.id, WHOLE])
                for variation in stale:
                    self._apply_variation(cur, audience.id, variation, "membership_all", key, version, previous,
                                          as_of=as_of, changed_at=changed_at)
                cur.execute("DROP TABLE membership_all")
            cur.execute("DROP TABLE membership_whole")
            cur.execute("DROP TABLE membership_among")
        done = [(audience.id, WHOLE)] + [(audience.id, v.id) for v in variations]
        self.report.calculated.extend(done)
        self.report.incremental.extend(done)

    def _only_the_clock_moved(self, audience: AudienceInfo, catalog, whole: _Previous) -> bool:
        """True when the members query at the last calculation's moment is the one stored: the definition,
        scope and inputs are unchanged and only the windows' bounds (the clock) differ now."""
        try:
            sql, params = members_sql(self.home, audience, self.cursor, now=whole.as_of, catalog=catalog)
        except UserError:
            return False
        return _inputs_key(sql, params) == whole.inputs_key

    def _variations_only(self, audience: AudienceInfo, variations: list[_Variation],
                         previous: dict[tuple[int, int], _Previous], key: str) -> None:
        """The audience is current: calculate only the variations whose test changed (or that never were)."""
        stale = []
        for variation in variations:
            before = previous.get((audience.id, variation.id))
            if before is None or before.state != OK or before.inputs_key != _variation_key(key, variation):
                stale.append(variation)
            else:
                self.report.unchanged.append((audience.id, variation.id))
        if not stale:
            return
        whole = previous[(audience.id, WHOLE)]
        with self.home.cache.deriving() as cur:
            cur.execute("CREATE OR REPLACE TEMP TABLE membership_whole AS SELECT mpid FROM audience_members "
                        "WHERE audience_id = ? AND variant_id = ?", [audience.id, WHOLE])
            for variation in stale:
                # As of the audience's own calculation: a variation is a part of those members.
                self._apply_variation(cur, audience.id, variation, "membership_whole", key, whole.data_version,
                                      previous, as_of=whole.as_of)
            cur.execute("DROP TABLE membership_whole")
        self.report.calculated.extend((audience.id, v.id) for v in stale)

    def _apply_variation(self, cur, audience_id: int, variation: _Variation, whole_table: str, key: str,
                         version: int | None, previous: dict[tuple[int, int], _Previous],
                         as_of: dt.datetime | None = None, changed_at: dt.datetime | None = None,
                         among: str | None = None) -> None:
        condition, params = in_variation_sql("m.mpid", variation.seed, variation.percents, variation.index)
        before = previous.get((audience_id, variation.id))
        self._apply(cur, audience_id, variation.id, f"SELECT m.mpid FROM {whole_table} m WHERE {condition}", params,
                    _variation_key(key, variation), version, baseline=before is None or before.as_of is None,
                    as_of=as_of, changed_at=changed_at, among=among)

    def _apply(self, cur, audience_id: int, variant_id: int, fresh_sql: str, params: list, key: str,
               version: int | None, *, baseline: bool, as_of: dt.datetime | None = None,
               changed_at: dt.datetime | None = None, among: str | None = None) -> None:
        """Make the stored members those of `fresh_sql`: log who entered and left, count them in the day's row,
        and record the calculation, all in the caller's transaction.

        `among`: a table of mpids; `fresh_sql` then holds the members among those only, and only their stored
        membership is compared (the others' stays). `as_of` is recorded as the members' time (default: now);
        entries, exits and the day's row are at `changed_at` (default: `as_of`)."""
        at = (changed_at or as_of or self.now).replace(tzinfo=None)
        which = [audience_id, variant_id]
        stored = "SELECT mpid FROM audience_members WHERE audience_id = ? AND variant_id = ?"
        if among is not None:
            stored += f" AND mpid IN (SELECT mpid FROM {among})"
        cur.execute(f"CREATE OR REPLACE TEMP TABLE membership_fresh AS {fresh_sql}", params)
        cur.execute(f"""
            CREATE OR REPLACE TEMP TABLE membership_entered AS
            SELECT mpid FROM membership_fresh EXCEPT {stored}""", which)
        cur.execute(f"""
            CREATE OR REPLACE TEMP TABLE membership_left AS
            {stored} EXCEPT SELECT mpid FROM membership_fresh""", which)
        adds = first_row(cur, "SELECT count(*) FROM membership_entered")[0]
        drops = first_row(cur, "SELECT count(*) FROM membership_left")[0]
        if among is None:
            size = first_row(cur, "SELECT count(*) FROM membership_fresh")[0]
        else:  # the others are as they were: the size moves by who entered and left
            size = first_row(cur, "SELECT size FROM membership_status WHERE audience_id = ? AND variant_id = ?",
                             which)[0] + adds - drops
        if drops:
            cur.execute("DELETE FROM audience_members WHERE audience_id = ? AND variant_id = ? "
                        "AND mpid IN (SELECT mpid FROM membership_left)", which)
        if adds:
            cur.execute("INSERT INTO audience_members SELECT ?, ?, mpid, ? FROM membership_entered ORDER BY mpid",
                        [*which, at])
        if baseline:  # the first calculation: everyone enters, nobody is counted as an add
            adds = drops = 0
        else:
            cur.execute("""
                INSERT INTO membership_changes
                SELECT ?, ?, mpid, ?, true FROM membership_entered
                UNION ALL SELECT ?, ?, mpid, ?, false FROM membership_left""", [*which, at, *which, at])
        day = at.date()
        row = first_row(cur, "SELECT adds, drops FROM membership_daily WHERE audience_id = ? AND variant_id = ? "
                             "AND day = ?", [*which, day])
        cur.execute("DELETE FROM membership_daily WHERE audience_id = ? AND variant_id = ? AND day = ?", [*which, day])
        cur.execute("INSERT INTO membership_daily VALUES (?, ?, ?, ?, ?, ?)",
                    [*which, day, size, adds + (row[0] if row else 0), drops + (row[1] if row else 0)])
        _put_status(cur, audience_id, variant_id, state=OK, error=None, size=size,
                    as_of=(as_of or self.now).replace(tzinfo=None), attempted_at=self.naive_now, inputs_key=key,
                    data_version=version)
        for table in ("membership_fresh", "membership_entered", "membership_left"):
            cur.execute(f"DROP TABLE {table}")

    def _mark_calculating(self, audience_id: int) -> None:
        with self.home.cache.deriving() as cur:
            if first_row(cur, "SELECT 1 FROM membership_status WHERE audience_id = ? AND variant_id = ?",
                         [audience_id, WHOLE]):
                cur.execute("UPDATE membership_status SET state = ?, attempted_at = ? "
                            "WHERE audience_id = ? AND variant_id = ?", [CALCULATING, self.naive_now, audience_id, WHOLE])
            else:
                _put_status(cur, audience_id, WHOLE, state=CALCULATING, error=None, size=None, as_of=None,
                            attempted_at=self.naive_now, inputs_key=None, data_version=None)

    def _failed(self, audience: AudienceInfo, variations: list[_Variation], reason: str) -> None:
        """Record why; the members, size and "as of" of the last good calculation stay."""
        log.warning("audience %s (%s) could not be calculated: %s", audience.id, audience.name, reason)
        with self.home.cache.deriving() as cur:
            for variant_id, text in [(WHOLE, reason)] + [(v.id, f"the audience could not be calculated: {reason}")
                                                         for v in variations]:
                if first_row(cur, "SELECT 1 FROM membership_status WHERE audience_id = ? AND variant_id = ?",
                             [audience.id, variant_id]):
                    cur.execute("UPDATE membership_status SET state = ?, error = ?, attempted_at = ? "
                                "WHERE audience_id = ? AND variant_id = ?",
                                [FAILED, text, self.naive_now, audience.id, variant_id])
                else:
                    _put_status(cur, audience.id, variant_id, state=FAILED, error=text, size=None, as_of=None,
                                attempted_at=self.naive_now, inputs_key=None, data_version=None)
        self.report.failed.append((audience.id, WHOLE))
        self.report.failed.extend((audience.id, v.id) for v in variations)

    # -- housekeeping

    def _previous(self) -> dict[tuple[int, int], _Previous]:
        rows = self.cursor.execute("SELECT audience_id, variant_id, state, inputs_key, data_version, as_of "
                                   "FROM membership_status").fetchall()
        return {(a, v): _Previous(state, key, version, _aware(as_of)) for a, v, state, key, version, as_of in rows}

    def _tidy(self, calculated_now: set[tuple[int, int]], previous: dict[tuple[int, int], _Previous],
              targets: list[int]) -> None:
        """Prune what is past keeping: the change log beyond the real-time window, daily rows beyond 13 months,
        the members of audiences and variations deleted from the store (their daily rows stay), and the loads'
        touched profiles that no audience the engine keeps needs any more (one calculated later, say activated
        again, is calculated whole); give every Active audience that was current (not calculated) its row of
        today."""
        home = self.home
        windows = [ws.realtime_window_days for ws in home.workspaces.list()]
        log_kept = max(dt.timedelta(days=max(windows, default=0)), MIN_CHANGE_LOG)
        existing = {(a.id, WHOLE) for a in home.audiences.list()}
        for audience_id, _ in list(existing):
            test = home.ab_tests.get(audience_id)
            existing.update((audience_id, v.id) for v in (test.variations if test else ()))
        gone = [pair for pair in previous if pair not in existing]
        today = self.now.date()
        with home.cache.deriving() as cur:
            cur.execute("DELETE FROM membership_changes WHERE changed_at < ?", [self.naive_now - log_kept])
            cur.execute("DELETE FROM membership_daily WHERE day < ?", [today - dt.timedelta(days=HISTORY_DAYS)])
            if self.only is None:  # a run over some audiences does not know what the others need
                needed = first_row(cur, "SELECT min(data_version) FROM membership_status WHERE state = ? "
                                        "AND variant_id = ? AND list_contains(?, audience_id)", [OK, WHOLE, targets])[0]
                cur.execute("DELETE FROM load_profiles WHERE data_version <= ?",
                            [self.version if needed is None else needed])
            for audience_id, variant_id in gone:
                for table in ("audience_members", "membership_changes", "membership_status"):
                    cur.execute(f"DELETE FROM {table} WHERE audience_id = ? AND variant_id = ?", [audience_id, variant_id])
            for audience_id, variant_id in self.report.unchanged:
                cur.execute("""
                    INSERT INTO membership_daily
                    SELECT audience_id, variant_id, ?, size, 0, 0 FROM membership_status s
                    WHERE audience_id = ? AND variant_id = ? AND size IS NOT NULL
                      AND NOT EXISTS (SELECT 1 FROM membership_daily d WHERE d.audience_id = s.audience_id
                                      AND d.variant_id = s.variant_id AND d.day = ?)""",
                            [today, audience_id, variant_id, today])


def _calculated_by_engine(home: OpenHome, audience: AudienceInfo) -> bool:
    """Active real-time audiences; standard audiences once calculated (their kept members)."""
    if audience.kind == "standard":
        path = standard_members_file(home, audience.id)
        return path is not None and path.exists()
    return audience.status == "active"


def _variations(home: OpenHome, audience: AudienceInfo) -> list[_Variation]:
    test = home.ab_tests.get(audience.id)
    if test is None:
        return []
    return [_Variation(v.id, test.seed, test.percents, v.position) for v in test.variations]


def _put_status(cur, audience_id: int, variant_id: int, **values) -> None:
    cur.execute("DELETE FROM membership_status WHERE audience_id = ? AND variant_id = ?", [audience_id, variant_id])
    cur.execute("INSERT INTO membership_status (audience_id, variant_id, state, error, size, as_of, attempted_at, "
                "inputs_key, data_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [audience_id, variant_id, values["state"], values["error"], values["size"], values["as_of"],
                 values["attempted_at"], values["inputs_key"], values["data_version"]])


def _inputs_key(sql: str, params: list) -> str:
    """A digest of the members query and its bound values, and of any kept members file it reads (a standard
    audience calculated again may rewrite the same file)."""
    files = []
    for value in params:
        if isinstance(value, str) and value.endswith(".parquet"):
            path = Path(value)
            stat = path.stat() if path.exists() else None
            files.append([value, stat.st_mtime_ns if stat else None, stat.st_size if stat else None])
    text = json.dumps([sql, [_param_text(p) for p in params], files], default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _param_text(value: object) -> object:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_param_text(v) for v in value]
    return value


def _variation_key(key: str, variation: _Variation) -> str:
    text = json.dumps([key, variation.seed, list(variation.percents), variation.index])
    return hashlib.sha256(text.encode()).hexdigest()


# -- reading ----------------------------------------------------------------------------------------------


def statuses(home: OpenHome, now: dt.datetime | None = None,
             audience_ids: Iterable[int] | None = None) -> dict[tuple[int, int], MembershipStatus]:
    """(audience_id, variant_id) → the engine's last word on it, with its adds and drops in the 24 hours
    before `now` (default: the current time). Reads only: never calculates."""
    moment = _utc(now).replace(tzinfo=None)
    wanted = None if audience_ids is None else {int(a) for a in audience_ids}
    cursor = home.cache.cursor()
    try:
        changes = {(a, v): (adds, drops) for a, v, adds, drops in cursor.execute("""
            SELECT audience_id, variant_id, count(*) FILTER (WHERE entered), count(*) FILTER (WHERE NOT entered)
            FROM membership_changes WHERE changed_at > ? AND changed_at <= ? GROUP BY audience_id, variant_id""",
            [moment - CHANGE_WINDOW, moment]).fetchall()}
        rows = cursor.execute("SELECT audience_id, variant_id, state, error, size, as_of, attempted_at "
                              "FROM membership_status ORDER BY audience_id, variant_id").fetchall()
    finally:
        cursor.close()
    out = {}
    for audience_id, variant_id, state, error, size, as_of, attempted_at in rows:
        if wanted is not None and audience_id not in wanted:
            continue
        adds, drops = changes.get((audience_id, variant_id), (0, 0))
        out[(audience_id, variant_id)] = MembershipStatus(audience_id, variant_id, state, error, size, _aware(as_of),
                                                          _aware(attempted_at), adds, drops)
    return out


def status(home: OpenHome, audience_id: int, now: dt.datetime | None = None, variant_id: int = WHOLE) -> MembershipStatus:
    """One audience's (or variation's) status; "not calculated" when the engine never calculated it."""
    found = statuses(home, now, [audience_id]).get((audience_id, variant_id))
    return found or MembershipStatus(audience_id, variant_id, "not calculated", None, None, None, None)


def history(home: OpenHome, audience_id: int, variant_id: int = WHOLE) -> list[HistoryDay]:
    """The audience's daily rows, oldest first (a day without a row: the engine did not run, or it was inactive)."""
    cursor = home.cache.cursor()
    try:
        rows = cursor.execute("SELECT day, size, adds, drops FROM membership_daily WHERE audience_id = ? "
                              "AND variant_id = ? ORDER BY day", [audience_id, variant_id]).fetchall()
    finally:
        cursor.close()
    return [HistoryDay(*row) for row in rows]


def stored_members(home: OpenHome, audience_id: int, variant_id: int = WHOLE) -> dict[int, dt.datetime]:
    """mpid → when the member entered, as last calculated."""
    cursor = home.cache.cursor()
    try:
        rows = cursor.execute("SELECT mpid, entered_at FROM audience_members WHERE audience_id = ? AND variant_id = ?",
                              [audience_id, variant_id]).fetchall()
    finally:
        cursor.close()
    return {mpid: _aware(at) for mpid, at in rows}


def changes(home: OpenHome, audience_id: int, variant_id: int = WHOLE) -> list[tuple[int, dt.datetime, bool]]:
    """The change log kept for the real-time window: (mpid, when, entered: True / left: False), oldest first."""
    cursor = home.cache.cursor()
    try:
        rows = cursor.execute("SELECT mpid, changed_at, entered FROM membership_changes WHERE audience_id = ? "
                              "AND variant_id = ? ORDER BY changed_at, mpid", [audience_id, variant_id]).fetchall()
    finally:
        cursor.close()
    return [(mpid, _aware(at), entered) for mpid, at, entered in rows]


# -- times ------------------------------------------------------------------------------------------------


def _utc(now: dt.datetime | None) -> dt.datetime:
    moment = now or dt.datetime.now(dt.timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else value.replace(tzinfo=dt.timezone.utc)


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
