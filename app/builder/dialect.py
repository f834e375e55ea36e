"""The query-engine seam of the criteria compiler: the SQL spellings that differ between engines.

`app.builder.compiler` builds one tree of set expressions for every engine; wherever an engine
spells something its own way (materialized CTEs, set operators, lists, maps, casts, the named
struct of "most frequent value", the cart-abandonment anti join) it asks its `Dialect`. `DUCKDB`
is the desktop cache's (and the default: its output is the compiler's historic SQL, byte for
byte); `app.builder.clickhouse.CLICKHOUSE` is the team server's. Every method returns SQL text with
`{c}` standing for a column (see `compiler._fill`) and `?` for a bound parameter; how a `?` is bound
(positional for DuckDB, `{pN:Type}` for ClickHouse) is the dialect's `bind`.

A new engine subclasses `Dialect` and overrides what it spells differently; the conformance test
(tests/builder/test_clickhouse_conformance.py) shows whether the counts agree.
"""

from __future__ import annotations

from typing import Any


class Dialect:
    """DuckDB's spellings; other engines override what differs."""

    name = "duckdb"

    # -- query structure ----------------------------------------------------------------------------

    def cte(self, name: str, materialized: bool) -> str:
        """The head of one CTE, up to its opening parenthesis."""
        return f"{name} AS {'MATERIALIZED ' if materialized else ''}("

    #: Set operators (DuckDB's plain ones already drop duplicates).
    union = " UNION "
    intersect = " INTERSECT "
    except_ = " EXCEPT "

    def nobody(self) -> str:
        """A query of no users, typed like an mpid column."""
        return "SELECT NULL::BIGINT AS mpid WHERE false"

    # -- values -------------------------------------------------------------------------------------

    def lower(self, expression: str) -> str:
        """Lower case of a text, every alphabet (not only ASCII)."""
        return f"lower({expression})"

    def contains(self, haystack: str, needle: str) -> str:
        return f"contains({haystack}, {needle})"

    def like(self, expression: str, pattern: str) -> str:
        """`expression` matched by a LIKE `pattern` whose escape character is a backslash."""
        return f"{expression} LIKE {pattern} ESCAPE '\\'"

    def is_true(self, expression: str) -> str:
        return f"{expression} IS TRUE"

    def is_false(self, expression: str) -> str:
        return f"{expression} IS FALSE"

    def to_double(self, expression: str) -> str:
        """A text as a number, NULL when it is not one."""
        return f"TRY_CAST({expression} AS DOUBLE)"

    def to_utc_timestamp(self, expression: str) -> str:
        """A text as a UTC moment (ISO date or date-time, any offset), NULL when it is not one."""
        return f"TRY_CAST(TRY_CAST({expression} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP)"

    def to_boolean(self, expression: str) -> str:
        """'true' / 'false' in any case as a boolean, anything else NULL."""
        return f"CASE lower({expression}) WHEN 'true' THEN true WHEN 'false' THEN false END"

    def map_value(self, column: str) -> str:
        """The value under the key `?` of a text-to-text map, NULL when the key is absent (each `?` is the key)."""
        return f"{column}[?]"

    # -- lists --------------------------------------------------------------------------------------

    #: Whether a list column can be NULL (a user attribute whose value is no list); without, the
    #: compiler keeps list tests to the attributes whose value is a list.
    null_lists = True

    def list_lower(self, expression: str) -> str:
        return f"list_transform({expression}, lambda item: lower(item))"

    def list_contains(self, items: str, item: str) -> str:
        return f"list_contains({items}, {item})"

    def list_has_any(self, items: str, wanted: str) -> str:
        return f"list_has_any({items}, {wanted})"

    def list_has_all(self, items: str, wanted: str) -> str:
        return f"list_has_all({items}, {wanted})"

    def list_size(self, items: str) -> str:
        return f"len({items})"

    def version_parts(self, expression: str) -> str:
        """A dotted version ("17.4.1") as a list of integers, which compares part by part."""
        return f"list_transform(string_split({expression}, '.'), lambda part: TRY_CAST(part AS INTEGER))"

    # -- aggregates of calculated attributes ------------------------------------------------------

    def first_value(self) -> str:
        """The value of the earliest event (ties: the earlier imported) among those with a value."""
        return "arg_min({c}, struct_pack(t := e.ts, i := e.event_id)) FILTER (WHERE {c} IS NOT NULL)"

    def last_value(self) -> str:
        return "arg_max({c}, struct_pack(t := e.ts, i := e.event_id)) FILTER (WHERE {c} IS NOT NULL)"

    def unique_values(self) -> str:
        """The sorted list of distinct non-NULL values."""
        return "list_sort(list(DISTINCT {c}) FILTER (WHERE {c} IS NOT NULL))"

    def calculated_having(self, calculation: str) -> str:
        """A HAVING clause (`{c}`: the value) a calculated attribute's per-user values need, or ''."""
        return ""

    def most_frequent(self) -> str:
        """Of tallies (v, n), the most frequent v; ties: the first alphabetically."""
        return "arg_min(v, struct_pack(n := -n, v := v))"

    # -- time ---------------------------------------------------------------------------------------

    def plus_microseconds(self, moment: str) -> str:
        """`moment` plus `?` microseconds."""
        return f"{moment} + to_microseconds(?)"

    #: Whether a subquery may refer to the row of the query around it (DuckDB's NOT EXISTS for cart
    #: abandonment); without, the compiler writes that criterion as an anti join.
    correlated_subqueries = True

    # -- A/B buckets --------------------------------------------------------------------------------

    def seeded_bucket(self, mpid_column: str, buckets: int) -> str:
        """The bucket of "seed:mpid" (the seed is the one `?`): the MD5 digest's last 8 bytes read
        little-endian, modulo `buckets` (app.builder.variants.bucket is the same in Python)."""
        return f"CAST(md5_number_lower(? || ':' || CAST({mpid_column} AS VARCHAR)) % {buckets} AS INTEGER)"

    # -- binding ------------------------------------------------------------------------------------

    def bind(self, sql: str, params: list[Any]) -> tuple[str, Any]:
        """The query and its parameters in the form the engine's client takes."""
        return sql, params


DUCKDB = Dialect()
