"""How many users each variation of an A/B test holds: a draft's (before saving) or a saved test's.

One query over the audience's members, grouped by the hash-bucket range each variation owns
(app.builder.variants), so the sizes shown before saving are the sizes the saved test has.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.builder.variants import bucket_ranges, bucket_sql
from app.engines.home import OpenHome
from app.engines.members import members_sql
from app.models.services.ab_tests import control_percent


def draft_sizes(home: OpenHome, audience_id: int, percents: Sequence[int], seed: str) -> list[int]:
    """Users per variation, Control first, for a test of `percents` (the variations' own, Control
    excluded) seeded with `seed`."""
    shares = [control_percent(percents), *percents]
    ranges = bucket_ranges(shares)
    audience = home.audiences.get(int(audience_id))
    home.cache.refresh_catalogs()
    cursor = home.cache.cursor()
    try:
        sql, params = members_sql(home, audience, cursor)
        # Each variation owns [start, end) of the buckets; the CASE names the range a bucket is in.
        cases = " ".join(f"WHEN b < {end} THEN {index}" for index, (_, end) in enumerate(ranges))
        rows = cursor.execute(
            f"SELECT CASE {cases} END AS variation, count(*) FROM "
            f"(SELECT {bucket_sql('m.mpid')} AS b FROM ({sql}) m) GROUP BY variation",
            [seed, *params]).fetchall()
    finally:
        cursor.close()
    counts = dict(rows)
    return [int(counts.get(index, 0)) for index in range(len(shares))]


def sizes(home: OpenHome, audience_id: int) -> list[int]:
    """Users per variation of the audience's saved test, Control first."""
    test = home.ab_tests.require(audience_id)
    return draft_sizes(home, audience_id, test.percents[1:], test.seed)
