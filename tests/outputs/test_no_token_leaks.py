"""No token string in any file the app writes: a whole sign-in, refresh, forwarding, revocation and fault, then a scan.

Logging is at DEBUG into a log folder of the test's own (as `--verbose` would), the exports are the
command line's JSON, and every file under the home, the log folder and the temporary folder that
changed during the test is read.
"""

from __future__ import annotations

import io
import logging
import os
import random
import tempfile
import time
from pathlib import Path

import pytest

from app import logs
from app.cli.main import main
from app.connectors.outputs import oauth
from app.engines.forwarding import FAULTED, SENT, ForwardingEngine
from tests.outputs.browser import ScriptedBrowser
from tests.outputs.homes import NOW, change_tiers, identity_example
from tests.outputs.partners import OAuthApiSimulator
from tests.outputs.services import PARTNER_API_SECRET


@pytest.fixture
def debug_logs(tmp_path):
    folder = tmp_path / "logs"
    path = logs.configure(verbose=True, directory=folder)
    yield folder
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_audience_studio", False):
            root.removeHandler(handler)
            handler.close()
    assert path is not None


def files_changed_since(started: float, *folders: Path) -> list[Path]:
    found = []
    for folder in folders:
        for directory, _, names in os.walk(folder):
            for name in names:
                path = Path(directory) / name
                try:
                    if path.is_file() and path.stat().st_mtime >= started - 1 and path.stat().st_size < 50_000_000:
                        found.append(path)
                except OSError:
                    pass
    return found


def test_tokens_never_reach_the_store_logs_exports_or_temporary_files(opened, oauth_server, debug_logs, tmp_path,
                                                                     capsys, monkeypatch):
    started = time.time()
    home = opened
    partner_api = OAuthApiSimulator(oauth_server.introspection_url, "partner-api", PARTNER_API_SECRET, "audiences:write")
    tokens_seen: set[str] = set()
    try:
        us, _, audience = identity_example(home)
        output = home.outputs.create("Partner API", "oauth2", {
            "authorize_url": oauth_server.authorize_url, "token_url": oauth_server.token_url,
            "revocation_url": oauth_server.revocation_url, "client_id": "audience-studio", "scopes": "audiences:write",
            "api_url": partner_api.endpoint, "identity_types": ["ios_idfa"]})
        connection = home.connections.connect(audience.id, output.id)

        def remember() -> oauth.Tokens:
            tokens = home.output_sign_in.token_source(output).tokens()
            tokens_seen.update(t for t in (tokens.access_token, tokens.refresh_token) if t)
            return tokens

        browser = ScriptedBrowser()
        home.output_sign_in.authorize(output.id, open_browser=browser, timeout=120)
        browser.join()
        first = remember()
        # A clock near expiry: the engine refreshes before sending.
        engine = ForwardingEngine(home, now=lambda: NOW, clock=lambda: first.expires_at - 5, sleep=lambda s: None,
                                  rng=random.Random(3), batch_size=30)
        assert engine.forward_one(connection.id).outcome == SENT
        remember()
        oauth.revoke(home.output_sign_in.oauth_client(home.outputs.get(output.id)), remember())
        change_tiers(home, us.id, {9: "silver"})
        faulted = ForwardingEngine(home, now=lambda: NOW, sleep=lambda s: None).forward_one(connection.id)
        assert faulted.outcome == FAULTED

        monkeypatch.setattr("sys.stdin", io.StringIO(""))
        exports = []
        for command in (["outputs", "list", "--json"], ["outputs", "show", "Partner API", "--json"],
                        ["outputs", "connections", "--json"], ["faults", "list", "--all", "--json"]):
            assert main(["--home", str(home.home.root), *command]) == 0
            exports.append(capsys.readouterr().out)
    finally:
        partner_api.close()
        home.store.close()

    assert len(tokens_seen) >= 4  # two access tokens and two (rotated) refresh tokens at least
    assert any("Partner API" in text for text in exports)
    for text in exports:
        assert not any(token in text for token in tokens_seen)
    scanned = files_changed_since(started, home.home.root, debug_logs, Path(tempfile.gettempdir()))
    assert any(p.name == "store.sqlite3" for p in scanned) and any(p.suffix == ".log" for p in scanned)
    log_text = "".join(p.read_text(errors="replace") for p in scanned if p.suffix == ".log")
    assert "renewed the access token" in log_text and "signed in to" in log_text  # the logs did record the flow
    for path in scanned:
        try:
            data = path.read_bytes()
        except OSError:  # another process's temporary file, gone since it was listed
            continue
        leaked = [t[:8] + "…" for t in tokens_seen if t.encode() in data]
        assert not leaked, f"{path} holds tokens {leaked}"
