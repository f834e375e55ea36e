"""Syncing a home with the team's server: the sign-in token in the OS keyring, the server's
workspaces matched to the home's by name (created when missing), and each one pulled into the cache.

The token never goes to the store, the cache or a file; only the server's address is remembered
(in the cache's metadata), so `audience-studio sync` needs no arguments the second time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.connectors.batches import PLATFORM_NAMES
from app.connectors.cache import first_row
from app.connectors.outputs.secrets import SecretStore
from app.connectors.sync_client import PullReport, RemoteWorkspace, SyncClient
from app.errors import InvalidInput, UserError
from app.models.home import OpenHome

#: What the keyring entries holding server tokens are called: "Audience Studio server <url>".
TOKEN_SERVICE_PREFIX = "Audience Studio server "
SERVER_KEY = "sync_server"


@dataclass(frozen=True)
class WorkspaceSync:
    name: str
    local_workspace_id: int
    created: bool
    report: PullReport


def _tokens(home: OpenHome) -> SecretStore:
    return SecretStore(plaintext_file=home.home.root / "UNENCRYPTED-server-tokens.json", service_prefix=TOKEN_SERVICE_PREFIX)


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
    return user, workspaces


def sign_out(home: OpenHome, server_url: str | None = None) -> str:
    url = _clean_url(server_url) if server_url else remembered_server(home)
    if url is None:
        raise UserError("Not signed in to any server.")
    _tokens(home).delete(url, "token")
    return url


def remembered_server(home: OpenHome) -> str | None:
    row = first_row(home.cache.cursor(), "SELECT value FROM cache_meta WHERE key = ?", [SERVER_KEY])
    return row[0] if row else None


def sync_home(
    home: OpenHome,
    server_url: str | None = None,
    *,
    sample: float | None = None,
    progress: Callable[[str, PullReport], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> list[WorkspaceSync]:
    """Pull every server workspace the token may read into the home; resumes where the last sync stopped."""
    url = _clean_url(server_url) if server_url else remembered_server(home)
    if url is None:
        raise UserError("No server to sync with: sign in first with `audience-studio sync login --server URL`.")
    token = _tokens(home).load(url, "token")
    if not token:
        raise UserError(f"Not signed in to {url}: run `audience-studio sync login --server {url}`.")
    client = SyncClient(url, token)
    try:
        _, remote = client.workspaces()
        done = []
        for workspace in remote:
            local = {w.name.casefold(): w for w in home.workspaces.list()}.get(workspace.name.casefold())
            created = local is None
            if local is None:
                local = home.workspaces.create(workspace.name, [])
            report = client.pull(home.cache, workspace, local.id, sample=sample, cancelled=cancelled,
                                 progress=None if progress is None else (lambda r, name=workspace.name: progress(name, r)))
            _register_inputs(home, local.id)
            done.append(WorkspaceSync(workspace.name, local.id, created, report))
    finally:
        client.close()
    home.cache.refresh_catalogs()
    return done


def _register_inputs(home: OpenHome, workspace_id: int) -> None:
    """The platforms and feeds the synced events came from, as the workspace's inputs (as an import does)."""
    platforms = set(PLATFORM_NAMES.values())
    names = [row[0] for row in home.cache.cursor().execute(
        "SELECT DISTINCT input FROM events WHERE workspace_id = ? AND input IS NOT NULL", [workspace_id]).fetchall()]
    inputs = sorted(("platform" if name in platforms else "feed", name) for name in names)
    if inputs:
        home.workspaces.ensure_inputs(workspace_id, inputs)
