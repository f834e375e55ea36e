"""A server whose home or --snapshot-dir path holds an apostrophe (issue 24: every first sync failed,
the path was written into DuckDB's COPY statement as a string literal) serves its snapshot, and a
laptop whose cache path holds one loads it: the result equals a page-by-page sync."""

from __future__ import annotations

from app.connectors.cache import Cache
from app.connectors.sync_client import NO_RETRY, RemoteWorkspace, SyncClient
from tests import factories
from tests.server.compare import differences
from tests.server.sync_client import pull as pull_pages
from tests.server.test_sync import _send, _set_up_us


def test_a_first_sync_from_a_snapshot_kept_under_a_path_with_apostrophes(start_server, tmp_path):
    snapshots = tmp_path / "O'Brien's server" / "snap'shots"
    deployment = start_server(snapshot_dir=snapshots, snapshot_follow_ingest=False)
    workspace_id, inputs = _set_up_us(deployment)
    _send(deployment, inputs, [("iOS", factories.batch(mpid, events=[factories.purchase(), factories.event()])) for mpid in range(1, 30)])
    headers = deployment.user_token("ann", ["US"])

    laptop = tmp_path / "Ann's laptop" / "cache.duckdb"
    laptop.parent.mkdir()
    client = SyncClient(deployment.server.base_url, headers["Authorization"].removeprefix("Bearer "), backoff=NO_RETRY)
    cache = Cache(laptop)
    try:
        report = client.pull(cache, RemoteWorkspace(workspace_id, "US", 0), 1)
        cache.refresh_catalogs()
    finally:
        cache.close()
        client.close()
    assert report.snapshot and report.batches == 29
    assert any(snapshots.joinpath("exports").iterdir())

    paged = Cache(tmp_path / "paged.duckdb")
    try:
        pull_pages(deployment.http, headers, workspace_id, paged)
    finally:
        paged.close()
    assert differences(laptop, tmp_path / "paged.duckdb") == {}
