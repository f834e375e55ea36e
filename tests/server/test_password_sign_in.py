"""Signing in with an e-mail and password against a live server and the real OS keyring: from the command line
(`sync login --email`); a wrong password is said plainly and nothing is kept (the dialog: tests/ui/test_team_sign_in_dialog.py)."""

from __future__ import annotations

import io
import sys

import pytest

from app.cli.main import main
from app.engines.home import OpenHome
from app.engines.sync import account, company_name
from app.paths import resolve_home
from app.server.accounts import Accounts
from tests.server.live import Deployment

PASSWORD = "correct horse battery"
TIMEOUT = 30_000


@pytest.fixture
def server(tmp_path, secret_service):
    with Deployment.start(f"sqlite:///{tmp_path / 'server.sqlite3'}") as deployment:
        Accounts(deployment.database).init("Harbor Retail", "Ada", "ada@example.com", PASSWORD)
        yield deployment


def _login(monkeypatch, home, url: str, email: str, password: str) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
    return main(["--home", str(home), "sync", "login", "--server", url, "--email", email])


def test_sync_login_with_email_keeps_the_servers_token_in_the_keyring(server, secret_service, tmp_path, monkeypatch, capsys):
    home = tmp_path / "laptop"
    url = server.server.base_url

    assert _login(monkeypatch, home, url, "ada@example.com", "wrong password!") == 1
    err = capsys.readouterr().err
    assert "refused the sign-in" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert secret_service.get_password(f"Audience Studio server {url}", "token") is None

    assert _login(monkeypatch, home, url, "ADA@example.com", PASSWORD) == 0
    said = capsys.readouterr().out
    assert f"Signed in to {url} as Ada; workspaces: Harbor Retail." in said
    assert secret_service.get_password(f"Audience Studio server {url}", "token")
    assert PASSWORD not in said and "as-token-" not in said
    with OpenHome.open(resolve_home(home)) as opened:
        assert account(opened).signed_in and account(opened).user == "Ada"
        assert company_name(opened) == "Harbor Retail"
        assert opened.channel_pushes.company() == "Harbor Retail"  # what the home's channel pushes carry

    assert main(["--home", str(home), "sync"]) == 0
    assert "Harbor Retail" in capsys.readouterr().out
