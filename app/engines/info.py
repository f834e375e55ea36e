"""What a home holds: workspaces, inputs, cache counts and freshness, for `info` and the status bar."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.connectors.cache import SCHEMA_VERSION
from app.engines.home import OpenHome


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def home_info(home: OpenHome) -> dict[str, Any]:
    """A JSON-ready summary of the home (counts come from the cache, names from the store)."""
    cur = home.cache.cursor()
    try:
        per_ws: dict[int, dict[str, Any]] = {}

        def bucket(ws: int) -> dict[str, Any]:
            return per_ws.setdefault(ws, {"profiles": 0, "identities": {}, "events": {}, "first_event": None, "last_event": None})

        for ws, n in cur.execute("SELECT workspace_id, count(*) FROM profiles GROUP BY ALL").fetchall():
            bucket(ws)["profiles"] = n
        for ws, kind, n in cur.execute("SELECT workspace_id, identity_type, count(*) FROM identities GROUP BY ALL ORDER BY ALL").fetchall():
            bucket(ws)["identities"][kind] = n
        for ws, kind, n in cur.execute("SELECT workspace_id, event_type, count(*) FROM events GROUP BY ALL ORDER BY ALL").fetchall():
            bucket(ws)["events"][kind] = n
        for ws, first, last in cur.execute("SELECT workspace_id, min(ts), max(ts) FROM events GROUP BY ALL").fetchall():
            bucket(ws)["first_event"], bucket(ws)["last_event"] = _iso(first), _iso(last)
        loads = cur.execute("SELECT loaded_at, source, description, batches, events FROM loads ORDER BY loaded_at DESC LIMIT 1").fetchall()
        meta = dict(cur.execute("SELECT key, value FROM cache_meta").fetchall())
    finally:
        cur.close()

    workspaces = []
    for workspace in home.workspaces.list():
        counts = per_ws.get(workspace.id, {"profiles": 0, "identities": {}, "events": {}, "first_event": None, "last_event": None})
        workspaces.append({
            "id": workspace.id,
            "name": workspace.name,
            "realtime_window_days": workspace.realtime_window_days,
            "inputs": [{"kind": i.kind, "name": i.name} for i in workspace.inputs],
            "profiles": counts["profiles"],
            "identities": counts["identities"],
            "events": {"total": sum(counts["events"].values()), "by_type": counts["events"]},
            "date_range": {"first": counts["first_event"], "last": counts["last_event"]},
            "audiences": len(home.audiences.list(workspace_id=workspace.id)),
        })
    last_load = None
    if loads:
        at, source, description, batches, events = loads[0]
        last_load = {"at": _iso(at), "source": source, "description": description, "batches": batches, "events": events}
    return {
        "home": str(home.home.root),
        "store": str(home.home.store_path),
        "cache": {
            "path": str(home.home.cache_path),
            "schema_version": SCHEMA_VERSION,
            "data_version": int(meta.get("data_version", 0)),
            "source": meta.get("source"),
            "last_load": last_load,
            "last_sync": meta.get("last_sync_at"),
        },
        "workspaces": workspaces,
    }


def format_info(info: dict[str, Any]) -> str:
    """The same summary, readable in a terminal."""
    lines = [f"Home: {info['home']}"]
    cache = info["cache"]
    last = cache["last_load"]
    lines.append(f"Cache: version {cache['data_version']} (schema {cache['schema_version']}), source {cache['source']}")
    lines.append(f"Last import: {last['at']} ({last['source']}: {last['batches']:,} batches, {last['events']:,} events)" if last else "Last import: never")
    lines.append(f"Last sync: {cache['last_sync'] or 'never'}")
    if not info["workspaces"]:
        lines.append("No workspaces yet: run `audience-studio demo` or `audience-studio import FILE`.")
    for ws in info["workspaces"]:
        lines.append("")
        lines.append(f"Workspace {ws['id']}: {ws['name']}  (real-time window {ws['realtime_window_days']} days)")
        inputs = ", ".join(f"{i['name']} ({i['kind']})" for i in ws["inputs"]) or "none"
        lines.append(f"  Inputs: {inputs}")
        lines.append(f"  Profiles: {ws['profiles']:,}   Audiences: {ws['audiences']}")
        if ws["identities"]:
            lines.append("  Identities: " + ", ".join(f"{k} {v:,}" for k, v in ws["identities"].items()))
        lines.append(f"  Events: {ws['events']['total']:,}" + (f" from {ws['date_range']['first']} to {ws['date_range']['last']}" if ws["date_range"]["first"] else ""))
        for kind, n in sorted(ws["events"]["by_type"].items(), key=lambda kv: -kv[1]):
            lines.append(f"    {kind:<28} {n:>12,}")
    return "\n".join(lines)
