"""The server restarted mid-sync: the server runs in a process of its own, is killed with SIGKILL
between pages (and again at a random moment, maybe mid-part) and started again on the same port;
the app's sync retries with backoff, resumes, and ends with exactly the server's data, its
audiences sent once and the teammate's audience received."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

from app.connectors.sync_client import SyncClient
from app.engines import audience_sync
from app.engines.home import OpenHome
from app.engines.sync import history, sign_in, sync_home
from app.paths import resolve_home
from app.server.admin import Admin
from app.server.database import open_database
from tests.server.batches import demo_batches, runs
from tests.server.compare import differences
from tests.server.live import free_port
from tests.server.test_sync import _import

SERVE = """
import sys, uvicorn
from app.server.app import create_app
from app.server.database import open_database
from app.server.settings import ServerSettings
app = create_app(open_database(sys.argv[1]), ServerSettings(page_batches=6, page_events=120))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", lifespan="off")
"""

CRITERIA = {"version": 1, "root": {"id": "root", "type": "group", "match": "all", "exclude": False, "children": [
    {"id": "installed", "type": "event", "event_type": "install", "window": {"type": "within", "amount": 72, "unit": "hours"}},
]}}


class ServerProcess:
    """`create_app` served by uvicorn in a child process on a fixed port, so it can be killed and restarted."""

    def __init__(self, database_url: str):
        self.database_url = database_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.restarts = 0

    def start(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", SERVE, self.database_url, str(self.port)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy())
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {self.process.stderr.read().decode()[-2000:]}")
            time.sleep(0.05)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def restart_later(self, pause: float) -> threading.Thread:
        def again():
            time.sleep(pause)
            self.start()
            self.restarts += 1

        thread = threading.Thread(target=again, daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def served(database_url):
    database = open_database(database_url)
    admin = Admin(database)
    admin.create_workspace("US")
    inputs = {p: admin.create_input("US", platform=p) for p in ("iOS", "Android", "Web")}
    inputs["feed:CRM"] = admin.create_input("US", feed="CRM")
    admin.create_user("ann", ["US"])
    admin.create_user("bob", ["US"])
    tokens = {"ann": admin.create_token("ann"), "bob": admin.create_token("bob")}
    database.close()
    server = ServerProcess(database_url)
    server.start()
    try:
        yield server, inputs, tokens
    finally:
        server.stop()


def _patient(url: str, token: str) -> SyncClient:
    # The app's own backoff: about a minute of waiting, longer than a restart takes (a new Python
    # process importing the app), however slow the machine.
    return SyncClient(url, token)


def test_the_server_restarted_mid_sync_the_sync_resumes_to_the_servers_data(secret_service, served, tmp_path):
    server, inputs, tokens = served
    pairs = [p for p in demo_batches(profiles=40) if not p[0].startswith("feed:")]
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for input_name, group in runs(pairs):
            credentials = inputs[input_name]
            assert http.post("/v2/bulkevents", json=group, auth=(credentials.input.api_key, credentials.secret)).status_code == 202
        teammates = {"name": "Installed", "workspace_ids": [1], "criteria": CRITERIA}
        assert http.post("/v1/audiences", json=teammates, headers={"Authorization": f"Bearer {tokens['bob']}"}).status_code == 201

    with OpenHome.open(resolve_home(tmp_path / "laptop")) as home:
        sign_in(home, server.url, tokens["ann"])
        us = home.workspaces.create("US", [])
        home.audiences.create("Lapsed buyers", workspace_ids=[us.id], criteria=CRITERIA)  # made offline
        chance = random.Random(20261123)
        restarts: list[threading.Thread] = []

        def progress(name, report):
            if name != "US":
                return
            if report.pages == 2 and not restarts:
                server.kill()  # between pages: the next request finds nobody listening
                restarts.append(server.restart_later(0.5))
            elif report.pages == 4 and len(restarts) == 1:
                # At a random moment of the next page: maybe while a part is streamed.
                def kill_soon():
                    time.sleep(chance.uniform(0.0, 0.05))
                    server.kill()
                    server.restart_later(0.3).join()

                restarts.append(threading.Thread(target=kill_soon, daemon=True))
                restarts[-1].start()

        result = sync_home(home, server.url, progress=progress, client_factory=_patient)
        for thread in restarts:
            thread.join(60)
        assert server.restarts == 2, "the server was not restarted twice during the sync: make the pages smaller"
        [us_sync] = list(result)
        assert us_sync.report.batches == len(pairs) and us_sync.report.pages > 4
        assert result.audiences.sent == 1 and result.audiences.received == 1
        assert {a.name for a in home.audiences.list()} == {"Lapsed buyers", "Installed"}
        assert audience_sync.outbox(home, server.url) == []
        assert history(home)[0].outcome == "done" and history(home)[0].batches == len(pairs)

        # A second sync after the restarts brings nothing twice.
        again = sync_home(home, server.url, client_factory=_patient)
        assert list(again)[0].report.batches == 0 and again.audiences.sent == 0 and again.audiences.received == 0

    imported = _import(tmp_path, [pairs])
    assert differences(resolve_home(tmp_path / "laptop").cache_path, imported) == {}
    # The audience sent offline exists once on the server, though its create may have been resent.
    with httpx.Client(base_url=server.url, timeout=30) as http:
        listed = http.get("/v1/audiences", headers={"Authorization": f"Bearer {tokens['bob']}"}).json()["audiences"]
    assert sorted(a["name"] for a in listed) == ["Installed", "Lapsed buyers"]
