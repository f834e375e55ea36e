"""Offline editing: audiences created, changed and deleted on laptops without a connection reach the
team's server on the next sync, teammates' audiences arrive, and two laptops editing the same
audience meet as a conflict the user resolves (keep mine, take theirs) — never a silent overwrite.

Each test runs against a live server on SQLite and on PostgreSQL. Both laptops are homes of this
machine, so they share its keyring entry for the server: each sync signs in with its user's token
first (as `audience-studio sync login` would).
"""

from __future__ import annotations

import pytest

from app.connectors.sync_client import NO_RETRY, Backoff, SyncClient, SyncError
from app.engines import audience_sync
from app.engines.home import OpenHome
from app.engines.sync import history, sign_in, sync_home
from app.paths import resolve_home

pytestmark = pytest.mark.usefixtures("secret_service")

INSTALLED = {"version": 1, "root": {"id": "root", "type": "group", "match": "all", "exclude": False, "children": [
    {"id": "installed", "type": "event", "event_type": "install", "window": {"type": "within", "amount": 72, "unit": "hours"}},
]}}
OPTED_IN = {"version": 1, "root": {"id": "root", "type": "group", "match": "any", "exclude": False, "children": [
    {"id": "vip", "type": "user_attribute", "attribute": "tier", "operator": "equals", "value": "gold"},
]}}


class Laptop:
    """One teammate's home, signed in to the server with their token."""

    def __init__(self, tmp_path, name: str, deployment, token: str):
        self.home = OpenHome.open(resolve_home(tmp_path / name))
        self.url = deployment.server.base_url
        self.token = token

    def sync(self):
        sign_in(self.home, self.url, self.token)
        return sync_home(self.home, self.url)

    def audience(self, name):
        return self.home.audiences.get(name)

    def names(self) -> list[str]:
        return [a.name for a in self.home.audiences.list()]

    def conflicts(self):
        return audience_sync.conflicts(self.home)

    def close(self):
        if self.home is not None:
            self.home.close()
            self.home = None


@pytest.fixture
def team(deployment, tmp_path):
    deployment.workspace("US")
    tokens = {name: deployment.user_token(name, ["US"])["Authorization"].removeprefix("Bearer ") for name in ("ann", "bob")}
    laptops = {name: Laptop(tmp_path, name, deployment, token) for name, token in tokens.items()}
    yield laptops["ann"], laptops["bob"], deployment
    for laptop in laptops.values():
        laptop.close()


def _server_copy(deployment, token, name):
    reply = deployment.http.get("/v1/audiences", headers={"Authorization": f"Bearer {token}"}, params={"limit": 1000})
    found = {a["name"]: a for a in reply.json()["audiences"] if not a["deleted"]}
    return found.get(name)


def _shared_buyers(ann: Laptop, bob: Laptop):
    """Ann makes "Buyers" and sends it; Bob receives it: both laptops hold version 1."""
    ann.sync()  # makes the US workspace in Ann's home
    us = ann.home.workspaces.get("US")
    ann.home.audiences.create("Buyers", workspace_ids=[us.id], criteria=INSTALLED, tags=["q1"])
    assert ann.sync().audiences.sent == 1
    assert bob.sync().audiences.received == 1
    return ann.audience("Buyers"), bob.audience("Buyers")


def test_an_audience_created_offline_is_sent_and_arrives_on_a_teammates_laptop(team):
    ann, bob, deployment = team
    ann.sync()
    us = ann.home.workspaces.get("US")
    # Offline: the server is out of reach, the audience waits in the outbox.
    ann.home.audiences.create("Buyers", workspace_ids=[us.id], criteria=INSTALLED, tags=["q1", "ios"])
    assert audience_sync.outbox(ann.home, ann.url) == [audience_sync.OutboxItem("Buyers", "create")]

    result = ann.sync()
    assert (result.audiences.sent, result.audiences.conflicts) == (1, [])
    assert audience_sync.outbox(ann.home, ann.url) == []
    on_server = _server_copy(deployment, ann.token, "Buyers")
    assert on_server["criteria"] == INSTALLED and on_server["tags"] == ["ios", "q1"] and on_server["version"] == 1
    assert ann.sync().audiences.sent == 0  # nothing sent twice

    # Bob's laptop receives it with sync, in his workspace of the same name.
    assert bob.sync().audiences.received == 1
    received = bob.audience("Buyers")
    assert received.criteria == INSTALLED and received.tags == ("ios", "q1") and received.created_by == "ann"
    assert received.workspace_ids == (bob.home.workspaces.get("US").id,)
    assert audience_sync.outbox(bob.home, bob.url) == []

    # Ann's later edit reaches Bob too; an unedited copy just follows the server.
    ann.home.audiences.set_criteria(ann.audience("Buyers").id, OPTED_IN)
    assert ann.sync().audiences.sent == 1
    assert bob.sync().audiences.received == 1
    assert bob.audience("Buyers").criteria == OPTED_IN
    assert [run.outcome for run in history(bob.home)] == ["done", "done"]


def test_two_laptops_editing_the_same_audience_offline_meet_as_a_conflict_keep_mine(team):
    ann, bob, deployment = team
    _, bobs = _shared_buyers(ann, bob)
    # Both edit version 1 offline.
    ann.home.audiences.set_criteria(ann.audience("Buyers").id, OPTED_IN)
    bob.home.audiences.update(bobs.id, tags=["q1", "bob"])

    assert ann.sync().audiences.sent == 1  # Ann is online first: version 2 is hers
    result = bob.sync()
    assert result.audiences.conflicts == ["Buyers"] and result.audiences.sent == 0
    # Nothing was overwritten on either side.
    assert bob.audience("Buyers").tags == ("bob", "q1") and bob.audience("Buyers").criteria == INSTALLED
    assert _server_copy(deployment, ann.token, "Buyers")["criteria"] == OPTED_IN
    [conflict] = bob.conflicts()
    assert conflict.kind == "edited_both" and conflict.theirs["version"] == 2 and conflict.theirs_by == "ann"
    assert conflict.mine["tags"] == ["bob", "q1"] and conflict.theirs["criteria"] == OPTED_IN
    # Both sides, readable for the compare dialog.
    assert "bob" in audience_sync.outline(conflict.mine) and "tier" in audience_sync.outline(conflict.theirs)
    assert bob.sync().audiences.sent == 0 and len(bob.conflicts()) == 1  # still waiting for Bob, nothing sent

    assert "will replace the server's" in audience_sync.resolve(bob.home, conflict.id, "mine")
    assert bob.sync().audiences.sent == 1
    on_server = _server_copy(deployment, bob.token, "Buyers")
    assert (on_server["version"], on_server["tags"], on_server["criteria"]) == (3, ["bob", "q1"], INSTALLED)
    assert ann.sync().audiences.received == 1
    assert ann.audience("Buyers").tags == ("bob", "q1") and bob.conflicts() == [] and ann.conflicts() == []


def test_a_conflict_resolved_by_taking_theirs_replaces_the_local_copy(team):
    ann, bob, deployment = team
    _shared_buyers(ann, bob)
    ann.home.audiences.rename(ann.audience("Buyers").id, "Buyers (US)")
    bob.home.audiences.set_criteria(bob.audience("Buyers").id, OPTED_IN)
    ann.sync()
    bob.sync()
    [conflict] = bob.conflicts()
    assert conflict.name == "Buyers"

    audience_sync.resolve(bob.home, conflict.id, "theirs")
    taken = bob.audience("Buyers (US)")
    assert taken.criteria == INSTALLED and "Buyers" not in bob.names()
    assert audience_sync.outbox(bob.home, bob.url) == []
    result = bob.sync()
    assert (result.audiences.sent, result.audiences.conflicts) == (0, [])
    assert _server_copy(deployment, ann.token, "Buyers (US)")["version"] == 2


def test_deleted_here_but_changed_on_the_server_is_a_conflict(team):
    ann, bob, deployment = team
    _shared_buyers(ann, bob)
    ann.home.audiences.delete(ann.audience("Buyers").id)
    bob.home.audiences.set_criteria(bob.audience("Buyers").id, OPTED_IN)
    assert audience_sync.outbox(ann.home, ann.url) == [audience_sync.OutboxItem("Buyers", "delete")]
    bob.sync()

    assert ann.sync().audiences.conflicts == ["Buyers"]
    assert _server_copy(deployment, ann.token, "Buyers")["criteria"] == OPTED_IN  # Bob's edit survives
    [conflict] = ann.conflicts()
    assert conflict.kind == "deleted_here" and conflict.mine is None and conflict.audience_id is None
    # Taking theirs brings Bob's version back on Ann's laptop.
    audience_sync.resolve(ann.home, conflict.id, "theirs")
    assert ann.audience("Buyers").criteria == OPTED_IN
    assert ann.sync().audiences.sent == 0 and ann.conflicts() == []


def test_deleted_on_the_server_but_changed_here_is_a_conflict_and_keep_mine_sends_it_again(team):
    ann, bob, deployment = team
    _shared_buyers(ann, bob)
    ann.home.audiences.delete(ann.audience("Buyers").id)
    bob.home.audiences.set_criteria(bob.audience("Buyers").id, OPTED_IN)
    assert ann.sync().audiences.sent == 1  # the deletion
    assert _server_copy(deployment, ann.token, "Buyers") is None

    assert bob.sync().audiences.conflicts == ["Buyers"]
    assert bob.audience("Buyers").criteria == OPTED_IN  # not deleted under Bob's feet
    [conflict] = bob.conflicts()
    assert conflict.kind == "deleted_there" and conflict.theirs["deleted"]
    audience_sync.resolve(bob.home, conflict.id, "mine")
    assert bob.sync().audiences.sent == 1
    again = _server_copy(deployment, bob.token, "Buyers")
    assert again["criteria"] == OPTED_IN and again["version"] == 1
    assert ann.sync().audiences.received == 1 and ann.audience("Buyers").criteria == OPTED_IN


def test_a_deletion_on_the_server_removes_an_unedited_copy_and_delete_vs_delete_agrees(team):
    ann, bob, deployment = team
    _shared_buyers(ann, bob)
    ann.home.audiences.delete(ann.audience("Buyers").id)
    ann.sync()
    assert bob.sync().audiences.received == 1
    assert "Buyers" not in bob.names() and bob.conflicts() == []

    # Both delete the same audience offline: no conflict.
    _shared_audience = ann.home.audiences.create("Lapsed", workspace_ids=[ann.home.workspaces.get("US").id], criteria=INSTALLED)
    ann.sync()
    bob.sync()
    ann.home.audiences.delete(_shared_audience.id)
    bob.home.audiences.delete(bob.audience("Lapsed").id)
    ann.sync()
    result = bob.sync()
    assert result.audiences.conflicts == [] and bob.conflicts() == []
    assert audience_sync.outbox(bob.home, bob.url) == []


def test_the_same_name_created_on_two_laptops_is_a_conflict(team):
    ann, bob, deployment = team
    ann.sync()
    bob.sync()
    ann.home.audiences.create("Churn risk", workspace_ids=[ann.home.workspaces.get("US").id], criteria=INSTALLED)
    bob.home.audiences.create("Churn risk", workspace_ids=[bob.home.workspaces.get("US").id], criteria=OPTED_IN)
    ann.sync()
    result = bob.sync()
    assert result.audiences.conflicts == ["Churn risk"]
    [conflict] = bob.conflicts()
    assert conflict.kind == "same_name" and conflict.theirs["criteria"] == INSTALLED
    audience_sync.resolve(bob.home, conflict.id, "mine")
    assert bob.sync().audiences.sent == 1
    assert _server_copy(deployment, ann.token, "Churn risk")["criteria"] == OPTED_IN
    ann.sync()
    assert ann.audience("Churn risk").criteria == OPTED_IN


def test_without_a_connection_the_outbox_waits_and_the_history_says_why(team, monkeypatch):
    ann, bob, deployment = team
    ann.sync()
    ann.home.audiences.create("Buyers", workspace_ids=[ann.home.workspaces.get("US").id], criteria=INSTALLED)
    sign_in(ann.home, ann.url, ann.token)
    offline = lambda url, token: SyncClient("http://127.0.0.1:9", token, timeout=2, backoff=NO_RETRY)
    with pytest.raises(SyncError, match="Keep working offline"):
        sync_home(ann.home, ann.url, client_factory=offline)
    latest = history(ann.home)[0]
    assert latest.outcome == "failed" and "Cannot reach the server" in latest.error
    assert audience_sync.outbox(ann.home, ann.url) == [audience_sync.OutboxItem("Buyers", "create")]
    assert ann.sync().audiences.sent == 1  # back online
    assert history(ann.home)[0].outcome == "done"
    assert _server_copy(deployment, ann.token, "Buyers")["criteria"] == INSTALLED


def test_the_command_line_lists_conflicts_with_both_versions_and_resolves_one(team, tmp_path, capsys):
    from app.cli.main import main

    ann, bob, deployment = team
    _shared_buyers(ann, bob)
    ann.home.audiences.set_criteria(ann.audience("Buyers").id, OPTED_IN)
    bob.home.audiences.update(bob.audience("Buyers").id, tags=["q1", "bob"])
    ann.sync()
    sign_in(bob.home, bob.url, bob.token)
    bob.close()
    capsys.readouterr()

    assert main(["--home", str(tmp_path / "bob"), "sync"]) == 0
    out = capsys.readouterr().out
    assert "Audiences: 0 sent, 0 received." in out and "1 conflict(s) to resolve: Buyers (changed here and on the server)" in out
    assert main(["--home", str(tmp_path / "bob"), "sync", "conflicts"]) == 0
    out = capsys.readouterr().out
    assert "Buyers: changed here and on the server (server's copy by ann)" in out
    assert "  Yours:\n    Name: Buyers" in out and "Tags: bob, q1" in out and "tier is “gold”" in out
    assert main(["--home", str(tmp_path / "bob"), "sync", "resolve", "buyers", "--keep", "theirs"]) == 0
    assert "is now the server's version 2" in capsys.readouterr().out
    assert main(["--home", str(tmp_path / "bob"), "sync", "conflicts"]) == 0
    assert "No sync conflicts." in capsys.readouterr().out
    assert main(["--home", str(tmp_path / "bob"), "sync", "resolve", "Buyers", "--keep", "mine"]) == 1
    assert "No open sync conflict for 'Buyers'" in capsys.readouterr().err
    with OpenHome.open(resolve_home(tmp_path / "bob")) as home:
        assert home.audiences.get("Buyers").criteria == OPTED_IN


def test_audiences_of_workspaces_the_server_lacks_stay_on_the_laptop(team, deployment):
    ann, bob, _ = team
    ann.sync()
    local_only = ann.home.workspaces.create("Sandbox", [])
    ann.home.audiences.create("Experiment", workspace_ids=[local_only.id], criteria=INSTALLED)
    assert audience_sync.outbox(ann.home, ann.url) == []  # the last sync saw no "Sandbox" on the server
    assert ann.sync().audiences.sent == 0
    assert _server_copy(deployment, ann.token, "Experiment") is None
    assert ann.audience("Experiment").criteria == INSTALLED


class _LosesFirstCreateReply:
    """A requests session whose first create reaches the server but whose reply is lost on the way back."""

    def __init__(self):
        import requests

        self._session = requests.Session()
        self.headers = self._session.headers
        self.lost = 0

    def request(self, method, url, **kwargs):
        import requests

        reply = self._session.request(method, url, **kwargs)
        if method == "POST" and url.endswith("/v1/audiences") and not self.lost:
            self.lost += 1
            raise requests.ConnectionError("connection reset after the server answered")
        return reply

    def close(self):
        self._session.close()


def test_a_create_whose_reply_was_lost_is_resent_and_made_once(team, deployment):
    ann, _, _ = team
    ann.sync()
    ann.home.audiences.create("Buyers", workspace_ids=[ann.home.workspaces.get("US").id], criteria=INSTALLED)
    session = _LosesFirstCreateReply()
    sign_in(ann.home, ann.url, ann.token)
    result = sync_home(ann.home, ann.url,
                       client_factory=lambda url, token: SyncClient(url, token, session=session, backoff=Backoff(first=0.1, patience=0.5)))
    assert session.lost == 1 and result.audiences.sent == 1
    listed = deployment.http.get("/v1/audiences", headers={"Authorization": f"Bearer {ann.token}"}).json()["audiences"]
    assert [a["name"] for a in listed] == ["Buyers"]  # the resent create (same client_ref) made no second one
    assert audience_sync.outbox(ann.home, ann.url) == [] and ann.sync().audiences.sent == 0
