"""Property test (issue 24): generated criteria documents, valid and mutated, sent to the server's
audience endpoints (create, then update) on SQLite and PostgreSQL: never a 500; a document the
reader accepts is stored and read back unchanged; any other is a 400 naming a field under
`criteria`, and nothing is stored."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.builder.catalog import load_catalog
from app.builder.document import empty_document, problems
from tests.builder.documents import CALCULATED, Facts, documents
from tests.builder.mutations import mutated
from tests.builder.reference import CacheData
from tests.builder.test_document_properties import _batches
from tests.builder.workspaces import load, new_cache


@pytest.fixture(scope="module")
def facts():
    """What the valid documents are drawn from: a small real cache's catalog and data."""
    cache = load(new_cache(), _batches())
    try:
        cursor = cache.cursor()
        yield Facts(CacheData.load(cursor), load_catalog(cursor, calculated={1: CALCULATED, 2: CALCULATED}))
    finally:
        cache.close()


def _body(document) -> bytes:
    # allow_nan: NaN and Infinity go out as the literals a careless client sends.
    return json.dumps(document, allow_nan=True).encode()


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_the_server_stores_what_the_reader_accepts_and_names_the_field_of_anything_else(deployment, facts, data):
    if not hasattr(deployment, "probe"):
        deployment.probe = (deployment.workspace("US"), deployment.user_token("ann", ["US"]), [0])
    us, headers, counter = deployment.probe
    counter[0] += 1
    valid = documents(facts, (us,))
    document = data.draw(st.one_of(valid, mutated(valid)), label="criteria")
    accepted = problems(document) == []
    name = f"A{counter[0]}"
    create = (b'{"name": "%s", "workspace_ids": [%d], "criteria": ' % (name.encode(), us)) + _body(document) + b"}"
    reply = deployment.http.post("/v1/audiences", content=create, headers={**headers, "Content-Type": "application/json"})
    _check(reply, accepted, document)
    if accepted:
        assert reply.json()["criteria"] == document
        return
    # The same document as an edit of a stored audience: refused the same way, the stored one kept.
    stored = deployment.http.post("/v1/audiences", json={"name": f"{name} ok", "workspace_ids": [us], "criteria": empty_document()},
                                  headers=headers).json()
    edit = (b'{"name": "%s ok", "version": 1, "criteria": ' % name.encode()) + _body(document) + b"}"
    reply = deployment.http.put(f"/v1/audiences/{stored['id']}", content=edit, headers={**headers, "Content-Type": "application/json"})
    _check(reply, False, document)
    assert deployment.http.get(f"/v1/audiences/{stored['id']}", headers=headers).json()["version"] == 1


def _check(reply, accepted: bool, document) -> None:
    shown = json.dumps(document, allow_nan=True)[:2000]
    assert reply.status_code < 500, f"{reply.status_code} {reply.text[:500]}\n{shown}"
    if accepted:
        assert reply.status_code == 201, f"a valid document was refused: {reply.text[:500]}\n{shown}"
        return
    assert reply.status_code == 400, f"{reply.status_code} {reply.text[:500]}\n{shown}"
    [error] = reply.json()["errors"][:1]
    # INVALID_FIELD: the body's model refused it first (criteria that is not an object).
    assert error["code"] in ("INVALID_CRITERIA", "INVALID_FIELD"), reply.text[:500]
    assert error["field"] == "criteria" or error["field"].startswith("criteria."), reply.text[:500]
    assert error["message"].startswith("criteria: ") and len(error["message"]) < 6000
