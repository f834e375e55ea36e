"""Ingest compatible with mParticle's Events API, against a live server on SQLite and on PostgreSQL."""

from __future__ import annotations

import gzip

import orjson

from tests import factories


def _stored(deployment, headers) -> int:
    """Batches the server holds in the token's first workspace."""
    return deployment.http.get("/v1/me", headers=headers).json()["workspaces"][0]["last_seq"]


def test_a_batch_is_accepted_with_202_and_stored(deployment):
    deployment.workspace("US")
    ios = deployment.platform_input("US", "iOS")
    reply = deployment.http.post("/v2/events", json=factories.batch(), auth=ios.auth)
    assert reply.status_code == 202, reply.text
    assert reply.json() == {"batches": 1}
    assert _stored(deployment, deployment.user_token("ann", ["US"])) == 1


def test_a_malformed_batch_is_a_400_naming_the_field_and_nothing_is_stored(deployment):
    deployment.workspace("US")
    ios = deployment.platform_input("US", "iOS")
    bad = factories.batch(events=[factories.event(at=factories.T0), factories.event(at=1_700_000_000)])
    reply = deployment.http.post("/v2/events", json=bad, auth=ios.auth)
    assert reply.status_code == 400
    [error] = reply.json()["errors"]
    assert error["code"] == "INVALID_BATCH"
    assert error["field"] == "events[1].data.timestamp_unixtime_ms"
    assert error["message"].startswith("events[1].data.timestamp_unixtime_ms: ")
    assert _stored(deployment, deployment.user_token("ann", ["US"])) == 0


def test_a_bulk_request_is_all_or_nothing(deployment):
    deployment.workspace("US")
    ios = deployment.platform_input("US", "iOS")
    headers = deployment.user_token("ann", ["US"])
    batches = [factories.batch(1), factories.batch(2, user_attributes={"tier": {"nested": True}}), factories.batch(3)]
    reply = deployment.http.post("/v2/bulkevents", json=batches, auth=ios.auth)
    assert reply.status_code == 400
    assert reply.json()["errors"][0]["field"] == "[1].user_attributes.tier"
    assert _stored(deployment, headers) == 0

    reply = deployment.http.post("/v2/bulkevents", json=[factories.batch(1), factories.batch(3)], auth=ios.auth)
    assert reply.status_code == 202 and reply.json() == {"batches": 2}
    assert _stored(deployment, headers) == 2


def test_a_bulk_request_holds_one_to_a_hundred_batches(deployment):
    deployment.workspace("US")
    ios = deployment.platform_input("US", "iOS")
    for body in ([], [factories.batch(i) for i in range(101)], factories.batch()):
        reply = deployment.http.post("/v2/bulkevents", json=body, auth=ios.auth)
        assert reply.status_code == 400
        assert "list of batches" in reply.text or "1 to 100" in reply.text


def test_missing_or_wrong_credentials_are_401(deployment):
    deployment.workspace("US")
    ios = deployment.platform_input("US", "iOS")
    for auth in (None, (ios.api_key, "as-secret-wrong"), ("as-key-unknown", ios.secret)):
        reply = deployment.http.post("/v2/events", json=factories.batch(), auth=auth)
        assert reply.status_code == 401
        assert reply.headers["www-authenticate"].startswith("Basic")
        assert reply.json()["errors"][0]["code"] == "UNAUTHORIZED"
    # A user's token is not an input's credentials.
    reply = deployment.http.post("/v2/events", json=factories.batch(), headers=deployment.user_token("ann", ["US"]))
    assert reply.status_code == 401


def test_a_disabled_input_is_403(deployment):
    deployment.workspace("US")
    ios = deployment.platform_input("US", "iOS")
    deployment.admin.set_input_enabled(ios.api_key, False)
    reply = deployment.http.post("/v2/events", json=factories.batch(), auth=ios.auth)
    assert reply.status_code == 403
    assert "disabled" in reply.json()["errors"][0]["message"]
    deployment.admin.set_input_enabled(ios.api_key, True)
    assert deployment.http.post("/v2/events", json=factories.batch(), auth=ios.auth).status_code == 202


def test_a_platform_key_accepts_only_its_platform_and_a_feed_key_any_batch(deployment):
    deployment.workspace("US")
    android = deployment.platform_input("US", "Android")
    reply = deployment.http.post("/v2/events", json=factories.batch(), auth=android.auth)
    assert reply.status_code == 400
    assert reply.json()["errors"][0]["field"] == "application_info.os"
    assert "Android" in reply.json()["errors"][0]["message"]
    crm = deployment.feed_input("US", "CRM")
    no_platform = factories.batch(application_info=None, device_info=None)
    assert deployment.http.post("/v2/events", json=no_platform, auth=crm.auth).status_code == 202
    reply = deployment.http.post("/v2/events", json=no_platform, auth=android.auth)
    assert reply.status_code == 400 and reply.json()["errors"][0]["field"] == "application_info.os"


def test_bodies_that_are_not_a_batch_get_clear_400s(deployment):
    deployment.workspace("US")
    ios = deployment.platform_input("US", "iOS")
    cases = {b"{not json": "not valid JSON", b"": "empty", b"[1, 2]": "JSON object", b"42": "JSON object"}
    for body, words in cases.items():
        reply = deployment.http.post("/v2/events", content=body, auth=ios.auth, headers={"content-type": "application/json"})
        assert reply.status_code == 400, body
        assert words in reply.json()["errors"][0]["message"], reply.text


def test_a_gzipped_body_is_accepted(deployment):
    deployment.workspace("US")
    ios = deployment.platform_input("US", "iOS")
    body = gzip.compress(orjson.dumps([factories.batch(1), factories.batch(2)]))
    reply = deployment.http.post("/v2/bulkevents", content=body, auth=ios.auth,
                                 headers={"content-type": "application/json", "content-encoding": "gzip"})
    assert reply.status_code == 202 and reply.json() == {"batches": 2}


def test_a_body_above_the_limit_is_413(start_server):
    deployment = start_server(max_body_bytes=3_000)
    deployment.workspace("US")
    ios = deployment.platform_input("US", "iOS")
    small = factories.batch()
    assert deployment.http.post("/v2/events", json=small, auth=ios.auth).status_code == 202
    large = [factories.batch(i) for i in range(5)]
    reply = deployment.http.post("/v2/bulkevents", json=large, auth=ios.auth)
    assert reply.status_code == 413
    assert "3,000" in reply.json()["errors"][0]["message"]

    def chunked():  # no Content-Length: the limit holds while the body streams in
        for batch in large:
            yield orjson.dumps(batch)

    reply = deployment.http.post("/v2/bulkevents", content=chunked(), auth=ios.auth, headers={"content-type": "application/json"})
    assert reply.status_code == 413
    # A small gzip that unzips past the limit is refused too.
    bomb = gzip.compress(b"[" + b" " * 100_000 + b"]")
    reply = deployment.http.post("/v2/bulkevents", content=bomb, auth=ios.auth, headers={"content-type": "application/json", "content-encoding": "gzip"})
    assert reply.status_code == 413


def test_above_the_rate_an_input_gets_429_with_retry_after(start_server):
    deployment = start_server(rate_per_second=0.5, rate_burst=2)
    deployment.workspace("US")
    ios = deployment.platform_input("US", "iOS")
    android = deployment.platform_input("US", "Android")
    assert [deployment.http.post("/v2/events", json=factories.batch(), auth=ios.auth).status_code for _ in range(2)] == [202, 202]
    reply = deployment.http.post("/v2/events", json=factories.batch(), auth=ios.auth)
    assert reply.status_code == 429
    assert 1 <= int(reply.headers["retry-after"]) <= 2
    assert reply.json()["errors"][0]["code"] == "RATE_LIMITED"
    # The limit is per input: another input of the workspace is not held back.
    android_batch = factories.batch(application_info={"os": "Android"}, device_info={"platform": "Android"})
    assert deployment.http.post("/v2/events", json=android_batch, auth=android.auth).status_code == 202


def test_concurrent_requests_get_consecutive_sequence_numbers_and_all_reach_a_sync(deployment, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    from app.connectors.cache import Cache
    from tests.server.sync_client import pull

    workspace_id = deployment.workspace("US")
    ios = deployment.platform_input("US", "iOS")
    headers = deployment.user_token("ann", ["US"])

    def send(sender: int) -> list[int]:
        with httpx.Client(base_url=deployment.server.base_url, timeout=30) as http:
            return [http.post("/v2/bulkevents", json=[factories.batch(sender * 100 + i, at=factories.T0 + k) for k in range(3)],
                              auth=ios.auth).status_code for i in range(4)]

    with ThreadPoolExecutor(6) as pool:
        statuses = [s for result in pool.map(send, range(6)) for s in result]
    assert statuses == [202] * 24
    assert _stored(deployment, headers) == 72
    cache = Cache(tmp_path / "c.duckdb")
    try:
        pull(deployment.http, headers, workspace_id, cache)
        assert cache.cursor().execute("SELECT count(*) FROM profiles").fetchone()[0] == 24
    finally:
        cache.close()
