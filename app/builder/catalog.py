"""What the cache knows about a workspace: attribute types, event names and attributes, identity types.

The compiler takes every identifier from here (never from user text) and checks criteria against it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Mapping

from app.builder.calculated import CalculatedAttribute

if TYPE_CHECKING:
    import duckdb

ATTRIBUTE_TYPES = ("string", "number", "date", "boolean", "list")


@dataclass(frozen=True)
class Catalog:
    """Per workspace: attribute → type, (event type, name) → event attribute → type, identity types."""

    attributes: Mapping[int, Mapping[str, str]] = field(default_factory=dict)
    events: Mapping[int, frozenset[tuple[str, str | None]]] = field(default_factory=dict)
    event_attributes: Mapping[int, Mapping[tuple[str, str | None], Mapping[str, str]]] = field(default_factory=dict)
    identity_types: Mapping[int, frozenset[str]] = field(default_factory=dict)
    #: Per workspace: the calculated attributes defined in the store, by name.
    calculated: Mapping[int, Mapping[str, CalculatedAttribute]] = field(default_factory=dict)

    @cached_property
    def fingerprint(self) -> str:
        """A digest of everything the catalog holds (its version): equal catalogs share it, a changed type
        changes it. Results computed with a catalog (the estimator's cache) are kept apart by it."""
        parts = (self.attributes, self.events, self.event_attributes, self.identity_types, self.calculated)
        return hashlib.sha256(repr(_canonical(parts)).encode()).hexdigest()[:16]

    def attribute_type(self, workspace_ids: tuple[int, ...], name: str) -> str | None:
        """The attribute's type in the first of `workspace_ids` that has it."""
        for ws in workspace_ids:
            kind = self.attributes.get(ws, {}).get(name)
            if kind:
                return kind
        return None

    def calculated_attribute(self, workspace_ids: tuple[int, ...], name: str) -> tuple[int, CalculatedAttribute] | None:
        """The calculated attribute `name` of the first of `workspace_ids` that defines it, with that workspace."""
        for ws in workspace_ids:
            found = self.calculated.get(ws, {}).get(name)
            if found is not None:
                return ws, found
        return None

    def has_event(self, workspace_ids: tuple[int, ...], event_type: str, event_name: str | None) -> bool:
        for ws in workspace_ids:
            for known_type, known_name in self.events.get(ws, ()):
                if known_type == event_type and (event_name is None or known_name == event_name):
                    return True
        return False

    def event_names(self, workspace_ids: tuple[int, ...], event_type: str) -> list[str]:
        return sorted({n for ws in workspace_ids for t, n in self.events.get(ws, ()) if t == event_type and n})

    def event_attribute_type(self, workspace_ids: tuple[int, ...], event_type: str, event_name: str | None, attribute: str) -> str | None:
        for ws in workspace_ids:
            for (known_type, known_name), attributes in self.event_attributes.get(ws, {}).items():
                if known_type == event_type and (event_name is None or known_name == event_name) and attribute in attributes:
                    return attributes[attribute]
        return None


def _canonical(value: Any) -> Any:
    """`value` with its mappings and sets in a fixed order, so that its repr does not depend on insertion order."""
    if isinstance(value, Mapping):
        return tuple(sorted(((repr(k), _canonical(v)) for k, v in value.items()), key=lambda item: item[0]))
    if isinstance(value, (set, frozenset)):
        return tuple(sorted(repr(item) for item in value))
    if isinstance(value, (tuple, list)):
        return tuple(_canonical(item) for item in value)
    return value


def load_catalog(
    cursor: duckdb.DuckDBPyConnection,
    overrides: Mapping[int, Mapping[str, str]] | None = None,
    calculated: Mapping[int, Mapping[str, CalculatedAttribute]] | None = None,
) -> Catalog:
    """Read the catalogs the last load built; `overrides` (from the store) replace detected types and
    `calculated` (from the store too) are the workspaces' calculated attributes."""
    attributes: dict[int, dict[str, str]] = {}
    for ws, name, kind in cursor.execute("SELECT workspace_id, name, detected_type FROM attribute_catalog").fetchall():
        attributes.setdefault(ws, {})[name] = kind
    for ws, chosen in (overrides or {}).items():
        attributes.setdefault(ws, {}).update(chosen)
    events: dict[int, set[tuple[str, str | None]]] = {}
    for ws, kind, name in cursor.execute("SELECT workspace_id, event_type, event_name FROM event_catalog").fetchall():
        events.setdefault(ws, set()).add((kind, name))
    event_attributes: dict[int, dict[tuple[str, str | None], dict[str, str]]] = {}
    for ws, kind, name, attribute, detected in cursor.execute(
            "SELECT workspace_id, event_type, event_name, attribute, detected_type FROM event_attribute_catalog").fetchall():
        event_attributes.setdefault(ws, {}).setdefault((kind, name), {})[attribute] = detected
    identity_types: dict[int, set[str]] = {}
    for ws, kind in cursor.execute("SELECT DISTINCT workspace_id, identity_type FROM identities").fetchall():
        identity_types.setdefault(ws, set()).add(kind)
    return Catalog(
        attributes=attributes,
        events={ws: frozenset(v) for ws, v in events.items()},
        event_attributes=event_attributes,
        identity_types={ws: frozenset(v) for ws, v in identity_types.items()},
        calculated={ws: dict(defined) for ws, defined in (calculated or {}).items()},
    )
