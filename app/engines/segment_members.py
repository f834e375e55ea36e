"""The Revenue pane's member counts: each segment's size over time, from where it is known best.

A segment that is one of this home's audiences (its key is the audience's external name, or its name)
takes its sizes from the membership engine's daily history (`membership_daily`, docs/membership.md):
the same numbers as the Audiences list, so the line's last point is the list's size. A segment the home
does not have (another home's, or the marketplace's) keeps the member counts the server reported with
its revenue (`segment_counts`), and says so (`Series.source` is `FROM_SERVER`, the label ends in
SERVER_SUFFIX). The server's counts of a home audience are not used: the demo's, for one, are invented
(docs/revenue.md › Member counts).

Reads only, over the cache's tables (app/engines/membership.py writes the history); run off the GUI thread.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.engines import revenue as R
from app.engines.home import OpenHome
from app.errors import InvalidInput

#: The label's end of a line whose counts the server reported (not this home's membership engine).
SERVER_SUFFIX = " · reported by the server"
#: The label's end of a home audience the membership engine has not calculated (a draft, or never active).
NOT_CALCULATED_SUFFIX = " · not calculated"
#: variant_id of an audience as a whole in the membership tables.
_WHOLE = 0


@dataclass(frozen=True)
class HomeSegment:
    """A segment key that is one of this home's audiences."""

    key: str
    audience_id: int
    audience_name: str


def home_segments(home: OpenHome) -> dict[str, HomeSegment]:
    """Segment key → the home's audience sold under it. Two audiences with one key (an external name
    given twice): the older (lower id) is the segment, as in the marketplace listing's first push."""
    found: dict[str, HomeSegment] = {}
    for audience in sorted(home.audiences.list(), key=lambda a: a.id):
        key = audience.effective_external_name
        found.setdefault(key, HomeSegment(key, audience.id, audience.name))
    return found


def last_history_day(home: OpenHome) -> dt.date | None:
    """The latest day of any audience's history (the pane's member counts run up to it)."""
    cursor = home.cache.cursor()
    try:
        return cursor.execute("SELECT max(day) FROM membership_daily WHERE variant_id = ?", [_WHOLE]).fetchall()[0][0]
    finally:
        cursor.close()


def history_series(cursor, audience_ids: Sequence[int], start: dt.date, end: dt.date,
                   granularity: str) -> dict[int, tuple[list[dt.date], list[float]]]:
    """Per audience, (buckets, sizes): the size on each bucket's last day in start..end, carried forward
    from the last day with a row (the engine did not run that day, or the audience was inactive: its
    size is what it last was, as the list shows). Buckets before its first row are left out."""
    if end < start:
        raise InvalidInput(f"The time range ends ({end}) before it starts ({start}).")
    keys = R.buckets(start, end, granularity)
    last_days = [min(R.next_bucket(k, granularity) - dt.timedelta(days=1), end) for k in keys]
    rows: dict[int, tuple[list[dt.date], list[int]]] = {a: ([], []) for a in audience_ids}
    if audience_ids and keys:
        for audience_id, day, size in cursor.execute(
                f"SELECT audience_id, day, size FROM membership_daily WHERE variant_id = ? AND day <= ? "
                f"AND audience_id IN ({', '.join('?' for _ in audience_ids)}) ORDER BY audience_id, day",
                [_WHOLE, end, *audience_ids]).fetchall():
            days, sizes = rows[audience_id]
            days.append(day)
            sizes.append(size)
    result = {}
    for audience_id, (days, sizes) in rows.items():
        buckets_found, values = [], []
        for bucket, last_day in zip(keys, last_days):
            i = bisect.bisect_right(days, last_day)
            if i:
                buckets_found.append(bucket)
                values.append(float(sizes[i - 1]))
        result[audience_id] = (buckets_found, values)
    return result


def member_series(cursor, segments: Sequence[str], home_keys: Mapping[str, HomeSegment], start: dt.date,
                  end: dt.date, granularity: str, *, history_end: dt.date | None = None,
                  workspace_ids: Sequence[int] = ()) -> list[R.Series]:
    """One series per segment, in the order given. A home audience's comes from its history, up to
    `history_end` (default `end`: the pane runs it to the latest history day when its range reaches the
    last day with revenue, so the last point is today's size); any other from the server's counts over
    start..end, labelled as reported by the server."""
    history_end = max(end, history_end or end)
    ours = [home_keys[s] for s in segments if s in home_keys]
    history = history_series(cursor, [h.audience_id for h in ours], start, history_end, granularity)
    theirs = [s for s in segments if s not in home_keys]
    reported = {s.label: s for s in R.member_counts(cursor, theirs, start, end, granularity, workspace_ids)}
    result = []
    for segment in segments:
        if segment in home_keys:
            buckets, values = history[home_keys[segment].audience_id]
            label = segment if buckets else segment + NOT_CALCULATED_SUFFIX
            result.append(R.Series(label, granularity, buckets, values, source=R.FROM_MEMBERSHIP))
        else:
            found = reported[segment]
            result.append(R.Series(segment + SERVER_SUFFIX, granularity, found.buckets, found.values,
                                   source=R.FROM_SERVER))
    return result
