"""Estimating audiences of a home: the scope, catalog and membership look-ups the engine needs, from the store.

Built on the calling thread from plain values, so a worker can run the estimate while the GUI
thread keeps editing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Sequence

from app.builder.catalog import Catalog, load_catalog
from app.builder.compiler import Membership, Scope
from app.builder.estimator import Estimate, Estimator
from app.errors import NotFound
from app.models.audiences import AudienceInfo
from app.models.home import OpenHome
from app.models.workspaces import WorkspaceInfo


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


def catalog_for(home: OpenHome, cursor) -> Catalog:
    """The cache's catalog with the workspace store's attribute-type overrides and calculated attributes."""
    overrides = {ws.id: home.workspaces.attribute_types(ws.id) for ws in home.workspaces.list()}
    return load_catalog(cursor, overrides, home.calculated_attributes.by_workspace())


def membership_resolver(home: OpenHome):
    def resolve(audience_id: int) -> Membership | None:
        try:
            audience: AudienceInfo = home.audiences.get(audience_id)
        except NotFound:
            return None
        return Membership(audience.name, audience.criteria, scope_for(home, audience.workspace_ids, audience.input_ids))

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
