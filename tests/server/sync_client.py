"""A minimal sync client for the tests: pages from the server into a cache through `CacheWriter`,
each page in one cache transaction (the app's client does the same, plus the cursor in that transaction)."""

from __future__ import annotations

import httpx

from app.connectors.cache import Cache
from app.connectors.sync_format import read_part, staged_tables


def pull(http: httpx.Client, headers: dict, workspace_id: int, cache: Cache, *, local_workspace_id: int = 1,
         cursor: str | None = None, sample: float | None = None, max_pages: int | None = None) -> tuple[str | None, int]:
    """Apply pages after `cursor` until none is left (or `max_pages`); returns (cursor, pages applied)."""
    pages = 0
    while max_pages is None or pages < max_pages:
        params = {k: v for k, v in (("cursor", cursor), ("sample", sample)) if v is not None}
        reply = http.get(f"/v1/workspaces/{workspace_id}/changes", params=params, headers=headers)
        reply.raise_for_status()
        page = reply.json()
        if page["batches"]:
            parts = {}
            for part in page["parts"]:
                got = http.get(part["url"], headers=headers)
                got.raise_for_status()
                assert got.headers["content-type"].startswith("application/vnd.apache.arrow.stream")
                parts[part["table"]] = read_part(part["table"], got.content)
                assert parts[part["table"]].num_rows == part["rows"]
            with cache.writing(source="sync", description=f"page after {cursor}") as writer:
                writer.add_tables(staged_tables(parts, workspace_id=local_workspace_id), page["batches"])
            pages += 1
        cursor = page["next_cursor"]
        if not page["more"]:
            break
    cache.refresh_catalogs()
    return cursor, pages
