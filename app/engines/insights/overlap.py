"""How 2 to 6 audiences (saved, or a draft and others) overlap: the exact size of every region of their
Venn diagram (profiles in exactly these audiences and none of the others), from one query, and the
members of a region.

A region is a bit mask: bit i set means "in audience i". From the regions follow each audience's size
and every pairwise intersection (the matrix).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Sequence

from app.engines.home import OpenHome
from app.engines.insights.queries import Queries, cursor_for
from app.engines.insights.subjects import Subject, subject_members_sql
from app.errors import InvalidInput, UserError

MIN_AUDIENCES, MAX_AUDIENCES = 2, 6


@dataclass(frozen=True)
class Overlap:
    audiences: tuple[str, ...]
    #: mask → profiles in exactly the audiences of its bits; every mask 1 .. 2^n - 1 is present
    regions: dict[int, int]

    def size(self, i: int) -> int:
        return sum(n for mask, n in self.regions.items() if mask >> i & 1)

    def both(self, i: int, j: int) -> int:
        """Profiles in audiences i and j (whatever else they are in)."""
        return sum(n for mask, n in self.regions.items() if mask >> i & 1 and mask >> j & 1)

    def matrix(self) -> list[list[int]]:
        n = len(self.audiences)
        return [[self.both(i, j) for j in range(n)] for i in range(n)]

    def in_words(self, mask: int) -> str:
        return " & ".join(a for i, a in enumerate(self.audiences) if mask >> i & 1) + " only"

    def as_json(self) -> dict[str, Any]:
        return {"audiences": list(self.audiences), "sizes": [self.size(i) for i in range(len(self.audiences))],
                "matrix": self.matrix(),
                "regions": [{"mask": mask, "audiences": [a for i, a in enumerate(self.audiences) if mask >> i & 1],
                             "profiles": n} for mask, n in sorted(self.regions.items())]}


def _masks_sql(home: OpenHome, subjects: Sequence[Subject], cursor, now: dt.datetime | None) -> tuple[str, list[Any]]:
    if not MIN_AUDIENCES <= len(subjects) <= MAX_AUDIENCES:
        raise InvalidInput(f"choose {MIN_AUDIENCES} to {MAX_AUDIENCES} audiences to overlap (got {len(subjects)})")
    names = [s.name for s in subjects]
    if len(set(names)) != len(names):
        raise InvalidInput("an audience is named twice: choose different audiences to overlap")
    first = subjects[0]
    for other in subjects[1:]:
        if not set(other.workspace_ids) & set(first.workspace_ids):
            raise UserError(f'"{other.name}" and "{first.name}" share no workspace, so they cannot overlap; '
                            "choose audiences of the same workspace")
    parts, params = [], []
    for i, subject in enumerate(subjects):
        sql, p = subject_members_sql(home, subject, cursor, now)
        parts.append(f"SELECT mpid, {1 << i} AS bit FROM ({sql})")
        params += p
    return f"SELECT mpid, bit_or(bit) AS mask FROM ({' UNION ALL '.join(parts)}) GROUP BY mpid", params


def overlap(home: OpenHome, subjects: Sequence[Subject], *, now: dt.datetime | None = None,
            queries: Queries | None = None) -> Overlap:
    """Every region's exact size, in one query over the audiences' members (`queries.cancel()` stops it)."""
    home.cache.refresh_catalogs()
    with cursor_for(home, queries) as cursor:
        sql, params = _masks_sql(home, subjects, cursor, now)
        found = dict(cursor.execute(f"SELECT mask, count(*) FROM ({sql}) GROUP BY mask", params).fetchall())
    regions = {mask: int(found.get(mask, 0)) for mask in range(1, 1 << len(subjects))}
    return Overlap(tuple(s.name for s in subjects), regions)


def region_members(home: OpenHome, subjects: Sequence[Subject], mask: int, *, offset: int = 0, limit: int = 100,
                   now: dt.datetime | None = None, queries: Queries | None = None) -> list[int]:
    """The mpids (in order) of the profiles in exactly the audiences of `mask`."""
    if not 1 <= mask < 1 << len(subjects):
        raise InvalidInput(f"region {mask} does not exist: use 1 to {(1 << len(subjects)) - 1}")
    home.cache.refresh_catalogs()
    with cursor_for(home, queries) as cursor:
        sql, params = _masks_sql(home, subjects, cursor, now)
        return [r[0] for r in cursor.execute(f"SELECT mpid FROM ({sql}) WHERE mask = ? ORDER BY mpid LIMIT ? OFFSET ?",
                                             params + [mask, limit, offset]).fetchall()]
