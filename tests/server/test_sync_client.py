"""The app's sync: `audience-studio sync login` keeps the token in the real OS keyring, `sync` pulls
every workspace into the home's cache (equal to an import of the same batches), a sync killed with
SIGKILL at random moments resumes to the same end, and bad answers leave the cache as it was."""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.cli.main import main

from app.connectors.sync_client import NO_RETRY, SyncCancelled, SyncClient, SyncError
from app.engines.home import OpenHome
from app.engines.sync import sync_home
from app.paths import resolve_home
from tests.server.batches import demo_batches
from tests.server.compare import differences
from tests.server.test_sync import _import, _send, _set_up_us


def _token(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def _login(monkeypatch, home, server_url: str, token: str) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(token + "\n"))
    return main(["--home", str(home), "sync", "login", "--server", server_url])


def test_login_keeps_the_token_in_the_keyring_and_sync_equals_an_import(secret_service, start_server, tmp_path, monkeypatch, capsys):
    deployment = start_server(page_batches=40)
    workspace_id, inputs = _set_up_us(deployment)
    pairs = demo_batches(profiles=60)
    _send(deployment, inputs, pairs)
    token = _token(deployment.user_token("ann", ["US"]))
    home = tmp_path / "laptop"

    assert _login(monkeypatch, home, deployment.server.base_url, token) == 0
    said = capsys.readouterr().out
    assert "Signed in" in said and "The token is kept in the OS keyring (SecretService Keyring)." in said
    assert secret_service.get_password(f"Audience Studio server {deployment.server.base_url}", "token").endswith(token)
    assert main(["--home", str(home), "sync"]) == 0  # the server is remembered
    out = capsys.readouterr().out
    assert "US (new in this home):" in out and "pages" in out

    imported = _import(tmp_path, [[p for p in pairs if not p[0].startswith("feed:")], [p for p in pairs if p[0].startswith("feed:")]])
    assert differences(resolve_home(home).cache_path, imported) == {}
    with OpenHome.open(resolve_home(home)) as opened:
        us = opened.workspaces.get("US")
        assert {(i.kind, i.name) for i in us.inputs} >= {("platform", "iOS"), ("feed", "CRM")}
        assert opened.cache.meta("source") == "sync" and opened.cache.meta("last_sync_at")
    # nothing of the token in the home's files
    for path in resolve_home(home).root.rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path

    # a second sync brings only what arrived since
    assert main(["--home", str(home), "sync"]) == 0
    assert "0 pages" in capsys.readouterr().out


def test_a_sync_killed_at_random_moments_resumes_to_the_servers_data(secret_service, start_server, tmp_path, monkeypatch):
    deployment = start_server(page_batches=8, page_events=150)
    workspace_id, inputs = _set_up_us(deployment)
    pairs = [p for p in demo_batches(profiles=60) if not p[0].startswith("feed:")]
    _send(deployment, inputs, pairs)
    token = _token(deployment.user_token("ann", ["US"]))
    home = tmp_path / "laptop"
    assert _login(monkeypatch, home, deployment.server.base_url, token) == 0

    command = [sys.executable, "-m", "app", "--home", str(home), "sync"]
    chance = random.Random(20261123)
    killed = 0
    for _ in range(4):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy())
        time.sleep(chance.uniform(0.8, 2.5))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed += 1
        process.wait(30)
    finished = subprocess.run(command, capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert finished.returncode == 0, finished.stderr
    assert killed >= 1, "the sync finished before any kill: make the pages smaller"

    imported = _import(tmp_path, [pairs])
    assert differences(resolve_home(home).cache_path, imported) == {}


def test_a_wrong_token_is_refused_at_login_and_nothing_is_kept(secret_service, deployment, tmp_path, monkeypatch, capsys):
    home = tmp_path / "laptop"
    assert _login(monkeypatch, home, deployment.server.base_url, "not-a-token") == 1
    assert "refused the sign-in (401)" in capsys.readouterr().err
    assert secret_service.get_password(f"Audience Studio server {deployment.server.base_url}", "token") is None
    assert main(["--home", str(home), "sync"]) == 1
    assert "sign in first" in capsys.readouterr().err


def test_an_unreachable_server_says_to_keep_working_offline(tmp_path):
    waits: list[float] = []
    client = SyncClient("http://127.0.0.1:9", "token", timeout=2, sleep=waits.append)
    with pytest.raises(SyncError, match=r"Cannot reach the server .*attempts over 60 s\). Keep working offline"):
        client.workspaces()
    assert sum(waits) == pytest.approx(60.0)  # about a minute of waiting, then it gives up


class _StandIn(BaseHTTPRequestHandler):
    """A stand-in server's handler: `reply` answers, and nothing is logged."""

    def reply(self, status: int, kind: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def _serving(handler: type[BaseHTTPRequestHandler]):
    """A stand-in server on 127.0.0.1 for the block; yields its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


class _Malformed(_StandIn):
    """A server whose page part is not an Arrow stream (a proxy's error page, a truncated download)."""

    def do_GET(self):  # noqa: N802 - the http.server API
        if self.path.startswith("/v1/me"):
            body, kind = json.dumps({"user": "ann", "workspaces": [{"id": 1, "name": "US", "last_seq": 3}]}), "application/json"
        elif "/changes" in self.path:
            body, kind = json.dumps({"batches": 3, "events": 9, "more": False, "next_cursor": "c3",
                                     "parts": [{"table": "events", "rows": 9, "url": "/v1/workspaces/1/pages/p/events"}]}), "application/json"
        else:
            body, kind = "<html>502 Bad Gateway</html>", "application/vnd.apache.arrow.stream"
        self.reply(200, kind, body.encode())


def test_a_malformed_page_is_named_and_nothing_of_it_is_kept(home_dir):
    with _serving(_Malformed) as url, OpenHome.open(home_dir) as opened:
        before = opened.cache.data_version
        client = SyncClient(url, "token")
        _, remote = client.workspaces()
        workspace = opened.workspaces.create("US", [])
        with pytest.raises(SyncError, match="malformed.*nothing of that page was kept"):
            client.pull(opened.cache, remote[0], workspace.id)
        assert opened.cache.data_version == before
        assert opened.cache.meta(f"sync_cursor {url} 1") is None


class _NotOurServer(_StandIn):
    """Some other web server at the address: a 404 page of HTML, as `python -m http.server` answers."""

    def do_GET(self):  # noqa: N802 - the http.server API
        self.reply(404, "text/html", b"<!DOCTYPE HTML>\n<html lang=\"en\">\n<head>\n<title>Error response</title>\n"
                                     b"</head>\n<body>\n<h1>Error response</h1>\n<p>Error code: 404</p>\n</body>\n</html>\n")


def test_another_web_server_at_the_address_is_said_in_one_line(tmp_path):
    with _serving(_NotOurServer) as url, pytest.raises(SyncError) as raised:
        SyncClient(url, "token").workspaces()
    assert str(raised.value) == ("The server answered 404 to GET /v1/me: Error response (not an Audience Studio "
                                 "server's answer: check the address)")


def test_login_says_where_the_token_went_when_it_is_kept_in_plain_text(home_dir, monkeypatch):
    import keyring
    from keyring.backends import fail

    from app.engines.sync import token_place

    monkeypatch.setenv("AUDIENCE_STUDIO_PLAINTEXT_SECRETS", "1")
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        with OpenHome.open(home_dir) as opened:
            assert token_place(opened).startswith(f"an unencrypted file, {home_dir.root / 'UNENCRYPTED-server-tokens.json'}")
    finally:
        keyring.set_keyring(previous)


def test_sync_home_needs_a_sign_in(home_dir):
    with OpenHome.open(home_dir) as opened:
        with pytest.raises(Exception, match="sign in first"):
            sync_home(opened)



class _Busy(_StandIn):
    """A server that answers GET /v1/me with `answers` in turn (status, Retry-After or None), then 200."""

    answers: list[tuple[int, str | None]] = []
    asked = 0

    def do_GET(self):  # noqa: N802 - the http.server API
        type(self).asked += 1
        if self.answers:
            status, retry_after = self.answers.pop(0)
            body = json.dumps({"errors": [{"code": "BUSY", "message": "restarting"}]}).encode()
            self.send_response(status)
            if retry_after is not None:
                self.send_header("Retry-After", retry_after)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.reply(200, "application/json", json.dumps({"user": "ann", "workspaces": []}).encode())


def _busy(answers):
    return type("Busy", (_Busy,), {"answers": list(answers), "asked": 0})


def test_a_server_restarting_for_longer_than_7_5_s_is_waited_for():
    """The waits grow with jitter for about a minute: a server down for 11 s (its clock: the waits) is reached."""
    waited: list[float] = []
    handler = _busy([(503, None)] * 200)

    def sleep(seconds):
        waited.append(seconds)
        if sum(waited) >= 11:
            handler.answers.clear()  # up again

    with _serving(handler) as url:
        assert SyncClient(url, "token", sleep=sleep).workspaces() == ("ann", [])
    assert sum(waited) >= 11 and handler.asked >= 2


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_in_seconds_is_honoured_on_429_and_503(status):
    waited: list[float] = []
    handler = _busy([(status, "3"), (status, "7")])
    with _serving(handler) as url:
        assert SyncClient(url, "token", sleep=waited.append).workspaces() == ("ann", [])
    assert handler.asked == 3 and sum(waited) == pytest.approx(10.0)  # 3 s, then 7 s: never sooner


def test_retry_after_as_an_http_date_is_honoured():
    import email.utils

    waited: list[float] = []
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    handler = _busy([(503, when)])
    with _serving(handler) as url:
        assert SyncClient(url, "token", sleep=waited.append).workspaces() == ("ann", [])
    assert 28 <= sum(waited) <= 30


def test_a_retry_after_longer_than_a_sync_waits_stops_at_once_and_says_when_to_come_back():
    waited: list[float] = []
    with _serving(_busy([(503, "3600")])) as url, pytest.raises(SyncError) as raised:
        SyncClient(url, "token", sleep=waited.append).workspaces()
    assert waited == [] and "asks to wait 3,600 s (restarting): sync again after that" in str(raised.value)


def test_cancel_ends_a_wait_between_attempts():
    waited: list[float] = []
    with _serving(_busy([(503, "30")])) as url:
        client = SyncClient(url, "token", sleep=waited.append)
        client.cancelled = lambda: len(waited) >= 3
        with pytest.raises(SyncCancelled, match="while waiting for the server"):
            client.workspaces()
    assert sum(waited) < 1


def test_no_retry_means_one_attempt():
    handler = _busy([(503, None)])
    with _serving(handler) as url, pytest.raises(SyncError, match=r"answered 503 to GET /v1/me \(1 attempt\): restarting"):
        SyncClient(url, "token", backoff=NO_RETRY).workspaces()
    assert handler.asked == 1
