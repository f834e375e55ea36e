"""A sync stopped right after the server stored an audience's create (the client killed with SIGKILL,
or every reply lost until the client gave up) must lose nothing: the edit or deletion made on the
laptop afterwards reaches the server, or meets a teammate's change as a conflict, and is never taken
for agreement with the server's first version.

The server is real (uvicorn on 127.0.0.1 over SQLite and PostgreSQL); a middleware of the test's acts
the moment a create is stored, before its reply leaves: it kills the client's process, or holds the
reply back until the client has given up.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading

import pytest

from app.connectors.sync_client import Backoff, SyncClient, SyncError

from app.engines import audience_sync
from app.engines.home import OpenHome
from app.engines.sync import sign_in, sync_home
from app.paths import resolve_home
from tests.server.live import Deployment

pytestmark = pytest.mark.usefixtures("secret_service")

INSTALLED = {"version": 1, "root": {"id": "root", "type": "group", "match": "all", "exclude": False, "children": [
    {"id": "installed", "type": "event", "event_type": "install", "window": {"type": "within", "amount": 72, "unit": "hours"}},
]}}
OPTED_IN = {"version": 1, "root": {"id": "root", "type": "group", "match": "any", "exclude": False, "children": [
    {"id": "vip", "type": "user_attribute", "attribute": "tier", "operator": "equals", "value": "gold"},
]}}


class WhenCreateStored:
    """ASGI middleware: once `POST /v1/audiences` has stored the audience (its handler answered), run
    `on_stored()` before the reply leaves: `kill` kills a process, `hold` keeps the reply back."""

    def __init__(self, app):
        self.app = app
        self.kill_pid: int | None = None
        self.holding = threading.Event()
        self.stored = 0
        #: Answer GET /v1/audiences/by-client-ref/... as a server from before that route did (404 NOT_FOUND).
        self.older_server = False

    async def __call__(self, scope, receive, send):
        if self.older_server and scope["type"] == "http" and scope["path"].startswith("/v1/audiences/by-client-ref/"):
            scope = {**scope, "path": "/v1/no-such-route", "raw_path": b"/v1/no-such-route"}
        if scope["type"] != "http" or (scope["method"], scope["path"]) != ("POST", "/v1/audiences"):
            return await self.app(scope, receive, send)

        async def on_reply(message):
            if message["type"] == "http.response.start" and message["status"] in (200, 201):
                self.stored += 1
                if self.kill_pid is not None:
                    os.kill(self.kill_pid, signal.SIGKILL)
                    self.kill_pid = None
                while self.holding.is_set():  # the reply is lost: the client times out and retries
                    await asyncio.sleep(0.05)
            await send(message)

        return await self.app(scope, receive, on_reply)


@pytest.fixture
def served(database_url):
    wrapped: list[WhenCreateStored] = []
    with Deployment.start(database_url, wrap=lambda app: wrapped.append(WhenCreateStored(app)) or wrapped[0]) as deployment:
        deployment.workspace("US")
        tokens = {name: deployment.user_token(name, ["US"])["Authorization"].removeprefix("Bearer ") for name in ("ann", "bob")}
        yield deployment, wrapped[0], tokens
        wrapped[0].holding.clear()


def _server_copies(deployment, token) -> dict[str, dict]:
    reply = deployment.http.get("/v1/audiences", headers={"Authorization": f"Bearer {token}"}, params={"limit": 1000})
    return {a["name"]: a for a in reply.json()["audiences"]}


def _laptop_with_buyers(tmp_path, deployment, token):
    """Ann's home, synced once (it has the US workspace), with "Buyers" made offline: in the outbox."""
    home = OpenHome.open(resolve_home(tmp_path / "ann"))
    sign_in(home, deployment.server.base_url, token)
    sync_home(home, deployment.server.base_url)
    home.audiences.create("Buyers", workspace_ids=[home.workspaces.get("US").id], criteria=INSTALLED, tags=["q1"])
    return home


def _kill_the_sync_when_the_create_is_stored(tmp_path, deployment, middleware) -> None:
    """`audience-studio sync` in a process of its own, killed with SIGKILL the moment its create is stored."""
    command = [sys.executable, "-m", "app", "--home", str(tmp_path / "ann"), "sync"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy())
    middleware.kill_pid = process.pid
    process.wait(120)
    assert process.returncode == -signal.SIGKILL, process.stderr.read().decode()[-2000:]


@pytest.mark.parametrize("change", ["edit", "delete", "delete, server without by-client-ref"])
def test_a_change_made_after_a_sync_was_killed_once_its_create_was_stored_is_sent(served, tmp_path, change):
    deployment, middleware, tokens = served
    home = _laptop_with_buyers(tmp_path, deployment, tokens["ann"])
    home.close()
    _kill_the_sync_when_the_create_is_stored(tmp_path, deployment, middleware)
    # A server that cannot say which audience a client_ref made: the pull recognises it by its client_ref.
    middleware.older_server = change.endswith("by-client-ref")
    assert _server_copies(deployment, tokens["ann"])["Buyers"]["version"] == 1  # stored; the laptop never heard

    with OpenHome.open(resolve_home(tmp_path / "ann")) as home:
        buyers = home.audiences.get("Buyers")
        if change == "edit":
            home.audiences.set_criteria(buyers.id, OPTED_IN)
            assert audience_sync.outbox(home, deployment.server.base_url) == [audience_sync.OutboxItem("Buyers", "create")]
        else:
            home.audiences.delete(buyers.id)
            change = "delete"
            # Kept until the server says whether it has the audience.
            assert audience_sync.outbox(home, deployment.server.base_url) == [audience_sync.OutboxItem("Buyers", "delete")]
        result = sync_home(home, deployment.server.base_url)
        assert result.audiences.conflicts == [] and result.audiences.notes == []
        on_server = _server_copies(deployment, tokens["ann"])["Buyers"]
        if change == "edit":
            assert (on_server["version"], on_server["criteria"], on_server["deleted"]) == (2, OPTED_IN, False)
            assert home.audiences.get("Buyers").criteria == OPTED_IN
        else:
            assert (on_server["version"], on_server["deleted"]) == (2, True)
        assert audience_sync.outbox(home, deployment.server.base_url) == []
        again = sync_home(home, deployment.server.base_url)  # nothing comes back, nothing is sent twice
        assert (again.audiences.sent, again.audiences.received) == (0, 0)
        assert [a.name for a in home.audiences.list()] == (["Buyers"] if change == "edit" else [])
        assert middleware.stored == 1  # one create only


def test_an_edit_after_a_killed_sync_meets_a_teammates_edit_as_a_conflict(served, tmp_path):
    deployment, middleware, tokens = served
    home = _laptop_with_buyers(tmp_path, deployment, tokens["ann"])
    home.close()
    _kill_the_sync_when_the_create_is_stored(tmp_path, deployment, middleware)
    # Bob changes the server's copy before Ann's laptop comes back.
    first = _server_copies(deployment, tokens["bob"])["Buyers"]
    edit = {k: first[k] for k in ("name", "external_name", "kind", "status", "inputs", "criteria")} | {"tags": ["bob"], "version": 1}
    assert deployment.http.put(f"/v1/audiences/{first['id']}", json=edit, headers={"Authorization": f"Bearer {tokens['bob']}"}).status_code == 200

    with OpenHome.open(resolve_home(tmp_path / "ann")) as home:
        home.audiences.set_criteria(home.audiences.get("Buyers").id, OPTED_IN)
        result = sync_home(home, deployment.server.base_url)
        assert result.audiences.conflicts == ["Buyers"]
        [conflict] = audience_sync.conflicts(home)
        assert conflict.kind == "edited_both" and conflict.theirs["tags"] == ["bob"] and conflict.mine["criteria"] == OPTED_IN
        assert home.audiences.get("Buyers").criteria == OPTED_IN  # nothing overwritten on either side
        assert _server_copies(deployment, tokens["ann"])["Buyers"]["tags"] == ["bob"]
        audience_sync.resolve(home, conflict.id, "mine")
        sync_home(home, deployment.server.base_url)
        on_server = _server_copies(deployment, tokens["ann"])["Buyers"]
        assert (on_server["version"], on_server["criteria"]) == (3, OPTED_IN)


@pytest.mark.parametrize("change", ["edit", "delete"])
def test_a_change_made_after_every_reply_to_a_stored_create_was_lost_is_sent(served, tmp_path, change):
    deployment, middleware, tokens = served
    url = deployment.server.base_url
    with _laptop_with_buyers(tmp_path, deployment, tokens["ann"]) as home:
        middleware.holding.set()  # the create is stored, its reply (and every resend's) never arrives
        impatient = lambda url, token: SyncClient(url, token, timeout=1, backoff=Backoff(first=0.1, patience=1.0))
        with pytest.raises(SyncError, match="Cannot reach the server"):
            sync_home(home, url, client_factory=impatient)
        middleware.holding.clear()
        assert _server_copies(deployment, tokens["ann"])["Buyers"]["version"] == 1

        buyers = home.audiences.get("Buyers")
        if change == "edit":
            home.audiences.update(buyers.id, tags=["q1", "q2"])
        else:
            home.audiences.delete(buyers.id)
        result = sync_home(home, url)
        assert result.audiences.conflicts == [] and result.audiences.notes == []
        on_server = _server_copies(deployment, tokens["ann"])["Buyers"]
        assert on_server["version"] == 2
        assert on_server["deleted"] if change == "delete" else on_server["tags"] == ["q1", "q2"]
        assert audience_sync.outbox(home, url) == []
        assert [a.tags for a in home.audiences.list()] == ([("q1", "q2")] if change == "edit" else [])
