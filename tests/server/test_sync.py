"""The sync API: pages of a workspace's changes load into a fresh cache through `CacheWriter` and give
exactly what `audience-studio import` of the same batches gives; cursors resume; samples; isolation."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from app.cli.main import main
from app.connectors.cache import Cache, sample_bucket
from app.connectors.sync_format import PART_SCHEMAS, read_part
from app.paths import resolve_home
from app.server.pages import Page
from tests import factories
from tests.server.batches import demo_batches, later_state, runs
from tests.server.compare import differences, table_counts
from tests.server.sync_client import pull


def _loads(pairs):
    """The batches as `import` can load them, in order: `import --feed` applies to a whole import, so
    the app batches, then the feed's, then newer state for a few profiles."""
    return [[p for p in pairs if not p[0].startswith("feed:")], [p for p in pairs if p[0].startswith("feed:")], later_state(pairs)]


def _set_up_us(deployment):
    workspace_id = deployment.workspace("US")
    inputs = {p: deployment.platform_input("US", p) for p in ("iOS", "Android", "Web")}
    inputs["feed:CRM"] = deployment.feed_input("US", "CRM")
    return workspace_id, inputs


def _send(deployment, inputs, pairs) -> None:
    for input_name, group in runs(pairs):
        reply = deployment.http.post("/v2/bulkevents", json=group, auth=inputs[input_name].auth)
        assert reply.status_code == 202, reply.text


def _import(tmp_path, loads):
    """The same batches through `audience-studio import`, in the same order; returns the cache's path."""
    home = tmp_path / "imported"
    for i, pairs in enumerate(loads):
        path = tmp_path / f"load{i}.ndjson"
        path.write_text("".join(json.dumps(b) + "\n" for _, b in pairs))
        feed = {name[5:] for name, _ in pairs if name.startswith("feed:")}
        assert main(["--home", str(home), "import", *(["--feed", feed.pop()] if feed else []), str(path)]) == 0
    return resolve_home(home).cache_path


def _synced(tmp_path, name, deployment, headers, workspace_id, **kwargs):
    path = tmp_path / f"{name}.duckdb"
    cache = Cache(path)
    try:
        cursor, pages = pull(deployment.http, headers, workspace_id, cache, **kwargs)
    finally:
        cache.close()
    return path, cursor, pages


def test_a_synced_cache_equals_an_import_of_the_same_batches(start_server, tmp_path):
    deployment = start_server(page_batches=150)
    workspace_id, inputs = _set_up_us(deployment)
    loads = _loads(demo_batches())
    for pairs in loads:
        _send(deployment, inputs, pairs)
    headers = deployment.user_token("ann", ["US"])

    synced, _, pages = _synced(tmp_path, "synced", deployment, headers, workspace_id)
    imported = _import(tmp_path, loads)

    assert pages >= 2
    counts = table_counts(synced)
    assert all(counts.values()), f"every cache table should hold rows: {counts}"
    assert differences(synced, imported) == {}


def test_a_sync_stopped_after_a_page_resumes_from_its_cursor(start_server, tmp_path):
    deployment = start_server(page_batches=30, page_events=400)
    workspace_id, inputs = _set_up_us(deployment)
    pairs = demo_batches(profiles=40)
    _send(deployment, inputs, pairs)
    headers = deployment.user_token("ann", ["US"])

    whole, _, _ = _synced(tmp_path, "whole", deployment, headers, workspace_id)
    resumed, cursor, pages = _synced(tmp_path, "resumed", deployment, headers, workspace_id, max_pages=1)
    assert pages == 1
    cache = Cache(resumed)  # a new client process picks up the stored cursor
    try:
        _, more_pages = pull(deployment.http, headers, workspace_id, cache, cursor=cursor)
    finally:
        cache.close()
    assert more_pages >= 2
    assert differences(whole, resumed) == {}


def test_a_sync_brings_only_what_arrived_since_its_cursor(deployment, tmp_path):
    workspace_id = deployment.workspace("US")
    ios = deployment.platform_input("US", "iOS")
    headers = deployment.user_token("ann", ["US"])
    assert deployment.http.post("/v2/events", json=factories.batch(1), auth=ios.auth).status_code == 202
    cache = Cache(tmp_path / "c.duckdb")
    try:
        cursor, pages = pull(deployment.http, headers, workspace_id, cache)
        assert pages == 1
        again, pages = pull(deployment.http, headers, workspace_id, cache, cursor=cursor)
        assert pages == 0 and again == cursor
        assert deployment.http.post("/v2/events", json=factories.batch(2), auth=ios.auth).status_code == 202
        _, pages = pull(deployment.http, headers, workspace_id, cache, cursor=cursor)
        assert pages == 1
        assert cache.cursor().execute("SELECT list_sort(list(mpid)) FROM profiles").fetchone()[0] == [1, 2]
    finally:
        cache.close()


def test_a_sample_holds_exactly_the_profiles_of_its_buckets(deployment, tmp_path):
    workspace_id, inputs = _set_up_us(deployment)
    _send(deployment, inputs, demo_batches(profiles=80))
    headers = deployment.user_token("ann", ["US"])
    whole, _, _ = _synced(tmp_path, "whole", deployment, headers, workspace_id)
    sampled, cursor, _ = _synced(tmp_path, "sampled", deployment, headers, workspace_id, sample=0.3)

    import duckdb

    with duckdb.connect(str(whole), read_only=True) as con:
        everyone = {m for (m,) in con.execute("SELECT mpid FROM profiles").fetchall()}
        expected_events = con.execute("SELECT list(mpid) FROM events").fetchone()[0]
    with duckdb.connect(str(sampled), read_only=True) as con:
        chosen = {m for (m,) in con.execute("SELECT mpid FROM profiles").fetchall()}
        events = con.execute("SELECT list(mpid) FROM events").fetchone()[0]
    assert chosen == {m for m in everyone if sample_bucket(m) < 3000}
    assert 0 < len(chosen) < len(everyone)
    assert sorted(events) == sorted(m for m in expected_events if m in chosen)

    # The cursor remembers its sample: asking for another with it is refused, clearly.
    reply = deployment.http.get(f"/v1/workspaces/{workspace_id}/changes", params={"cursor": cursor, "sample": 0.5}, headers=headers)
    assert reply.status_code == 400 and reply.json()["errors"][0]["field"] == "sample"
    reply = deployment.http.get(f"/v1/workspaces/{workspace_id}/changes", params={"sample": 0}, headers=headers)
    assert reply.status_code == 400 and reply.json()["errors"][0]["field"] == "sample"


def test_a_token_reads_only_its_users_workspaces(deployment):
    us = deployment.workspace("US")
    eu = deployment.workspace("EU")
    eu_ios = deployment.platform_input("EU", "iOS")
    assert deployment.http.post("/v2/events", json=factories.batch(), auth=eu_ios.auth).status_code == 202
    ann = deployment.user_token("ann", ["US"])
    eve = deployment.user_token("eve", ["EU"])

    assert [w["name"] for w in deployment.http.get("/v1/me", headers=ann).json()["workspaces"]] == ["US"]
    reply = deployment.http.get(f"/v1/workspaces/{eu}/changes", headers=ann)
    assert reply.status_code == 403 and reply.json()["errors"][0]["code"] == "FORBIDDEN"
    page = deployment.http.get(f"/v1/workspaces/{eu}/changes", headers=eve).json()
    assert page["batches"] == 1
    events_url = next(p["url"] for p in page["parts"] if p["table"] == "events")
    assert deployment.http.get(events_url, headers=ann).status_code == 403
    # Nor by relabelling the page as another workspace's.
    assert deployment.http.get(events_url.replace(f"/workspaces/{eu}/", f"/workspaces/{us}/"), headers=ann).status_code == 400
    assert deployment.http.get(f"/v1/workspaces/{us}/changes", headers=ann).status_code == 200


def test_sync_needs_a_valid_token(deployment):
    workspace_id = deployment.workspace("US")
    deployment.user_token("ann", ["US"])
    for headers in ({}, {"Authorization": "Bearer as-token-nope"}, {"Authorization": "Basic YTpi"}):
        reply = deployment.http.get(f"/v1/workspaces/{workspace_id}/changes", headers=headers)
        assert reply.status_code == 401
        assert reply.headers["www-authenticate"] == "Bearer"
    deployment.admin.revoke_tokens("ann")


def test_malformed_cursors_and_pages_get_clear_400s(deployment):
    us = deployment.workspace("US")
    eu = deployment.workspace("EU")
    ios = deployment.platform_input("US", "iOS")
    assert deployment.http.post("/v2/events", json=factories.batch(), auth=ios.auth).status_code == 202
    headers = deployment.user_token("ann", ["US", "EU"])
    for cursor in ("garbage", "c1.!!!", "c1.e30"):
        reply = deployment.http.get(f"/v1/workspaces/{us}/changes", params={"cursor": cursor}, headers=headers)
        assert reply.status_code == 400 and reply.json()["errors"][0]["field"] == "cursor", reply.text
    eu_cursor = deployment.http.get(f"/v1/workspaces/{eu}/changes", headers=headers).json()["next_cursor"]
    reply = deployment.http.get(f"/v1/workspaces/{us}/changes", params={"cursor": eu_cursor}, headers=headers)
    assert reply.status_code == 400 and "workspace" in reply.json()["errors"][0]["message"]
    reply = deployment.http.get(f"/v1/workspaces/{us}/changes", params={"sample": "lots"}, headers=headers)
    assert reply.status_code == 400 and reply.json()["errors"][0]["field"] == "sample"
    # A page larger than the server makes, forged by hand, is refused (it would take unbounded memory).
    forged = Page(us, 0, 10**9, None, -1, -1).token()
    assert deployment.http.get(f"/v1/workspaces/{us}/pages/{forged}/events", headers=headers).status_code == 400
    assert deployment.http.get(f"/v1/workspaces/{us}/pages/p1.xyz/events", headers=headers).status_code == 400
    reply = deployment.http.get(f"/v1/workspaces/{us}/pages/{Page(us, 0, 1, None, -1, -1).token()}/nonsense", headers=headers)
    assert reply.status_code == 400 and reply.json()["errors"][0]["field"] == "table"


def test_a_cursor_past_the_servers_data_is_a_409(deployment):
    us = deployment.workspace("US")
    headers = deployment.user_token("ann", ["US"])
    from app.server.pages import Position

    reply = deployment.http.get(f"/v1/workspaces/{us}/changes", params={"cursor": Position(us, 5, None).cursor()}, headers=headers)
    assert reply.status_code == 409 and reply.json()["errors"][0]["code"] == "CURSOR_AHEAD"


def test_every_part_is_an_arrow_stream_of_its_declared_schema_and_the_openapi_says_so(deployment):
    us = deployment.workspace("US")
    ios = deployment.platform_input("US", "iOS")
    assert deployment.http.post("/v2/events", json=factories.batch(events=[factories.purchase()]), auth=ios.auth).status_code == 202
    headers = deployment.user_token("ann", ["US"])
    page = deployment.http.get(f"/v1/workspaces/{us}/changes", headers=headers).json()
    assert {p["table"] for p in page["parts"]} == set(PART_SCHEMAS)
    for part in page["parts"]:
        reply = deployment.http.get(part["url"], headers=headers)
        table = read_part(part["table"], reply.content)
        assert table.num_rows == part["rows"] == int(reply.headers["x-rows"])
        assert isinstance(table, pa.Table)
    schema = deployment.http.get("/openapi.json").json()
    part_op = schema["paths"]["/v1/workspaces/{workspace_id}/pages/{page}/{table}"]["get"]
    assert "application/vnd.apache.arrow.stream" in part_op["responses"]["200"]["content"]
    assert "422" not in json.dumps(schema["paths"])


@pytest.mark.parametrize("table", sorted(PART_SCHEMAS))
def test_the_page_format_matches_what_staging_makes(table):
    from app.connectors.batches import Rows, map_batch
    from app.connectors.staging import tables_of
    from app.connectors.sync_format import parts_of

    rows = Rows()
    map_batch(factories.batch(events=[factories.purchase(), factories.event()], deleted_user_attributes=["x"],
                              attribution_info={"publisher": "p", "campaign": "c"}), rows, workspace_id=1, seq=1)
    parts = parts_of(tables_of(rows))
    assert parts[table].num_rows > 0
    assert parts[table].schema.equals(PART_SCHEMAS[table])
