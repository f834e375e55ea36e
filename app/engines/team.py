"""The team server's sources, activity stream and audit log for the desktop panes, with the token the home
signed in with (app/engines/sync.py keeps it in the OS keyring). Every function here makes requests or
reads the cache: call them off the GUI thread.
"""

from __future__ import annotations

import csv
import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.connectors.sync_client import Backoff
from app.connectors.team_client import StreamEvent, TeamClient, Workspace
from app.engines.home import OpenHome
from app.engines.sync import kept_token, remembered_server
from app.errors import InvalidInput, UserError

#: Retries of the panes' requests: about five seconds.
PANE_BACKOFF = Backoff(first=0.5, longest=2.0, patience=5.0)
#: How many audit entries the app reads at most for one view (and its CSV).
AUDIT_LIMIT = 10_000
AUDIT_COLUMNS = ("id", "at", "actor", "kind", "action", "target", "workspace_id", "details")


@dataclass(frozen=True)
class SourceInfo:
    id: int
    workspace_id: int
    workspace: str
    kind: str
    name: str
    api_key: str
    enabled: bool
    status: str
    last_received_at: dt.datetime | None
    batches: int
    events: int
    batches_24h: int
    refused: int
    last_refused_at: dt.datetime | None


@dataclass(frozen=True)
class SourcesView:
    server: str
    workspaces: list[Workspace]
    sources: list[SourceInfo]  # of the workspaces the user administers

    @property
    def administered(self) -> list[Workspace]:
        return [w for w in self.workspaces if w.role == "admin"]


@dataclass(frozen=True)
class NewSecret:
    """A source's credentials as the server gave them, once: shown in a dialog and never kept here."""

    source: SourceInfo
    api_key: str
    secret: str
    example_request: str


def server_of(home: OpenHome) -> str:
    """The server this home is signed in to (read from the cache); UserError when none."""
    url = remembered_server(home)
    if url is None:
        raise UserError("Not signed in to a team server: sign in on the Sync pane first.")
    return url


def client(home: OpenHome, server_url: str | None = None) -> TeamClient:
    """A client for the server this home is signed in to (or `server_url`, which spares reading the cache);
    UserError when it is not signed in."""
    url = server_url or server_of(home)
    token = kept_token(home, url)
    if not token:
        raise UserError(f"Not signed in to {url}: sign in again on the Sync pane.")
    # A pane waits for its answer: a few seconds of retries (a restarting server), not a sync's minute.
    return TeamClient(url, token, backoff=PANE_BACKOFF)


def _time(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def _source(row: dict[str, Any]) -> SourceInfo:
    return SourceInfo(int(row["id"]), int(row["workspace_id"]), str(row["workspace"]), str(row["kind"]), str(row["name"]),
                      str(row["api_key"]), bool(row["enabled"]), str(row["status"]), _time(row.get("last_received_at")),
                      int(row["batches"]), int(row["events"]), int(row["batches_24h"]), int(row["refused"]),
                      _time(row.get("last_refused_at")))


def sources(home: OpenHome) -> SourcesView:
    """The user's workspaces on the server, and the sources of those they administer."""
    with client(home) as team:
        _, _, workspaces = team.me()
        found = [_source(r) for w in workspaces if w.role == "admin" for r in team.sources(w.id)]
        return SourcesView(team.server_url, workspaces, found)


def create_source(home: OpenHome, workspace_id: int, kind: str, name: str) -> NewSecret:
    if kind not in ("platform", "feed"):
        raise InvalidInput(f"Kind {kind!r}: a source is a platform or a feed.")
    if not name.strip():
        raise InvalidInput("Name: give the platform (iOS, Android, Web...) or the feed's name.")
    with client(home) as team:
        return _secret(team.create_source(workspace_id, kind, name.strip()))


def set_source_enabled(home: OpenHome, source_id: int, enabled: bool) -> SourceInfo:
    with client(home) as team:
        return _source(team.set_source_enabled(source_id, enabled))


def rotate_secret(home: OpenHome, source_id: int) -> NewSecret:
    with client(home) as team:
        return _secret(team.rotate_secret(source_id))


def _secret(answer: dict[str, Any]) -> NewSecret:
    return NewSecret(_source(answer["source"]), str(answer["api_key"]), str(answer["secret"]), str(answer["example_request"]))


# -- the activity stream -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalImport:
    """A load of this laptop's cache that did not come from the server (an import or the demo)."""

    at: dt.datetime
    source: str
    description: str | None
    batches: int
    events: int


def local_imports(home: OpenHome, limit: int = 200) -> list[LocalImport]:
    """This laptop's own loads (imports, the demo), newest first: the activity stream shows them beside the server's."""
    cursor = home.cache.cursor()
    try:
        rows = cursor.execute("SELECT loaded_at, source, description, batches, events FROM loads WHERE source <> 'sync' "
                              "ORDER BY loaded_at DESC LIMIT ?", [limit]).fetchall()
    finally:
        cursor.close()
    return [LocalImport(at.replace(tzinfo=dt.timezone.utc), source, description, int(batches), int(events))
            for at, source, description, batches, events in rows]


def workspaces(home: OpenHome) -> tuple[str, list[Workspace]]:
    """The server this home is signed in to, and the user's workspaces there with their role."""
    with client(home) as team:
        return team.server_url, team.me()[2]


class ActivityFollower:
    """Follows a workspace's activity stream on a thread of its own until stopped, calling `on_event` for each
    batch or refusal and `on_error(message)` if it cannot go on (both on that thread). The server ends a stream
    now and then; it is reopened after the last event received (Last-Event-ID), so nothing is missed or
    repeated. `stop` ends it at once (it closes the connection), so pausing never waits for the network."""

    def __init__(self, home: OpenHome, server_url: str, workspace_id: int, filters: dict[str, str],
                 on_event: Callable[[StreamEvent], None], on_error: Callable[[str], None], after: str | None = None,
                 retry_seconds: float = 2.0) -> None:
        # The server's address is given, so this thread never touches the home's cache (which the window may
        # close while the stream runs); the token comes from the OS keyring.
        self.home, self.server_url, self.workspace_id, self.filters = home, server_url, workspace_id, dict(filters)
        self.on_event, self.on_error = on_event, on_error
        #: The position after the last event received: where a later follower resumes.
        self.position = after
        self.retry_seconds = retry_seconds
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._client: TeamClient | None = None
        self._thread = threading.Thread(target=self._run, name=f"activity {workspace_id}", daemon=True)

    def start(self) -> ActivityFollower:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            if self._client is not None:
                self._client.interrupt()

    def join(self, seconds: float) -> bool:
        self._thread.join(seconds)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            with client(self.home, self.server_url) as team:
                with self._lock:
                    self._client = team
                while not self._stop.is_set():
                    for event in team.activity(self.workspace_id, self.filters, self.position, self._stop.is_set):
                        if isinstance(event, StreamEvent):
                            self.position = event.position
                            self.on_event(event)
                        else:
                            self.position = event
                    self._stop.wait(self.retry_seconds)
        except UserError as exc:
            if not self._stop.is_set():
                self.on_error(str(exc))
        except Exception as exc:  # never a traceback in the pane: what broke, in one line (and in the log)
            import logging

            logging.getLogger(__name__).exception("the activity stream stopped")
            if not self._stop.is_set():
                self.on_error(f"The activity stream stopped unexpectedly ({type(exc).__name__}); the details are in the log.")
        finally:
            with self._lock:
                self._client = None


def batch_detail(home: OpenHome, workspace_id: int, seq: int) -> dict[str, Any]:
    with client(home) as team:
        return team.batch(workspace_id, seq)


# -- the audit log -------------------------------------------------------------------------------------


def audit_entries(home: OpenHome, *, actor: str | None = None, kind: str | None = None,
                  since: dt.datetime | None = None, until: dt.datetime | None = None) -> tuple[list[dict[str, Any]], bool]:
    """The audit entries the user may see (admin), oldest first, and whether more than AUDIT_LIMIT matched."""
    params: dict[str, Any] = {"limit": 1000}
    for key, value in (("actor", actor), ("kind", kind)):
        if value:
            params[key] = value
    for key, value in (("since", since), ("until", until)):
        if value is not None:
            params[key] = value.isoformat()
    found: list[dict[str, Any]] = []
    with client(home) as team:
        while True:
            page = team.audit(params)
            found.extend(page["entries"])
            if not page["more"] or len(found) >= AUDIT_LIMIT:
                return found[:AUDIT_LIMIT], bool(page["more"]) or len(found) > AUDIT_LIMIT
            params["after"] = page["next_after"]


def export_audit_csv(entries: list[dict[str, Any]], path: Path) -> int:
    """Write the entries as CSV (details as JSON text); the file is written whole or not at all."""
    import json

    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(AUDIT_COLUMNS)
            for entry in entries:
                writer.writerow([entry.get("id"), entry.get("at"), entry.get("actor"), entry.get("kind"), entry.get("action"),
                                 entry.get("target"), "" if entry.get("workspace_id") is None else entry["workspace_id"],
                                 json.dumps(entry.get("details") or {}, sort_keys=True, ensure_ascii=False)])
        partial.replace(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise UserError(f"Cannot write {path}: {exc.strerror or exc}") from None
    return len(entries)
