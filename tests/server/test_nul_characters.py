"""U+0000 in what a client sends about audiences (issue 24): PostgreSQL's text and JSON types cannot hold
it, so it used to be a bare 500 there. Names and tags are refused on both databases with a 400 naming the
field. Values inside the criteria are kept (as JSON, which may hold it) and read back as sent."""

from __future__ import annotations

import json

import pytest

CRITERIA = {"version": 1, "root": {"id": "root", "type": "group", "match": "all", "children": [
    {"id": "a", "type": "event", "event_type": "custom_event", "event_name": "ok"}]}}


def _post(deployment, headers, body: dict):
    return deployment.http.post("/v1/audiences", content=json.dumps(body),
                                headers={**headers, "Content-Type": "application/json"})


@pytest.mark.parametrize(("field", "body"), [
    ("name", {"name": "Buyers\u0000"}),
    ("external_name", {"name": "Buyers", "external_name": "Buyers\u0000"}),
    ("tags[0]", {"name": "Buyers", "tags": ["vip\u0000"]}),
    ("client_ref", {"name": "Buyers", "client_ref": "ref\u0000"}),
])
def test_a_nul_character_is_a_400_naming_the_field_and_nothing_is_stored(deployment, field, body):
    us = deployment.workspace("US")
    ann = deployment.user_token("ann", ["US"])
    reply = _post(deployment, ann, {"workspace_ids": [us], "criteria": CRITERIA, **body})
    assert reply.status_code == 400, reply.text[:300]
    [error] = reply.json()["errors"]
    assert error["field"] == field and "U+0000" in error["message"]
    assert deployment.http.get("/v1/audiences", headers=ann).json()["audiences"] == []


def test_a_nul_character_inside_the_criteria_is_kept_and_read_back(deployment):
    us = deployment.workspace("US")
    ann = deployment.user_token("ann", ["US"])
    criteria = {**CRITERIA, "root": {**CRITERIA["root"], "children": [
        {**CRITERIA["root"]["children"][0], "event_name": "o\u0000k"}]}}
    reply = _post(deployment, ann, {"name": "Buyers", "workspace_ids": [us], "criteria": criteria})
    assert reply.status_code == 201, reply.text[:300]
    stored = deployment.http.get(f"/v1/audiences/{reply.json()['id']}", headers=ann).json()
    assert stored["criteria"]["root"]["children"][0]["event_name"] == "o\u0000k"
