"""Draft audiences are never forwarded, so they cannot be connected as Sending (Inactive is allowed): the service,
the command line, the Connect dialog and the Connections pane's Make Sending all refuse with the same words."""

from __future__ import annotations

import pytest

from app.errors import InvalidInput
from app.engines.home import OpenHome
from tests.outputs.homes import GOLD, identity_example

DRAFT_WORDS = 'Audience "Gold draft" is a draft, so nothing would be sent: activate it first'


@pytest.fixture
def drafted(opened, tmp_path):
    us, _, active = identity_example(opened)
    draft = opened.audiences.create("Gold draft", workspace_ids=[us.id], criteria=GOLD)
    output = opened.outputs.create("Export", "file_export", {"folder": str(tmp_path)})
    return opened, draft, active, output


def test_a_draft_cannot_be_connected_as_sending_but_can_as_inactive(drafted):
    home, draft, _, output = drafted
    with pytest.raises(InvalidInput, match=DRAFT_WORDS):
        home.connections.connect(draft.id, output.id)
    assert home.connections.list(audience_id=draft.id) == []
    inactive = home.connections.connect(draft.id, output.id, status="inactive")
    assert inactive.status == "inactive"

    with pytest.raises(InvalidInput, match=DRAFT_WORDS):
        home.connections.set_status(inactive.id, "sending")
    assert home.connections.get(inactive.id).status == "inactive"
    home.audiences.activate(draft.id)
    assert home.connections.set_status(inactive.id, "sending").status == "sending"


def test_bulk_connect_refuses_drafts_one_by_one(drafted):
    home, draft, active, output = drafted
    report = home.connections.bulk_connect(output.id, [active.id, draft.id])
    assert [(r.audience_name, r.connected) for r in report.results] == [("Gold members", True), ("Gold draft", False)]
    assert report.refused[0].reason.startswith(DRAFT_WORDS)
    assert len(home.connections.bulk_connect(output.id, [draft.id], status="inactive").connected) == 1


def test_standard_audiences_keep_their_own_rule(drafted):
    # A standard audience's row stays "draft" (its state says calculated or not, and each Send is the user's):
    # it connects as Sending and forwarding waits for Send, as before.
    home, _, active, output = drafted
    standard = home.audiences.create("Gold last spring", workspace_ids=list(active.workspace_ids), kind="standard")
    assert home.audiences.get(standard.id).status == "draft"
    assert home.connections.connect(standard.id, output.id).status == "sending"


def test_the_command_line_refuses_with_one_line(drafted, capsys):
    from app.cli.main import main

    home, _, _, _ = drafted
    root = ["--home", str(home.home.root)]
    home.close()
    assert main([*root, "outputs", "connect", "Gold draft", "Export"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and DRAFT_WORDS in err and "Traceback" not in err
    assert main([*root, "outputs", "connect", "Gold draft", "Export", "--inactive"]) == 0
    with OpenHome.open(home.home) as reopened:
        assert [c.status for c in reopened.connections.list()] == ["inactive"]
