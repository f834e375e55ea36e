"""Values to suggest while a marketer types a criterion's value: the most common ones in the cache.

Plain queries over the cache's tables with bound parameters; the column or table read comes from
the fixed maps below, never from the caller's text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import duckdb

#: What can be suggested, and the query giving (value, users) for it. `?` placeholders, in order:
#: workspace ids, then the name (when the kind has one), then the lower-cased prefix.
_DEVICE = {"platform", "os", "os_version", "device_model", "manufacturer", "carrier", "app_version", "build"}
_LOCATION = {"city", "state", "zip", "dma", "country"}
_ATTRIBUTION = {"publisher", "campaign", "service_provider"}

KINDS = ("user_attribute", "event_name", "event_attribute", "device", "location", "identity", "attribution",
         "consent_purpose", "product_action")


@dataclass(frozen=True)
class Suggestion:
    value: str
    #: How many users have it (events: how many events), for ordering and the tooltip.
    count: int


def top_values(cursor: duckdb.DuckDBPyConnection, workspace_ids: Sequence[int], kind: str, name: str | None = None,
               prefix: str = "", limit: int = 20) -> list[Suggestion]:
    """The `limit` most common values of `kind` (named `name`) starting with `prefix`, ignoring case.

    kind is one of KINDS: "user_attribute" (name = attribute; list attributes give their items),
    "event_name" (name = event type), "event_attribute" (name = "event type/event name/attribute",
    the event name may be empty), "device" / "location" (name = field), "attribution" (name =
    "install.publisher" and the like), "identity" (name = identity type), "consent_purpose",
    "product_action".
    """
    sql, params = _query(kind, name, list(workspace_ids))
    rows = cursor.execute(
        f"SELECT value, count(*) AS n FROM ({sql}) WHERE value IS NOT NULL AND value <> '' "
        "AND starts_with(lower(value), ?) GROUP BY value ORDER BY n DESC, value LIMIT ?",
        [*params, (prefix or "").lower(), int(limit)],
    ).fetchall()
    return [Suggestion(str(value), int(count)) for value, count in rows]


def _query(kind: str, name: str | None, workspaces: list[int]) -> tuple[str, list]:
    """(SQL selecting a `value` column, its parameters in text order)."""
    ws = "list_contains(?, workspace_id)"
    if kind == "user_attribute":
        return (f"SELECT unnest(CASE WHEN value_list IS NOT NULL THEN value_list ELSE [value] END) AS value "
                f"FROM attributes WHERE {ws} AND name = ?", [workspaces, name])
    if kind == "event_name":
        return f"SELECT event_name AS value FROM events WHERE {ws} AND event_type = ?", [workspaces, name]
    if kind == "event_attribute":
        event_type, event_name, attribute = _event_attribute(name)
        stored_type = "custom_event" if event_type == "attribution" else event_type
        if event_type == "attribution":
            event_name = "attribution"
        where, params = f"{ws} AND event_type = ?", [workspaces, stored_type]
        if event_name:
            where += " AND event_name = ?"
            params.append(event_name)
        if attribute in _EVENT_COLUMNS:
            return f"SELECT CAST({attribute} AS VARCHAR) AS value FROM events WHERE {where}", params
        return f"SELECT attributes[?] AS value FROM events WHERE {where}", [attribute, *params]
    if kind == "device":
        column = _checked(name, _DEVICE, "device field")
        return f"SELECT {column} AS value FROM devices WHERE {ws}", [workspaces]
    if kind == "location":
        column = _checked(name, _LOCATION, "location field")
        return f"SELECT {column} AS value FROM locations WHERE {ws}", [workspaces]
    if kind == "attribution":
        attribution_kind, _, field = (name or "install.publisher").partition(".")
        column = _checked(field, _ATTRIBUTION, "attribution field")
        return f"SELECT {column} AS value FROM attribution WHERE {ws} AND kind = ?", [workspaces, attribution_kind]
    if kind == "identity":
        return f"SELECT value FROM identities WHERE {ws} AND identity_type = ?", [workspaces, name]
    if kind == "consent_purpose":
        return f"SELECT purpose AS value FROM consent WHERE {ws} AND regulation = 'gdpr'", [workspaces]
    if kind == "product_action":
        return f"SELECT product_action AS value FROM events WHERE {ws} AND event_type = 'commerce_event'", [workspaces]
    raise ValueError(f"Nothing to suggest for {kind!r}; use one of: {', '.join(KINDS)}.")


#: Event fields kept in columns of their own rather than in the attributes map.
_EVENT_COLUMNS = {"product_action", "currency", "event_name", "revenue"}


def _event_attribute(name: str | None) -> tuple[str, str | None, str]:
    parts = (name or "").split("/")
    if len(parts) == 3:
        return parts[0], parts[1] or None, parts[2]
    return "custom_event", None, parts[-1]


def _checked(name: str | None, allowed: set[str], what: str) -> str:
    if name not in allowed:
        raise ValueError(f"{name!r} is not a {what}; use one of: {', '.join(sorted(allowed))}.")
    return name
