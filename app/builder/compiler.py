"""Compiles a criteria document into DuckDB queries with bound parameters: the audience's count, its
members, and what each node matches on its own.

Two shapes of query, both over the audience's universe (the profiles of its workspaces):
- the count and the members (`compile_count`, `members_query`) nest the whole tree into one set
  expression that DuckDB can optimise as a whole. A node that matches "everyone but" some users
  ("fewer than 3 sessions", "does not exist", an excluded group) is kept as the users it rules out,
  so the universe is only read when nothing else narrows the audience, and within a "match all"
  group those users are looked for only among the candidates the other criteria leave;
- the per-node counts (`compile_document`) materialise every node's own set once and count each.

Values always travel as parameters; column names come from fixed tables below and attribute or
event names are parameters too, checked against the cache's catalog first.

The SQL is DuckDB's unless a `dialect` is given: wherever engines spell something differently the
compiler asks its `app.builder.dialect.Dialect` (ClickHouse's is `app.builder.clickhouse.CLICKHOUSE`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from app.builder import criteria_types
from app.builder.calculated import ZERO_WHEN_NO_EVENTS, CalculatedAttribute
from app.builder.catalog import Catalog
from app.builder.dialect import DUCKDB, Dialect
from app.builder.document import CriteriaError, Problem, check, quoted, walk
from app.builder.wording import operator_words

#: Event types of the document whose rows in the cache have another type.
_EVENT_TYPE_ALIASES = {"attribution": ("custom_event", "attribution")}

_DEVICE_COLUMNS = {"platform": "platform", "os": "os", "os_version": "os_version", "device_model": "device_model",
                   "manufacturer": "manufacturer", "carrier": "carrier", "app_version": "app_version", "build": "build"}
_VERSION_FIELDS = {"os_version", "app_version"}
_LOCATION_COLUMNS = {"city": "city", "state": "state", "zip": "zip", "dma": "dma", "country": "country"}
_ATTRIBUTION_COLUMNS = {"publisher": "publisher", "campaign": "campaign", "service_provider": "service_provider"}
#: Built-in event fields that are columns rather than entries of the attributes map.
_EVENT_COLUMNS = {"revenue": ("revenue", "number"), "currency": ("currency", "string"),
                  "product_action": ("product_action", "string"), "event_name": ("event_name", "string")}

STRING_OPS = {"contains", "not_contains", "equals", "not_equals", "matches", "in", "not_in"}
NUMBER_OPS = {"eq", "ne", "lt", "le", "gt", "ge", "between"}
DATE_OPS = {"before", "after", "on", "between_dates", "within", "between_ago"}
BOOLEAN_OPS = {"is_true", "is_false"}
LIST_OPS = {"list_contains", "list_not_contains", "list_contains_any", "list_contains_all", "list_size"}
PRESENCE_OPS = {"exists", "not_exists"}
OPERATORS_BY_TYPE = {
    "string": STRING_OPS, "number": NUMBER_OPS, "date": DATE_OPS, "boolean": BOOLEAN_OPS, "list": LIST_OPS,
}
_COMPARISON_SQL = {"eq": "=", "ne": "<>", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_EARTH_RADIUS = {"km": 6371.0088, "mi": 3958.7613}


@dataclass(frozen=True)
class Tables:
    """Table names the query reads: the full cache, or its 1 % sample."""

    profiles: str = "profiles"
    events: str = "events"
    identities: str = "identities"
    attributes: str = "attributes"
    consent: str = "consent"
    devices: str = "devices"
    locations: str = "locations"
    attribution: str = "attribution"


FULL = Tables()
SAMPLE = Tables(*(f"sample_{name}" for name in ("profiles", "events", "identities", "attributes", "consent", "devices", "locations", "attribution")))


@dataclass(frozen=True)
class Scope:
    """Where an audience reads: its workspaces, its inputs per workspace (empty: all) and its window."""

    workspace_ids: tuple[int, ...]
    inputs: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    #: Real-time audiences only see events of the last N days; None for standard audiences.
    realtime_days: int | None = 30
    #: Standard audiences: events in [start, end) only.
    date_range: tuple[dt.datetime, dt.datetime] | None = None


@dataclass(frozen=True)
class Membership:
    """What membership criteria refer to: another audience's document and scope.

    `members`, when given, is a query (SQL selecting `mpid`, and its parameters) of members kept
    elsewhere, used instead of compiling the document: a standard audience's calculated members.
    """

    name: str
    document: dict[str, Any]
    scope: Scope
    members: tuple[str, tuple[Any, ...]] | None = None


@dataclass
class Compiled:
    """The query, its parameters, and the node ids in the order of the result's columns."""

    sql: str
    params: list[Any]
    node_ids: list[str]


class _Sql:
    """A fragment of SQL with its parameters in textual order."""

    __slots__ = ("text", "params")

    def __init__(self, text: str = "", params: list[Any] | None = None):
        self.text = text
        self.params = params or []

    def __add__(self, other: "_Sql | str") -> "_Sql":
        if isinstance(other, str):
            return _Sql(self.text + other, list(self.params))
        return _Sql(self.text + other.text, self.params + other.params)


@dataclass
class _Set:
    """The users a node matches, as SQL selecting a column `mpid` (each user once).

    `negated`: the node matches everyone in the universe *except* these users. `narrow`, when given,
    builds the same set restricted to the users of a named CTE; it is cheaper to compute (an event
    aggregate over a few candidates instead of everyone) and only used where the rest is discarded.
    """

    sql: _Sql
    negated: bool = False
    narrow: Callable[[str], _Sql] | None = None

    def within(self, cte: str) -> _Sql:
        """SQL for at least the users of this set that are in `cte`, and no one outside the set."""
        return self.narrow(cte) if self.narrow is not None else self.sql

    def flipped(self) -> "_Set":
        if not self.negated:
            return _Set(self.sql, True, self.narrow)
        # The users a negated set rules out may come more than once (operands of set operators
        # drop their DISTINCT); as a positive set it is counted, so each user must come once.
        return _Set(_p("SELECT DISTINCT mpid FROM (") + self.sql + ")", False, self.narrow)


def _select(sql: _Sql) -> _Sql:
    """`sql` as an operand of INTERSECT / UNION / EXCEPT, whatever set operators it holds itself.

    Set operators and IN drop duplicates themselves, so a criterion's own DISTINCT is dropped here:
    it would only make DuckDB sort out the same users twice.
    """
    if sql.text.startswith(_DISTINCT):
        sql = _Sql("SELECT " + sql.text[len(_DISTINCT):], sql.params)
    return _p("SELECT mpid FROM (") + sql + ")"


#: How every criterion's query starts (see the criteria below); `_select` relies on it.
_DISTINCT = "SELECT DISTINCT "


def _p(text: str, *params: Any) -> _Sql:
    return _Sql(text, list(params))


def _fill(template: str, column: _Sql, *values: Any) -> _Sql:
    """`template` with `{c}` standing for `column` and `?` for each of `values`, params in text order.

    A column can carry parameters itself (an event attribute is `attributes[?]`), so each use of it
    in the text needs its parameters again at that point.
    """
    pieces = template.split("{c}")
    text, params, remaining = "", [], list(values)
    for index, piece in enumerate(pieces):
        if index:
            text += column.text
            params += column.params
        for _ in range(piece.count("?")):
            params.append(remaining.pop(0))
        text += piece
    assert not remaining, "more values than placeholders"
    return _Sql(text, params)


def _join(parts: list[_Sql], separator: str) -> _Sql:
    out = _Sql()
    for index, part in enumerate(parts):
        out = out + (separator if index else "") + part
    return out


def compile_document(
    document: dict[str, Any],
    *,
    scope: Scope,
    catalog: Catalog,
    now: dt.datetime,
    tables: Tables = FULL,
    memberships: Callable[[int], Membership | None] | None = None,
    dialect: Dialect = DUCKDB,
) -> Compiled:
    """The query returning one row: each node's own count, in `node_ids` order (the root's among them).

    Raises CriteriaError listing every problem, each naming its node, before any SQL runs.
    """
    compiler = _checked(document, scope, catalog, now, tables, memberships, lambda c: c.node(document["root"]), dialect)
    order = [node_id for node_id, _, _ in compiler.node_ctes]
    counts = []
    for _, cte, negated in compiler.node_ctes:
        if negated:  # the node matches the universe but these users
            universe = compiler.universe
            counts.append(f"((SELECT count(*) FROM {universe}) - (SELECT count(*) FROM {cte} WHERE mpid IN (SELECT mpid FROM {universe})))")
        else:
            counts.append(f"(SELECT count(*) FROM {cte})")
    counts = ", ".join(counts)
    sql = compiler.with_clause() + f"\nSELECT {counts}"
    return Compiled(sql.text, sql.params, order)


def compile_count(
    document: dict[str, Any],
    *,
    scope: Scope,
    catalog: Catalog,
    now: dt.datetime,
    tables: Tables = FULL,
    memberships: Callable[[int], Membership | None] | None = None,
    dialect: Dialect = DUCKDB,
) -> Compiled:
    """The query returning one row holding the audience's count (and no per-node counts)."""
    members, params = members_query(document, scope=scope, catalog=catalog, now=now, tables=tables, memberships=memberships,
                                    dialect=dialect)
    return Compiled(f"SELECT count(*) FROM ({members})", params, [])


@dataclass
class Verdicts:
    """What each node says about some profiles, worked out by the per-node sets of `compile_document`.

    `sql` returns one row per profile asked about: its mpid, then one boolean per node in `node_ids`
    order (the root's among them: whether the profile is in the audience). `events` holds, for each
    event criterion, the SQL condition (table alias `e`) of exactly the events it counts, and
    `calculated`, for each calculated-attribute criterion, SQL of the values it compares (columns
    `mpid`, `value`), both with their parameters: the evidence behind a verdict.
    """

    sql: str
    params: list[Any]
    node_ids: list[str]
    events: dict[str, tuple[str, list[Any]]]
    calculated: dict[str, tuple[str, list[Any]]]


def compile_verdicts(
    document: dict[str, Any],
    mpids: list[int],
    *,
    scope: Scope,
    catalog: Catalog,
    now: dt.datetime,
    tables: Tables = FULL,
    memberships: Callable[[int], Membership | None] | None = None,
) -> Verdicts:
    """For each of `mpids`, whether each node of the document matches it (why a profile is in an audience or not).

    The same node sets as the per-node counts, so a verdict agrees with the counts by construction: a
    node stored as the users it rules out matches a profile of the universe that is not among them.
    """
    compiler = _checked(document, scope, catalog, now, tables, memberships, lambda c: c.node(document["root"]))
    tests = []
    for _, cte, negated in compiler.node_ctes:
        if negated:
            tests.append(f"(q.mpid IN (SELECT mpid FROM {compiler.universe}) "
                         f"AND q.mpid NOT IN (SELECT mpid FROM {cte} WHERE mpid IS NOT NULL))")
        else:
            tests.append(f"(q.mpid IN (SELECT mpid FROM {cte}))")
    sql = compiler.with_clause() + f"\nSELECT q.mpid, {', '.join(tests)} FROM (SELECT unnest(?::BIGINT[]) AS mpid) q"
    return Verdicts(sql.text, sql.params + [[int(m) for m in mpids]], [node_id for node_id, _, _ in compiler.node_ctes],
                    {k: (v.text, v.params) for k, v in compiler.event_matches.items()},
                    {k: (v.text, v.params) for k, v in compiler.calculated_values.items()})


def members_query(document: dict[str, Any], *, scope: Scope, catalog: Catalog, now: dt.datetime, tables: Tables = FULL,
                  memberships: Callable[[int], Membership | None] | None = None,
                  dialect: Dialect = DUCKDB) -> tuple[str, list[Any]]:
    """A query of the audience's member mpids, each once (for counts, downloads, forwarding, membership)."""
    holder: list[_Sql] = []
    compiler = _checked(document, scope, catalog, now, tables, memberships, lambda c: holder.append(c.members(document["root"])),
                        dialect)
    sql = compiler.with_clause() + "\n" + holder[0]
    return sql.text, sql.params


def _checked(document, scope, catalog, now, tables, memberships, compile_with, dialect: Dialect = DUCKDB) -> "_Compiler":
    """Check the document, compile it; CriteriaError with every problem before any SQL runs."""
    check(document)
    compiler = _Compiler(scope, catalog, _naive_utc(now), tables, memberships, dialect=dialect)
    compile_with(compiler)
    if compiler.problems:
        raise CriteriaError(compiler.problems)
    return compiler


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment


class _Compiler:
    def __init__(self, scope: Scope, catalog: Catalog, now: dt.datetime, tables: Tables,
                 memberships: Callable[[int], Membership | None] | None, prefix: str = "n",
                 dialect: Dialect = DUCKDB):
        self.d = dialect
        self.scope = scope
        self.catalog = catalog
        self.now = now
        self.t = tables
        self.memberships = memberships
        self.prefix = prefix
        self.ctes: list[tuple[str, _Sql]] = []
        #: node id, the CTE of its users, whether the node matches everyone *but* those users
        self.node_ctes: list[tuple[str, str, bool]] = []
        self.problems: list[Problem] = []
        self._universe: str | None = None
        #: node id → the condition of the events an event criterion counts (evidence for `compile_verdicts`)
        self.event_matches: dict[str, _Sql] = {}
        #: node id → mpid and value of the calculated attribute a criterion compares
        self.calculated_values: dict[str, _Sql] = {}

    # -- plumbing ---------------------------------------------------------------------------------

    @property
    def universe(self) -> str:
        """The CTE of the profiles of the audience's workspaces, added the first time it is needed."""
        if self._universe is None:
            self._universe = self._cte("universe", _p(f"SELECT DISTINCT mpid FROM {self.t.profiles} WHERE ")
                                       + self._in("workspace_id", self.scope.workspace_ids))
        return self._universe

    def _cte(self, hint: str, body: _Sql, materialized: bool = True) -> str:
        name = f"{self.prefix}_{hint}_{len(self.ctes)}"
        self.ctes.append((name, body, materialized))
        return name

    def with_clause(self) -> _Sql:
        if not self.ctes:
            return _Sql()
        # Materialised: a node's set is counted on its own and used by its group, computed once.
        # Not materialised: DuckDB may inline it and push filters into it.
        return _p("WITH ") + _join([_p(self.d.cte(name, materialized)) + body + ")"
                                    for name, body, materialized in self.ctes], ",\n")

    def _nobody(self) -> _Set:
        """A set of no one: an empty audience, or a node whose problem is already recorded."""
        return _Set(_p(self.d.nobody()))

    @staticmethod
    def _present(base: _Sql, operator: str) -> _Set:
        """exists: the users of `base`; not_exists: everyone else in the universe."""
        return _Set(base, negated=operator != "exists")

    @staticmethod
    def _in(column: str, values) -> _Sql:
        values = list(values)
        # `=` and IN with one parameter per value, not list_contains(?, column): DuckDB can use
        # the column's zone maps (the cache keeps rows sorted by workspace) only with these.
        if len(values) == 1:
            return _p(f"{column} = ?", values[0])
        return _p(f"{column} IN ({', '.join('?' * len(values))})", *values)

    def _problem(self, node: dict, message: str) -> _Set:
        self.problems.append(Problem(node.get("id"), "", message))
        return self._nobody()

    def _workspaces(self, node: dict) -> tuple[int, ...]:
        chosen = node.get("workspace_id")
        if chosen is None:
            return self.scope.workspace_ids
        if chosen not in self.scope.workspace_ids:
            self.problems.append(Problem(node["id"], "", f"workspace {chosen} is not one of this audience's workspaces"))
        return (chosen,)

    # -- nodes ------------------------------------------------------------------------------------

    def node(self, node: dict) -> _Set:
        """Per-node counts: a materialised CTE of each node's own users, built from its children's CTEs.

        Kept in the same polarity as the count query: a node matching everyone but F stores F, and
        its count is the universe's minus F's, so no CTE holds "everyone but a few".
        """
        if node["type"] == "group":
            children = [self.node(child) for child in node["children"]]
            if not children:  # only the root may be empty: an audience without criteria matches no one yet
                found = self._nobody()
            elif node["match"] == "all":
                found = self._all(children)
            else:
                found = self._any(children)
        else:
            found = self._criterion(node)
        if node.get("exclude"):
            found = found.flipped()
        cte = self._cte(node["id"].replace("-", "_").replace(".", "_")[:20], found.sql)
        self.node_ctes.append((node["id"], cte, found.negated))
        # Without `narrow`: a node's own count must not depend on its siblings.
        return _Set(_p(f"SELECT mpid FROM {cte}"), found.negated)

    def members(self, root: dict) -> _Sql:
        """The audience's members: the whole tree as one set expression."""
        found = self._set(root)
        return self._universe_minus(found.sql) if found.negated else _p("SELECT mpid FROM (") + found.sql + ")"

    def _set(self, node: dict) -> _Set:
        if node["type"] == "group":
            children = [self._set(child) for child in node["children"]]
            if not children:
                found = self._nobody()
            elif node["match"] == "all":
                found = self._all(children)
            else:
                found = self._any(children)
        else:
            found = self._criterion(node)
        return found.flipped() if node.get("exclude") else found

    def _all(self, children: list[_Set]) -> _Set:
        kept = [c for c in children if not c.negated]
        ruled_out = [c for c in children if c.negated]
        if not kept:  # everyone but the users any child rules out
            return _Set(_join([_select(c.sql) for c in ruled_out], self.d.union), negated=True,
                        narrow=lambda cte: _join([_select(c.within(cte)) for c in ruled_out], self.d.union))
        # The first child drives; the others filter it (semi joins, which DuckDB runs faster than INTERSECT).
        candidates = _p("SELECT mpid FROM (") + kept[0].sql + ")"
        if len(kept) > 1:
            candidates = candidates + " WHERE " + _join([_p("mpid IN (") + _select(c.sql) + ")" for c in kept[1:]], " AND ")
        if not ruled_out:
            return _Set(candidates, narrow=lambda cte: self._all([_Set(kept[0].within(cte)), *kept[1:]]).sql)
        # The users to rule out are only looked for among the candidates the other children leave.
        pool = self._cte("candidates", candidates, materialized=False)
        return _Set(_p(f"SELECT mpid FROM {pool}{self.d.except_}") + _join([_select(c.within(pool)) for c in ruled_out], self.d.except_))

    def _any(self, children: list[_Set]) -> _Set:
        kept = [c for c in children if not c.negated]
        ruled_out = [c for c in children if c.negated]
        if not ruled_out:
            if len(kept) == 1:
                return kept[0]
            return _Set(_join([_select(c.sql) for c in kept], self.d.union),
                        narrow=lambda cte: _join([_select(c.within(cte)) for c in kept], self.d.union))

        # any(A, not B, not C) = not (B and C and not A): the users every negated child rules out,
        # unless another child keeps them.
        def excluded(cte: str | None) -> _Sql:
            sql = _join([_select(c.within(cte) if cte else c.sql) for c in ruled_out], self.d.intersect)
            if kept:
                sql = _select(sql) + self.d.except_ + _select(_join([_select(c.sql) for c in kept], self.d.union))
            return sql

        return _Set(excluded(None), negated=True, narrow=excluded)

    def _criterion(self, node: dict) -> _Set:
        found = COMPILERS[node["type"]](self, node)
        return found if isinstance(found, _Set) else _Set(found)

    def _narrowed(self, base: _Sql, test: _Sql | None) -> _Sql | _Set:
        """`base` narrowed by a value test, or no one when the test was refused."""
        if test is None:
            return self._nobody()
        return base + " AND " + test

    def _universe_minus(self, body: _Sql) -> _Sql:
        return _p(f"SELECT mpid FROM {self.universe}{self.d.except_}") + _select(body)

    # -- events -----------------------------------------------------------------------------------

    def _event_filter(self, alias: str = "e") -> _Sql:
        """Workspaces, inputs and the real-time window or standard date range every event obeys."""
        parts = [self._in(f"{alias}.workspace_id", self.scope.workspace_ids)]
        input_parts = []
        for ws in self.scope.workspace_ids:
            chosen = self.scope.inputs.get(ws)
            if chosen:
                input_parts.append(_p(f"({alias}.workspace_id = ? AND ", ws) + self._in(f"{alias}.input", chosen) + ")")
            else:
                input_parts.append(_p(f"{alias}.workspace_id = ?", ws))
        if any(self.scope.inputs.get(ws) for ws in self.scope.workspace_ids):
            parts.append(_p("(") + _join(input_parts, " OR ") + ")")
        if self.scope.date_range is not None:
            start, end = (_naive_utc(x) for x in self.scope.date_range)
            parts.append(_p(f"{alias}.ts >= ? AND {alias}.ts < ?", start, end))
        elif self.scope.realtime_days is not None:
            parts.append(_p(f"{alias}.ts >= ? AND {alias}.ts <= ?", self.now - dt.timedelta(days=self.scope.realtime_days), self.now))
        return _join(parts, " AND ")

    def _window(self, column: str, window: dict | None) -> _Sql | None:
        """The window's test on `column`; raises ValueError (naming the problem) for impossible dates."""
        if not window:
            return None
        low, high, high_inclusive = _window_bounds(window, self.now)
        parts = []
        if low is not None:
            parts.append(_p(f"{column} >= ?", low))
        if high is not None:
            parts.append(_p(f"{column} {'<=' if high_inclusive else '<'} ?", high))
        return _join(parts, " AND ")

    def _criterion_event(self, node: dict) -> _Sql | _Set:
        event_type = node["event_type"]
        stored_type, fixed_name = _EVENT_TYPE_ALIASES.get(event_type, (event_type, None))
        name = node.get("event_name") or fixed_name
        if name is not None and node.get("event_name") and fixed_name:
            return self._problem(node, f"{event_type} events have no other name than {fixed_name!r}")
        if not self.catalog.has_event(self.scope.workspace_ids, stored_type, name):
            if name:
                known = ", ".join(self.catalog.event_names(self.scope.workspace_ids, stored_type)[:12]) or "none"
                return self._problem(node, f"no {event_type} event named {quoted(name)} in the cache (known: {known})")
            return self._problem(node, f"no {event_type} events in the cache for this audience's workspaces")
        where = [self._event_filter(), _p("e.event_type = ?", stored_type)]
        if name is not None:
            where.append(_p("e.event_name = ?", name))
        if node.get("product_action"):
            where.append(_p("e.product_action = ?", node["product_action"]))
        try:
            window = self._window("e.ts", node.get("window"))
        except ValueError as exc:
            return self._problem(node, f"window: {exc}")
        if window is not None:
            where.append(window)
        for condition in node.get("conditions", []):
            sql = self._event_condition(node, stored_type, name, condition)
            if sql is not None:
                where.append(sql)
        matching = _join(where, " AND ")
        self.event_matches[node["id"]] = matching

        having: list[_Sql] = []
        zero_matches = False
        frequency = node.get("frequency")
        if frequency:
            sql, zero_matches = _comparison("count(*)", frequency, count=True)
            having.append(sql)
        aggregate = node.get("aggregate")
        if aggregate:
            column = self._event_number(node, stored_type, name, aggregate["attribute"])
            if column is None:
                return self._nobody()
            function = aggregate["function"]
            expression = "coalesce(sum({c}), 0)" if function == "sum" else f"{function}({{c}})"
            sql, zero_sum = _comparison(expression, aggregate, count=function == "sum", column=column)
            having.append(sql)
            # With both a frequency and an aggregate, users without events match only if both allow zero.
            zero_matches = (zero_matches or not frequency) and function == "sum" and zero_sum
        def among(cte: str | None) -> _Sql:
            return _p(f" AND e.mpid IN (SELECT mpid FROM {cte})") if cte else _Sql()

        if not having:
            def distinct(cte: str | None = None) -> _Sql:
                return _p(f"SELECT DISTINCT e.mpid AS mpid FROM {self.t.events} e WHERE ") + matching + among(cte)
            return _Set(distinct(), narrow=distinct)

        def grouped(test: _Sql, cte: str | None = None) -> _Sql:
            return (_p(f"SELECT e.mpid AS mpid FROM {self.t.events} e WHERE ") + matching + among(cte)
                    + " GROUP BY e.mpid HAVING " + test)

        test = _join(having, " AND ")
        if zero_matches:
            # Users with no matching event match too ("fewer than 3 sessions" includes zero sessions):
            # everyone but those whose events fail the test.
            failing = _p("NOT (") + test + ")"
            return _Set(grouped(failing), negated=True, narrow=lambda cte: grouped(failing, cte))
        return _Set(grouped(test), narrow=lambda cte: grouped(test, cte))

    def _map_value(self, column: str, key: str, wrap: Callable[[str], str] | None = None) -> _Sql:
        """The value under `key` of the map `column` (NULL when absent), through `wrap` (a cast) if given."""
        text = self.d.map_value(column)
        value = _Sql(text, [key] * text.count("?"))
        return _fill(wrap("{c}"), value) if wrap else value

    def _event_number(self, node: dict, stored_type: str, name: str | None, attribute: str) -> _Sql | None:
        if attribute in _EVENT_COLUMNS:
            column, kind = _EVENT_COLUMNS[attribute]
            if kind != "number":
                self.problems.append(Problem(node["id"], "", f"{quoted(attribute)} is not a number and cannot be summed or compared"))
                return None
            return _Sql(f"e.{column}")
        kind = self.catalog.event_attribute_type(self.scope.workspace_ids, stored_type, name, attribute)
        if kind is None:
            self.problems.append(Problem(node["id"], "", f"the events have no attribute {quoted(attribute)}"))
            return None
        if kind != "number":
            self.problems.append(Problem(node["id"], "", f"event attribute {quoted(attribute)} holds {kind} values, not numbers"))
            return None
        return self._map_value("e.attributes", attribute, self.d.to_double)

    def _event_condition(self, node: dict, stored_type: str, name: str | None, condition: dict) -> _Sql | None:
        attribute = condition["attribute"]
        operator = condition["operator"]
        if attribute in _EVENT_COLUMNS:
            column, kind = _EVENT_COLUMNS[attribute]
            raw = _Sql(f"e.{column}")
        else:
            kind = self.catalog.event_attribute_type(self.scope.workspace_ids, stored_type, name, attribute)
            if kind is None:
                self.problems.append(Problem(node["id"], "", f"the events have no attribute {quoted(attribute)}"))
                return None
            raw = self._map_value("e.attributes", attribute)
        typed = {kind: raw} if attribute in _EVENT_COLUMNS else {  # built-in columns have their own types
            "string": raw,
            # Through `_fill`: a dialect may name the value more than once, each time with its parameters.
            "number": _fill(self.d.to_double("{c}"), raw),
            "date": _fill(self.d.to_utc_timestamp("{c}"), raw),
            "boolean": _fill(self.d.to_boolean("{c}"), raw),
        }
        if operator in PRESENCE_OPS:
            return raw + (" IS NOT NULL" if operator == "exists" else " IS NULL")
        if kind not in typed or operator not in OPERATORS_BY_TYPE[kind]:
            self.problems.append(Problem(node["id"], "", _operator_misfit(f"event attribute {quoted(attribute)}", kind, operator)))
            return None
        return self._value_test(node, typed[kind], kind, operator, condition.get("value"))

    # -- profile criteria -------------------------------------------------------------------------

    def _criterion_user_attribute(self, node: dict) -> _Sql | _Set:
        workspaces = self._workspaces(node)
        if node.get("calculated"):
            return self._calculated_attribute(node, workspaces)
        attribute, operator = node["attribute"], node["operator"]
        kind = self.catalog.attribute_type(workspaces, attribute)
        if kind is None:
            return self._problem(node, f"no user attribute {quoted(attribute)} in the cache for this audience's workspaces")
        base = _p(f"SELECT DISTINCT mpid FROM {self.t.attributes} a WHERE ") + self._in("a.workspace_id", workspaces) + _p(" AND a.name = ?", attribute)
        if operator in PRESENCE_OPS:
            return self._present(base, operator)
        if operator not in OPERATORS_BY_TYPE[kind]:
            return self._problem(node, _operator_misfit(f"user attribute {quoted(attribute)}", kind, operator))
        column = {"string": "a.value", "number": "a.value_number", "date": "a.value_date", "boolean": "a.value_bool", "list": "a.value_list"}[kind]
        if kind == "list" and not self.d.null_lists:  # a value that is no list has no list: no list test matches it
            base = base + " AND a.json_kind = 'list'"
        return self._narrowed(base, self._value_test(node, _Sql(column), kind, operator, node.get("value")))

    def _calculated_attribute(self, node: dict, workspaces: tuple[int, ...]) -> _Sql | _Set:
        name, operator = node["attribute"], node["operator"]
        found = self.catalog.calculated_attribute(workspaces, name)
        if found is None:
            defined = sorted({n for ws in workspaces for n in self.catalog.calculated.get(ws, {})})
            return self._problem(node, f"no calculated attribute {quoted(name)} in this audience's workspaces (defined: {', '.join(defined) or 'none'})")
        workspace, definition = found
        kind = definition.value_type
        if operator not in PRESENCE_OPS and operator not in OPERATORS_BY_TYPE[kind]:
            return self._problem(node, _operator_misfit(f"calculated attribute {quoted(name)}", kind, operator))
        values = self._calculated_values(node, workspace, definition)
        if values is None:
            return self._nobody()
        self.calculated_values[node["id"]] = values
        defined_for_all = definition.calculation in ZERO_WHEN_NO_EVENTS
        if operator in PRESENCE_OPS:
            # Counts and sums are 0 without events: every user has a value.
            if defined_for_all:
                return _Set(self._nobody().sql, negated=operator == "exists")
            return self._present(_p("SELECT mpid FROM (") + values + ") a WHERE a.value IS NOT NULL", operator)
        test = self._value_test(node, _Sql("a.value"), kind, operator, node.get("value"))
        if test is None:
            return self._nobody()
        if defined_for_all and _zero_satisfies(operator, node.get("value")):
            # Users without events (value 0) match too: everyone but those whose value fails the test.
            return _Set(_p("SELECT mpid FROM (") + values + ") a WHERE NOT (" + test + ")", negated=True)
        return _p("SELECT mpid FROM (") + values + ") a WHERE " + test

    def _calculated_values(self, node: dict, workspace: int, definition: CalculatedAttribute) -> _Sql | None:
        """mpid → value of the calculated attribute, for users with at least one matching event."""
        stored_type, fixed_name = _EVENT_TYPE_ALIASES.get(definition.event_type, (definition.event_type, None))
        where = [_p("e.workspace_id = ?", workspace), _p("e.event_type = ?", stored_type), _p("e.ts <= ?", self.now)]
        name = definition.event_name or fixed_name
        if name is not None:
            where.append(_p("e.event_name = ?", name))
        inputs = self.scope.inputs.get(workspace)
        if inputs:  # the audience's chosen platforms and feeds, as for its event criteria
            where.append(self._in("e.input", inputs))
        if definition.window_days is not None:
            where.append(_p("e.ts >= ?", self.now - dt.timedelta(days=definition.window_days)))
        calculation, attribute = definition.calculation, definition.attribute
        value: _Sql | None = None
        if attribute is not None:
            kind = "number" if definition.value_type == "number" else "string"
            if attribute in _EVENT_COLUMNS:
                column, column_kind = _EVENT_COLUMNS[attribute]
                if column_kind != kind:
                    return self._refuse(node, f"calculated attribute {quoted(definition.name)}: {quoted(attribute)} holds {column_kind} values; "
                                              f"{calculation} needs {kind} values")
                value = _Sql(f"e.{column}")
            elif kind == "number":
                value = self._map_value("e.attributes", attribute, self.d.to_double)
            else:
                value = self._map_value("e.attributes", attribute)
        template = {
            "count": "count(*)",
            "sum": "coalesce(sum({c}), 0)",
            "average": "avg({c})",
            "min": "min({c})",
            "max": "max({c})",
            # ties in time: the earlier imported event first
            "first_value": self.d.first_value(),
            "last_value": self.d.last_value(),
            "unique_values": self.d.unique_values(),
            "first_time": "min(e.ts)",
            "last_time": "max(e.ts)",
        }
        matching = _join(where, " AND ")
        if calculation == "most_frequent":
            # Count each value per user, then keep the most frequent (ties: the first alphabetically).
            tallies = (_p("SELECT e.mpid AS mpid, ") + value + " AS v, count(*) AS n FROM " + f"{self.t.events} e WHERE "
                       + matching + " AND " + value + " IS NOT NULL GROUP BY ALL")
            return _p(f"SELECT mpid, {self.d.most_frequent()} AS value FROM (") + tallies + ") GROUP BY mpid"
        expression = _fill(template[calculation], value or _Sql())
        having = _fill(self.d.calculated_having(calculation), value or _Sql())
        return (_p("SELECT e.mpid AS mpid, ") + expression + f" AS value FROM {self.t.events} e WHERE " + matching
                + " GROUP BY e.mpid" + having)

    def _refuse(self, node: dict, message: str) -> None:
        self.problems.append(Problem(node["id"], "", message))
        return None

    def _criterion_identity(self, node: dict) -> _Sql | _Set:
        workspaces = self._workspaces(node)
        identity_type, operator = node["identity_type"], node["operator"]
        known = set().union(*(self.catalog.identity_types.get(ws, frozenset()) for ws in workspaces))
        if identity_type not in known:
            return self._problem(node, f"no {quoted(identity_type)} identities in the cache (known: {', '.join(sorted(known)) or 'none'})")
        base = _p(f"SELECT DISTINCT mpid FROM {self.t.identities} i WHERE ") + self._in("i.workspace_id", workspaces) + _p(" AND i.identity_type = ?", identity_type)
        if operator in PRESENCE_OPS:
            return self._present(base, operator)
        return self._narrowed(base, self._value_test(node, _Sql("i.value"), "string", operator, node.get("value")))

    def _criterion_device(self, node: dict) -> _Sql | _Set:
        workspaces = self._workspaces(node)
        field_name, operator = node["field"], node["operator"]
        column = f"d.{_DEVICE_COLUMNS[field_name]}"
        base = _p(f"SELECT DISTINCT mpid FROM {self.t.devices} d WHERE ") + self._in("d.workspace_id", workspaces)
        if operator in PRESENCE_OPS:
            return self._present(base + f" AND {column} IS NOT NULL", operator)
        if field_name in _VERSION_FIELDS and operator in NUMBER_OPS:
            return self._version_test(node, base, column, operator, node.get("value"))
        if operator not in STRING_OPS:
            return self._problem(node, _operator_misfit(f"device {field_name}", "string", operator))
        return self._narrowed(base, self._value_test(node, _Sql(column), "string", operator, node.get("value")))

    def _version_test(self, node: dict, base: _Sql, column: str, operator: str, value: Any) -> _Sql | _Set:
        as_version = self.d.version_parts("{}")
        values = value if operator == "between" else [value]
        if not isinstance(values, list) or not all(isinstance(v, str) and _is_version(v) for v in values):
            return self._problem(node, f"{quoted(value)} is not a version such as 17.4.1" if operator != "between"
                                 else 'between needs two versions such as ["9.0", "17.4"]')
        left = as_version.format(column)
        if operator == "between":
            if len(values) != 2:
                return self._problem(node, 'between needs two versions such as ["9.0", "17.4"]')
            # Lists compare part by part, but DuckDB has no BETWEEN for lists and its optimizer folds
            # "x >= a AND x <= b" into one; a CASE keeps the two comparisons apart.
            low, high = sorted(values, key=lambda v: tuple(int(part) for part in v.split(".")))
            test = _p(f"CASE WHEN {left} >= {as_version.format('?')} THEN {left} <= {as_version.format('?')} ELSE false END", low, high)
        else:
            test = _p(f"{left} {_COMPARISON_SQL[operator]} {as_version.format('?')}", values[0])
        return base + f" AND {column} IS NOT NULL AND " + test

    def _criterion_first_seen(self, node: dict) -> _Sql | _Set:
        workspaces = self._workspaces(node)
        base = _p(f"SELECT DISTINCT mpid FROM {self.t.profiles} p WHERE ") + self._in("p.workspace_id", workspaces)
        return self._narrowed(base, self._value_test(node, _Sql("p.first_seen"), "date", node["operator"], node.get("value")))

    def _criterion_location(self, node: dict) -> _Sql | _Set:
        workspaces = self._workspaces(node)
        base = _p(f"SELECT DISTINCT mpid FROM {self.t.locations} l WHERE ") + self._in("l.workspace_id", workspaces)
        operator = node["operator"]
        if operator == "within":
            missing = [k for k in ("latitude", "longitude", "radius") if node.get(k) is None]
            if missing:
                return self._problem(node, f"a distance needs {', '.join(missing)}")
            unit = node.get("unit", "km")
            lat, lon, radius = float(node["latitude"]), float(node["longitude"]), float(node["radius"])
            # A latitude band first: cheap, and it lets DuckDB skip most rows before the trigonometry.
            band = radius / _EARTH_RADIUS[unit] * 57.29577951308232
            distance = ("2 * ? * asin(sqrt(pow(sin(radians(l.latitude - ?) / 2), 2) + cos(radians(?)) * cos(radians(l.latitude))"
                        " * pow(sin(radians(l.longitude - ?) / 2), 2))) <= ?")
            return base + _p(" AND l.latitude BETWEEN ? AND ? AND ", lat - band, lat + band) + _p(distance, _EARTH_RADIUS[unit], lat, lat, lon, radius)
        field_name = node.get("field")
        if field_name is None:
            return self._problem(node, "choose a field (city, state, zip, dma or country) or a distance")
        if operator not in {"equals", "not_equals", "in", "not_in"}:
            return self._problem(node, _operator_misfit(f"location {field_name}", "string", operator))
        return self._narrowed(base, self._value_test(node, _Sql(f"l.{_LOCATION_COLUMNS[field_name]}"), "string", operator, node.get("value")))

    def _criterion_attribution(self, node: dict) -> _Sql | _Set:
        workspaces = self._workspaces(node)
        column = f"t.{_ATTRIBUTION_COLUMNS[node['field']]}"
        base = _p(f"SELECT DISTINCT mpid FROM {self.t.attribution} t WHERE ") + self._in("t.workspace_id", workspaces) + _p(" AND t.kind = ?", node["kind"])
        operator = node["operator"]
        if operator in PRESENCE_OPS:
            return self._present(base + f" AND {column} IS NOT NULL", operator)
        return self._narrowed(base, self._value_test(node, _Sql(column), "string", operator, node.get("value")))

    def _criterion_consent(self, node: dict) -> _Sql | _Set:
        workspaces = self._workspaces(node)
        base = _p(f"SELECT DISTINCT mpid FROM {self.t.consent} c WHERE ") + self._in("c.workspace_id", workspaces)
        if node["regulation"] == "gdpr":
            if not node.get("purpose") or node.get("consented") is None:
                return self._problem(node, "a GDPR criterion needs a purpose and consented (true or false)")
            consented = base + _p(" AND c.regulation = 'gdpr' AND c.purpose = ? AND c.consented", node["purpose"])
            # No record of consent is no consent.
            return _Set(consented, negated=not node["consented"])
        if node.get("opted_out") is None:
            return self._problem(node, "a CCPA criterion needs opted_out (true or false)")
        opted_out = base + " AND c.regulation = 'ccpa' AND c.purpose = 'data_sale_opt_out' AND c.consented"
        return _Set(opted_out, negated=not node["opted_out"])

    def _criterion_cart_abandonment(self, node: dict) -> _Sql | _Set:
        try:
            grace = _duration(node["no_purchase_within"])
            window = self._window("a.ts", node["window"])
        except ValueError as exc:
            return self._problem(node, f"window: {exc}")
        purchase_filter = self._event_filter("p")
        grace_us = int(grace.total_seconds() * 1_000_000)
        # The period without purchase must have passed: a cart added an hour ago is not yet abandoned.
        adds = (self._event_filter("a") + " AND a.event_type = 'commerce_event' AND a.product_action = 'add_to_cart' AND "
                + window + _p(" AND a.ts <= ?", self.now - grace))
        purchases = purchase_filter + " AND p.event_type = 'commerce_event' AND p.product_action = 'purchase'"
        if self.d.correlated_subqueries:
            return (_p(f"SELECT DISTINCT a.mpid AS mpid FROM {self.t.events} a WHERE ") + adds
                    + f" AND NOT EXISTS (SELECT 1 FROM {self.t.events} p WHERE p.mpid = a.mpid AND " + purchases
                    + _p(f" AND p.ts > a.ts AND p.ts <= {self.d.plus_microseconds('a.ts')})", grace_us))
        # The same as an anti join: the adds to cart followed by a purchase in time, by user and moment.
        followed = (_p(f"SELECT c.mpid, c.ts FROM (SELECT a.mpid AS mpid, a.ts AS ts FROM {self.t.events} a WHERE ") + adds
                    + f") c INNER JOIN (SELECT p.mpid AS mpid, p.ts AS ts FROM {self.t.events} p WHERE " + purchases
                    + _p(f") b ON b.mpid = c.mpid WHERE b.ts > c.ts AND b.ts <= {self.d.plus_microseconds('c.ts')}", grace_us))
        return (_p(f"SELECT DISTINCT a.mpid AS mpid FROM {self.t.events} a WHERE ") + adds
                + " AND (a.mpid, a.ts) NOT IN (" + followed + ")")

    def _criterion_audience_membership(self, node: dict) -> _Sql | _Set:
        if self.memberships is None:
            return self._problem(node, "audience membership cannot be evaluated here")
        if not node["audience_id"]:  # a card just added: no audience has id 0
            return self._problem(node, "no audience chosen yet: choose the audience whose members to count")
        target = self.memberships(node["audience_id"])
        if target is None:
            return self._problem(node, f"audience {node['audience_id']} does not exist")
        if target.members is not None:  # kept members (a standard audience): no criteria to compile
            kept_sql, kept_params = target.members
            members = _p(f"SELECT mpid FROM ({kept_sql})", *kept_params)
        else:
            if any(child.get("type") == "audience_membership" for _, child in walk(target.document["root"])):
                return self._problem(node, f"audience {quoted(target.name)} itself uses audience membership; choose an audience without membership criteria")
            inner = _Compiler(target.scope, self.catalog, self.now, self.t, None, prefix=f"{self.prefix}_m{len(self.ctes)}",
                              dialect=self.d)
            members = inner.members(target.document["root"])
            for problem in inner.problems:
                self.problems.append(Problem(node["id"], "", f"in audience {quoted(target.name)}: {problem}"))
            self.ctes.extend(inner.ctes)
        if node["member"]:  # the other audience may span other workspaces: keep this audience's own
            return _p(f"SELECT mpid FROM {self.universe}{self.d.intersect}") + _select(members)
        return _Set(members, negated=True)

    # -- value tests ------------------------------------------------------------------------------

    def _value_test(self, node: dict, column: _Sql, kind: str, operator: str, value: Any) -> _Sql | None:
        """`column` tested by `operator` against `value`; None (with a problem recorded) if they do not fit."""
        def bad(message: str) -> None:
            self.problems.append(Problem(node["id"], "", message))
            return None

        d = self.d

        if kind == "string":
            if operator in {"in", "not_in"}:
                if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
                    return bad(_needs_values(operator))
                negation = "" if operator == "in" else "NOT "
                return _fill(negation + d.list_contains("?", d.lower("{c}")), column, [v.lower() for v in value])
            if not isinstance(value, str):
                return bad(_needs_text(operator))
            lowered = d.lower("{c}")
            template = {
                "contains": d.contains(lowered, "?"), "not_contains": "NOT " + d.contains(lowered, "?"),
                "equals": f"{lowered} = ?", "not_equals": f"{lowered} <> ?", "matches": d.like(lowered, "?"),
            }[operator]
            operand = like_pattern(value.lower()) if operator == "matches" else value.lower()
            return _fill(template, column, operand)
        if kind == "number":
            if operator == "between":
                if not _is_pair(value, (int, float)):
                    return bad("“between” needs two numbers: the lowest and the highest")
                return _fill("{c} BETWEEN ? AND ?", column, min(value), max(value))
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return bad(f"“{operator_words(operator)}” needs a number to compare with, not {quoted(value)}")
            return _fill(f"{{c}} {_COMPARISON_SQL[operator]} ?", column, value)
        if kind == "date":
            try:
                low, high, inclusive = _date_bounds(operator, value, self.now)
            except ValueError as exc:
                return bad(str(exc))
            tests, values = [], []
            if low is not None:
                tests.append("{c} >= ?")
                values.append(low)
            if high is not None:
                tests.append("{c} <= ?" if inclusive else "{c} < ?")
                values.append(high)
            return _fill(" AND ".join(tests), column, *values)
        if kind == "boolean":
            return _fill(d.is_true("{c}") if operator == "is_true" else d.is_false("{c}"), column)
        if kind == "list":
            lowered = d.list_lower("{c}")
            if operator in {"list_contains", "list_not_contains"}:
                if not isinstance(value, str):
                    return bad(_needs_text(operator))
                negation = "" if operator == "list_contains" else "NOT "
                return _fill(negation + d.list_contains(lowered, "?"), column, value.lower())
            if operator in {"list_contains_any", "list_contains_all"}:
                if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
                    return bad(_needs_values(operator))
                function = d.list_has_any if operator == "list_contains_any" else d.list_has_all
                return _fill(function(lowered, "?"), column, [v.lower() for v in value])
            if operator == "list_size":
                if not _is_comparison(value):
                    return bad("“has a size of” needs a number of items to compare with, such as at least 3")
                sql, _ = _comparison(d.list_size("{c}"), value, count=True, column=column)
                return sql
        return bad(_operator_misfit("the value", kind, operator))


#: The compile function of each criterion type (groups are the tree's own), by the type's key:
#: checked against app/builder/criteria_types.py here, so a type without one stops the app at start-up.
COMPILERS: dict[str, Callable[[_Compiler, dict], _Sql | _Set]] = {
    "event": _Compiler._criterion_event,
    "user_attribute": _Compiler._criterion_user_attribute,
    "audience_membership": _Compiler._criterion_audience_membership,
    "identity": _Compiler._criterion_identity,
    "consent": _Compiler._criterion_consent,
    "device": _Compiler._criterion_device,
    "first_seen": _Compiler._criterion_first_seen,
    "location": _Compiler._criterion_location,
    "attribution": _Compiler._criterion_attribution,
    "cart_abandonment": _Compiler._criterion_cart_abandonment,
}
criteria_types.check_parts("compile function", COMPILERS)


def like_pattern(pattern: str) -> str:
    """A user's wildcard pattern as a LIKE pattern: * → %, ? → _, everything else literal."""
    out = []
    for char in pattern:
        if char == "*":
            out.append("%")
        elif char == "?":
            out.append("_")
        elif char in "%_\\":
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def _comparison(expression: str, comparison: dict, *, count: bool, column: _Sql | None = None) -> tuple[_Sql, bool]:
    """SQL for `expression op value` (`{c}` in it stands for `column`), and whether zero satisfies it.

    Zero matters for users with no matching events: "fewer than 3 sessions" includes them.
    """
    column = column or _Sql()
    operator, value = comparison["operator"], comparison["value"]
    if operator == "between":
        low, high = min(value), max(value)
        return _fill(f"{expression} BETWEEN ? AND ?", column, low, high), count and low <= 0 <= high
    zero = {"eq": 0 == value, "ne": 0 != value, "lt": 0 < value, "le": 0 <= value, "gt": 0 > value, "ge": 0 >= value}[operator]
    return _fill(f"{expression} {_COMPARISON_SQL[operator]} ?", column, value), count and zero


def _zero_satisfies(operator: str, value: Any) -> bool:
    """Whether a value of 0 passes a number test (already checked to be well formed)."""
    if operator == "between":
        return min(value) <= 0 <= max(value)
    return {"eq": 0 == value, "ne": 0 != value, "lt": 0 < value, "le": 0 <= value, "gt": 0 > value, "ge": 0 >= value}.get(operator, False)


def _duration(spec: dict) -> dt.timedelta:
    amount = spec["amount"]
    if amount > 36_500 * (24 if spec["unit"] == "hours" else 1):  # beyond a century: a typo, not a window
        raise ValueError(f"{amount} {spec['unit']} is longer than a hundred years")
    return dt.timedelta(hours=amount) if spec["unit"] == "hours" else dt.timedelta(days=amount)


def _day(text: str) -> dt.datetime:
    try:
        day = dt.datetime.strptime(text, "%Y-%m-%d")
    except (TypeError, ValueError):
        raise ValueError(f"{quoted(text)} is not a date such as 2026-09-09") from None
    if not 1900 <= day.year <= 2999:
        raise ValueError(f"{quoted(text)} is outside the years 1900 to 2999")
    return day


def _window_bounds(window: dict, now: dt.datetime) -> tuple[dt.datetime | None, dt.datetime | None, bool]:
    kind = window["type"]
    if kind == "within":
        return now - _duration(window), now, True
    if kind == "between_ago":
        unit = {"amount": 0, "unit": window["unit"]}
        early, late = sorted((window["from"], window["to"]))
        return now - _duration({**unit, "amount": late}), now - _duration({**unit, "amount": early}), True
    if kind == "before":
        return None, _day(window["date"]) + dt.timedelta(days=1), False
    if kind == "after":
        return _day(window["date"]), None, False
    if kind == "on":
        day = _day(window["date"])
        return day, day + dt.timedelta(days=1), False
    first, last = sorted((_day(window["from"]), _day(window["to"])))
    return first, last + dt.timedelta(days=1), False


def _date_bounds(operator: str, value: Any, now: dt.datetime) -> tuple[dt.datetime | None, dt.datetime | None, bool]:
    if operator in {"before", "after", "on"}:
        return _window_bounds({"type": operator, "date": value}, now)
    if operator == "between_dates":
        if not _is_pair(value, str):
            raise ValueError("between_dates needs two dates [\"2026-01-01\", \"2026-01-31\"]")
        return _window_bounds({"type": "between_dates", "from": value[0], "to": value[1]}, now)
    if operator == "within":
        if not isinstance(value, dict) or not isinstance(value.get("amount"), int) or value.get("unit") not in ("hours", "days"):
            raise ValueError("within needs {\"amount\": N, \"unit\": \"hours\" or \"days\"}")
        return _window_bounds({"type": "within", **value}, now)
    if operator == "between_ago":
        if not isinstance(value, dict) or not all(isinstance(value.get(k), int) for k in ("from", "to")) or value.get("unit") not in ("hours", "days"):
            raise ValueError("between_ago needs {\"from\": N, \"to\": M, \"unit\": \"days\"}")
        return _window_bounds({"type": "between_ago", **value}, now)
    raise ValueError(_operator_misfit("a date", "date", operator))


def _is_pair(value: Any, kinds) -> bool:
    return (isinstance(value, list) and len(value) == 2
            and all(isinstance(v, kinds) and not isinstance(v, bool) for v in value))


def _is_comparison(value: Any) -> bool:
    """{"operator": "ge", "value": 3} or {"operator": "between", "value": [1, 5]}."""
    if not isinstance(value, dict) or set(value) != {"operator", "value"}:
        return False
    operator, operand = value["operator"], value["value"]
    if operator == "between":
        return _is_pair(operand, (int, float))
    return operator in _COMPARISON_SQL and isinstance(operand, (int, float)) and not isinstance(operand, bool)


def _is_version(text: str) -> bool:
    return bool(text) and all(part.isdigit() for part in text.split("."))


def _needs_values(operator: str) -> str:
    return f"“{operator_words(operator)}” needs at least one value to compare with; type the values, separated by commas"


def _needs_text(operator: str) -> str:
    return f"“{operator_words(operator)}” needs a text to compare with"


def _operator_misfit(what: str, kind: str, operator: str) -> str:
    allowed = sorted(OPERATORS_BY_TYPE.get(kind, STRING_OPS) | PRESENCE_OPS)
    return f"{quoted(operator)} does not fit {what}, which holds {kind} values; use one of: {', '.join(allowed)}"
