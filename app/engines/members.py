"""Who is in an audience, or in one variation of its A/B test: the one members query that forwarding,
downloads and variation sizes share.

A real-time audience's members are worked out from the cache by its criteria, now. A standard
(historical) audience's members are those its last calculation found, kept in a Parquet file in the
home (so they outlive its expiry). A variation keeps the members whose hash bucket falls in its
range (app.builder.variants).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.builder.catalog import Catalog
from app.builder.compiler import members_query
from app.builder.variants import in_variation_sql
from app.errors import NotFound, UserError
from app.models.services.audiences import AudienceInfo
from app.engines.estimates import catalog_for, membership_resolver, scope_for, standard_members_file
from app.engines.home import OpenHome
from app.models.store.schema import ABTest, ABVariant



@dataclass(frozen=True)
class Variation:
    """One variation of a saved test, with what is needed to pick its users."""

    id: int
    audience_id: int
    name: str
    #: 0 is Control.
    index: int
    seed: str
    #: Every variation's percentage, in order (the ranges depend on all of them).
    percents: tuple[int, ...]

    @property
    def percent(self) -> int:
        return self.percents[self.index]


def variation(home: OpenHome, variant_id: int) -> Variation:
    with home.store.transaction() as session:
        row = session.get(ABVariant, int(variant_id))
        if row is None:
            raise NotFound(f"There is no A/B variation with id {variant_id}.")
        test = session.get(ABTest, row.test_id)
        siblings = sorted(test.variants, key=lambda v: v.position)
        return Variation(row.id, test.audience_id, row.name, row.position, test.seed,
                         tuple(v.percent for v in siblings))


def members_sql(home: OpenHome, audience: AudienceInfo, cursor, *, now: dt.datetime | None = None,
                variation: Variation | None = None, catalog: Catalog | None = None) -> tuple[str, list[object]]:
    """A query of the mpids (column `mpid`, each once) in the audience, or in one of its variations.

    `catalog`: the home's catalog when the caller already loaded it (a loop over many audiences)."""
    if audience.kind == "standard":
        path = standard_members_file(home, audience.id)
        if path is None:
            raise UserError(f'Standard audience "{audience.name}" has not been calculated yet.')
        if not path.exists():
            raise UserError(f'The members of standard audience "{audience.name}" are missing ({path}); '
                            "recalculate it.")
        sql, params = "SELECT mpid FROM read_parquet(?)", [str(path)]
    else:
        sql, params = members_query(audience.criteria, scope=scope_for(home, audience.workspace_ids, audience.input_ids),
                                    catalog=catalog or catalog_for(home, cursor), now=now or dt.datetime.now(dt.timezone.utc),
                                    memberships=membership_resolver(home))
    if variation is None:
        return sql, params
    if variation.audience_id != audience.id:
        raise UserError(f'Variation "{variation.name}" belongs to another audience.')
    condition, condition_params = in_variation_sql("m.mpid", variation.seed, variation.percents, variation.index)
    return f"SELECT m.mpid FROM ({sql}) m WHERE {condition}", params + condition_params
