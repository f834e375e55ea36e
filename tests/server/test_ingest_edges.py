"""Ingest edges found by tests kept outside the project (issue 24), against a live server on SQLite and
PostgreSQL: valid batches accepted, what is accepted always loads, resent batches stored once, only JSON
read, and every refusal a 4xx naming its field."""

from __future__ import annotations

import datetime as dt
import json
import zlib

import orjson
import pytest
from sqlalchemy import insert, select

from app.cli.main import main
from app.connectors.cache import Cache
from app.server.tables import batches, inputs
from tests import factories
from tests.server.sync_client import pull


def _stored(deployment, workspace_id: int) -> int:
    with deployment.database.read() as connection:
        return len(connection.execute(select(batches.c.seq).where(batches.c.workspace_id == workspace_id)).all())


def _us(deployment):
    workspace_id = deployment.workspace("US")
    return workspace_id, deployment.platform_input("US", "iOS"), deployment.user_token("ann", ["US"])


def test_a_profile_only_batch_is_accepted_and_takes_the_moment_it_was_received(deployment, tmp_path):
    workspace_id, ios, headers = _us(deployment)
    profile_only = factories.batch(7, events=[], timestamp_unixtime_ms=None)
    no_events = factories.batch(8, events=[], timestamp_unixtime_ms=None)
    del no_events["events"]
    before = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    for body in (profile_only, no_events):
        reply = deployment.http.post("/v2/events", json=body, auth=ios.auth)
        assert reply.status_code == 202, reply.text
    after = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    cache = Cache(tmp_path / "laptop.duckdb")
    try:
        pull(deployment.http, headers, workspace_id, cache)
        seen = cache.cursor().execute("SELECT mpid, first_seen FROM profiles ORDER BY mpid").fetchall()
        assert [mpid for mpid, _ in seen] == [7, 8]
        for _, first_seen in seen:
            assert before - dt.timedelta(milliseconds=1) <= first_seen <= after
        assert cache.cursor().execute("SELECT count(*) FROM attributes WHERE name = 'loyalty_tier'").fetchone()[0] == 2
    finally:
        cache.close()


def test_a_change_event_reusing_the_changes_names_is_accepted_synced_and_snapshotted(start_server, tmp_path):
    deployment = start_server(snapshot_dir=tmp_path / "snapshots")
    workspace_id, ios, headers = _us(deployment)
    clashing = factories.batch(5, events=[
        factories.event("user_attribute_change", user_attribute_name="tier", new="gold",
                        custom_attributes={"user_attribute_name": "a", "new": "b"}),
        factories.event("user_identity_change", new={"identity_type": "email", "identity": "x@y.z", "timestamp_unixtime_ms": factories.T0},
                        old={"identity_type": "email", "identity": "o@y.z", "timestamp_unixtime_ms": factories.T0},
                        custom_attributes={"identity_type": "c"}),
    ])
    assert deployment.http.post("/v2/events", json=clashing, auth=ios.auth).status_code == 202
    assert deployment.http.post("/v2/events", json=factories.batch(6), auth=ios.auth).status_code == 202
    snapshot = deployment.http.get(f"/v1/workspaces/{workspace_id}/snapshot", headers=headers)
    assert snapshot.status_code == 200, snapshot.text
    assert snapshot.json()["through"] == 2
    cache = Cache(tmp_path / "laptop.duckdb")
    try:
        pull(deployment.http, headers, workspace_id, cache)
        changed = cache.cursor().execute("SELECT attributes['new'], attributes['custom_attributes.new'] FROM events "
                                         "WHERE event_type = 'user_attribute_change'").fetchall()
        assert changed == [("gold", "b")]
        assert cache.cursor().execute("SELECT count(*) FROM profiles").fetchone()[0] == 2
    finally:
        cache.close()


def test_a_resent_batch_is_stored_once_by_its_own_id(deployment):
    workspace_id, ios, _ = _us(deployment)
    deployment.workspace("EU")
    eu = deployment.platform_input("EU", "iOS")
    first = factories.batch(1, source_request_id="req-1")
    for _ in range(2):
        reply = deployment.http.post("/v2/events", json=first, auth=ios.auth)
        assert reply.status_code == 202 and reply.json() == {"batches": 1}
    assert _stored(deployment, workspace_id) == 1
    # In one bulk request, twice, beside a batch already stored, and by mParticle's batch_id.
    bulk = [factories.batch(2, source_request_id="req-2"), factories.batch(2, source_request_id="req-2"), first,
            factories.batch(3, batch_id=42), factories.batch(3, batch_id=42), factories.batch(4), factories.batch(4)]
    assert deployment.http.post("/v2/bulkevents", json=bulk, auth=ios.auth).status_code == 202
    assert _stored(deployment, workspace_id) == 5  # req-1, req-2, batch 42, and both batches without an id
    # Another workspace's batch of the same id is its own.
    assert deployment.http.post("/v2/events", json=first, auth=eu.auth).status_code == 202
    assert _stored(deployment, deployment.admin.list_workspaces()[1].id) == 1
    reply = deployment.http.post("/v2/events", json=factories.batch(source_request_id={"a": 1}), auth=ios.auth)
    assert reply.status_code == 400 and reply.json()["errors"][0]["field"] == "source_request_id"


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                          "application/jsonx", "json"])
def test_a_body_not_declared_json_is_415(deployment, content_type):
    workspace_id, ios, _ = _us(deployment)
    headers = {"content-type": content_type} if content_type else {}
    reply = deployment.http.post("/v2/events", content=orjson.dumps(factories.batch()), auth=ios.auth, headers=headers)
    assert reply.status_code == 415
    [error] = reply.json()["errors"]
    assert error["code"] == "UNSUPPORTED_MEDIA_TYPE" and error["field"] == "Content-Type"
    assert _stored(deployment, workspace_id) == 0


def test_json_with_parameters_and_json_suffixed_types_are_read(deployment):
    workspace_id, ios, _ = _us(deployment)
    for content_type in ("application/json; charset=utf-8", "Application/JSON", "application/vnd.mparticle.batch+json"):
        reply = deployment.http.post("/v2/events", content=orjson.dumps(factories.batch()), auth=ios.auth,
                                     headers={"content-type": content_type})
        assert reply.status_code == 202, (content_type, reply.text)


def _nested(depth: int) -> bytes:
    """JSON text of objects nested `depth` levels deep (written by hand: orjson writes at most 254)."""
    return b'{"a": ' * (depth - 1) + b"{}" + b"}" * (depth - 1)


@pytest.mark.parametrize("depth", [255, 256, 400, 1023, 1030])
def test_an_unknown_field_nested_deeply_is_a_400_naming_it(deployment, depth):
    workspace_id, ios, _ = _us(deployment)
    body = b'{"deep": ' + _nested(depth - 1) + b', ' + orjson.dumps(factories.batch())[1:]
    reply = deployment.http.post("/v2/events", content=body, auth=ios.auth, headers={"content-type": "application/json"})
    assert reply.status_code == 400, reply.text
    [error] = reply.json()["errors"]
    assert error.get("field") == "deep" or error["code"] == "INVALID_JSON"  # past 1024 levels the JSON itself is refused
    assert len(error["message"]) < 400
    bulk = deployment.http.post("/v2/bulkevents", content=b"[" + body + b"]", auth=ios.auth, headers={"content-type": "application/json"})
    assert bulk.status_code == 400
    assert bulk.json()["errors"][0].get("field") in ("[0].deep", None)
    assert _stored(deployment, workspace_id) == 0


def test_strings_holding_nul_are_accepted_and_synced(deployment, tmp_path):
    workspace_id, ios, headers = _us(deployment)
    nul = factories.batch(9, source_request_id="id\u0000x", user_attributes={"na\u0000me": "va\u0000lue"},
                          user_identities={"email": "a\u0000@b.c"},
                          events=[factories.event(event_name="Se\u0000arch", custom_attributes={"k\u0000": "v\u0000"})])
    for _ in range(2):
        reply = deployment.http.post("/v2/events", json=nul, auth=ios.auth)
        assert reply.status_code == 202, reply.text
    assert _stored(deployment, workspace_id) == 1
    cache = Cache(tmp_path / "laptop.duckdb")
    try:
        pull(deployment.http, headers, workspace_id, cache)
        assert cache.cursor().execute("SELECT value FROM attributes WHERE name = 'na\u0000me'").fetchall() == [("va\u0000lue",)]
    finally:
        cache.close()


def _store_old_batch(deployment, workspace_id: int, input_api_key: str, body: dict) -> int:
    """A batch stored as an older server version accepted it (the mapping refuses it now)."""
    with deployment.database.write() as connection:
        input_id = connection.execute(select(inputs.c.id).where(inputs.c.api_key == input_api_key)).scalar_one()
        from sqlalchemy import update

        from app.server.tables import workspaces
        seq = connection.execute(update(workspaces).where(workspaces.c.id == workspace_id)
                                 .values(last_seq=workspaces.c.last_seq + 1).returning(workspaces.c.last_seq)).scalar_one()
        connection.execute(insert(batches).values(workspace_id=workspace_id, seq=seq, input_id=input_id, mpid=body["mpid"], bucket=0,
                                                  events=len(body["events"]), received_at=dt.datetime.now(dt.timezone.utc),
                                                  body=zlib.compress(orjson.dumps(body))))
    return seq


def test_an_administrator_lists_a_bad_stored_batch_and_quarantines_it(start_server, tmp_path, capsys):
    deployment = start_server(snapshot_dir=tmp_path / "snapshots")
    workspace_id, ios, headers = _us(deployment)
    assert deployment.http.post("/v2/events", json=factories.batch(1), auth=ios.auth).status_code == 202
    bad = _store_old_batch(deployment, workspace_id, ios.api_key, factories.batch(2, timestamp_unixtime_ms=1_700_000_000))
    assert deployment.http.post("/v2/events", json=factories.batch(3), auth=ios.auth).status_code == 202

    # The stored batch stops pages and snapshots with a message naming it, not a bare 500.
    page = deployment.http.get(f"/v1/workspaces/{workspace_id}/changes", headers=headers)
    assert page.status_code == 500
    assert page.json()["errors"][0]["code"] == "UNLOADABLE_BATCH"
    assert f"stored batch {bad} of workspace {workspace_id}" in page.json()["errors"][0]["message"]

    def admin(*args) -> str:
        assert main(["--home", str(tmp_path / "home"), "server", "batch", *args, "--database", deployment.url]) == 0
        return capsys.readouterr().out

    listed = json.loads(admin("list", "US", "--json"))
    assert [b["seq"] for b in listed] == [1, 2, 3]
    assert [b["seq"] for b in listed if b["problem"]] == [bad]
    assert "timestamp_unixtime_ms" in listed[1]["problem"]
    assert [b["seq"] for b in json.loads(admin("list", "US", "--problems", "--json"))] == [bad]

    assert "quarantined" in admin("quarantine", "US", str(bad), "--reason", "old mapping")
    listed = json.loads(admin("list", "US", "--problems", "--json"))
    assert listed[0]["quarantined"] and listed[0]["reason"] == "old mapping"
    snapshot = deployment.http.get(f"/v1/workspaces/{workspace_id}/snapshot", headers=headers)
    assert snapshot.status_code == 200 and snapshot.json()["batches"] == 2
    cache = Cache(tmp_path / "laptop.duckdb")
    try:
        pull(deployment.http, headers, workspace_id, cache)
        assert [r[0] for r in cache.cursor().execute("SELECT mpid FROM profiles ORDER BY mpid").fetchall()] == [1, 3]
    finally:
        cache.close()

    # Released, it is served again as the newest batch (here it still does not map: quarantine it again).
    assert "served again as batch 4" in admin("release", "US", str(bad))
    assert [b["seq"] for b in json.loads(admin("list", "US", "--json"))] == [1, 3, 4]
    assert main(["--home", str(tmp_path / "home"), "server", "batch", "release", "US", "4", "--database", deployment.url]) == 1
    assert "not quarantined" in capsys.readouterr().err
    admin("quarantine", "US", "4")


def test_a_batch_quarantined_after_the_snapshot_took_it_is_left_out_of_the_next_snapshot(start_server, tmp_path, capsys):
    deployment = start_server(snapshot_dir=tmp_path / "snapshots", snapshot_follow_ingest=False)
    workspace_id, ios, headers = _us(deployment)
    assert deployment.http.post("/v2/bulkevents", json=[factories.batch(m) for m in (1, 2, 3)], auth=ios.auth).status_code == 202
    assert deployment.http.get(f"/v1/workspaces/{workspace_id}/snapshot", headers=headers).json()["batches"] == 3
    assert main(["--home", str(tmp_path / "home"), "server", "batch", "quarantine", "US", "2", "--database", deployment.url]) == 0
    again = deployment.http.get(f"/v1/workspaces/{workspace_id}/snapshot", headers=headers).json()
    assert again["batches"] == 2
    assert {p["table"]: p["rows"] for p in again["parts"]}["profiles"] == 2
