"""Edit history travels with sync: the saved versions made on one laptop reach the team's server and every
teammate's laptop, numbered alike; re-syncing adds nothing; a version from a newer app is named and changes
nothing; the server refuses versions of audiences outside the caller's workspaces, naming the field.

Against a live server on SQLite and on PostgreSQL, as the offline-editing tests."""

from __future__ import annotations

import pytest

from tests.server.test_offline_editing import INSTALLED, OPTED_IN, Laptop

pytestmark = pytest.mark.usefixtures("secret_service")


@pytest.fixture
def team(deployment, tmp_path):
    """Ann's and Bob's laptops, editors of the US workspace (as in the offline-editing tests)."""
    deployment.workspace("US")
    tokens = {name: deployment.user_token(name, ["US"])["Authorization"].removeprefix("Bearer ") for name in ("ann", "bob")}
    laptops = {name: Laptop(tmp_path, name, deployment, token) for name, token in tokens.items()}
    yield laptops["ann"], laptops["bob"], deployment
    for laptop in laptops.values():
        laptop.close()


def _history(laptop: Laptop, name: str):
    return laptop.home.versions.history(name).versions


def _summary(laptop: Laptop, name: str):
    return [(v.number, v.ref, v.saved_by, v.note, v.document) for v in _history(laptop, name)]


def _auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_versions_made_offline_reach_teammates_with_the_same_numbers(team):
    ann, bob, deployment = team
    ann.sync()
    us = ann.home.workspaces.get("US")
    buyers = ann.home.audiences.create("Buyers", workspace_ids=[us.id], criteria=INSTALLED)
    ann.home.audiences.set_criteria(buyers.id, OPTED_IN)  # offline: two versions wait
    ann.home.audiences.update(buyers.id, tags=["q1"])
    result = ann.sync()
    assert result.audiences.versions_sent == 3

    result = bob.sync()
    assert result.audiences.versions_received == 3
    assert _summary(bob, "Buyers") == _summary(ann, "Buyers")
    assert [v.saved_by for v in _history(bob, "Buyers")] == ["ann", "ann", "ann"]
    assert [c.text for c in bob.home.versions.diff("Buyers", 2, 3)] == ["Tag added: q1"]

    # Bob restores version 1; his restore (a new version) reaches Ann.
    restored = bob.home.versions.restore("Buyers", 1)
    assert restored.number == 4 and restored.saved_by == "bob"
    bob_sync = bob.sync()
    assert (bob_sync.audiences.sent, bob_sync.audiences.versions_sent) == (1, 1)
    ann_sync = ann.sync()
    assert (ann_sync.audiences.received, ann_sync.audiences.versions_received) == (1, 1)
    assert _summary(ann, "Buyers") == _summary(bob, "Buyers")
    assert ann.audience("Buyers").criteria == INSTALLED

    # Re-syncing moves nothing: each version is kept once on every side.
    for laptop in (ann, bob):
        again = laptop.sync()
        assert (again.audiences.versions_sent, again.audiences.versions_received) == (0, 0)
    assert len(_history(ann, "Buyers")) == len(_history(bob, "Buyers")) == 4


def test_a_version_sent_twice_is_kept_once(team):
    ann, bob, deployment = team
    ann.sync()
    ann.home.audiences.create("Buyers", workspace_ids=[ann.home.workspaces.get("US").id], criteria=INSTALLED)
    ann.sync()
    [first] = _history(ann, "Buyers")
    server_id = deployment.http.get("/v1/audiences", headers=_auth(ann.token)).json()["audiences"][0]["id"]
    body = {"versions": [{"ref": first.ref, "audience_id": server_id, "saved_by": "ann",
                          "saved_at": first.saved_at.isoformat(), "document": first.document}]}
    reply = deployment.http.post("/v1/audience-versions", json=body, headers=_auth(ann.token))
    assert (reply.status_code, reply.json()) == (200, {"added": 0, "known": 1})
    versions = deployment.http.get("/v1/audience-versions", headers=_auth(bob.token)).json()["versions"]
    assert [v["ref"] for v in versions] == [first.ref]


def test_a_version_from_a_newer_app_is_named_and_changes_nothing(team):
    ann, bob, deployment = team
    ann.sync()
    ann.home.audiences.create("Buyers", workspace_ids=[ann.home.workspaces.get("US").id], criteria=INSTALLED)
    ann.sync()
    bob.sync()
    before = _summary(bob, "Buyers")
    server_id = deployment.http.get("/v1/audiences", headers=_auth(ann.token)).json()["audiences"][0]["id"]
    newer = dict(before[0][4]) | {"format": 2, "name": "Buyers, the 2027 way"}
    reply = deployment.http.post("/v1/audience-versions", headers=_auth(ann.token), json={"versions": [
        {"ref": "from-a-newer-app", "audience_id": server_id, "saved_by": "ann", "saved_at": "2026-12-24T10:00:00Z",
         "document": newer}]})
    assert reply.status_code == 200
    for _ in range(2):  # the cursor stays before it: named again on the next sync, still nothing kept
        result = bob.sync()
        assert result.audiences.versions_received == 0
        assert any("saved by a newer Audience Studio (version format 2" in note and "ann" in note
                   for note in result.audiences.notes)
        assert _summary(bob, "Buyers") == before
        assert bob.audience("Buyers").name == "Buyers"


def test_versions_of_audiences_outside_the_callers_workspaces_are_refused(team):
    ann, bob, deployment = team
    deployment.workspace("EU")
    eve = deployment.user_token("eve", ["EU"])
    ann.sync()
    ann.home.audiences.create("Buyers", workspace_ids=[ann.home.workspaces.get("US").id], criteria=INSTALLED)
    ann.sync()
    server_id = deployment.http.get("/v1/audiences", headers=_auth(ann.token)).json()["audiences"][0]["id"]
    reply = deployment.http.post("/v1/audience-versions", headers=eve, json={"versions": [
        {"ref": "eve-1", "audience_id": server_id, "saved_by": "eve", "saved_at": "2026-12-01T10:00:00Z",
         "document": {"format": 1}}]})
    assert reply.status_code == 403
    [error] = reply.json()["errors"]
    assert error["field"] == "versions[0].audience_id" and "not yours" in error["message"]
    assert deployment.http.get("/v1/audience-versions", headers=eve).json()["versions"] == []
    # An unknown audience is named too, and nothing of the request is kept.
    reply = deployment.http.post("/v1/audience-versions", headers=_auth(ann.token), json={"versions": [
        {"ref": "x-1", "audience_id": server_id, "saved_by": "ann", "saved_at": "2026-12-01T10:00:00Z", "document": {}},
        {"ref": "x-2", "audience_id": 999, "saved_by": "ann", "saved_at": "2026-12-01T10:00:00Z", "document": {}}]})
    assert reply.status_code == 404 and reply.json()["errors"][0]["field"] == "versions[1].audience_id"
    refs = [v["ref"] for v in deployment.http.get("/v1/audience-versions", headers=_auth(ann.token)).json()["versions"]]
    assert "x-1" not in refs


def test_a_namesakes_history_waits_for_the_conflict_and_comes_once_it_is_resolved(team):
    from app.engines import audience_sync

    ann, bob, deployment = team
    ann.sync()
    bob.sync()
    bob.home.audiences.create("Buyers", workspace_ids=[bob.home.workspaces.get("US").id], criteria=OPTED_IN)
    annes = ann.home.audiences.create("Buyers", workspace_ids=[ann.home.workspaces.get("US").id], criteria=INSTALLED)
    ann.home.audiences.update(annes.id, tags=["q1"])
    ann.sync()

    result = bob.sync()  # Bob's own "Buyers" meets Ann's: a conflict, and Ann's history is not his audience's
    assert result.audiences.conflicts == ["Buyers"] and result.audiences.versions_received == 0
    [only] = _history(bob, "Buyers")
    assert only.document["criteria"] == OPTED_IN and only.saved_by == "bob"

    [conflict] = bob.conflicts()
    assert conflict.kind == "same_name"
    audience_sync.resolve(bob.home, conflict.id, "theirs")
    result = bob.sync()
    assert result.audiences.versions_received == 2  # Ann's two versions, fetched once the audience is linked
    refs = [v.ref for v in _history(bob, "Buyers")]
    assert {v.ref for v in _history(ann, "Buyers")} <= set(refs)
    assert bob.sync().audiences.versions_received == 0  # fetched once
