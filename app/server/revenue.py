"""Revenue on the server: checking and storing uploaded revenue rows, and reading them back as sync pages.

The three tables are the cache's (`app.connectors.cache.REVENUE_TABLES`: revenue records, segment
member counts, agencies), each row kept latest-wins by its key, an unreported (NULL) agency or
channel being part of the key. Every stored row carries `change_seq`, taken from its workspace's
`revenue_seq` with UPDATE ... RETURNING (as ingest takes `last_seq`): the row lock orders the
commits, so a reader that sees `revenue_seq = S` sees every row numbered up to S. A correction of a
row moves it to a new, higher number.

A page of revenue changes is a range of those numbers, (after, through], with through <= the
`revenue_seq` read when the page was planned. Its parts are re-queried by range when fetched. Rows
can leave a range (a later upsert moved them to a higher number) but never enter one (new numbers
are always above S), so a part holds at most what the page said; a row that left will come again
on a later page with its new values. See docs/server.md › Revenue.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import Connection, Table, literal, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite

from app.connectors.cache import REVENUE_TABLES
from app.errors import InvalidInput, NotFound
from app.server import cursors
from app.server.database import Database
from app.server.errors import ApiError
from app.server.tables import agencies, revenue_records, segment_counts, workspaces

#: The upload's sections (as the API names them) and the cache tables they fill, in page order.
SECTIONS: dict[str, str] = {"records": "revenue_records", "segment_counts": "segment_counts", "agencies": "agencies"}
#: The server's table of each cache table.
TABLES: dict[str, Table] = {"revenue_records": revenue_records, "segment_counts": segment_counts, "agencies": agencies}

#: The longest text a revenue column keeps (segment keys, agencies, channels and agency details).
MAX_TEXT = 200
#: Rows sent to the database per statement.
CHUNK = 2_000


class RevenueRowError(InvalidInput):
    """A row that cannot be stored; names its section, its index in the upload, and the field."""

    def __init__(self, section: str, index: int, column: str, problem: str):
        self.index, self.column, self.problem = index, column, problem
        self.field = f"{section}[{index}].{column}" if column else f"{section}[{index}]"
        super().__init__(f"{self.field}: {problem}")


def columns_of(table: str) -> list[pa.Field]:
    """The columns a row of the cache table carries in an upload (all but workspace_id)."""
    return [f for f in REVENUE_TABLES[table][0] if f.name != "workspace_id"]


# -- checking -------------------------------------------------------------------------------------


def check_rows(section: str, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The section's rows as the database takes them; the first bad one raises RevenueRowError.

    Values may be JSON's (ISO dates, numbers) or Arrow's (dates, ints, floats); numbers and dates
    also as text (a CSV file's cells). Unknown fields are refused: a misspelt column must not
    silently become "not reported"."""
    table = SECTIONS[section]
    fields = columns_of(table)
    names = {f.name for f in fields}
    checked = []
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise RevenueRowError(section, index, "", "a row is an object of its columns")
        unknown = sorted(set(row) - names - {"workspace_id"})
        if unknown:
            raise RevenueRowError(section, index, unknown[0], f"not a column of {table}; expected {', '.join(sorted(names))}")
        clean = {}
        for field in fields:
            value = row.get(field.name)
            if value is None:
                if not field.nullable:
                    raise RevenueRowError(section, index, field.name, "missing: every row needs it")
                clean[field.name] = None
                continue
            clean[field.name] = _value(field, value, lambda problem, name=field.name, at=index: RevenueRowError(section, at, name, problem))
        checked.append(clean)
    return checked


def _value(field: pa.Field, value: Any, error) -> Any:
    kind = field.type
    if pa.types.is_date(kind):
        return _day(value, error)
    if pa.types.is_integer(kind):
        if isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise error(f"{value!r} is not a whole number") from None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise error(f"{value!r} is not a whole number")
        if not 0 <= value < 2**63:
            raise error(f"{value} is not a count (0 or more)")
        return value
    if pa.types.is_floating(kind):
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise error(f"{value!r} is not a number") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise error(f"{value!r} is not a number")
        if not math.isfinite(value):
            raise error(f"{value} is not a finite number")
        return float(value)
    if not isinstance(value, str):
        raise error(f"{value!r} is not text")
    if field.name == "currency":
        if len(value) != 3 or not value.isascii() or not value.isalpha() or not value.isupper():
            raise error(f"{value!r} is not a 3-letter currency code such as USD or EUR")
        return value
    if not value.strip():
        raise error("empty; leave it out (null) when the channel did not report it" if field.nullable else "empty")
    if len(value) > MAX_TEXT:
        raise error(f"longer than {MAX_TEXT} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise error("holds control characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise error("is not valid Unicode text") from None
    return value


def _day(value: Any, error) -> dt.date:
    if isinstance(value, dt.datetime):
        if value.time() != dt.time(0):
            raise error(f"{value.isoformat()} is a time, not a day")
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            if len(value.strip()) == 10:
                return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
        raise error(f"{value!r} is not a day (YYYY-MM-DD)")
    raise error(f"{value!r} is not a day (YYYY-MM-DD)")


def record_key(table: str, row: Mapping[str, Any]) -> str:
    """The row's key within its workspace as canonical JSON (NULL, the unreported, is `null`)."""
    keys = [k for k in REVENUE_TABLES[table][1] if k != "workspace_id"]
    return json.dumps([row[k].isoformat() if isinstance(row[k], dt.date) else row[k] for k in keys],
                      ensure_ascii=False, separators=(",", ":"))


# -- storing --------------------------------------------------------------------------------------


def store(database: Database, workspace_id: int, checked: Mapping[str, list[dict[str, Any]]]) -> dict[str, int]:
    """Upsert checked rows (by section) in one transaction, latest wins by key, each under a new
    change number of the workspace. Returns the rows written per section (a key given twice in one
    upload is written once: its last row)."""
    latest = {section: {record_key(SECTIONS[section], row): row for row in checked.get(section, [])}
              for section in SECTIONS}
    total = sum(len(rows) for rows in latest.values())
    written = {section: len(rows) for section, rows in latest.items()}
    if not total:
        return written
    with database.write() as connection:
        last = connection.execute(
            update(workspaces).where(workspaces.c.id == workspace_id)
            .values(revenue_seq=workspaces.c.revenue_seq + total).returning(workspaces.c.revenue_seq)
        ).scalar_one_or_none()
        if last is None:
            raise NotFound(f"No workspace {workspace_id} on this server")
        seq = last - total
        for section, rows in latest.items():
            if not rows:
                continue
            table = TABLES[SECTIONS[section]]
            values = []
            for key, row in rows.items():
                seq += 1
                values.append({"workspace_id": workspace_id, "record_key": key, **row, "change_seq": seq})
            statement = _upsert(connection, table)
            for start in range(0, len(values), CHUNK):
                connection.execute(statement, values[start:start + CHUNK])
    return written


def _upsert(connection: Connection, table: Table):
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    changing = [c.name for c in table.columns if c.name not in ("workspace_id", "record_key")]
    return statement.on_conflict_do_update(index_elements=["workspace_id", "record_key"],
                                           set_={name: statement.excluded[name] for name in changing})


# -- files (the administration command) ---------------------------------------------------------


def read_file(path: Path, section: str) -> list[dict[str, Any]]:
    """A CSV or Parquet file's rows, checked; errors name the file and the row (counted from 1)."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table_name = SECTIONS[section]
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            # Every column as text: the checks below name the row and column of a bad value, and an
            # empty cell is NULL ("not reported").
            names = {f.name for f in columns_of(table_name)} | {"workspace_id"}
            table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in names}, strings_can_be_null=True, null_values=[""]))
        elif suffix in (".parquet", ".pq"):
            table = pq.read_table(path)
        else:
            raise InvalidInput(f"{path}: read CSV (.csv) or Parquet (.parquet) files, not {suffix or 'a file without an extension'}")
    except FileNotFoundError:
        raise NotFound(f"{path}: no such file") from None
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidInput(f"{path}: cannot read it as {'CSV' if suffix == '.csv' else 'Parquet'}: {exc}") from None
    try:
        return check_rows(section, table.to_pylist())
    except RevenueRowError as exc:
        where = f"column {exc.column}" if exc.column else "the row"
        raise InvalidInput(f"{path}, row {exc.index + 1} ({where}): {exc.problem}") from None


def rows_of(table: pa.Table) -> list[dict[str, Any]]:
    """An Arrow table of REVENUE_TABLES columns as upload rows (without workspace_id)."""
    return [{k: v for k, v in row.items() if k != "workspace_id"} for row in table.to_pylist()]


# -- reading: pages of changes ------------------------------------------------------------------


@dataclass(frozen=True)
class RevenuePage:
    """The revenue changes numbered (after, through] of a workspace, and how many rows each table has there."""

    workspace_id: int
    after: int
    through: int
    rows: dict[str, int]
    more: bool
    server_seq: int

    def token(self) -> str:
        return page_token(self.workspace_id, self.after, self.through)


def cursor(workspace_id: int, after: int) -> str:
    return cursors.encode("r", {"w": workspace_id, "a": after})


def from_cursor(text: str) -> tuple[int, int]:
    fields = cursors.decode("r", text, field="cursor", names=("w", "a"))
    return fields["w"], fields["a"]


def page_token(workspace_id: int, after: int, through: int) -> str:
    return cursors.encode("rp", {"w": workspace_id, "a": after, "t": through})


def from_page_token(text: str) -> tuple[int, int, int]:
    fields = cursors.decode("rp", text, field="page", names=("w", "a", "t"))
    if fields["t"] < fields["a"]:
        raise ApiError(400, "INVALID_CURSOR", "page: not a page this server gave out", field="page")
    return fields["w"], fields["a"], fields["t"]


def _numbers(workspace_id: int, after: int, through: int):
    """The change numbers of the three tables in (after, through], each with its table's name."""
    return union_all(*(
        select(t.c.change_seq.label("seq"), literal(name).label("part"))
        .where(t.c.workspace_id == workspace_id, t.c.change_seq > after, t.c.change_seq <= through)
        for name, t in TABLES.items()
    )).subquery()


def plan(connection: Connection, workspace_id: int, after: int, limit: int) -> RevenuePage:
    """The next page after `after`: at most `limit` rows of the three tables together."""
    server_seq = connection.execute(select(workspaces.c.revenue_seq).where(workspaces.c.id == workspace_id)).scalar_one()
    if after > server_seq:
        raise ApiError(409, "CURSOR_AHEAD", f"cursor: it is past the server's newest revenue change ({server_seq}); "
                       "the server's data was reset, so sync again from the start", field="cursor")
    numbers = _numbers(workspace_id, after, server_seq)
    found = connection.execute(select(numbers.c.seq, numbers.c.part).order_by(numbers.c.seq).limit(limit)).all()
    if len(found) < limit:
        # Every change up to the counter is on this page: the cursor passes the numbers of rows
        # that have moved on since (corrected later), which no page would ever hold.
        through, more = server_seq, False
    else:
        through = found[-1].seq
        beyond = _numbers(workspace_id, through, server_seq)
        more = connection.execute(select(beyond.c.seq).limit(1)).first() is not None
    counts = Counter(row.part for row in found)
    return RevenuePage(workspace_id, after, through, {name: counts.get(name, 0) for name in TABLES}, more, server_seq)


def part(connection: Connection, workspace_id: int, after: int, through: int, table: str, limit: int) -> pa.Table:
    """A page's rows of one table, re-queried by the page's range, in change order, as the cache's
    Arrow schema (with the server's workspace id). 400 if the range holds more than a page."""
    schema = REVENUE_TABLES[table][0]
    source = TABLES[table]
    names = [f.name for f in schema if f.name != "workspace_id"]
    rows = connection.execute(
        select(*(source.c[name] for name in names))
        .where(source.c.workspace_id == workspace_id, source.c.change_seq > after, source.c.change_seq <= through)
        .order_by(source.c.change_seq).limit(limit + 1)
    ).all()
    if len(rows) > limit:  # a page token the server did not make: it would not fit a page
        raise ApiError(400, "INVALID_CURSOR", "page: not a page this server gave out", field="page")
    data = {"workspace_id": [workspace_id] * len(rows)}
    for i, name in enumerate(names):
        data[name] = [row[i] for row in rows]
    return pa.table(data, schema=schema)


# -- the administration command (`audience-studio server revenue ...`) ---------------------------


def workspace_of(database: Database, name_or_id: str) -> tuple[int, str]:
    """The workspace's id and name, by name (any case) or id; NotFound naming it otherwise."""
    from app.server.admin import (
        _workspace_id,  # the administration's own lookup and message
    )

    with database.read() as connection:
        workspace_id = _workspace_id(connection, name_or_id)
        name = connection.execute(select(workspaces.c.name).where(workspaces.c.id == workspace_id)).scalar_one()
    return workspace_id, name


def load_files(database: Database, workspace: str, files: Mapping[str, Path | None]) -> tuple[str, dict[str, int]]:
    """Read the files given (by section), check every row of all of them, then store them in one transaction."""
    chosen = {section: path for section, path in files.items() if path is not None}
    if not chosen:
        raise InvalidInput("Nothing to load: give --records FILE, --counts FILE and/or --agencies FILE (CSV or Parquet)")
    workspace_id, name = workspace_of(database, workspace)
    checked = {section: read_file(Path(path), section) for section, path in chosen.items()}
    return name, store(database, workspace_id, checked)


def demo_segments(workspace_name: str, currency: str | None = None) -> list:
    """The demo's priced public segments (app.engines.demo.DEMO_PUBLIC_SEGMENTS) under the keys the
    desktop demo sells them by (external name, else name), so a desktop demo's audiences match.
    A workspace named like a demo workspace gets that workspace's segments and currency."""
    from app.connectors import demo_data, demo_revenue
    from app.engines.demo import DEMO_PUBLIC_SEGMENTS, example_audiences

    ids = {name.casefold(): number for number, name in enumerate(demo_data.WORKSPACES, start=1)}
    mine = ids.get(workspace_name.casefold())
    default_currency = demo_revenue.CURRENCY[demo_data.WORKSPACES[mine - 1]] if mine else "USD"
    public = {name for name, _cpm, _category in DEMO_PUBLIC_SEGMENTS}
    keys = [spec["external_name"] or spec["name"] for spec in example_audiences(1, 2)
            if spec["name"] in public and (mine is None or mine in spec["workspaces"])]
    # Numbered as a fresh desktop demo numbers its workspaces (US 1, EU 2): the generator seeds each
    # segment by workspace and key, so the same seed and end day give the desktop demo's very rows.
    return [demo_revenue.DemoSegment(mine or 1, key, currency or default_currency) for key in keys]


def put_demo(database: Database, workspace: str, *, days: int, seed: int, end: dt.date | None = None,
             currency: str | None = None) -> tuple[str, dict[str, int]]:
    """The demo generator's history (`days` up to `end`, default yesterday) for the demo's public
    segments, stored in the workspace as an upload would be."""
    from app.connectors import demo_revenue

    if days < 1:
        raise InvalidInput(f"--days {days}: give 1 day or more")
    if currency is not None and (len(currency) != 3 or not currency.isalpha() or not currency.isupper()):
        raise InvalidInput(f"--currency {currency!r}: give a 3-letter code such as USD")
    workspace_id, name = workspace_of(database, workspace)
    end = end or dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    data = demo_revenue.generate(demo_segments(name, currency), end=end, days=days, seed=seed)
    checked = {"records": check_rows("records", rows_of(data.records)),
               "segment_counts": check_rows("segment_counts", rows_of(data.counts)),
               "agencies": check_rows("agencies", rows_of(data.agencies))}
    return name, store(database, workspace_id, checked)
