"""Estimating audiences of a home: the scope, catalog and membership look-ups the engine needs, from the store.

Built on the calling thread from plain values, so a worker can run the estimate while the GUI
thread keeps editing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any, Sequence

from app.builder.catalog import Catalog, load_catalog
from app.builder.compiler import Membership, Scope
from app.builder.estimator import Estimate, Estimator
from app.errors import NotFound
from app.models.services.audiences import AudienceInfo
from app.engines.home import OpenHome
from app.models.store.schema import StandardAudience
from app.models.services.workspaces import WorkspaceInfo


def scope_for(home: OpenHome, workspace_ids: Sequence[int], input_ids: Sequence[int] = ()) -> Scope:
    """The audience's scope: its workspaces, the names of its chosen inputs, the real-time window."""
    workspaces: list[WorkspaceInfo] = [home.workspaces.get(ws) for ws in workspace_ids]
    chosen = set(input_ids)
    inputs = {ws.id: tuple(sorted(i.name for i in ws.inputs if i.id in chosen)) for ws in workspaces}
    return Scope(
        workspace_ids=tuple(ws.id for ws in workspaces),
        inputs={ws: names for ws, names in inputs.items() if names},
        realtime_days=max(ws.realtime_window_days for ws in workspaces),
    )


def standard_range(home: OpenHome, audience_id: int) -> tuple[dt.date, dt.date] | None:
    """A standard audience's inclusive UTC dates (None: all available data, or not a standard audience)."""
    with home.store.transaction() as session:
        row = session.get(StandardAudience, audience_id)
        if row is None or row.range_start is None:
            return None
        return row.range_start, row.range_end


def history_scope(scope: Scope, dates: tuple[dt.date, dt.date] | None) -> Scope:
    """A standard audience's scope: every cached event in its dates (end inclusive), not the real-time window."""
    if dates is None:
        return dataclasses.replace(scope, realtime_days=None, date_range=None)
    start = dt.datetime.combine(dates[0], dt.time(), tzinfo=dt.timezone.utc)
    end = dt.datetime.combine(dates[1] + dt.timedelta(days=1), dt.time(), tzinfo=dt.timezone.utc)
    return dataclasses.replace(scope, realtime_days=None, date_range=(start, end))


def counting_moment(scope: Scope, now: dt.datetime) -> dt.datetime:
    """The "now" of relative windows ("in the last 7 days"): the end of a standard audience's dates, never later
    than now."""
    return min(scope.date_range[1], now) if scope.date_range is not None else now


def audience_scope(home: OpenHome, audience: AudienceInfo, input_ids: Sequence[int] | None = None) -> Scope:
    """Where an audience counts: a real-time audience in its window, a standard one over its dates."""
    scope = scope_for(home, audience.workspace_ids, audience.input_ids if input_ids is None else input_ids)
    if audience.kind == "standard":
        return history_scope(scope, standard_range(home, audience.id))
    return scope


def catalog_for(home: OpenHome, cursor) -> Catalog:
    """The cache's catalog with the workspace store's attribute-type overrides and calculated attributes."""
    overrides = {ws.id: home.workspaces.attribute_types(ws.id) for ws in home.workspaces.list()}
    return load_catalog(cursor, overrides, home.calculated_attributes.by_workspace())


#: No one: a standard audience that was never calculated (or whose members file is gone) has no members.
_NO_MEMBERS = ("SELECT NULL::BIGINT AS mpid WHERE false", ())


def standard_members_file(home: OpenHome, audience_id: int) -> Path | None:
    """Where a standard audience's calculated members are kept (None: never calculated; the file may be gone)."""
    with home.store.transaction() as session:
        row = session.get(StandardAudience, audience_id)
        file_name = row.members_file if row is not None else None
    return home.home.standard_members_dir / file_name if file_name else None


def kept_members(home: OpenHome, audience_id: int) -> tuple[str, tuple[object, ...]]:
    """The query of a standard audience's calculated members, kept in the home after it expires."""
    path = standard_members_file(home, audience_id)
    if path is None or not path.exists():
        return _NO_MEMBERS
    return "SELECT mpid FROM read_parquet(?)", (str(path),)


def membership_resolver(home: OpenHome):
    def resolve(audience_id: int) -> Membership | None:
        try:
            audience: AudienceInfo = home.audiences.get(audience_id)
        except NotFound:
            return None
        scope = scope_for(home, audience.workspace_ids, audience.input_ids)
        if audience.kind == "standard":
            # Its members as calculated, not its criteria again: membership is kept after it expires.
            return Membership(audience.name, audience.criteria, scope, members=kept_members(home, audience.id))
        return Membership(audience.name, audience.criteria, scope)

    return resolve


def estimate_document(
    home: OpenHome,
    document: dict[str, Any],
    *,
    workspace_ids: Sequence[int],
    input_ids: Sequence[int] = (),
    now: dt.datetime | None = None,
    exact: bool = False,
    estimator: Estimator | None = None,
) -> Estimate:
    """Count `document` in the home's cache (sampled unless `exact`)."""
    home.cache.refresh_catalogs()
    cursor = home.cache.cursor()
    engine = estimator or Estimator(cursor)
    moment = now or dt.datetime.now(dt.timezone.utc)
    return engine.estimate(document, scope=scope_for(home, workspace_ids, input_ids), catalog=catalog_for(home, cursor),
                           now=moment, exact=exact, memberships=membership_resolver(home))
