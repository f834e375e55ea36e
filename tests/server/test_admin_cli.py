"""Administering the server from the command line, and `audience-studio serve` as a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx
from sqlalchemy import select

from app.cli.main import main
from app.server.database import open_database
from app.server.tables import metadata
from tests import factories
from tests.server.live import free_port


def _run(capsys, home, url, *args) -> str:
    assert main(["--home", str(home), "server", *args, "--database", url]) == 0
    return capsys.readouterr().out


def test_workspaces_inputs_users_and_tokens_from_the_command_line(capsys, tmp_path, database_url):
    home = tmp_path / "home"
    assert "Created workspace 1: US" in _run(capsys, home, database_url, "workspace", "create", "US")
    ios = json.loads(_run(capsys, home, database_url, "input", "create", "US", "--platform", "ios", "--json"))
    crm = json.loads(_run(capsys, home, database_url, "input", "create", "1", "--feed", "CRM", "--json"))
    assert (ios["kind"], ios["name"], crm["kind"], crm["name"]) == ("platform", "iOS", "feed", "CRM")
    _run(capsys, home, database_url, "user", "create", "ann", "--workspace", "US")
    token = json.loads(_run(capsys, home, database_url, "token", "create", "ann", "--json"))["token"]
    listed = _run(capsys, home, database_url, "input", "list", "US")
    assert ios["api_key"] in listed and ios["secret"] not in listed
    assert "ann  (US)" in _run(capsys, home, database_url, "user", "list")

    # Secrets and tokens are kept only as hashes: neither appears anywhere in the database.
    database = open_database(database_url)
    try:
        with database.read() as connection:
            stored = repr([list(connection.execute(select(table))) for table in metadata.sorted_tables])
    finally:
        database.close()
    assert ios["api_key"] in stored
    for secret in (ios["secret"], crm["secret"], token):
        assert secret not in stored

    # Mistakes are one line on stderr and exit status 1.
    assert main(["--home", str(home), "server", "workspace", "create", "us", "--database", database_url]) == 1
    assert main(["--home", str(home), "server", "input", "create", "Nowhere", "--feed", "X", "--database", database_url]) == 1
    assert main(["--home", str(home), "server", "input", "create", "US", "--platform", "Amiga", "--database", database_url]) == 1
    err = capsys.readouterr().err
    assert "already exists" in err and "No workspace 'Nowhere'" in err and "Unknown platform 'Amiga'" in err


def test_serve_runs_the_server_on_the_homes_database_by_default(capsys, tmp_path):
    home = tmp_path / "home"
    assert main(["--home", str(home), "server", "workspace", "create", "US"]) == 0
    assert main(["--home", str(home), "server", "input", "create", "US", "--platform", "iOS", "--json"]) == 0
    ios = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert (home / "server.sqlite3").exists()

    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "app", "--home", str(home), "serve", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        reply = httpx.post(f"{url}/v2/events", json=factories.batch(), auth=(ios["api_key"], ios["secret"]))
        assert reply.status_code == 202
        assert "/v2/bulkevents" in httpx.get(f"{url}/openapi.json").json()["paths"]
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=20)
    assert f"http://127.0.0.1:{port}" in output


def test_serve_refuses_a_database_it_cannot_use(capsys, tmp_path):
    assert main(["--home", str(tmp_path), "serve", "--database", "mysql://x@localhost/db"]) == 1
    assert "SQLite or PostgreSQL" in capsys.readouterr().err
    assert main(["--home", str(tmp_path), "server", "workspace", "list", "--database", "not a url"]) == 1
    assert "not a database URL" in capsys.readouterr().err
