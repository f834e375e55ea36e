"""The Sources and Activity panes against a live team server on 127.0.0.1 and the real OS keyring: an admin makes
a source (the secret shown once, its example request really sends a batch), disables it (what it then sends is
refused and shows in the stream), rotates its secret; the Activity pane shows batches as they arrive, newest
first, filtered, paused and resumed without losing any, one batch in full, this laptop's imports beside them;
the audit log is read, filtered and exported as CSV."""

from __future__ import annotations

import csv
import json
import subprocess

import pytest

from app.cli.main import main
from app.engines.home import OpenHome
from app.engines.sync import sign_in_with_password
from app.server.accounts import Accounts
from tests import factories
from tests.server.live import Deployment

PASSWORD = "correct horse battery"
TIMEOUT = 30_000


@pytest.fixture
def server(tmp_path, secret_service):
    """Taken before the window in each test, so the window (and its requests) closes before the server stops."""
    with Deployment.start(f"sqlite:///{tmp_path / 'server.sqlite3'}", activity_poll_seconds=0.1) as deployment:
        Accounts(deployment.database).init("Harbor Retail", "Ada", "ada@example.com", PASSWORD)
        yield deployment


def _signed_in(home_dir, server) -> None:
    with OpenHome.open(home_dir) as home:
        sign_in_with_password(home, server.server.base_url, "ada@example.com", PASSWORD)


def _show(qtbot, window, key: str):
    pane = window.pane(key)
    window.navigation.setCurrentRow(window.pane_list.index(pane))
    return pane


def test_the_sources_pane_makes_disables_and_rotates_a_source(server, qtbot, open_window, home_dir):
    _signed_in(home_dir, server)
    window = open_window(home_dir)
    pane = _show(qtbot, window, "sources")
    qtbot.waitUntil(lambda: pane.view_data is not None, timeout=TIMEOUT)
    assert pane.empty.isVisibleTo(pane) and pane.empty.title.text() == "No sources yet"
    assert pane.new_action.isEnabled() and not pane.rotate_action.isEnabled()

    dialogs = []
    pane.ask_new_source = lambda workspaces: (workspaces[0].id, "platform", "iOS")
    pane.show_secret = dialogs.append
    pane.new_action.trigger()
    qtbot.waitUntil(lambda: len(dialogs) == 1, timeout=TIMEOUT)
    shown = dialogs[0]
    secret, example = shown.secret.text(), shown.example.toPlainText()
    assert secret.startswith("as-secret-") and example.startswith("curl ")
    sent = subprocess.run(example + " -w ' %{http_code}'", shell=True, capture_output=True, text=True, timeout=30)
    assert sent.stdout.endswith(" 202"), sent

    pane.refresh()
    qtbot.waitUntil(lambda: pane.model.rowCount() == 1 and pane.model.item(0, 3).text() == "receiving", timeout=TIMEOUT)
    assert [pane.model.item(0, c).text() for c in (0, 1, 2, 6, 7)] == ["iOS", "platform", "Harbor Retail", "1", "1"]
    assert secret not in [pane.model.item(0, c).text() for c in range(pane.model.columnCount())]

    pane.select(pane.view_data.sources[0].id)
    pane.confirm = lambda title, text, yes: True
    pane.disable_action.trigger()
    qtbot.waitUntil(lambda: pane.model.item(0, 3).text() == "disabled", timeout=TIMEOUT)
    assert pane.enable_action.isEnabled() and not pane.disable_action.isEnabled()
    key = shown.api_key.text()
    assert server.http.post("/v2/events", json=factories.batch(), auth=(key, secret)).status_code == 403
    pane.refresh()
    qtbot.waitUntil(lambda: pane.model.item(0, 8).text().startswith("1 "), timeout=TIMEOUT)

    pane.rotate_action.trigger()
    qtbot.waitUntil(lambda: len(dialogs) == 2, timeout=TIMEOUT)
    assert dialogs[1].secret.text() not in ("", secret) and dialogs[1].api_key.text() == key
    pane.enable_action.trigger()
    qtbot.waitUntil(lambda: pane.model.item(0, 3).text() == "receiving", timeout=TIMEOUT)
    assert server.http.post("/v2/events", json=factories.batch(), auth=(key, dialogs[1].secret.text())).status_code == 202


def test_the_activity_pane_follows_filters_pauses_and_shows_a_batch_and_the_audit_log(server, qtbot, open_window, home_dir,
                                                                                       tmp_path):
    ios = server.platform_input("Harbor Retail", "iOS")
    crm = server.feed_input("Harbor Retail", "CRM")
    local = tmp_path / "local.ndjson"
    local.write_text(json.dumps(factories.batch(5)) + "\n")
    assert main(["--home", str(home_dir.root), "import", str(local)]) == 0
    _signed_in(home_dir, server)
    window = open_window(home_dir)
    pane = _show(qtbot, window, "activity")
    qtbot.waitUntil(lambda: pane.follower is not None, timeout=TIMEOUT)
    assert pane.workspace.currentText() == "Harbor Retail (admin)"
    assert pane.model.item(0, 1).text() == "this laptop" and pane.model.item(0, 2).text().startswith("import")

    with qtbot.waitSignal(pane.event_shown, timeout=TIMEOUT):
        assert server.http.post("/v2/events", json=factories.batch(11), auth=ios.auth).status_code == 202
    assert [pane.model.item(0, c).text() for c in (1, 3)] == ["iOS", "2"]
    assert pane.model.item(0, 2).text().startswith("batch 1") and "Search" in pane.model.item(0, 4).text()

    pane.filters["source"].setText("CRM")
    pane._filters_changed()
    with qtbot.waitSignal(pane.event_shown, timeout=TIMEOUT) as shown:
        server.http.post("/v2/events", json=factories.batch(12), auth=ios.auth)
        server.http.post("/v2/events", json=factories.batch(13), auth=crm.auth)
    assert shown.args[0].item["mpid"] == 13
    assert [pane.model.item(r, 1).text() for r in range(pane.model.rowCount())] == ["CRM", "this laptop"]

    pane.toggle_pause()
    assert pane.follower is None and "Paused" in pane.state.text()
    server.http.post("/v2/events", json=factories.batch(14), auth=crm.auth)  # arrives while paused
    with qtbot.waitSignal(pane.event_shown, timeout=TIMEOUT) as shown:
        pane.toggle_pause()
    assert shown.args[0].item["mpid"] == 14  # resumed after the last event shown: nothing lost, nothing twice
    assert [pane.model.item(r, 1).text() for r in range(pane.model.rowCount())] == ["CRM", "CRM", "this laptop"]

    with qtbot.waitSignal(pane.detail_shown, timeout=TIMEOUT):
        pane.list.setCurrentIndex(pane.model.index(0, 0))
    detail = json.loads(pane.detail.toPlainText())
    assert detail["batch"]["mpid"] == 14 and detail["source"]["name"] == "CRM"
    assert '\n  "batch": {' in pane.detail.toPlainText()  # pretty, indented

    assert pane.audit_action.isEnabled()
    pane.open_audit()
    dialog = pane.audit_dialog
    qtbot.waitUntil(lambda: bool(dialog.entries), timeout=TIMEOUT)
    assert {(e["kind"], e["action"]) for e in dialog.entries} >= {("company", "create"), ("input", "create"), ("account", "sign-in")}
    dialog.kind.setCurrentIndex(dialog.kind.findData("input"))
    with qtbot.waitSignal(dialog.loaded, timeout=TIMEOUT):
        dialog.search()
    assert [dialog.model.item(r, 4).text() for r in range(dialog.model.rowCount())] == ["feed input 'CRM'", "platform input 'iOS'"]
    target = tmp_path / "audit.csv"
    dialog.ask_path = lambda: str(target)
    with qtbot.waitSignal(dialog.loaded, timeout=TIMEOUT):
        dialog.export()
    with target.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["target"] for r in rows] == ["platform input 'iOS'", "feed input 'CRM'"]
    assert ios.secret not in target.read_text()
    dialog.close()
    pane.stop_stream()


def test_an_editor_sees_why_sources_need_an_admin_and_follows_the_activity_without_the_audit_log(server, qtbot, open_window,
                                                                                                 home_dir):
    server.admin.create_user("eve", [])
    Accounts(server.database).set_role("test", "eve", 1, "editor")
    token = server.admin.create_token("eve")
    from app.engines.sync import sign_in

    with OpenHome.open(home_dir) as home:
        sign_in(home, server.server.base_url, token)
    window = open_window(home_dir)
    sources = _show(qtbot, window, "sources")
    qtbot.waitUntil(lambda: sources.view_data is not None, timeout=TIMEOUT)
    assert sources.empty.title.text() == "Sources need the admin role"
    assert "need the admin role there" in sources.summary.text() and not sources.new_action.isEnabled()

    activity = _show(qtbot, window, "activity")
    qtbot.waitUntil(lambda: activity.follower is not None, timeout=TIMEOUT)
    assert activity.workspace.currentText() == "Harbor Retail (editor)" and not activity.audit_action.isEnabled()
    ios = server.platform_input("Harbor Retail", "iOS")
    with qtbot.waitSignal(activity.event_shown, timeout=TIMEOUT):
        server.http.post("/v2/events", json=factories.batch(21), auth=ios.auth)
    activity.stop_stream()


def test_an_audit_export_to_a_folder_that_does_not_exist_says_so_and_leaves_nothing(tmp_path):
    from app.engines.team import export_audit_csv
    from app.errors import UserError

    entries = [{"id": 1, "at": "2026-12-01T10:00:00+00:00", "actor": "Ada", "kind": "input", "action": "create",
                "target": "feed input 'CRM'", "workspace_id": 1, "details": {}}]
    target = tmp_path / "missing" / "audit.csv"
    with pytest.raises(UserError, match="Cannot write .*audit.csv"):
        export_audit_csv(entries, target)
    assert not (tmp_path / "missing").exists()
    assert export_audit_csv(entries, tmp_path / "audit.csv") == 1
    assert (tmp_path / "audit.csv").read_text().splitlines()[1].startswith("1,2026-12-01T10:00:00+00:00,Ada,input,create")
