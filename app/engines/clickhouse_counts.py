"""Exact counts and members of a criteria document on ClickHouse: the team server's engine (issue 25).

The document is compiled by the same compiler as the desktop's estimates, in ClickHouse's dialect
(`app.builder.clickhouse`), and run through a `Query`: a function taking the SQL and its named,
typed parameters and returning rows. `chdb_query` runs it in-process (chDB, the tests' ClickHouse);
a server or cluster would be one more such function over its client (clickhouse-connect), not
written yet. The ClickHouse database must hold the tables of `app.builder.clickhouse.TABLES`.

A refusal (a ClickHouse error, an unreachable server) becomes a `ClickHouseError` naming where the
query went and the first line of ClickHouse's message; nothing is written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable

from app.builder.catalog import Catalog
from app.builder.clickhouse import CLICKHOUSE
from app.builder.compiler import FULL, Membership, Scope, Tables, compile_count, compile_document, members_query
from app.errors import UserError

#: Runs one query: (SQL with {pN:Type} placeholders, {pN: value as text}) → rows of values.
Query = Callable[[str, dict[str, str]], list[tuple[Any, ...]]]


class ClickHouseError(UserError):
    """ClickHouse refused a query or could not be reached; the message names which one."""


@dataclass(frozen=True)
class Counted:
    """An audience's exact count on ClickHouse, each node's own count, and the moment it was counted at."""

    count: int
    nodes: dict[str, int]
    now: dt.datetime


class ClickHouseCounts:
    """Counts and members of criteria documents on one ClickHouse database."""

    def __init__(self, query: Query, *, tables: Tables = FULL):
        self._query = query
        self._tables = tables

    def count(self, document: dict[str, Any], *, scope: Scope, catalog: Catalog, now: dt.datetime,
              memberships: Callable[[int], Membership | None] | None = None, nodes: bool = True) -> Counted:
        """The exact count and (unless `nodes` is False) every node's own count.

        Raises CriteriaError (naming the node) for a document that cannot be counted, before any query.
        """
        now = now if now.tzinfo else now.replace(tzinfo=dt.timezone.utc)
        common = dict(scope=scope, catalog=catalog, now=now, tables=self._tables, memberships=memberships, dialect=CLICKHOUSE)
        total = compile_count(document, **common)
        per_node = compile_document(document, **common) if nodes else None
        count = int(self._run(total.sql, total.params)[0][0])
        node_counts: dict[str, int] = {}
        if per_node is not None:
            row = self._run(per_node.sql, per_node.params)[0]
            node_counts = {node_id: int(value) for node_id, value in zip(per_node.node_ids, row)}
        return Counted(count, node_counts, now)

    def members(self, document: dict[str, Any], *, scope: Scope, catalog: Catalog, now: dt.datetime,
                memberships: Callable[[int], Membership | None] | None = None) -> list[int]:
        """The audience's members' mpids, each once, in no particular order."""
        now = now if now.tzinfo else now.replace(tzinfo=dt.timezone.utc)
        sql, params = members_query(document, scope=scope, catalog=catalog, now=now, tables=self._tables,
                                    memberships=memberships, dialect=CLICKHOUSE)
        return [int(row[0]) for row in self._run(sql, params)]

    def _run(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        try:
            bound, values = CLICKHOUSE.bind(sql, params)
        except ValueError as exc:
            raise ClickHouseError(f"a value of this document cannot be sent to ClickHouse: {exc}") from None
        return self._query(bound, values)


def chdb_query(session: Any, *, where: str = "the in-process ClickHouse (chDB)") -> Query:
    """A `Query` over a chDB session (`chdb.session.Session`) whose current database holds the tables."""

    def run(sql: str, params: dict[str, str]) -> list[tuple[Any, ...]]:
        try:
            result = session.query(sql, "TabSeparated", params=params)
        except Exception as exc:  # chDB raises its own RuntimeError subclass for every refusal
            raise ClickHouseError(f"{where} refused the query: {_first_line(exc)}") from None
        text = result.data() if hasattr(result, "data") else str(result)
        return [tuple(line.split("\t")) for line in text.splitlines()]

    return run


def _first_line(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
