"""The desktop side of sync: pulls a workspace's changes from the team's server into the cache.

Each page (Arrow IPC parts, `sync_format`) is loaded through `CacheWriter` exactly as an import is,
in one cache transaction together with the cursor that follows it. A sync stopped at any point
(killed, offline, cancelled) therefore resumes from the last page it kept and ends with exactly the
server's data: a page is either wholly in the cache with its cursor, or not at all.

A first sync into a workspace that holds nothing yet starts from the server's snapshot instead
(GET /v1/workspaces/{id}/snapshot: every cache table as a Parquet file, through some batch): the
files are downloaded to a temporary folder and loaded in one transaction with the cursor that
follows them, then pages go on from there. A server without snapshots (404) is synced by pages.

Requests are tried again on 5xx and 429 answers, timeouts and refused connections (a server being
restarted): jittered exponential backoff for about a minute (tenacity), never sooner than the
server's Retry-After, and a Cancel ends the wait; a short outage only slows a sync down. It also carries the audience definitions'
API (`audience_changes`, `create_audience`, `update_audience`, `delete_audience`) for offline editing.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import duckdb
import pyarrow as pa
import requests
import tenacity

from app.connectors.cache import SNAPSHOT_PARTS, Cache, first_row
from app.connectors.reply_text import one_line
from app.connectors.retry_after import retry_after_seconds
from app.connectors.sync_format import (
    ARROW_STREAM,
    PageFormatError,
    read_part,
    staged_tables,
)
from app.errors import InvalidInput, UserError

log = logging.getLogger(__name__)

#: cache_meta key of the cursor of one server workspace (cursors are the server's; opaque here).
CURSOR_KEY = "sync_cursor {server} {workspace}"
#: cache_meta key of the last completed sync's time (the status bar's "synced 3 h ago").
LAST_SYNC_KEY = "last_sync_at"
#: cache_meta key of the fraction of profiles the synced cache holds ("" or missing: all of them).
SAMPLE_KEY = "sync_sample"
#: The media type of a snapshot part.
PARQUET = "application/vnd.apache.parquet"
#: How long the server may take to answer for a snapshot: it may first bring the snapshot up to date.
SNAPSHOT_TIMEOUT = 600.0
#: Snapshots asked for when one is replaced by a newer one while its parts are being downloaded.
SNAPSHOT_ATTEMPTS = 3


@dataclass(frozen=True)
class Backoff:
    """How long a request that failed for a reason that may pass (5xx, 429, a timeout, a refused
    connection: a server restarting or overloaded) is tried again: after a random wait up to `first`
    seconds, doubling each time up to `longest` ("full jitter": clients of a restarted server do not
    come back at once), never sooner than the server's Retry-After, until the waits add up to `patience`."""

    first: float = 0.5
    longest: float = 15.0
    patience: float = 60.0


#: The default: about a minute of waiting, longer than a server takes to restart.
BACKOFF = Backoff()
#: No second attempt (tests, and callers that retry themselves).
NO_RETRY = Backoff(patience=0.0)
#: How often a wait between attempts looks whether the user cancelled the sync.
CANCEL_CHECK_SECONDS = 0.2


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
    #: Rows of every part loaded, and the bytes of the parts as they came over the network.
    rows: int = 0
    bytes: int = 0
    #: Batches waiting on the server when this pull began (known from its first page; 0 before).
    batches_total: int = 0
    sample: float | None = None
    #: Whether this pull started from the server's snapshot (a first sync) rather than page one.
    snapshot: bool = False


@dataclass(frozen=True)
class Answer:
    """A JSON answer of the audience definitions' API: its status and body (409 bodies included)."""

    status: int
    body: dict


#: cache_meta key of the revenue cursor of one server workspace (revenue has its own change numbers).
REVENUE_CURSOR_KEY = "revenue_cursor {server} {workspace}"


@dataclass
class RevenueReport:
    """What a revenue pull brought: pages kept, rows of the parts, bytes received."""

    pages: int = 0
    rows: int = 0
    bytes: int = 0
    cursor: str | None = None


class SyncClient:
    """Talks to one server with one user's API token (kept by the caller, e.g. in the OS keyring)."""

    def __init__(self, server_url: str, token: str, *, timeout: float = 60.0, session: requests.Session | None = None,
                 backoff: Backoff = BACKOFF, sleep: Callable[[float], None] = time.sleep):
        self.server_url = server_url.rstrip("/")
        self._timeout = timeout
        self._backoff = backoff
        self._sleep = sleep
        self._http = session or requests.Session()
        self._http.headers["Authorization"] = f"Bearer {token}"
        #: Asked between attempts of a request: True stops the wait with SyncCancelled (the Sync pane's Cancel).
        self.cancelled: Callable[[], bool] = lambda: False
        #: The server's company name (GET /v1/me's `company`), known after `workspaces()`; None before `server init`.
        self.company: str | None = None

    def close(self) -> None:
        self._http.close()

    def workspaces(self) -> tuple[str, list[RemoteWorkspace]]:
        """The token's user and the server workspaces it may read."""
        me = self._json("/v1/me")
        self.company = me.get("company") if isinstance(me, dict) and isinstance(me.get("company"), str) else None
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
        if report.cursor is None and not _holds_rows(cache, local_workspace_id):
            self._pull_snapshot(cache, remote, local_workspace_id, key, sample, report, progress, cancelled)
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
            if page.get("sample") is not None:
                report.sample = float(page["sample"])
            if not report.batches_total and batches:
                # The page's first batch to the server's newest: what this pull has to bring.
                last = int(page.get("last_seq") or 0)
                report.batches_total = max(batches, int(page.get("server_last_seq") or 0) - (last - batches))
            if batches:
                parts = {}
                size = 0
                for part in parts_listed:
                    parts[part["table"]], part_bytes = self._part(part, remote)
                    size += part_bytes
                try:
                    with cache.writing(source="sync", description=f"{self.server_url} {remote.name}: {batches} batches") as writer:
                        writer.add_tables(staged_tables(parts, workspace_id=local_workspace_id), batches)
                        writer.set_meta(key, next_cursor)
                        writer.set_meta(SAMPLE_KEY, "" if report.sample is None else repr(report.sample))
                except (duckdb.Error, pa.ArrowException) as exc:
                    # Stop rather than skip: the pages after this one assume it was applied, and the
                    # cursor stays before it, so a later sync applies it once the server serves it fixed.
                    through = page.get("last_seq")
                    where = f"batches {through - batches + 1}..{through}" if isinstance(through, int) else f"{batches} batches"
                    raise SyncError(f"A page of workspace {remote.name!r} ({where}) cannot be loaded "
                                    f"({str(exc).splitlines()[0][:200]}); nothing of it was kept and the sync stopped there. "
                                    f"The server's administrator can list the workspace's problem batches with "
                                    f"`audience-studio server batch list WORKSPACE --problems`.") from None
                report.pages += 1
                report.batches += batches
                report.events += int(page.get("events") or 0)
                report.rows += sum(table.num_rows for table in parts.values())
                report.bytes += size
            report.cursor = next_cursor
            if progress is not None:
                progress(report)
            if not more:
                break
        with cache.writing(source="sync", description="") as writer:
            writer.set_meta(LAST_SYNC_KEY, dt.datetime.now(dt.timezone.utc).isoformat())
            if report.pages:
                writer.set_meta(SAMPLE_KEY, "" if report.sample is None else repr(report.sample))
        return report

    def _pull_snapshot(self, cache: Cache, remote: RemoteWorkspace, local_workspace_id: int, key: str,
                       sample: float | None, report: PullReport, progress: Callable[[PullReport], None] | None,
                       cancelled: Callable[[], bool] | None) -> None:
        """Load the server's snapshot with the cursor after it, in one transaction; nothing when the
        server has none (the pages then bring everything)."""
        rows_before = report.rows
        for _ in range(SNAPSHOT_ATTEMPTS):
            report.rows = rows_before
            params = {"sample": sample} if sample is not None else None
            reply = self._request("GET", f"/v1/workspaces/{remote.id}/snapshot", accept=(404,), params=params,
                                  timeout=max(self._timeout, SNAPSHOT_TIMEOUT))
            if reply.status_code == 404:
                log.info("%s offers no snapshot of %s: syncing by pages", self.server_url, remote.name)
                return
            try:
                listing = reply.json()
                through, cursor = int(listing["through"]), str(listing["cursor"])
                batches, parts = int(listing["batches"]), list(listing["parts"])
            except (ValueError, KeyError, TypeError) as exc:
                # Not a snapshot (a proxy's page, a server that knows no such route): the pages are exact too.
                log.warning("%s answered GET /snapshot of %s with no snapshot (%s): syncing by pages", self.server_url, remote.name, exc)
                return
            if not through or not batches:
                return
            report.batches_total = max(report.batches_total, int(listing.get("server_last_seq") or through))
            if listing.get("sample") is not None:
                report.sample = float(listing["sample"])
            with tempfile.TemporaryDirectory(prefix="audience-studio-snapshot-") as folder:
                files = self._snapshot_parts(parts, Path(folder), remote, report, progress, cancelled)
                if files is None:
                    continue  # replaced by a newer snapshot meanwhile: ask again
                try:
                    with cache.writing(source="sync", description=f"{self.server_url} {remote.name}: snapshot through batch {through}") as writer:
                        rows = writer.load_snapshot(files, workspace_id=local_workspace_id, batches=batches)
                        listed = sum(int(part.get("rows") or 0) for part in parts)
                        if rows != listed:
                            raise InvalidInput(f"its parts hold {rows} rows, the server listed {listed}")
                        writer.set_meta(key, cursor)
                        writer.set_meta(SAMPLE_KEY, "" if report.sample is None else repr(report.sample))
                except (duckdb.Error, InvalidInput) as exc:
                    raise SyncError(f"The snapshot of workspace {remote.name!r} is malformed ({exc}); nothing of it was kept. "
                                    "Sync again; if it keeps failing, tell the server's administrator.") from None
            report.snapshot = True
            report.pages += 1
            report.batches += batches
            report.events += int(listing.get("events") or 0)
            report.rows = rows_before + rows
            report.cursor = cursor
            if progress is not None:
                progress(report)
            return
        log.info("the snapshot of %s kept changing while it was downloaded: syncing by pages", remote.name)

    def _snapshot_parts(self, parts: list, folder: Path, remote: RemoteWorkspace, report: PullReport,
                        progress: Callable[[PullReport], None] | None, cancelled: Callable[[], bool] | None) -> dict[str, Path] | None:
        """The parts downloaded into `folder`, by table; None if the snapshot was replaced meanwhile."""
        files: dict[str, Path] = {}
        for part in parts:
            if cancelled is not None and cancelled():
                raise SyncCancelled("Sync stopped while the snapshot was downloading; nothing of it was kept, "
                                    "the next sync starts it again.")
            name = str(part.get("table"))
            if name not in SNAPSHOT_PARTS or name in files:
                raise SyncError(f"The server's snapshot of workspace {remote.name!r} has an unknown part {name!r}; nothing of it was kept.")
            path = folder / f"{name}.parquet"
            with self._request("GET", str(part.get("url")), accept=(404,), stream=True) as reply:
                if reply.status_code == 404:
                    return None
                if not reply.headers.get("content-type", "").startswith(PARQUET):
                    raise SyncError(f"The server sent the {name!r} part of the snapshot of workspace {remote.name!r} as "
                                    f"{reply.headers.get('content-type')!r}, not Parquet; nothing of it was kept.")
                size = 0
                try:
                    with path.open("wb") as out:
                        for chunk in reply.iter_content(1 << 20):
                            out.write(chunk)
                            size += len(chunk)
                except requests.RequestException as exc:
                    raise SyncError(f"The connection to {self.server_url} broke while the snapshot of workspace {remote.name!r} "
                                    f"was downloading ({type(exc).__name__}); nothing of it was kept. Sync again.") from None
            files[name] = path
            report.bytes += size
            report.rows += int(part.get("rows") or 0)
            if progress is not None:
                progress(report)
        return files

    # -- revenue (docs/revenue.md) ----------------------------------------------------------------

    def pull_revenue(
        self,
        cache: Cache,
        remote: RemoteWorkspace,
        local_workspace_id: int,
        *,
        progress: Callable[[RevenueReport], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> RevenueReport:
        """Load the workspace's revenue changes after the stored revenue cursor into `local_workspace_id`:
        each page's records, member counts and agencies with the cursor that follows, in one cache
        transaction (latest wins by key, so a corrected record replaces the one it corrects)."""
        from app.connectors.cache import REVENUE_TABLES

        key = REVENUE_CURSOR_KEY.format(server=self.server_url, workspace=remote.id)
        report = RevenueReport(cursor=cache.meta(key))
        writers = {"revenue_records": "add_revenue", "segment_counts": "add_segment_counts", "agencies": "add_agencies"}
        while True:
            if cancelled is not None and cancelled():
                raise SyncCancelled(f"Sync stopped after {report.pages} pages of revenue; the next sync goes on from there.")
            path = f"/v1/workspaces/{remote.id}/revenue/changes"
            reply = self._request("GET", path, params={"cursor": report.cursor} if report.cursor else None, accept=(404,))
            if reply.status_code == 404:  # a server from before revenue: nothing to bring
                log.info("%s has no revenue API; revenue of %s not synced", self.server_url, remote.name)
                return report
            try:
                page = reply.json()
            except ValueError:
                raise SyncError(f"The server's answer to GET {path} is not JSON; is {self.server_url} an Audience Studio server?") from None
            try:
                more, next_cursor = bool(page["more"]), str(page["next_cursor"])
                listed = [(str(p["table"]), int(p["rows"]), str(p["url"])) for p in page["parts"]]
            except (KeyError, TypeError, ValueError) as exc:
                raise SyncError(f"The server's page of revenue of workspace {remote.name!r} after cursor {report.cursor!r} lacks {exc}.") from None
            tables, size = {}, 0
            for name, rows, url in listed:
                if name not in writers or name in tables:
                    raise SyncError(f"A page of revenue of workspace {remote.name!r} has an unknown part {name!r}; nothing of that page was kept.")
                tables[name], part_bytes = self._revenue_part(name, rows, url, REVENUE_TABLES[name][0], remote)
                size += part_bytes
            if tables or next_cursor != report.cursor:
                with cache.writing(source="sync", description=f"{self.server_url} {remote.name}: revenue") as writer:
                    for name, table in tables.items():
                        relabelled = table.set_column(0, "workspace_id", pa.repeat(pa.scalar(local_workspace_id, pa.int32()), table.num_rows))
                        getattr(writer, writers[name])(relabelled)
                    writer.set_meta(key, next_cursor)
            if tables:
                report.pages += 1
                report.rows += sum(table.num_rows for table in tables.values())
                report.bytes += size
            report.cursor = next_cursor
            if progress is not None:
                progress(report)
            if not more:
                return report

    def _revenue_part(self, name: str, rows: int, url: str, schema, remote: RemoteWorkspace):
        """A revenue part's table, checked: an Arrow stream of the table's schema with the rows it says
        (X-Rows), at most the rows the page listed (a row corrected since the page was made has left it)."""
        reply = self._get(url)
        problem = None
        if not reply.headers.get("content-type", "").startswith(ARROW_STREAM):
            problem = f"it came as {reply.headers.get('content-type')!r}, not an Arrow stream"
        else:
            try:
                table = pa.ipc.open_stream(reply.content).read_all()
            except (pa.ArrowInvalid, OSError) as exc:
                problem = f"not an Arrow IPC stream ({exc})"
            else:
                said = reply.headers.get("x-rows", "")
                if not table.schema.equals(schema):
                    problem = f"columns {table.schema.names} do not match the revenue table's {schema.names}"
                elif not said.isdigit() or int(said) != table.num_rows:
                    problem = f"it holds {table.num_rows} rows, the server said {said or 'nothing'} (cut short?)"
                elif table.num_rows > rows:
                    problem = f"it holds {table.num_rows} rows, more than the {rows} the page listed"
        if problem is not None:
            raise SyncError(f"The {name!r} part of a page of revenue of workspace {remote.name!r} is malformed: {problem}; "
                            "nothing of that page was kept.")
        return table, len(reply.content)

    # -- audience definitions ---------------------------------------------------------------------

    def audience_changes(self, cursor: str | None, limit: int = 200) -> tuple[list[dict], str, bool]:
        """Definitions changed after the cursor (tombstones too), the next cursor, and whether more wait."""
        params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        page = self._json("/v1/audiences", params)
        try:
            return list(page["audiences"]), str(page["next_cursor"]), bool(page["more"])
        except (KeyError, TypeError) as exc:
            raise SyncError(f"The server's page of audience definitions lacks {exc}.") from None

    def create_audience(self, fields: dict) -> Answer:
        return self._send("POST", "/v1/audiences", json=fields)

    def created_audience(self, client_ref: str) -> Answer:
        """The audience a create with this client_ref made (200, tombstones too), or 404: never made."""
        return self._send("GET", f"/v1/audiences/by-client-ref/{quote(client_ref, safe='')}")

    def update_audience(self, server_id: int, fields: dict, version: int) -> Answer:
        return self._send("PUT", f"/v1/audiences/{server_id}", json=fields | {"version": version})

    def delete_audience(self, server_id: int, version: int) -> Answer:
        return self._send("DELETE", f"/v1/audiences/{server_id}", params={"version": version})

    # -- audiences' saved versions (their edit history) ------------------------------------------

    def send_versions(self, versions: list[dict]) -> Answer:
        """Keep these saved versions on the server (200 with added and known); 404 from a server without history."""
        return self._send("POST", "/v1/audience-versions", accept=(403, 404, 409), json={"versions": versions})

    def version_changes(self, cursor: str | None, limit: int = 200, audience_id: int | None = None) -> Answer:
        """Saved versions (of every audience, or of one) received after the cursor (200: versions, next_cursor, more);
        404 from a server without history."""
        params = {"limit": limit} | ({"cursor": cursor} if cursor else {}) | (
            {"audience_id": audience_id} if audience_id is not None else {})
        return self._send("GET", "/v1/audience-versions", params=params)

    def _send(self, method: str, path: str, accept: tuple[int, ...] = (404, 409), **kwargs) -> Answer:
        """A change: 2xx and `accept` (404, 409) are answers for the caller to act on; anything else stops the sync."""
        reply = self._request(method, path, accept=accept, **kwargs)
        try:
            body = reply.json()
        except ValueError:
            raise SyncError(f"The server's answer to {method} {path} is not JSON; is {self.server_url} an Audience Studio server?") from None
        return Answer(reply.status_code, body if isinstance(body, dict) else {})

    # -- requests ---------------------------------------------------------------------------------

    def _part(self, part: dict, remote: RemoteWorkspace):
        """The part's table, and its size in bytes as received."""
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
        return table, len(reply.content)

    def _json(self, path: str, params: dict | None = None) -> dict:
        reply = self._get(path, params)
        try:
            return reply.json()
        except ValueError:
            raise SyncError(f"The server's answer to GET {path} is not JSON; is {self.server_url} an Audience Studio server?") from None

    def _get(self, path: str, params: dict | None = None) -> requests.Response:
        return self._request("GET", path, params=params)

    def _request(self, method: str, path: str, *, accept: tuple[int, ...] = (), timeout: float | None = None,
                 **kwargs) -> requests.Response:
        """The server's reply; tried again while the failure may pass (see Backoff). Writes are safe to
        resend: a create carries its client_ref, and an update or deletion resent after a lost reply
        meets its own version."""
        url = self.server_url + path
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(requests.RequestException) | tenacity.retry_if_result(_may_pass),
            wait=self._wait, stop=self._stop, sleep=self._pause, retry_error_callback=_GaveUp,
            before_sleep=lambda state: _log_retry(method, path, state),
        )
        outcome = retrying(self._http.request, method, url, timeout=timeout or self._timeout, **kwargs)
        if isinstance(outcome, _GaveUp):
            raise outcome.error(self.server_url, method, path)
        reply = outcome
        if reply.status_code == 401:
            raise SyncError(f"The server {self.server_url} refused the sign-in (401): the token is wrong, expired or "
                            "revoked. Sign in again with `audience-studio sync login --server URL`.")
        if reply.status_code >= 400 and reply.status_code not in accept:
            raise SyncError(f"The server answered {reply.status_code} to {method} {path}: {_server_message(reply)}")
        return reply

    def _wait(self, state: tenacity.RetryCallState) -> float:
        """Full jitter within what is left of the patience, and never less than the server's Retry-After."""
        left = self._backoff.patience - state.idle_for
        jitter = random.uniform(0, min(self._backoff.longest, self._backoff.first * 2 ** (state.attempt_number - 1)))
        return max(min(jitter, left), _asked_wait(state) or 0.0)

    def _stop(self, state: tenacity.RetryCallState) -> bool:
        """Patience spent, or a Retry-After longer than what is left of it (waiting less would be refused again)."""
        left = self._backoff.patience - state.idle_for
        return left <= 0 or (state.upcoming_sleep or 0.0) > left

    def _pause(self, seconds: float) -> None:
        """Wait between attempts, looking every CANCEL_CHECK_SECONDS whether the user cancelled."""
        while True:
            if self.cancelled():
                raise SyncCancelled("Sync stopped while waiting for the server; the next sync goes on from where this one got.")
            if seconds <= 0:
                return
            step = min(seconds, CANCEL_CHECK_SECONDS)
            self._sleep(step)
            seconds -= step


def _may_pass(reply: requests.Response) -> bool:
    return reply.status_code >= 500 or reply.status_code == 429


def _asked_wait(state: tenacity.RetryCallState) -> float | None:
    """The Retry-After of a 429 or 503 answer (RFC 9110: seconds or an HTTP-date); None otherwise."""
    if state.outcome is None or state.outcome.failed:
        return None
    reply = state.outcome.result()
    if reply.status_code not in (429, 503):
        return None
    return retry_after_seconds(reply.headers.get("Retry-After"))


def _log_retry(method: str, path: str, state: tenacity.RetryCallState) -> None:
    assert state.outcome is not None
    why = type(state.outcome.exception()).__name__ if state.outcome.failed else f"answered {state.outcome.result().status_code}"
    log.info("%s %s %s; attempt %d, trying again in %.1f s", method, path, why, state.attempt_number, state.upcoming_sleep)


class _GaveUp:
    """The last outcome of a request tried until the patience was spent (tenacity's retry_error_callback)."""

    def __init__(self, state: tenacity.RetryCallState):
        assert state.outcome is not None
        self.attempts = state.attempt_number
        self.outcome = state.outcome
        self.asked = _asked_wait(state)
        self.waited = state.idle_for

    def error(self, server_url: str, method: str, path: str) -> SyncError:
        if self.outcome.failed:
            return SyncError(f"Cannot reach the server {server_url} ({type(self.outcome.exception()).__name__}, "
                             f"{_tries(self.attempts, self.waited)}). Keep working offline; sync again once the network is back.")
        reply = self.outcome.result()
        if self.asked is not None and self.asked > 0:
            return SyncError(f"The server answered {reply.status_code} to {method} {path} and asks to wait {self.asked:,.0f} s "
                             f"({_server_message(reply)}): sync again after that.")
        return SyncError(f"The server answered {reply.status_code} to {method} {path} ({_tries(self.attempts, self.waited)}): "
                         f"{_server_message(reply)}. Try again later.")


def _tries(attempts: int, waited: float) -> str:
    return "1 attempt" if attempts == 1 else f"{attempts} attempts over {waited:,.0f} s"


def _server_message(reply: requests.Response) -> str:
    try:
        errors = reply.json()["errors"]
        return "; ".join(str(error["message"]) for error in errors)
    except (ValueError, KeyError, TypeError):
        # Not the server's JSON: a web server or proxy answered in its place (often with a page of HTML).
        return f"{one_line(reply.text) or reply.reason} (not an Audience Studio server's answer: check the address)"


def _holds_rows(cache: Cache, workspace_id: int) -> bool:
    """Whether the cache holds any row of the workspace (imported, or synced before)."""
    cursor = cache.cursor()
    try:
        return any(first_row(cursor, f"SELECT 1 FROM {table} WHERE workspace_id = ? LIMIT 1", [workspace_id])
                   for table in SNAPSHOT_PARTS)
    finally:
        cursor.close()
