"""`audience-studio outputs ...` and `faults ...` against a real home, the real keyring and a partner simulator."""

from __future__ import annotations

import io
import json

import pytest

from app.cli.main import main
from app.engines.home import OpenHome
from app.paths import resolve_home
from tests.outputs.homes import identity_example
from tests.outputs.partners import WebhookSimulator


@pytest.fixture
def run(tmp_path, capsys, monkeypatch, secret_service):
    home = tmp_path / "home"

    def invoke(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(["--home", str(home), *args])
        out, err = capsys.readouterr()
        return code, out, err

    with OpenHome.open(resolve_home(home)) as opened:
        identity_example(opened)
    return invoke


@pytest.fixture
def webhook():
    simulator = WebhookSimulator("cli-signing-secret")
    yield simulator
    simulator.close()


def test_help_is_available_for_every_outputs_and_faults_command(capsys):
    for command in (["outputs"], ["outputs", "create"], ["outputs", "forward"], ["outputs", "authorize"],
                    ["outputs", "bulk-connect"], ["faults"], ["faults", "resume"]):
        with pytest.raises(SystemExit) as done:
            main([*command, "--help"])
        assert done.value.code == 0
    assert "--secret KEY" in capsys.readouterr().out


def test_partners_are_listed_and_filtered(run):
    code, out, _ = run("outputs", "partners", "--identity-type", "ios_idfa", "--category", "Advertising", "--json")
    found = json.loads(out)
    assert code == 0 and [p["key"] for p in found] == ["custom_audiences", "meta_custom_audiences"]
    assert found[0]["secrets"] == ["access_token"] and found[0]["auth"] == "api_key"


def test_create_connect_forward_fault_and_resume_from_the_command_line(run, webhook):
    code, out, _ = run("outputs", "create", "Hook", "--partner", "webhook", "--setting", f"url={webhook.endpoint}",
                       "--setting", "identity_types=ios_idfa", "--secret", "signing_secret", stdin="cli-signing-secret\n")
    assert code == 0 and "Created output 1: Hook (Webhook)" in out
    code, out, _ = run("outputs", "show", "Hook", "--json")
    shown = json.loads(out)
    assert shown["secrets_stored"] == {"signing_secret": True} and "cli-signing-secret" not in out
    assert "keyring" in shown["secrets_kept_in"]

    assert run("outputs", "connect", "Gold members", "Hook")[1].startswith("Connected Gold members to Hook (connection 1")
    webhook.fail_next(403, body={"error": "this hook is disabled"})
    code, out, _ = run("outputs", "forward", "--json")
    report = json.loads(out)[0]
    assert (code, report["outcome"], report["fault_id"]) == (0, "faulted", 1)
    code, out, _ = run("faults", "list")
    assert "Gold members → Hook: Permissions (403)" in out and "this hook is disabled" in out

    code, out, _ = run("faults", "resume", "1")
    assert code == 0 and "Resumed fault 1" in out and "sent (100 added, 0 removed in 1 batches, 0 retries)" in out
    code, out, _ = run("outputs", "connections", "--json")
    assert json.loads(out)[0]["identities_held"] == 100
    code, _, err = run("outputs", "delete", "Hook")
    assert code == 1 and "disconnect them first" in err


def test_bulk_connect_prints_each_audience_and_fails_when_one_is_refused(run):
    run("outputs", "create", "Files", "--partner", "file_export", "--setting", "folder=/tmp")
    run("audiences", "create", "Second", "--workspace", "US")
    code, out, _ = run("outputs", "connect", "Second", "Files", "--inactive")
    code, out, _ = run("outputs", "bulk-connect", "Files", "Gold members", "Second")
    assert code == 1
    assert out.splitlines()[0].startswith("Gold members: connected (connection")
    assert out.splitlines()[1].startswith("Second: not connected: Audience \"Second\" is already connected")


def test_bad_settings_are_one_line_errors(run):
    code, _, err = run("outputs", "create", "Hook", "--partner", "webhook", "--setting", "url=ftp://x", "--secret",
                       "signing_secret", stdin="s\n")
    assert code == 1 and err.startswith("audience-studio: The settings need changes: url: Endpoint URL must be a web address")
    code, _, err = run("outputs", "create", "Hook", "--partner", "webhook", "--setting", "nonsense")
    assert code == 1 and 'Setting "nonsense" is not KEY=VALUE' in err


def test_authorize_prints_the_address_to_open_by_hand_and_signs_in(run, monkeypatch):
    import webbrowser

    from tests.outputs.browser import ScriptedBrowser
    from tests.outputs.token_server import TokenServer

    server = TokenServer(lambda requested, grant: requested)
    browser = ScriptedBrowser()
    monkeypatch.setattr(webbrowser, "open", lambda url: False)  # nothing opens: the admin copies the address
    printed = []

    def follow_printed(*args, file=None, **kwargs):
        text = " ".join(str(a) for a in args)
        printed.append(text)
        if "/authorize?" in text:
            browser(text.splitlines()[-1])

    try:
        options = [option for key, value in server.settings("lists:write").items() if key != "identity_types"
                   for option in ("--setting", f"{key}={value}")]
        assert run("outputs", "create", "API", "--partner", "oauth2", *options)[0] == 0
        # The command's printing is watched: the "admin" opens the address it prints, as soon as it is printed.
        monkeypatch.setattr("builtins.print", follow_printed)
        code = run("outputs", "authorize", "API", "--timeout", "60")[0]
        monkeypatch.undo()
        browser.join()
    finally:
        server.close()
    assert code == 0, printed
    assert any(line.startswith("If no browser opens, open this address") for line in printed)
    assert "No browser could be opened; open the address above." in printed
    assert printed[-1] == "Signed in API; its tokens are in the keyring."
