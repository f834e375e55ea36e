"""Audience definitions with criteria at and beyond the documented limits (issue 24): groups nested
64 deep are stored, deeper ones (100 used to be a bare 500) and values no document may hold are a
400 naming the field, on SQLite and PostgreSQL."""

from __future__ import annotations

#: The documented limit (docs/criteria.md).
MAX_GROUP_DEPTH = 64

LEAF = '{"id": "leaf", "type": "event", "event_type": "install"}'


def nested(levels: int) -> str:
    """A criteria document as JSON text, `levels` groups deep (the root is the first)."""
    opened = "".join('{"id": "%s", "type": "group", "match": "all", "children": [' % ("root" if i == 0 else f"g{i}")
                     for i in range(levels))
    return '{"version": 1, "root": ' + opened + LEAF + "]}" * levels + "}"


def post(deployment, headers, workspace: int, name: str, criteria: str):
    body = '{"name": "%s", "workspace_ids": [%d], "criteria": %s}' % (name, workspace, criteria)
    return deployment.http.post("/v1/audiences", content=body, headers={**headers, "Content-Type": "application/json"})


def test_groups_nested_to_the_limit_are_stored_and_deeper_ones_refused_naming_the_field(deployment):
    us = deployment.workspace("US")
    ann = deployment.user_token("ann", ["US"])
    stored = post(deployment, ann, us, "Deepest", nested(MAX_GROUP_DEPTH))
    assert stored.status_code == 201, stored.text[:500]
    for levels in (MAX_GROUP_DEPTH + 1, 100, 400):
        reply = post(deployment, ann, us, f"Deep {levels}", nested(levels))
        assert reply.status_code == 400, (levels, reply.status_code, reply.text[:300])
        [error] = reply.json()["errors"]
        assert error["code"] == "INVALID_CRITERIA" and error["field"] == "criteria.root" + ".children[0]" * MAX_GROUP_DEPTH
        assert f"groups nest at most {MAX_GROUP_DEPTH} levels deep" in error["message"] and len(error["message"]) < 400
    # An edit deeper than the limit is refused the same way, and the stored version is kept.
    audience = stored.json()
    edit = '{"name": "Deepest", "version": 1, "criteria": %s}' % nested(100)
    reply = deployment.http.put(f"/v1/audiences/{audience['id']}", content=edit, headers={**ann, "Content-Type": "application/json"})
    assert reply.status_code == 400 and reply.json()["errors"][0]["code"] == "INVALID_CRITERIA"
    assert deployment.http.get(f"/v1/audiences/{audience['id']}", headers=ann).json()["version"] == 1


def test_non_finite_numbers_and_oversized_values_are_refused_naming_the_field(deployment):
    us = deployment.workspace("US")
    ann = deployment.user_token("ann", ["US"])
    frequency = ('{"version": 1, "root": {"id": "root", "type": "group", "match": "all", "children": ['
                 '{"id": "a", "type": "event", "event_type": "install", "frequency": {"operator": "ge", "value": %s}}]}}')
    for index, number in enumerate(["NaN", "Infinity", "-Infinity", "1e400"]):
        reply = post(deployment, ann, us, f"N{index}", frequency % number)
        assert reply.status_code == 400, (number, reply.text)
        [error] = reply.json()["errors"]
        assert (error["code"], error["field"]) == ("INVALID_CRITERIA", "criteria.root.children[0].frequency.value")
    huge = "x" * 1_000_000
    reply = post(deployment, ann, us, "Huge", frequency.replace('"install"', f'"{huge}"') % 1)
    assert reply.status_code == 400 and len(reply.text) < 2000
    assert reply.json()["errors"][0]["field"] == "criteria.root.children[0].event_type"


def test_a_document_with_thousands_of_problems_is_refused_in_a_readable_message(deployment):
    us = deployment.workspace("US")
    ann = deployment.user_token("ann", ["US"])
    children = ", ".join('{"id": "n%d", "type": "event", "event_type": "bogus"}' % i for i in range(3000))
    reply = post(deployment, ann, us, "Many", '{"version": 1, "root": {"id": "root", "type": "group", "match": "all", "children": [%s]}}' % children)
    assert reply.status_code == 400
    [error] = reply.json()["errors"]
    assert error["field"] == "criteria.root.children[0].event_type" and error["message"].endswith("; and 2990 more problems")
