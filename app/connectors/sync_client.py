"""The desktop side of sync: pulls a workspace's changes from the team's server into the cache.

Each page (Arrow IPC parts, `sync_format`) is loaded through `CacheWriter` exactly as an import is,
in one cache transaction together with the cursor that follows it. A sync stopped at any point
(killed, offline, cancelled) therefore resumes from the last page it kept and ends with exactly the
server's data: a page is either wholly in the cache with its cursor, or not at all.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

import requests

from app.connectors.cache import Cache
from app.connectors.sync_format import ARROW_STREAM, PageFormatError, read_part, staged_tables
from app.errors import UserError

log = logging.getLogger(__name__)

#: cache_meta key of the cursor of one server workspace (cursors are the server's; opaque here).
CURSOR_KEY = "sync_cursor {server} {workspace}"
#: cache_meta key of the last completed sync's time (the status bar's "synced 3 h ago").
LAST_SYNC_KEY = "last_sync_at"


class SyncError(UserError):
    """A sync could not go on; the message says what the server or the network said, and what to do."""


class SyncCancelled(SyncError):
    """The user stopped the sync; the pages already kept stay, the next sync resumes after them."""


@dataclass(frozen=True)
class RemoteWorkspace:
    id: int
    name: str
    last_seq: int


@dataclass
class PullReport:
    pages: int = 0
    batches: int = 0
    events: int = 0
    cursor: str | None = None


class SyncClient:
    """Talks to one server with one user's API token (kept by the caller, e.g. in the OS keyring)."""

    def __init__(self, server_url: str, token: str, *, timeout: float = 60.0, session: requests.Session | None = None):
        self.server_url = server_url.rstrip("/")
        self._timeout = timeout
        self._http = session or requests.Session()
        self._http.headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        self._http.close()

    def workspaces(self) -> tuple[str, list[RemoteWorkspace]]:
        """The token's user and the server workspaces it may read."""
        me = self._json("/v1/me")
        try:
            return me["user"], [RemoteWorkspace(int(w["id"]), str(w["name"]), int(w.get("last_seq") or 0)) for w in me["workspaces"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise SyncError(f"The server's answer to GET /v1/me lacks {exc}; is {self.server_url} an Audience Studio server?") from None

    def pull(
        self,
        cache: Cache,
        remote: RemoteWorkspace,
        local_workspace_id: int,
        *,
        sample: float | None = None,
        progress: Callable[[PullReport], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> PullReport:
        """Load every page after the stored cursor into `local_workspace_id`; each page with its cursor."""
        key = CURSOR_KEY.format(server=self.server_url, workspace=remote.id)
        report = PullReport(cursor=cache.meta(key))
        while True:
            if cancelled is not None and cancelled():
                raise SyncCancelled(f"Sync stopped after {report.pages} pages; the next sync goes on from there.")
            params = {name: value for name, value in (("cursor", report.cursor), ("sample", sample)) if value is not None}
            page = self._json(f"/v1/workspaces/{remote.id}/changes", params)
            try:
                batches, more, next_cursor = int(page["batches"]), bool(page["more"]), str(page["next_cursor"])
                parts_listed = page["parts"] if batches else []
            except (KeyError, TypeError, ValueError) as exc:
                raise SyncError(f"The server's page of workspace {remote.name!r} after cursor {report.cursor!r} lacks {exc}.") from None
            if batches:
                parts = {}
                for part in parts_listed:
                    parts[part["table"]] = self._part(part, remote)
                with cache.writing(source="sync", description=f"{self.server_url} {remote.name}: {batches} batches") as writer:
                    writer.add_tables(staged_tables(parts, workspace_id=local_workspace_id), batches)
                    writer.set_meta(key, next_cursor)
                report.pages += 1
                report.batches += batches
                report.events += int(page.get("events") or 0)
            report.cursor = next_cursor
            if progress is not None:
                progress(report)
            if not more:
                break
        with cache.writing(source="sync", description="") as writer:
            writer.set_meta(LAST_SYNC_KEY, dt.datetime.now(dt.timezone.utc).isoformat())
        return report

    # -- requests ---------------------------------------------------------------------------------

    def _part(self, part: dict, remote: RemoteWorkspace):
        name = str(part.get("table"))
        reply = self._get(str(part.get("url")))
        if not reply.headers.get("content-type", "").startswith(ARROW_STREAM):
            raise SyncError(f"The server sent the {name!r} part of workspace {remote.name!r} as "
                            f"{reply.headers.get('content-type')!r}, not an Arrow stream; nothing of that page was kept.")
        try:
            table = read_part(name, reply.content)
        except PageFormatError as exc:
            raise SyncError(f"A page of workspace {remote.name!r} is malformed ({exc}); nothing of that page was kept.") from None
        if table.num_rows != part.get("rows"):
            raise SyncError(f"The {name!r} part of a page of workspace {remote.name!r} holds {table.num_rows} rows, "
                            f"the page said {part.get('rows')}; nothing of that page was kept.")
        return table

    def _json(self, path: str, params: dict | None = None) -> dict:
        reply = self._get(path, params)
        try:
            return reply.json()
        except ValueError:
            raise SyncError(f"The server's answer to GET {path} is not JSON; is {self.server_url} an Audience Studio server?") from None

    def _get(self, path: str, params: dict | None = None) -> requests.Response:
        url = self.server_url + path
        try:
            reply = self._http.get(url, params=params, timeout=self._timeout)
        except requests.RequestException as exc:
            raise SyncError(f"Cannot reach the server {self.server_url} ({type(exc).__name__}). Keep working offline; "
                            "sync again once the network is back.") from None
        if reply.status_code == 401:
            raise SyncError(f"The server {self.server_url} refused the sign-in (401): the token is wrong, expired or "
                            "revoked. Sign in again with `audience-studio sync login --server URL`.")
        if reply.status_code >= 400:
            raise SyncError(f"The server answered {reply.status_code} to GET {path}: {_server_message(reply)}")
        return reply


def _server_message(reply: requests.Response) -> str:
    try:
        errors = reply.json()["errors"]
        return "; ".join(str(error["message"]) for error in errors)
    except (ValueError, KeyError, TypeError):
        return reply.text[:300] or reply.reason
