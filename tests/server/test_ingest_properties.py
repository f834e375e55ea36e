"""Property tests (issue 24): hypothesis-made mParticle batches, valid per the published schema and
mutated, against the live ingest endpoint on SQLite and PostgreSQL: no 500, every valid batch accepted,
every refusal a 4xx naming its field, a bulk request all or nothing, and everything accepted syncs into
a real DuckDB cache."""

from __future__ import annotations

import orjson
from hypothesis import HealthCheck, given, settings
from sqlalchemy import func, select

from app.connectors.cache import Cache
from app.server.tables import batches as stored_batches
from tests.mparticle_batches import batches, mutated_batches
from tests.server.sync_client import pull


def test_ingest_accepts_valid_batches_and_names_the_field_it_refuses(deployment, tmp_path):
    workspace_id = deployment.workspace("US")
    crm = deployment.feed_input("US", "CRM")
    headers = deployment.user_token("ann", ["US"])

    def stored() -> int:
        with deployment.database.read() as connection:
            return connection.execute(select(func.count()).select_from(stored_batches)
                                      .where(stored_batches.c.workspace_id == workspace_id)).scalar_one()

    @settings(max_examples=30, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
    @given(valid=batches, mutated=mutated_batches())
    def check(valid, mutated):
        valid.pop("source_request_id", None)  # resent ids are stored once: keep the count simple
        reply = deployment.http.post("/v2/events", content=orjson.dumps(valid), auth=crm.auth,
                                     headers={"content-type": "application/json"})
        assert reply.status_code == 202, reply.text
        before = stored()
        reply = deployment.http.post("/v2/bulkevents", content=orjson.dumps([valid, mutated]), auth=crm.auth,
                                     headers={"content-type": "application/json"})
        assert reply.status_code in (202, 400), reply.text
        if reply.status_code == 400:
            [error] = reply.json()["errors"]
            assert error.get("field", "").startswith("[1]"), error  # the mutated batch, by its field
            assert stored() == before  # nothing of the request was stored
        else:
            assert stored() in (before + 1, before + 2)  # the mutated batch's id may already be stored

    check()
    cache = Cache(tmp_path / "laptop.duckdb")
    try:
        pull(deployment.http, headers, workspace_id, cache)  # every accepted batch loads
        assert cache.cursor().execute("SELECT count(*) FROM loads").fetchone()[0] >= 1
    finally:
        cache.close()
