"""Shared audience definitions: create, update and delete with an expected version, changes since a
cursor, and workspace isolation, against a live server on SQLite and on PostgreSQL."""

from __future__ import annotations

import copy

from app.builder.document import empty_document

CRITERIA = {"version": 1, "root": {"id": "root", "type": "group", "match": "all", "exclude": False, "children": [
    {"id": "installed", "type": "event", "event_type": "install", "window": {"type": "within", "amount": 72, "unit": "hours"}},
]}}


def _new(workspace_ids, name="Buyers", **fields):
    return {"name": name, "workspace_ids": workspace_ids, "criteria": empty_document(), "tags": ["q1"], **fields}


def _changes(deployment, headers, cursor=None):
    reply = deployment.http.get("/v1/audiences", params={"cursor": cursor} if cursor else {}, headers=headers)
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_create_update_conflict_and_delete_with_versions(deployment):
    us = deployment.workspace("US")
    ann = deployment.user_token("ann", ["US"])
    bob = deployment.user_token("bob", ["US"])
    start = _changes(deployment, ann)["next_cursor"]

    reply = deployment.http.post("/v1/audiences", json=_new([us], external_name="Buyers 30d", inputs=[{"kind": "platform", "name": "iOS"}]), headers=ann)
    assert reply.status_code == 201, reply.text
    created = reply.json()
    assert (created["version"], created["scope"], created["status"], created["created_by"]) == (1, "single", "draft", "ann")
    assert created["inputs"] == [{"kind": "platform", "name": "iOS"}] and created["tags"] == ["q1"]

    # Ann and Bob both edit version 1; Bob saves first, so Ann's save is a conflict showing Bob's copy.
    edit = {k: created[k] for k in ("name", "external_name", "kind", "status", "inputs", "tags", "criteria")}
    bobs = deployment.http.put(f"/v1/audiences/{created['id']}", json={**edit, "status": "active", "version": 1}, headers=bob)
    assert bobs.status_code == 200 and bobs.json()["version"] == 2 and bobs.json()["updated_by"] == "bob"
    anns = deployment.http.put(f"/v1/audiences/{created['id']}", json={**edit, "tags": ["mine"], "version": 1}, headers=ann)
    assert anns.status_code == 409
    body = anns.json()
    assert body["errors"][0]["code"] == "VERSION_CONFLICT" and body["errors"][0]["field"] == "version"
    assert body["current"]["version"] == 2 and body["current"]["status"] == "active"

    # Ann takes Bob's version and edits again: accepted.
    anns = deployment.http.put(f"/v1/audiences/{created['id']}", json={**edit, "criteria": CRITERIA, "tags": ["mine"], "version": 2}, headers=ann)
    assert anns.status_code == 200 and anns.json()["version"] == 3

    # Deleting needs the current version too; a deleted audience refuses edits (a delete/edit conflict).
    assert deployment.http.delete(f"/v1/audiences/{created['id']}", params={"version": 2}, headers=bob).status_code == 409
    gone = deployment.http.delete(f"/v1/audiences/{created['id']}", params={"version": 3}, headers=bob)
    assert gone.status_code == 200 and gone.json()["deleted"] is True and gone.json()["version"] == 4
    late = deployment.http.put(f"/v1/audiences/{created['id']}", json={**edit, "version": 3}, headers=ann)
    assert late.status_code == 409 and late.json()["errors"][0]["code"] == "DELETED" and late.json()["current"]["deleted"]

    changes = _changes(deployment, ann, start)
    assert [(a["id"], a["version"], a["deleted"]) for a in changes["audiences"]] == [(created["id"], 4, True)]
    assert _changes(deployment, ann, changes["next_cursor"])["audiences"] == []
    # The name is free again once deleted.
    assert deployment.http.post("/v1/audiences", json=_new([us]), headers=ann).status_code == 201


def test_changes_come_in_order_and_resume_from_a_cursor(deployment):
    us = deployment.workspace("US")
    ann = deployment.user_token("ann", ["US"])
    ids = [deployment.http.post("/v1/audiences", json=_new([us], name=f"A{i}"), headers=ann).json()["id"] for i in range(5)]
    first = deployment.http.get("/v1/audiences", params={"limit": 2}, headers=ann).json()
    assert [a["id"] for a in first["audiences"]] == ids[:2] and first["more"] is True
    rest = _changes(deployment, ann, first["next_cursor"])
    assert [a["id"] for a in rest["audiences"]] == ids[2:] and rest["more"] is False
    edited = deployment.http.get(f"/v1/audiences/{ids[0]}", headers=ann).json()
    payload = {k: edited[k] for k in ("name", "external_name", "kind", "status", "inputs", "tags", "criteria")}
    deployment.http.put(f"/v1/audiences/{ids[0]}", json={**payload, "name": "A0 renamed", "version": 1}, headers=ann)
    assert [a["name"] for a in _changes(deployment, ann, rest["next_cursor"])["audiences"]] == ["A0 renamed"]


def test_a_token_reads_and_writes_only_its_users_workspaces(deployment):
    us = deployment.workspace("US")
    eu = deployment.workspace("EU")
    ann = deployment.user_token("ann", ["US"])
    eve = deployment.user_token("eve", ["EU"])
    both = deployment.user_token("max", ["US", "EU"])
    eu_only = deployment.http.post("/v1/audiences", json=_new([eu], name="EU buyers"), headers=eve).json()
    multi = deployment.http.post("/v1/audiences", json=_new([us, eu], name="Everyone"), headers=both).json()
    assert multi["scope"] == "multi"

    reply = deployment.http.post("/v1/audiences", json=_new([eu], name="Sneaky"), headers=ann)
    assert reply.status_code == 403 and reply.json()["errors"][0]["field"] == "workspace_ids[0]"
    for audience in (eu_only, multi):
        assert deployment.http.get(f"/v1/audiences/{audience['id']}", headers=ann).status_code == 403
        edit = {k: audience[k] for k in ("name", "external_name", "kind", "status", "inputs", "tags", "criteria")}
        assert deployment.http.put(f"/v1/audiences/{audience['id']}", json={**edit, "version": 1}, headers=ann).status_code == 403
        assert deployment.http.delete(f"/v1/audiences/{audience['id']}", params={"version": 1}, headers=ann).status_code == 403
    assert _changes(deployment, ann)["audiences"] == []
    assert {a["name"] for a in _changes(deployment, both)["audiences"]} == {"EU buyers", "Everyone"}
    assert deployment.http.get("/v1/audiences/999999", headers=ann).status_code == 404


def test_malformed_definitions_get_400s_naming_the_field(deployment):
    us = deployment.workspace("US")
    ann = deployment.user_token("ann", ["US"])
    broken = copy.deepcopy(CRITERIA)
    broken["root"]["children"][0]["window"]["amount"] = "thirty"
    cases = [
        (_new([us], criteria=broken), "criteria.root.children[0]"),
        (_new([us], tags=["a-tag-much-longer-than-eighteen"]), "tags[0]"),
        (_new([us], status="paused"), "status"),
        (_new([us], colour="red"), "colour"),
        (_new([]), "workspace_ids"),
        (_new([us], name=""), "name"),
        (_new([us], inputs=[{"kind": "channel", "name": "x"}]), "inputs[0].kind"),
        ({k: v for k, v in _new([us]).items() if k != "criteria"}, "criteria"),
    ]
    for body, field in cases:
        reply = deployment.http.post("/v1/audiences", json=body, headers=ann)
        assert reply.status_code == 400, (field, reply.text)
        fields = [e.get("field") or "" for e in reply.json()["errors"]]
        assert any(f.startswith(field) for f in fields), (field, reply.json())
    reply = deployment.http.post("/v1/audiences", content=b"{nope", headers={**ann, "content-type": "application/json"})
    assert reply.status_code == 400
    assert deployment.http.get("/v1/audiences", params={"cursor": "a1.zzz"}, headers=ann).status_code == 400


def test_names_are_unique_and_a_resent_create_returns_the_first(deployment):
    us = deployment.workspace("US")
    ann = deployment.user_token("ann", ["US"])
    first = deployment.http.post("/v1/audiences", json=_new([us], client_ref="laptop-1:42"), headers=ann)
    assert first.status_code == 201
    again = deployment.http.post("/v1/audiences", json=_new([us], client_ref="laptop-1:42"), headers=ann)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    taken = deployment.http.post("/v1/audiences", json=_new([us], name="BUYERS"), headers=ann)
    assert taken.status_code == 409 and taken.json()["errors"][0]["code"] == "NAME_TAKEN"


def test_a_client_ref_is_scoped_to_its_workspaces_and_another_workspaces_ref_reveals_nothing(deployment):
    us = deployment.workspace("US")
    eu = deployment.workspace("EU")
    ann = deployment.user_token("ann", ["US"])
    eve = deployment.user_token("eve", ["EU"])
    eves = deployment.http.post("/v1/audiences", json=_new([eu], name="EU buyers", client_ref="laptop-9:1"), headers=eve)
    assert eves.status_code == 201
    # Ann reuses Eve's ref in her own workspace: a new audience of hers, nothing of Eve's named.
    anns = deployment.http.post("/v1/audiences", json=_new([us], name="US buyers", client_ref="laptop-9:1"), headers=ann)
    assert anns.status_code == 201, anns.text
    assert anns.json()["id"] != eves.json()["id"] and anns.json()["workspace_ids"] == [us]
    assert anns.json()["name"] == "US buyers" and "EU buyers" not in anns.text
    # Each resend still finds its own.
    for headers, workspace, name, first in ((ann, us, "US buyers", anns), (eve, eu, "EU buyers", eves)):
        again = deployment.http.post("/v1/audiences", json=_new([workspace], name=name, client_ref="laptop-9:1"), headers=headers)
        assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    # Asking which audience a create with that ref made answers with one's own only (tombstones too).
    asked = deployment.http.get("/v1/audiences/by-client-ref/laptop-9:1", headers=ann)
    assert asked.status_code == 200 and asked.json()["id"] == anns.json()["id"]
    deployment.http.delete(f"/v1/audiences/{anns.json()['id']}", params={"version": 1}, headers=ann)
    assert deployment.http.get("/v1/audiences/by-client-ref/laptop-9:1", headers=ann).json()["deleted"] is True
    other = deployment.http.get("/v1/audiences/by-client-ref/laptop-9:1", headers=deployment.user_token("zoe", []))
    assert other.status_code == 404 and other.json()["errors"][0]["code"] == "NOT_CREATED"
    assert "EU buyers" not in other.text and "US buyers" not in other.text


def test_a_resent_create_that_says_something_else_is_not_taken_for_agreement(deployment):
    us = deployment.workspace("US")
    ann = deployment.user_token("ann", ["US"])
    first = deployment.http.post("/v1/audiences", json=_new([us], client_ref="laptop-1:7"), headers=ann).json()
    # The laptop was stopped before it learned of the create, and the audience was edited since.
    edited = deployment.http.post("/v1/audiences", json=_new([us], client_ref="laptop-1:7", criteria=CRITERIA), headers=ann)
    assert edited.status_code == 409, edited.text
    [error] = edited.json()["errors"]
    assert (error["code"], error["field"]) == ("CREATED_BEFORE", "client_ref")
    current = edited.json()["current"]
    assert (current["id"], current["version"], current["criteria"]) == (first["id"], 1, empty_document())
    # The same definition in another order of tags is the same create.
    same = deployment.http.post("/v1/audiences", json=_new([us], client_ref="laptop-1:7", tags=["q1", "q1"]), headers=ann)
    assert same.status_code == 200 and same.json()["version"] == 1
    # Deleted meanwhile: the resend is told so, with the tombstone.
    deployment.http.delete(f"/v1/audiences/{first['id']}", params={"version": 1}, headers=ann)
    gone = deployment.http.post("/v1/audiences", json=_new([us], client_ref="laptop-1:7"), headers=ann)
    assert gone.status_code == 409 and gone.json()["errors"][0]["code"] == "DELETED" and gone.json()["current"]["deleted"] is True
