"""Revenue analytics: the aggregations behind the Revenue pane, computed in DuckDB over the cache.

The cache's revenue tables (app/connectors/cache.py, docs/revenue.md) hold one row per day, segment,
agency (the data buyer) and channel. Everything here takes a cursor - so run it off the GUI thread -
and returns plain dataclasses with days as `datetime.date` and money as float, ready for a chart
or a CSV file.

Rules every function keeps:
- A NULL agency or channel means the channel did not report that breakdown: it is the part
  "Unknown" (key None), counted in totals and shares, never dropped and never shown as zero.
- Only public segments earn revenue: with `RevenueFilter.public_segments` set, rows of any other
  segment are left out (None means no segment settings are known, so every segment counts).
- Buckets are calendar days, ISO weeks (Monday to Sunday) or calendar months, in UTC (the cache's
  days are UTC days). A bucket is named by its first day, even when the range starts inside it;
  only the range's days are summed. Time series are dense: a bucket without records is 0.0.
- Money is never added across currencies: a filter names one currency.

Speed (docs/performance.md): the queries read the rollups CacheWriter keeps beside the records
(per day and segment, per week and per month) and the records only for the days around whole
weeks or months, so a redraw reads thousands of rows rather than millions.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.errors import InvalidInput

if TYPE_CHECKING:
    import duckdb  # only annotations: the cursors come from the cache

GRANULARITIES = ("day", "week", "month")

#: The breakdowns, in the users' words, and their columns.
DIMENSIONS = {"segment": "segment_key", "agency": "agency", "channel": "channel"}

#: The label of a breakdown the channel did not report.
UNKNOWN = "Unknown"


# -- buckets ----------------------------------------------------------------------------------------


def bucket_of(day: dt.date, granularity: str) -> dt.date:
    """The first day of the bucket holding `day`."""
    if granularity == "day":
        return day
    if granularity == "week":
        return day - dt.timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    raise InvalidInput(f"Unknown granularity {granularity!r}: choose one of {', '.join(GRANULARITIES)}.")


def next_bucket(bucket: dt.date, granularity: str) -> dt.date:
    """The first day of the bucket after the one starting on `bucket`."""
    if granularity == "day":
        return bucket + dt.timedelta(days=1)
    if granularity == "week":
        return bucket + dt.timedelta(days=7)
    if granularity == "month":
        return (bucket.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    raise InvalidInput(f"Unknown granularity {granularity!r}: choose one of {', '.join(GRANULARITIES)}.")


def bucket_coverage(bucket: dt.date, granularity: str, start: dt.date, end: dt.date) -> tuple[int, int]:
    """(how many of the bucket's days lie in start..end, how many days the bucket has)."""
    after = next_bucket(bucket, granularity)
    first, last = max(bucket, start), min(after - dt.timedelta(days=1), end)
    return max(0, (last - first).days + 1), (after - bucket).days


def buckets(start: dt.date, end: dt.date, granularity: str) -> list[dt.date]:
    """The buckets that overlap the days start..end (both included), by their first day."""
    result = []
    bucket = bucket_of(start, granularity)
    while bucket <= end:
        result.append(bucket)
        bucket = next_bucket(bucket, granularity)
    return result


# -- the filter -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RevenueFilter:
    """Which revenue a chart shows. None in `segments`, `agencies` or `channels` means "all";
    None inside `agencies` or `channels` picks the Unknown part."""

    start: dt.date
    end: dt.date  # included
    currency: str
    workspace_ids: tuple[int, ...] = ()  # empty: every workspace
    segments: frozenset[str] | None = None
    agencies: frozenset[str | None] | None = None
    channels: frozenset[str | None] | None = None
    public_segments: frozenset[str] | None = None  # None: no segment settings known, all segments earn

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise InvalidInput(f"The time range ends ({self.end}) before it starts ({self.start}).")
        object.__setattr__(self, "workspace_ids", tuple(self.workspace_ids))
        for name in ("segments", "agencies", "channels", "public_segments"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, frozenset):
                object.__setattr__(self, name, frozenset(value))

    def narrowed(self, dimension: str, values: Iterable[str | None]) -> RevenueFilter:
        """This filter with the dimension's choice replaced by `values` (a compare's one side)."""
        field = {"segment": "segments", "agency": "agencies", "channel": "channels"}.get(dimension)
        if field is None:
            raise InvalidInput(f"Unknown breakdown {dimension!r}: choose one of {', '.join(DIMENSIONS)}.")
        return dataclasses.replace(self, **{field: frozenset(values)})

    def shifted(self, start: dt.date) -> RevenueFilter:
        """The same number of days from `start` (a compare's other period)."""
        return dataclasses.replace(self, start=start, end=start + (self.end - self.start))


#: Filters choosing more values than this are a semi join on a list parameter.
_LONG_LIST = 16

#: The rollups (app/connectors/cache.py) with every breakdown, by the bucket they sum.
_ROLLUPS = {"week": "revenue_weekly", "month": "revenue_monthly"}


def _dims_where(f: RevenueFilter) -> tuple[str, list]:
    """The filter but its range, for revenue_records and its rollups (which share these columns)."""
    clauses = ["currency = ?"]
    params: list = [f.currency]
    if f.workspace_ids:
        clauses.append(f"workspace_id IN ({', '.join('?' for _ in f.workspace_ids)})")
        params.extend(f.workspace_ids)
    for column, values in (("segment_key", f.segments), ("segment_key", f.public_segments),
                           ("agency", f.agencies), ("channel", f.channels)):
        if values is None:
            continue
        known = sorted(v for v in values if v is not None)
        either = []
        if len(known) > _LONG_LIST:
            # A semi join: a long IN list is tested value by value on every row (2x slower at 400).
            either.append(f"{column} IN (SELECT unnest(?::VARCHAR[]))")
            params.append(known)
        elif known:
            either.append(f"{column} IN ({', '.join('?' for _ in known)})")
            params.extend(known)
        if None in values:
            either.append(f"{column} IS NULL")
        clauses.append(f"({' OR '.join(either)})" if either else "false")
    return " AND ".join(clauses), params


def _split_range(start: dt.date, end: dt.date, granularity: str
                 ) -> tuple[tuple[dt.date, dt.date] | None, list[tuple[dt.date, dt.date]]]:
    """The whole weeks or months inside start..end (the first's and the last's first day), and the
    day ranges left over at either end."""
    first = start if bucket_of(start, granularity) == start else next_bucket(bucket_of(start, granularity), granularity)
    after = next_bucket(bucket_of(end, granularity), granularity)
    # The day after the whole buckets: the end's bucket is whole only when the range ends on its last day.
    stop = after if end == after - dt.timedelta(days=1) else bucket_of(end, granularity)
    if first >= stop:
        return None, [(start, end)]
    edges = []
    if start < first:
        edges.append((start, first - dt.timedelta(days=1)))
    if stop <= end:
        edges.append((stop, end))
    return (first, bucket_of(stop - dt.timedelta(days=1), granularity)), edges


def _pieces(f: RevenueFilter, granularity: str = "month") -> tuple[str, list]:
    """A subquery of (bucket, segment_key, agency, channel, revenue, impressions, records) rows
    adding up to the filter's revenue: whole weeks or months from their rollup (bucket: its first
    day), the days around them from the records (bucket: the day; the records are sorted by day,
    so DuckDB's zone maps skip the rest)."""
    dims, dim_params = _dims_where(f)
    whole, edges = _split_range(f.start, f.end, granularity)
    selects, params = [], []
    if whole:
        selects.append(f"SELECT {granularity} AS bucket, segment_key, agency, channel, revenue, impressions, records "
                       f"FROM {_ROLLUPS[granularity]} WHERE {dims} AND {granularity} BETWEEN ? AND ?")
        params += [*dim_params, *whole]
    if edges:
        days = " OR ".join("day BETWEEN ? AND ?" for _ in edges)
        selects.append("SELECT day AS bucket, segment_key, agency, channel, revenue, impressions, 1 AS records "
                       f"FROM revenue_records WHERE {dims} AND ({days})")
        params += [*dim_params, *(day for edge in edges for day in edge)]
    return " UNION ALL ".join(selects), params


# -- results ----------------------------------------------------------------------------------------


#: Where a member-count series comes from (Series.source): this home's membership engine, or the server.
FROM_MEMBERSHIP, FROM_SERVER = "membership", "server"


@dataclass(frozen=True)
class Series:
    """One line or bar series: `values[i]` is the bucket starting on `buckets[i]`.

    `days`, for sums over a range (revenue), is the range (first and last day, included): a week or
    month the range only partly covers sums fewer days than a whole one, so a chart marks it
    (`partial`) rather than draw it as a fall. `source` says where member counts come from."""

    label: str
    granularity: str
    buckets: list[dt.date]
    values: list[float]
    days: tuple[dt.date, dt.date] | None = None
    source: str | None = None

    def rows(self) -> list[tuple[dt.date, float]]:
        return list(zip(self.buckets, self.values))

    def partial(self, i: int) -> tuple[int, int] | None:
        """(days of bucket i in the range, days in the bucket) when the range covers only part of
        it; None for a whole bucket (and for series that are not sums over a range)."""
        if self.days is None:
            return None
        covered, length = bucket_coverage(self.buckets[i], self.granularity, *self.days)
        return (covered, length) if covered < length else None


@dataclass(frozen=True)
class Agency:
    """A data buyer's details, as the server knows them (any may be missing)."""

    agency: str
    name: str | None
    kind: str | None
    country: str | None
    contact: str | None


@dataclass(frozen=True)
class Part:
    """One bar of a breakdown. `key` None is the Unknown part (the channel did not report it)."""

    key: str | None
    label: str
    revenue: float
    share: float  # of the breakdown's total; the shares add up to 1 when there is revenue
    impressions: int | None  # None when no record of the part reported impressions
    details: Agency | None = None  # agencies only

    @property
    def unknown(self) -> bool:
        return self.key is None


@dataclass(frozen=True)
class Breakdown:
    dimension: str
    parts: list[Part]  # most revenue first
    total: float

    def part(self, key: str | None) -> Part | None:
        return next((p for p in self.parts if p.key == key), None)


@dataclass(frozen=True)
class Total:
    revenue: float
    impressions: int | None
    records: int


@dataclass(frozen=True)
class RevenueView:
    """What one redraw of the Revenue pane needs, from one scan of the records."""

    total: Total
    series: Series
    by_segment: Breakdown
    by_agency: Breakdown
    by_channel: Breakdown


@dataclass(frozen=True)
class Comparison:
    """Two series side by side; for two periods they align by position (offset i = a's and b's
    i-th bucket), for two segments, agencies or channels the buckets are the same."""

    a: Series
    b: Series

    def rows(self) -> list[tuple[int, dt.date | None, float | None, dt.date | None, float | None]]:
        """(offset, a's bucket, a's value, b's bucket, b's value); None where one side is shorter."""
        result = []
        for i in range(max(len(self.a.buckets), len(self.b.buckets))):
            a = (self.a.buckets[i], self.a.values[i]) if i < len(self.a.buckets) else (None, None)
            b = (self.b.buckets[i], self.b.values[i]) if i < len(self.b.buckets) else (None, None)
            result.append((i, *a, *b))
        return result


# -- queries ----------------------------------------------------------------------------------------


def _dense(f: RevenueFilter, granularity: str, sums: dict[dt.date, float], label: str) -> Series:
    keys = buckets(f.start, f.end, granularity)
    return Series(label, granularity, keys, [float(sums.get(k, 0.0)) for k in keys], days=(f.start, f.end))


def _day_sums(cursor: duckdb.DuckDBPyConnection, f: RevenueFilter, granularity: str) -> dict[dt.date, float]:
    """Revenue per bucket. Summed by day (or whole week or month) in DuckDB and bucketed here: a
    few thousand rows at most, and date_trunc per record cost more than all of the bucketing."""
    if granularity not in GRANULARITIES:
        raise InvalidInput(f"Unknown granularity {granularity!r}: choose one of {', '.join(GRANULARITIES)}.")
    if f.agencies is None and f.channels is None:  # the daily rollup per segment has all it takes
        dims, params = _dims_where(f)
        rows = cursor.execute(f"SELECT day, sum(revenue) FROM revenue_daily_segments WHERE {dims} "
                              "AND day BETWEEN ? AND ? GROUP BY day", [*params, f.start, f.end]).fetchall()
    elif granularity in _ROLLUPS:
        pieces, params = _pieces(f, granularity)
        rows = cursor.execute(f"SELECT bucket, sum(revenue) FROM ({pieces}) GROUP BY bucket", params).fetchall()
    else:
        dims, params = _dims_where(f)
        rows = cursor.execute(f"SELECT day, sum(revenue) FROM revenue_records WHERE {dims} "
                              "AND day BETWEEN ? AND ? GROUP BY day", [*params, f.start, f.end]).fetchall()
    sums: dict[dt.date, float] = {}
    for day, revenue in rows:
        bucket = bucket_of(day, granularity)
        sums[bucket] = sums.get(bucket, 0.0) + revenue
    return sums


def revenue_series(cursor: duckdb.DuckDBPyConnection, f: RevenueFilter, granularity: str, *,
                   label: str = "Revenue") -> Series:
    """Total revenue per bucket over the filter's range."""
    return _dense(f, granularity, _day_sums(cursor, f, granularity), label)


def revenue_total(cursor: duckdb.DuckDBPyConnection, f: RevenueFilter) -> Total:
    """The aggregate total of the revenue stream the filter selects."""
    pieces, params = _pieces(f)
    revenue, impressions, records = cursor.execute(f"""
        SELECT coalesce(sum(revenue), 0), sum(impressions), coalesce(sum(records), 0) FROM ({pieces})""",
                                                   params).fetchall()[0]
    return Total(float(revenue), None if impressions is None else int(impressions), int(records))


def _breakdown_rows(cursor: duckdb.DuckDBPyConnection, f: RevenueFilter, dimension: str) -> list[tuple]:
    column = _column(dimension)
    pieces, params = _pieces(f)
    return cursor.execute(f"""
        SELECT {column}, sum(revenue), sum(impressions), sum(records) FROM ({pieces})
        GROUP BY {column}""", params).fetchall()


def breakdown(cursor: duckdb.DuckDBPyConnection, f: RevenueFilter, dimension: str) -> Breakdown:
    """Revenue by segment, agency or channel, with each part's share of the total."""
    return _breakdown(cursor, f, dimension, [r[:3] for r in _breakdown_rows(cursor, f, dimension)])


def _all_breakdown_rows(cursor: duckdb.DuckDBPyConnection, f: RevenueFilter) -> dict[str, list[tuple]]:
    """The three breakdowns' rows from one read of the filtered pieces (materialized once: half
    the time of three separate reads when a filter keeps many rows)."""
    pieces, params = _pieces(f)
    rows = cursor.execute(f"""
        WITH p AS MATERIALIZED ({pieces})
        SELECT 'segment', segment_key, sum(revenue), sum(impressions), sum(records) FROM p GROUP BY segment_key
        UNION ALL SELECT 'agency', agency, sum(revenue), sum(impressions), sum(records) FROM p GROUP BY agency
        UNION ALL SELECT 'channel', channel, sum(revenue), sum(impressions), sum(records) FROM p GROUP BY channel""",
                          params).fetchall()
    result: dict[str, list[tuple]] = {dimension: [] for dimension in DIMENSIONS}
    for dimension, *row in rows:
        result[dimension].append(tuple(row))
    return result


def revenue_view(cursor: duckdb.DuckDBPyConnection, f: RevenueFilter, granularity: str) -> RevenueView:
    """The total, the time series and the three breakdowns: what one redraw of the pane needs.

    Two queries over the rollups (one scan with GROUPING SETS measured several times slower).
    The total is the channel breakdown's sum: every record has one channel part, Unknown included.
    """
    series = revenue_series(cursor, f, granularity)
    parts = _all_breakdown_rows(cursor, f)
    by_channel = parts["channel"]
    impressions = [r[2] for r in by_channel if r[2] is not None]
    total = Total(float(sum(r[1] for r in by_channel)), int(sum(impressions)) if impressions else None,
                  int(sum(r[3] for r in by_channel)))
    return RevenueView(
        total=total,
        series=series,
        by_segment=_breakdown(cursor, f, "segment", [r[:3] for r in parts["segment"]]),
        by_agency=_breakdown(cursor, f, "agency", [r[:3] for r in parts["agency"]]),
        by_channel=_breakdown(cursor, f, "channel", [r[:3] for r in by_channel]),
    )


def compare(cursor: duckdb.DuckDBPyConnection, f: RevenueFilter, granularity: str, dimension: str,
            a: str | None, b: str | None) -> Comparison:
    """Two segments, agencies or channels (None: Unknown) over the same range, the rest of the
    filter kept (a private segment compares as no revenue: it earns none)."""
    return Comparison(
        revenue_series(cursor, f.narrowed(dimension, [a]), granularity, label=_label(a)),
        revenue_series(cursor, f.narrowed(dimension, [b]), granularity, label=_label(b)),
    )


def compare_periods(cursor: duckdb.DuckDBPyConnection, f: RevenueFilter, granularity: str,
                    other_start: dt.date) -> Comparison:
    """The filter's range against as many days from `other_start`, aligned bucket by bucket from
    each period's first bucket (weeks and months are calendar ones, so a period starting mid-week
    may have one bucket more than the other)."""
    other = f.shifted(other_start)
    return Comparison(
        revenue_series(cursor, f, granularity, label=_period_label(f)),
        revenue_series(cursor, other, granularity, label=_period_label(other)),
    )


def member_counts(cursor: duckdb.DuckDBPyConnection, segments: Sequence[str], start: dt.date, end: dt.date,
                  granularity: str, workspace_ids: Sequence[int] = ()) -> list[Series]:
    """Each segment's member count over time (its cumulative size), one series per segment in the
    order given: the count on each bucket's last day in the range, carried forward from the last day
    the server reported one and added up over workspaces. Buckets before a segment's first report
    are left out (the segment did not exist yet); a segment without any report has no buckets."""
    if end < start:
        raise InvalidInput(f"The time range ends ({end}) before it starts ({start}).")
    keys = buckets(start, end, granularity)
    last_days = [min(next_bucket(k, granularity) - dt.timedelta(days=1), end) for k in keys]
    found: dict[str, dict[dt.date, float]] = {segment: {} for segment in segments}
    if segments and keys:
        chosen = ", ".join("?" for _ in segments)
        where_workspace = f"AND workspace_id IN ({', '.join('?' for _ in workspace_ids)})" if workspace_ids else ""
        rows = cursor.execute(f"""
            WITH spine AS (SELECT unnest(?::DATE[]) AS bucket, unnest(?::DATE[]) AS last_day),
                 counted AS (SELECT workspace_id, day, segment_key, members FROM segment_counts
                             WHERE segment_key IN ({chosen}) {where_workspace}),
                 pairs AS (SELECT DISTINCT workspace_id, segment_key FROM counted)
            SELECT p.segment_key, s.bucket, sum(c.members)
            FROM spine s CROSS JOIN pairs p
            ASOF JOIN counted c ON c.workspace_id = p.workspace_id AND c.segment_key = p.segment_key
                               AND c.day <= s.last_day
            GROUP BY ALL""", [keys, last_days, *segments, *workspace_ids]).fetchall()
        for segment, bucket, members in rows:
            found[segment][bucket] = float(members)
    return [Series(segment, granularity, [k for k in keys if k in found[segment]],
                   [found[segment][k] for k in keys if k in found[segment]], source=FROM_SERVER)
            for segment in segments]


def currencies(cursor: duckdb.DuckDBPyConnection, workspace_ids: Sequence[int] = ()) -> list[str]:
    """The currencies revenue was reported in, most revenue first (the pane's default is the first)."""
    where = f"WHERE workspace_id IN ({', '.join('?' for _ in workspace_ids)})" if workspace_ids else ""
    rows = cursor.execute(f"SELECT currency FROM revenue_records {where} GROUP BY currency "
                          "ORDER BY sum(revenue) DESC, currency", list(workspace_ids)).fetchall()
    return [row[0] for row in rows]


def revenue_days(cursor: duckdb.DuckDBPyConnection, workspace_ids: Sequence[int] = ()) -> tuple[dt.date, dt.date] | None:
    """The first and last day with revenue (the pane's default range), or None when there is none."""
    where = f"WHERE workspace_id IN ({', '.join('?' for _ in workspace_ids)})" if workspace_ids else ""
    first, last = cursor.execute(f"SELECT min(day), max(day) FROM revenue_records {where}",
                                 list(workspace_ids)).fetchall()[0]
    return None if first is None else (first, last)


# -- CSV --------------------------------------------------------------------------------------------


def series_table(series: Sequence[Series]) -> list[list]:
    """Several series as CSV rows: a header (bucket, each label), then one row per bucket of any;
    a series without that bucket has an empty cell (not 0: it has no value there)."""
    all_buckets = sorted({b for s in series for b in s.buckets})
    lookup = [{bucket: _cents(value) for bucket, value in s.rows()} for s in series]
    return [["bucket", *(s.label for s in series)],
            *([b.isoformat(), *(values.get(b, "") for values in lookup)] for b in all_buckets)]


def breakdown_table(result: Breakdown) -> list[list]:
    """A breakdown as CSV rows: a header, then one row per part (Unknown spelt out)."""
    return [[result.dimension, "revenue", "share", "impressions"],
            *([p.label, _cents(p.revenue), round(p.share, 6), "" if p.impressions is None else p.impressions]
              for p in result.parts)]


def _cents(value):
    """An amount as a spreadsheet should read it: summed floats carry noise (0.12999999999999998)."""
    return round(value, 2) if isinstance(value, float) else value


# -- helpers ----------------------------------------------------------------------------------------


def _column(dimension: str) -> str:
    try:
        return DIMENSIONS[dimension]
    except KeyError:
        raise InvalidInput(f"Unknown breakdown {dimension!r}: choose one of {', '.join(DIMENSIONS)}.") from None


def _label(key: str | None) -> str:
    return UNKNOWN if key is None else key


def _period_label(f: RevenueFilter) -> str:
    return f"{f.start.isoformat()} – {f.end.isoformat()}"


def _breakdown(cursor: duckdb.DuckDBPyConnection, f: RevenueFilter, dimension: str,
               rows: Sequence[tuple]) -> Breakdown:
    total = sum(float(r[1]) for r in rows)
    details = _agency_details(cursor, f, [r[0] for r in rows if r[0] is not None]) if dimension == "agency" else {}
    parts = []
    for key, revenue, impressions in rows:
        agency = details.get(key)
        label = _label(key) if agency is None or not agency.name else agency.name
        parts.append(Part(key, label, float(revenue), float(revenue) / total if total else 0.0,
                          None if impressions is None else int(impressions), agency))
    parts.sort(key=lambda p: (-p.revenue, p.key is None, p.label))
    return Breakdown(dimension, parts, total)


def _agency_details(cursor: duckdb.DuckDBPyConnection, f: RevenueFilter, keys: list[str]) -> dict[str, Agency]:
    if not keys:
        return {}
    where_workspace = f"AND workspace_id IN ({', '.join('?' for _ in f.workspace_ids)})" if f.workspace_ids else ""
    # An agency known in several workspaces: the details are the buyer's, any workspace's will do.
    rows = cursor.execute(f"""
        SELECT agency, name, kind, country, contact FROM agencies
        WHERE agency IN ({', '.join('?' for _ in keys)}) {where_workspace}
        QUALIFY row_number() OVER (PARTITION BY agency ORDER BY workspace_id) = 1""",
                          [*keys, *f.workspace_ids]).fetchall()
    return {row[0]: Agency(*row) for row in rows}
