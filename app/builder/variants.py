"""Assigning an audience's users to the variations of its A/B test.

A user's variation depends only on their mpid and the test's seed: an MD5 of "seed:mpid" picks one
of 10,000 buckets, and each variation owns a run of buckets in proportion to its percentage, Control
first. MD5 is the same on every machine and in every DuckDB and Python version, so the assignment is
stable across runs and machines; it never looks at other audiences or at who else is a member, so
users do not move when unrelated audiences (or other members) change.

`bucket_sql` is what the cache queries use (and, in ClickHouse's dialect, the server's: the same
buckets on both engines); `bucket` is the same function in plain Python, used by
tests as the independent reference and by anything that assigns a single user.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from app.builder.dialect import DUCKDB, Dialect

BUCKETS = 10_000
#: Percentages are whole numbers, so each percent is exactly this many buckets.
BUCKETS_PER_PERCENT = BUCKETS // 100


def bucket(seed: str, mpid: int) -> int:
    """The user's bucket, 0..9999, for a test seeded with `seed` (the reference for `bucket_sql`)."""
    digest = hashlib.md5(f"{seed}:{mpid}".encode()).digest()
    # DuckDB's md5_number_lower is the digest's last 8 bytes read little-endian.
    return int.from_bytes(digest[8:], "little") % BUCKETS


def bucket_sql(mpid_column: str, dialect: Dialect = DUCKDB) -> str:
    """SQL for the bucket of `mpid_column` in `dialect` (DuckDB's by default); the seed is its one `?` parameter."""
    return dialect.seeded_bucket(mpid_column, BUCKETS)


def bucket_ranges(percents: Sequence[int]) -> list[tuple[int, int]]:
    """[start, end) buckets of each variation, in order (Control first); the percentages must total 100."""
    if sum(percents) != 100 or any(p <= 0 for p in percents):
        raise ValueError(f"variation percentages must be positive and total 100, not {list(percents)}")
    ranges, start = [], 0
    for percent in percents:
        end = start + percent * BUCKETS_PER_PERCENT
        ranges.append((start, end))
        start = end
    return ranges


def variation_of(seed: str, mpid: int, percents: Sequence[int]) -> int:
    """The index (0 = Control) of the variation the user is in."""
    b = bucket(seed, mpid)
    for index, (start, end) in enumerate(bucket_ranges(percents)):
        if start <= b < end:
            return index
    raise AssertionError("bucket ranges cover 0..9999")  # pragma: no cover


def in_variation_sql(mpid_column: str, seed: str, percents: Sequence[int], index: int,
                     dialect: Dialect = DUCKDB) -> tuple[str, list[object]]:
    """A condition true for users in variation `index`, with its parameters."""
    start, end = bucket_ranges(percents)[index]
    return f"{bucket_sql(mpid_column, dialect)} BETWEEN ? AND ?", [seed, start, end - 1]
