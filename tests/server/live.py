"""A live server for tests: uvicorn in a thread on a free 127.0.0.1 port, over a real database,
with the administration done through the same services the command line uses."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import httpx
import uvicorn

from app.server.admin import Admin
from app.server.app import create_app
from app.server.database import Database, open_database
from app.server.settings import ServerSettings


def free_port() -> int:
    """A port free on 127.0.0.1 now (for a server started in another process)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LiveServer:
    """uvicorn serving an ASGI app on 127.0.0.1 in a background thread."""

    def __init__(self, app):
        self.app = app  # its state (app.state.server) is what the handlers share
        # IPPROTO_TCP spelled out: asyncio turns Nagle off (TCP_NODELAY) only on sockets whose proto
        # says TCP, and with Nagle on every keep-alive reply waits out the client's delayed ACK (40 ms).
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)

    def start(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._socket.close()


@dataclass
class Credentials:
    api_key: str
    secret: str

    @property
    def auth(self) -> tuple[str, str]:
        return (self.api_key, self.secret)


@dataclass
class Deployment:
    """A database, a live server on it, and helpers to set up workspaces, inputs and users."""

    url: str
    database: Database
    server: LiveServer
    admin: Admin
    http: httpx.Client

    @classmethod
    def start(cls, url: str, *, wrap=None, **settings) -> Deployment:
        """`wrap(app)`, if given, is served in the app's place (an ASGI middleware of the test's)."""
        database = open_database(url)
        app = create_app(database, ServerSettings(**settings))
        server = LiveServer(wrap(app) if wrap is not None else app).start()
        return cls(url, database, server, Admin(database), httpx.Client(base_url=server.base_url, timeout=30))

    def __enter__(self) -> Deployment:
        return self

    def __exit__(self, *exc) -> None:
        self.http.close()
        self.server.stop()
        self.database.close()

    # -- setting up -------------------------------------------------------------------------------

    def workspace(self, name: str) -> int:
        return self.admin.create_workspace(name).id

    def admin_workspace_id(self, name: str) -> int:
        return next(w.id for w in self.admin.list_workspaces() if w.name == name)

    def platform_input(self, workspace: str, platform: str) -> Credentials:
        new = self.admin.create_input(workspace, platform=platform)
        return Credentials(new.input.api_key, new.secret)

    def feed_input(self, workspace: str, feed: str) -> Credentials:
        new = self.admin.create_input(workspace, feed=feed)
        return Credentials(new.input.api_key, new.secret)

    def user_token(self, name: str, workspaces: list[str], role: str = "editor") -> dict[str, str]:
        """A new user with `role` on the workspaces (editor, as grants were before roles), and its Bearer header."""
        user = self.admin.create_user(name, workspaces)
        if role != "editor":
            from app.server.accounts import Accounts

            for workspace in workspaces:
                Accounts(self.database).set_role("tests", user.name, self.admin_workspace_id(workspace), role)
        return {"Authorization": f"Bearer {self.admin.create_token(name)}"}
