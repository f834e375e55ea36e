"""Editing one audience: what the builder loads, how its live estimates run, and how a draft is saved.

No Qt: the builder calls these from its workers. `EstimateSession` is the engine side of live
estimates — an Estimator on a cursor of its own (made on the thread that first estimates) and
`cancel()` from any thread. `EditorCatalog` is the one catalog of an open editor: its cards and its
estimates read the same copy, and it is read again whenever what it is made of changed (the cache's
data version after a sync or import, the store's attribute-type overrides or calculated attributes,
changed in this editor, another one, or by anything else that writes the store).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from app.builder.catalog import Catalog, load_catalog
from app.builder.compiler import FULL, compile_document
from app.builder.document import CriteriaError, Problem, walk
from app.builder.estimator import Estimate, Estimator
from app.builder import cities, unfinished
from app.builder.suggestions import top_values
from app.models.services.audiences import KEEP, MAX_TAG_LENGTH, AudienceInfo, clean_tag
from app.models.services.draft import Draft
from app.engines.estimates import (
    catalog_for,
    counting_moment,
    history_scope,
    membership_resolver,
    scope_for,
    standard_range,
)
from app.engines.home import OpenHome
from app.models.services.workspaces import WorkspaceInfo

__all__ = ["Draft", "EditorCatalog", "EditorContext", "EstimateSession", "find_cities", "load_editor_context", "save_draft",
           "MAX_TAG_LENGTH", "set_attribute_type", "suggest_values"]


@dataclass(frozen=True)
class _Basis:
    """What a catalog is made of besides the cache's own catalog tables."""

    data_version: int
    overrides: dict[int, dict[str, str]]
    calculated: dict[int, dict[str, Any]]


def _read_basis(home: OpenHome) -> _Basis:
    # Read before the catalog itself: a sync landing in between makes the next `fresh()` read again, never less.
    return _Basis(home.cache.data_version,
                  {ws.id: home.workspaces.attribute_types(ws.id) for ws in home.workspaces.list()},
                  home.calculated_attributes.by_workspace())


class EditorCatalog:
    """The one catalog of an open editor, shared by its cards (types, names) and its live estimates.

    `fresh()` checks what the catalog is made of (a few store reads and the cache's data version) and
    reads the cache's catalog again only when something changed. Callable from any thread; each reader
    of the cache uses its own cursor (or the one it passes).
    """

    def __init__(self, home: OpenHome, catalog: Catalog, basis: _Basis) -> None:
        self.home = home
        self._catalog = catalog
        self._basis = basis
        self._lock = threading.Lock()

    @classmethod
    def read(cls, home: OpenHome, cursor=None) -> EditorCatalog:
        basis = _read_basis(home)
        return cls(home, _load(home, basis, cursor), basis)

    @property
    def current(self) -> Catalog:
        """The catalog as last read (no reading here: safe on the GUI thread)."""
        return self._catalog

    def fresh(self, cursor=None) -> Catalog:
        """The catalog, read again first if the cache's data or the store's types changed since."""
        with self._lock:
            basis = _read_basis(self.home)
            if basis != self._basis:
                self._catalog, self._basis = _load(self.home, basis, cursor), basis
            return self._catalog


def _load(home: OpenHome, basis: _Basis, cursor) -> Catalog:
    home.cache.refresh_catalogs()  # the catalog tables follow the data (no-op when they already do)
    own = cursor is None
    cursor = home.cache.cursor() if own else cursor
    try:
        return load_catalog(cursor, basis.overrides, basis.calculated)
    finally:
        if own:
            cursor.close()


@dataclass(frozen=True)
class EditorContext:
    """Everything the builder shows besides the draft, read in one go in a worker."""

    audience: AudienceInfo
    workspaces: tuple[WorkspaceInfo, ...]
    #: the editor's one catalog: its cards and its estimates share it
    catalogs: EditorCatalog
    #: (id, name) of the audiences a membership criterion may name: none that itself uses membership.
    membership_choices: tuple[tuple[int, str], ...]

    @property
    def workspace_ids(self) -> tuple[int, ...]:
        return tuple(ws.id for ws in self.workspaces)

    @property
    def catalog(self) -> Catalog:
        return self.catalogs.current


def uses_membership(criteria: dict[str, Any]) -> bool:
    return any(node.get("type") == "audience_membership" for _, node in walk(criteria.get("root", {})))


def set_attribute_type(home: OpenHome, workspace_ids: Sequence[int], attribute: str, kind: str,
                       catalog: EditorCatalog) -> Catalog:
    """Override an attribute's detected type in these workspaces (in the store); the editor's catalog read again."""
    for workspace_id in workspace_ids:
        home.workspaces.set_attribute_type(workspace_id, attribute, kind)
    return catalog.fresh()


def suggest_values(home: OpenHome, workspace_ids: Sequence[int], kind: str, name: str | None, prefix: str,
                   limit: int) -> list[str]:
    """The most common values of an attribute (or identity, location, ...) starting with `prefix`."""
    cursor = home.cache.cursor()
    try:
        return [s.value for s in top_values(cursor, tuple(workspace_ids), kind, name, prefix, limit)]
    finally:
        cursor.close()


def find_cities(text: str, limit: int = cities.LIMIT) -> list[cities.City]:
    """Cities whose name starts with `text`, the most populous first (reads the bundled list: off the GUI thread)."""
    return cities.search(text, limit)


def load_editor_context(home: OpenHome, audience_id: int) -> EditorContext:
    """Runs in a worker: the audience, its workspaces, the cache's catalog, the choosable audiences."""
    audience = home.audiences.get(audience_id)
    workspaces = tuple(home.workspaces.get(ws) for ws in audience.workspace_ids)
    catalogs = EditorCatalog.read(home)
    choices = tuple((other.id, other.name) for other in home.audiences.list()
                    if other.id != audience_id and not uses_membership(other.criteria))
    return EditorContext(audience, workspaces, catalogs, choices)


class EstimateSession:
    """Live estimates of one editor; `estimate` runs on one worker thread at a time, `cancel` from any."""

    def __init__(self, home: OpenHome, workspace_ids: Sequence[int], *, standard_audience_id: int | None = None,
                 catalog: EditorCatalog | None = None) -> None:
        self.home = home
        self.workspace_ids = tuple(workspace_ids)
        #: Set for a standard audience: it counts over its dates (read at each estimate: they can change).
        self.standard_audience_id = standard_audience_id
        #: The editor's catalog (read on the first estimate when none is given); checked before each estimate.
        self.catalog = catalog
        self._estimator: Estimator | None = None
        self._cursor = None
        self._lock = threading.Lock()

    def cancel(self) -> None:
        """Interrupt the estimate running now, if any (a new edit made it moot)."""
        with self._lock:
            estimator = self._estimator
        if estimator is not None:
            estimator.cancel()

    def close(self) -> None:
        """Let go of the cursor (the editor closed); call once no estimate runs."""
        with self._lock:
            cursor, self._cursor, self._estimator = self._cursor, None, None
        if cursor is not None:
            cursor.close()

    def estimate(self, document: dict[str, Any], *, input_ids: Sequence[int] = (), exact: bool,
                 nodes: bool = True, now: dt.datetime | None = None) -> Estimate:
        """Count the document (sampled, or exact and — unless `nodes` is False — per node); CriteriaError names bad nodes."""
        estimator = self._ensure_estimator()
        if self.catalog is None:
            self.catalog = EditorCatalog.read(self.home, self._cursor)
        catalog = self.catalog.fresh(self._cursor)
        scope = scope_for(self.home, self.workspace_ids, input_ids)
        if self.standard_audience_id is not None:
            scope = history_scope(scope, standard_range(self.home, self.standard_audience_id))
        moment = counting_moment(scope, now or dt.datetime.now(dt.timezone.utc))
        return count_what_can_be(
            document, lambda countable: estimator.estimate(countable, scope=scope, catalog=catalog, now=moment,
                                                           exact=exact, nodes=nodes,
                                                           memberships=membership_resolver(self.home)))

    def _ensure_estimator(self) -> Estimator:
        with self._lock:
            if self._estimator is None:
                # Made on the estimating thread: one cursor per thread, and interrupting it stops only our query.
                self._cursor = self.home.cache.cursor()
                self._estimator = Estimator(self._cursor)
            return self._estimator


def count_what_can_be(document: dict[str, Any], count: Callable[[dict[str, Any]], Estimate]) -> Estimate:
    """`count` the document without its unfinished parts and the nodes the engine cannot count.

    A live estimate counts what is finished, and says what it left out (`Estimate.left_out`), rather
    than matching nobody for a half-typed condition or refusing the whole document for one card.
    CriteriaError when nothing is left to count, or a problem names no node that can be left out
    (the document's own shape, the root).
    """
    countable, left_out = unfinished.countable(document)
    while True:
        if not countable["root"]["children"] and left_out:
            raise CriteriaError(left_out)
        try:
            estimate = count(countable)
        except CriteriaError as exc:
            present = set(node_ids(countable)) - {countable["root"]["id"]}
            named = {p.node_id for p in exc.problems}
            if not named or not named <= present:
                raise CriteriaError(left_out + list(exc.problems)) from None
            left_out += exc.problems
            countable = unfinished.without(countable, named)
            continue
        return dataclasses.replace(estimate, left_out=tuple(left_out)) if left_out else estimate


def node_ids(document: dict[str, Any]) -> list[str]:
    return [node["id"] for _, node in walk(document["root"])]


def criteria_problems(home: OpenHome, draft: Draft, workspace_ids: Sequence[int]) -> list[Problem]:
    """What stops the draft's criteria from being counted in the cache, or activated (empty when nothing does)."""
    left_out = unfinished.unfinished(draft.criteria)
    if left_out:
        return left_out
    cursor = home.cache.cursor()
    try:
        compile_document(draft.criteria, scope=scope_for(home, workspace_ids, draft.input_ids),
                         catalog=catalog_for(home, cursor), now=dt.datetime.now(dt.timezone.utc), tables=FULL,
                         memberships=membership_resolver(home))
    except CriteriaError as exc:
        return list(exc.problems)
    return []


def save_draft(home: OpenHome, audience_id: int, draft: Draft, *, activate: bool = False) -> AudienceInfo:
    """Store the draft's details and criteria in one transaction; with `activate`, also make the audience active.

    Either all of it is stored or, when something is refused (a tag, a taken name), none of it.
    """
    tags = [clean_tag(tag) for tag in draft.tags]  # refused with the tag's own message
    if activate:
        current = home.audiences.get(audience_id)
        found = criteria_problems(home, draft, current.workspace_ids)
        if found:
            raise CriteriaError(found)
    return home.audiences.update(
        audience_id,
        name=draft.name,
        external_name=draft.external_name or None,
        criteria=draft.criteria,
        input_ids=draft.input_ids,
        tags=tags,
        status="active" if activate else KEEP,
    )
