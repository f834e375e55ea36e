"""ClickHouse's spellings of the compiled criteria, and the tables those queries read there.

The team server keeps its data in ClickHouse (issue 25) and counts audiences there with the same
compiler as the desktop; this module is the ClickHouse side of the seam in `app.builder.dialect`.
What differs from DuckDB, and how it is kept equal:

- values travel as typed query parameters `{pN:Type}` (`bind`), never inlined; moments are
  `DateTime64(6, 'UTC')` on both sides of every comparison, so the session's time zone changes
  nothing;
- set operators are spelled DISTINCT (ClickHouse's plain UNION needs a setting, EXCEPT and
  INTERSECT default to ALL); CTEs are not materialized (ClickHouse inlines them);
- `lowerUTF8` (ClickHouse's `lower` is ASCII only); `position` for contains; LIKE's escape is a
  backslash already;
- a missing map key is NULL (`mapContains`), as in DuckDB;
- lists: `has` (NULL for a missing value, as DuckDB's), `hasAny`, `hasAll`, `length`, `arrayMap`; a
  version is `splitByChar` into integers;
- "first/last value" order by the tuple (time, event id), "most frequent" by (-count, value); a list
  cannot be NULL in ClickHouse, so "unique values" keeps only users with at least one value;
- cart abandonment is an anti join, ClickHouse having no correlated subqueries.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.builder.dialect import Dialect


class ClickHouseDialect(Dialect):
    name = "clickhouse"

    def cte(self, name: str, materialized: bool) -> str:
        return f"{name} AS ("

    union = " UNION DISTINCT "
    intersect = " INTERSECT DISTINCT "
    except_ = " EXCEPT DISTINCT "

    def nobody(self) -> str:
        return "SELECT toInt64(0) AS mpid WHERE false"

    def lower(self, expression: str) -> str:
        return f"lowerUTF8({expression})"

    def contains(self, haystack: str, needle: str) -> str:
        return f"(position({haystack}, {needle}) > 0)"

    def like(self, expression: str, pattern: str) -> str:
        return f"{expression} LIKE {pattern}"

    def is_true(self, expression: str) -> str:
        return f"ifNull({expression} = true, false)"

    def is_false(self, expression: str) -> str:
        return f"ifNull({expression} = false, false)"

    def to_double(self, expression: str) -> str:
        return f"toFloat64OrNull({expression})"

    def to_utc_timestamp(self, expression: str) -> str:
        return f"parseDateTime64BestEffortOrNull({expression}, 6, 'UTC')"

    def to_boolean(self, expression: str) -> str:
        return f"multiIf(lowerUTF8({expression}) = 'true', true, lowerUTF8({expression}) = 'false', false, NULL)"

    def map_value(self, column: str) -> str:
        return f"if(mapContains({column}, ?), {column}[?], NULL)"

    def list_lower(self, expression: str) -> str:
        return f"arrayMap(item -> lowerUTF8(item), {expression})"

    null_lists = False

    def list_contains(self, items: str, item: str) -> str:
        # has(list, NULL) is false, where DuckDB's list_contains is NULL: "not in" must not match a missing value.
        # (A bound value, `?`, is never NULL.)
        return f"has({items}, ?)" if item == "?" else f"if({item} IS NULL, NULL, has({items}, {item}))"

    def list_has_any(self, items: str, wanted: str) -> str:
        return f"hasAny({items}, {wanted})"

    def list_has_all(self, items: str, wanted: str) -> str:
        return f"hasAll({items}, {wanted})"

    def list_size(self, items: str) -> str:
        return f"length({items})"

    def version_parts(self, expression: str) -> str:
        return f"arrayMap(part -> toInt32OrNull(part), splitByChar('.', ifNull({expression}, '')))"

    def first_value(self) -> str:
        return "argMinIf({c}, (e.ts, e.event_id), {c} IS NOT NULL)"

    def last_value(self) -> str:
        return "argMaxIf({c}, (e.ts, e.event_id), {c} IS NOT NULL)"

    def unique_values(self) -> str:
        return "arraySort(groupUniqArray({c}))"

    def calculated_having(self, calculation: str) -> str:
        # DuckDB's list of no values is NULL (no value); a ClickHouse array cannot be, so such users go.
        return " HAVING countIf({c} IS NOT NULL) > 0" if calculation == "unique_values" else ""

    def most_frequent(self) -> str:
        return "argMin(v, (-n, v))"

    def plus_microseconds(self, moment: str) -> str:
        return f"{moment} + toIntervalMicrosecond(?)"

    correlated_subqueries = False

    def seeded_bucket(self, mpid_column: str, buckets: int) -> str:
        # reinterpretAsUInt64 reads bytes little-endian: DuckDB's md5_number_lower exactly.
        return f"toInt32(reinterpretAsUInt64(substring(MD5(concat(?, ':', toString({mpid_column}))), 9, 8)) % {buckets})"

    def bind(self, sql: str, params: list[Any]) -> tuple[str, dict[str, str]]:
        """`?` → `{pN:Type}`, and the values in ClickHouse's text form of query parameters."""
        pieces = sql.split("?")
        if len(pieces) - 1 != len(params):
            raise ValueError(f"the query has {len(pieces) - 1} placeholders for {len(params)} values")
        out, values = [pieces[0]], {}
        for index, (value, piece) in enumerate(zip(params, pieces[1:])):
            name = f"p{index}"
            kind, text = parameter(value)
            out.append(f"{{{name}:{kind}}}")
            out.append(piece)
            values[name] = text
        return "".join(out), values


def parameter(value: Any) -> tuple[str, str]:
    """(ClickHouse type, text) of one bound value; raises ValueError for a value of no known type."""
    if isinstance(value, bool):
        return "Bool", "true" if value else "false"
    if isinstance(value, int):  # within 64 bits: the document check refuses larger integers
        return "Int64", str(value)
    if isinstance(value, float):  # never NaN or infinite: the document check refuses them
        return "Float64", repr(value)
    if isinstance(value, str):
        # A String parameter is read in ClickHouse's escaped text form: backslashes and control characters escaped.
        return "String", _escaped(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return "DateTime64(6, 'UTC')", value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, str) for v in value):
            return "Array(String)", "[" + ",".join(_quoted(v) for v in value) + "]"
        if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return "Array(Int64)", "[" + ",".join(str(v) for v in value) + "]"
    raise ValueError(f"no ClickHouse type for the query value {value!r}")


_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\\0"}


def _escaped(text: str) -> str:
    return "".join(_ESCAPES.get(char, char) for char in text)


def _quoted(text: str) -> str:
    """An array's item: quoted, backslashes, quotes and control characters escaped (once: no outer escaping)."""
    return "'" + _escaped(text).replace("'", "\\'") + "'"


CLICKHOUSE = ClickHouseDialect()

UTC_TIME = "DateTime64(6, 'UTC')"
_TEXT = "Nullable(String)"
#: The tables the compiled criteria read, in ClickHouse types (the cache's, with times in UTC):
#: table → [(column, type)], in the cache's column order.
TABLES: dict[str, list[tuple[str, str]]] = {
    "profiles": [("workspace_id", "Int32"), ("mpid", "Int64"), ("first_seen", UTC_TIME), ("last_seen", UTC_TIME),
                 ("bucket", "Int16")],
    "identities": [("workspace_id", "Int32"), ("mpid", "Int64"), ("identity_type", "String"), ("kind", "String"),
                   ("value", "String"), ("updated_at", UTC_TIME)],
    "attributes": [("workspace_id", "Int32"), ("mpid", "Int64"), ("name", "String"), ("value", _TEXT),
                   ("value_list", "Array(Nullable(String))"), ("json_kind", "String"), ("value_number", "Nullable(Float64)"),
                   ("value_date", f"Nullable({UTC_TIME})"), ("value_bool", "Nullable(Bool)"), ("updated_at", UTC_TIME)],
    "consent": [("workspace_id", "Int32"), ("mpid", "Int64"), ("regulation", "String"), ("purpose", "String"),
                ("consented", "Bool"), ("document", _TEXT), ("updated_at", UTC_TIME)],
    "devices": [("workspace_id", "Int32"), ("mpid", "Int64"), ("platform", _TEXT), ("os", _TEXT), ("os_version", _TEXT),
                ("device_model", _TEXT), ("manufacturer", _TEXT), ("carrier", _TEXT), ("app_version", _TEXT),
                ("build", _TEXT), ("updated_at", UTC_TIME)],
    "locations": [("workspace_id", "Int32"), ("mpid", "Int64"), ("city", _TEXT), ("state", _TEXT), ("zip", _TEXT),
                  ("dma", _TEXT), ("country", _TEXT), ("latitude", "Nullable(Float64)"), ("longitude", "Nullable(Float64)"),
                  ("updated_at", UTC_TIME)],
    "attribution": [("workspace_id", "Int32"), ("mpid", "Int64"), ("kind", "String"), ("service_provider", _TEXT),
                    ("publisher", _TEXT), ("campaign", _TEXT), ("updated_at", UTC_TIME)],
    "events": [("event_id", "Int64"), ("workspace_id", "Int32"), ("mpid", "Int64"), ("ts", UTC_TIME),
               ("event_type", "String"), ("event_name", _TEXT), ("input", "String"), ("product_action", _TEXT),
               ("revenue", "Nullable(Float64)"), ("currency", _TEXT), ("attributes", "Map(String, Nullable(String))")],
}
#: Sort keys: a workspace's rows together, events by type and time (what audience queries filter on).
ORDER_BY = {"events": "(workspace_id, event_type, ts, mpid)"}


def create_tables(prefix: str = "") -> list[str]:
    """CREATE TABLE statements (MergeTree) for `TABLES`, each name with `prefix` (a database, `db.`)."""
    return [f"CREATE TABLE {prefix}{name} ({', '.join(f'{column} {kind}' for column, kind in columns)}) "
            f"ENGINE = MergeTree ORDER BY {ORDER_BY.get(name, '(workspace_id, mpid)')}"
            for name, columns in TABLES.items()]
