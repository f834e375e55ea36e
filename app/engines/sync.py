"""Syncing a home with the team's server: the sign-in token in the OS keyring, the server's
workspaces matched to the home's by name (created when missing), and each one pulled into the cache.

The token never goes to the store, the cache or a file; only the server's address is remembered
(in the cache's metadata), so `audience-studio sync` needs no arguments the second time.

A sync also sends the audiences created, changed or deleted here and receives the team's
(`app.engines.audience_sync`), and is recorded in the sync history (`sync_runs`) with what it
moved and how it ended.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from app.connectors.batches import PLATFORM_NAMES
from app.connectors.cache import first_row
from app.connectors.outputs.secrets import SecretStore
from app.connectors.team_client import COMPANY_KEY, password_sign_in
from app.connectors.sync_client import (
    SAMPLE_KEY,
    PullReport,
    RemoteWorkspace,
    RevenueReport,
    SyncCancelled,
    SyncClient,
)
from app.errors import InvalidInput, UserError
from app.engines.audience_sync import (
    AudienceSync,
    AudienceSyncReport,
    remember_server_workspaces,
)
from app.models.store.db import utc_now
from app.engines import membership
from app.engines.home import SYNC_USER_KEY, OpenHome
from app.models.store.schema import SyncRun

#: What the keyring entries holding server tokens are called: "Audience Studio server <url>".
TOKEN_SERVICE_PREFIX = "Audience Studio server "
SERVER_KEY = "sync_server"
#: cache_meta key of the user name the server gave at the last sign-in (the Sync pane's "account").
USER_KEY = SYNC_USER_KEY


@dataclass(frozen=True)
class WorkspaceSync:
    name: str
    local_workspace_id: int
    created: bool
    report: PullReport
    #: The revenue records, member counts and agencies the sync brought (docs/revenue.md).
    revenue: RevenueReport | None = None


class SyncResult(list):
    """The workspaces synced (a list of WorkspaceSync, as before), and what happened to the audiences."""

    def __init__(self, workspaces=(), audiences: AudienceSyncReport | None = None, run_id: int | None = None):
        super().__init__(workspaces)
        self.audiences = audiences or AudienceSyncReport()
        self.run_id = run_id


@dataclass(frozen=True)
class SyncRunInfo:
    id: int
    server: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    batches: int
    rows: int
    bytes: int
    audiences_sent: int
    audiences_received: int
    conflicts: int
    error: str | None


def _tokens(home: OpenHome) -> SecretStore:
    return SecretStore(plaintext_file=home.home.root / "UNENCRYPTED-server-tokens.json", service_prefix=TOKEN_SERVICE_PREFIX)


def kept_token(home: OpenHome, server_url: str) -> str | None:
    """The token kept for the server (OS keyring), or None: for the team panes' requests (app/engines/team.py)."""
    return _tokens(home).load(server_url, "token")


def token_place(home: OpenHome) -> str:
    """Where sign-in tokens are kept, in words: the OS keyring, or the plain-text file opted into."""
    return _tokens(home).describe()


def _clean_url(server_url: str) -> str:
    url = server_url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise InvalidInput(f"{server_url!r} is not a server address such as https://audiences.example.com")
    return url


def sign_in(home: OpenHome, server_url: str, token: str) -> tuple[str, list[RemoteWorkspace]]:
    """Check the token with the server, then keep it in the keyring and remember the server."""
    url = _clean_url(server_url)
    token = token.strip()
    if not token:
        raise InvalidInput("The token is empty: paste the API token your server's admin created for you.")
    client = SyncClient(url, token)
    try:
        user, workspaces = client.workspaces()
    finally:
        client.close()
    _tokens(home).save(url, "token", token)
    with home.cache.writing(source="sync") as writer:
        writer.set_meta(SERVER_KEY, url)
        writer.set_meta(USER_KEY, str(user))
        writer.set_meta(COMPANY_KEY, client.company or "")
    return user, workspaces


def sign_in_with_password(home: OpenHome, server_url: str, email: str, password: str,
                          label: str | None = None) -> tuple[str, list[RemoteWorkspace]]:
    """Sign in with an activated member's e-mail and password (POST /v1/sign-in): the server makes an API
    token, which is then kept exactly as a pasted one (`sign_in`: checked, then into the OS keyring)."""
    url = _clean_url(server_url)
    _, token = password_sign_in(url, email, password, label or f"Audience Studio on {socket.gethostname()}")
    return sign_in(home, url, token)


def sign_out(home: OpenHome, server_url: str | None = None) -> str:
    url = _clean_url(server_url) if server_url else remembered_server(home)
    if url is None:
        raise UserError("Not signed in to any server.")
    _tokens(home).delete(url, "token")
    return url


def remembered_server(home: OpenHome) -> str | None:
    row = first_row(home.cache.cursor(), "SELECT value FROM cache_meta WHERE key = ?", [SERVER_KEY])
    return row[0] if row else None


@dataclass(frozen=True)
class Account:
    """Who this home syncs as: the server, the user name it gave, and whether a token is kept for it."""

    server: str | None
    user: str | None
    signed_in: bool
    last_sync: str | None
    #: The fraction of profiles the cache holds when it was synced as a sample (None: all of them).
    sample: float | None


def account(home: OpenHome) -> Account:
    """Reads the keyring: call it off the GUI thread."""
    server = remembered_server(home)
    signed_in = bool(server and _tokens(home).load(server, "token"))
    return Account(server, home.cache.meta(USER_KEY), signed_in, home.cache.meta("last_sync_at"), cache_sample(home))


def cache_sample(home: OpenHome) -> float | None:
    """The fraction of profiles a sampled sync keeps in the cache; None when it holds every profile."""
    text = home.cache.meta(SAMPLE_KEY)
    try:
        value = float(text) if text else None
    except ValueError:
        return None
    return value if value is not None and 0 < value < 1 else None


def history(home: OpenHome, limit: int = 100) -> list[SyncRunInfo]:
    """The latest syncs, newest first."""
    with home.store.transaction() as session:
        rows = session.scalars(select(SyncRun).order_by(SyncRun.id.desc()).limit(limit))
        return [SyncRunInfo(r.id, r.server, r.started_at, r.finished_at, r.outcome, r.batches, r.rows, r.bytes,
                            r.audiences_sent, r.audiences_received, r.conflicts, r.error) for r in rows]


def _start_run(home: OpenHome, url: str) -> int:
    with home.store.transaction() as session:
        # A sync killed outright left its row "running": it ended without saying how.
        for stale in session.scalars(select(SyncRun).where(SyncRun.outcome == "running")):
            stale.outcome, stale.error = "failed", stale.error or "Stopped before it finished (the app quit or was killed)."
        run = SyncRun(server=url, started_at=utc_now())
        session.add(run)
        session.flush()
        return run.id


def _finish_run(home: OpenHome, run_id: int, outcome: str, done: list[WorkspaceSync], audiences: AudienceSyncReport,
                error: str | None = None, partial: PullReport | None = None) -> None:
    reports = [d.report for d in done] + ([partial] if partial is not None else [])
    with home.store.transaction() as session:
        run = session.get(SyncRun, run_id)
        run.finished_at = utc_now()
        run.outcome = outcome
        run.batches = sum(r.batches for r in reports)
        run.rows = sum(r.rows for r in reports) + sum(d.revenue.rows for d in done if d.revenue is not None)
        run.bytes = sum(r.bytes for r in reports) + sum(d.revenue.bytes for d in done if d.revenue is not None)
        run.audiences_sent = audiences.sent
        run.audiences_received = audiences.received
        run.conflicts = len(audiences.conflicts)
        notes = "; ".join(audiences.notes)
        run.error = "; ".join(text for text in (error, notes) if text) or None


def sync_home(
    home: OpenHome,
    server_url: str | None = None,
    *,
    sample: float | None = None,
    progress: Callable[[str, PullReport | RevenueReport], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    client_factory: Callable[[str, str], SyncClient] = SyncClient,
) -> SyncResult:
    """Send the audiences changed here, receive the team's, and pull every server workspace the token
    may read into the home; resumes where the last sync stopped. Recorded in the sync history.

    `progress(name, report)` is called after each page of a workspace: a PullReport for its data, a
    RevenueReport for its revenue pages that follow ("audiences" while the definitions are exchanged)."""
    url = _clean_url(server_url) if server_url else remembered_server(home)
    if url is None:
        raise UserError("No server to sync with: sign in first with `audience-studio sync login --server URL`.")
    token = _tokens(home).load(url, "token")
    if not token:
        raise UserError(f"Not signed in to {url}: run `audience-studio sync login --server {url}`.")
    run_id = _start_run(home, url)
    client = client_factory(url, token)
    if cancelled is not None:
        client.cancelled = cancelled  # Cancel also ends a wait between attempts of a request
    done: list[WorkspaceSync] = []
    audiences = AudienceSyncReport()
    current: list[PullReport] = []
    try:
        _, remote = client.workspaces()
        remember_server_workspaces(home, url, [w.name for w in remote])
        _remember_company(home, client.company)
        created_names = set()
        locals_ = {}
        for workspace in remote:
            local = {w.name.casefold(): w for w in home.workspaces.list()}.get(workspace.name.casefold())
            if local is None:
                local = home.workspaces.create(workspace.name, [])
                created_names.add(workspace.name)
            locals_[workspace.id] = local
        # Definitions first: they are small, and what a teammate is waiting for.
        if progress is not None:
            progress("audiences", PullReport())
        audiences = AudienceSync(home, client, url, remote, cancelled=cancelled).run()
        for workspace in remote:
            local = locals_[workspace.id]
            current[:] = [PullReport()]

            def on_page(report: PullReport, name: str = workspace.name) -> None:
                current[:] = [report]
                if progress is not None:
                    progress(name, report)

            report = client.pull(home.cache, workspace, local.id, sample=sample, cancelled=cancelled, progress=on_page)
            current.clear()
            _register_inputs(home, local.id)
            # Revenue has change numbers of its own; its pages follow the workspace's data.
            on_revenue_page = (lambda r, name=workspace.name: progress(name, r)) if progress is not None else None
            revenue = client.pull_revenue(home.cache, workspace, local.id, cancelled=cancelled, progress=on_revenue_page)
            done.append(WorkspaceSync(workspace.name, local.id, workspace.name in created_names, report, revenue))
        if cancelled is not None and cancelled():
            raise SyncCancelled("Sync stopped; the next sync goes on from there.")
    except SyncCancelled as exc:
        _finish_run(home, run_id, "cancelled", done, audiences, str(exc), current[0] if current else None)
        raise
    except Exception as exc:
        message = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
        _finish_run(home, run_id, "failed", done, audiences, message, current[0] if current else None)
        raise
    finally:
        client.close()
        home.cache.refresh_catalogs()
    _finish_run(home, run_id, "done", done, audiences)
    # Live audiences follow the pages (after a cancelled or failed sync, the clock's run_due catches up).
    membership.after_load(home)
    return SyncResult(done, audiences, run_id)


def _remember_company(home: OpenHome, company: str | None) -> None:
    """Keep the server's company name (what channel pushes carry) when it changed."""
    if (home.cache.meta(COMPANY_KEY) or "") != (company or ""):
        with home.cache.writing(source="sync") as writer:
            writer.set_meta(COMPANY_KEY, company or "")


def company_name(home: OpenHome) -> str | None:
    """The company of the server this home syncs with (`server init`), or None before any sign-in."""
    return home.cache.meta(COMPANY_KEY) or None


def _register_inputs(home: OpenHome, workspace_id: int) -> None:
    """The platforms and feeds the synced events came from, as the workspace's inputs (as an import does)."""
    platforms = set(PLATFORM_NAMES.values())
    names = [row[0] for row in home.cache.cursor().execute(
        "SELECT DISTINCT input FROM events WHERE workspace_id = ? AND input IS NOT NULL", [workspace_id]).fetchall()]
    inputs = sorted(("platform" if name in platforms else "feed", name) for name in names)
    if inputs:
        home.workspaces.ensure_inputs(workspace_id, inputs)
