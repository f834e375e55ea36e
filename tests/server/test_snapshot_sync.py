"""First sync from the server's snapshot: it gives exactly the cache a page-by-page sync gives (whole
and sampled, then with incremental pages after it), a bad or interrupted snapshot leaves the cache as
it was, a workspace holding rows already is synced by pages, and snapshots are per workspace."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from app.connectors.cache import Cache
from app.connectors.sync_client import (
    CURSOR_KEY,
    Backoff,
    RemoteWorkspace,
    SyncCancelled,
    SyncClient,
    SyncError,
)
from tests import factories
from tests.server.batches import demo_batches, later_state
from tests.server.compare import differences, table_counts
from tests.server.sync_client import pull as pull_pages
from tests.server.test_sync import _send, _set_up_us


def _client(deployment, headers) -> SyncClient:
    return SyncClient(deployment.server.base_url, headers["Authorization"].removeprefix("Bearer "), backoff=Backoff(first=0.05, patience=0.2))


def _remote(deployment, workspace_id: int) -> RemoteWorkspace:
    return RemoteWorkspace(workspace_id, "US", 0)


def _client_sync(path: Path, deployment, headers, workspace_id, **kwargs):
    """Sync with the app's client (snapshot first when it can) into the cache at `path`; its report."""
    client = _client(deployment, headers)
    cache = Cache(path)
    try:
        report = client.pull(cache, _remote(deployment, workspace_id), 1, **kwargs)
        cache.refresh_catalogs()
        return report
    finally:
        cache.close()
        client.close()


def _page_sync(path: Path, deployment, headers, workspace_id, **kwargs) -> Path:
    """The same workspace synced page by page, with no snapshot (the tests' own minimal client)."""
    cache = Cache(path)
    try:
        pull_pages(deployment.http, headers, workspace_id, cache, **kwargs)
    finally:
        cache.close()
    return path


def _meta(path: Path) -> dict[str, str]:
    cache = Cache(path)
    try:
        return dict(cache.cursor().execute("SELECT key, value FROM cache_meta").fetchall())
    finally:
        cache.close()


@pytest.fixture
def us(start_server, tmp_path):
    """A server keeping snapshots, with the demo workspace US ingested in small pages, and ann's token."""
    deployment = start_server(page_batches=40, page_events=600, snapshot_dir=tmp_path / "snapshots")
    workspace_id, inputs = _set_up_us(deployment)
    pairs = demo_batches(profiles=80)
    _send(deployment, inputs, pairs)
    _send(deployment, inputs, later_state(pairs))
    return deployment, workspace_id, inputs, pairs, deployment.user_token("ann", ["US"])


def test_a_snapshot_sync_equals_a_page_by_page_sync(us, tmp_path):
    deployment, workspace_id, _, _, headers = us
    report = _client_sync(tmp_path / "snapshot.duckdb", deployment, headers, workspace_id)
    paged = _page_sync(tmp_path / "paged.duckdb", deployment, headers, workspace_id)

    assert report.snapshot and report.pages == 1
    counts = table_counts(tmp_path / "snapshot.duckdb")
    assert all(counts.values()), f"every cache table should hold rows: {counts}"
    assert counts == table_counts(paged)
    assert differences(tmp_path / "snapshot.duckdb", paged) == {}
    # The cache's bookkeeping is what the page loads leave: event numbering, loads, the cursor.
    snap, pages = _meta(tmp_path / "snapshot.duckdb"), _meta(paged)
    assert snap["next_event_id"] == pages["next_event_id"] == str(counts["events"] + 1)
    assert snap["source"] == "sync"
    assert snap[CURSOR_KEY.format(server=deployment.server.base_url, workspace=workspace_id)]
    assert report.batches == deployment.http.get("/v1/me", headers=headers).json()["workspaces"][0]["last_seq"]
    assert report.rows == sum(counts[t] for t in ("profiles", "identities", "attributes", "attribute_deletions", "consent",
                                                  "devices", "locations", "attribution", "events", "event_products"))


def test_a_snapshot_then_new_batches_then_an_incremental_sync_equals_the_server(us, tmp_path):
    deployment, workspace_id, inputs, pairs, headers = us
    path = tmp_path / "laptop.duckdb"
    first = _client_sync(path, deployment, headers, workspace_id)
    assert first.snapshot

    more = [("iOS", factories.batch(900_000 + k, events=[factories.purchase(), factories.event()])) for k in range(30)]
    _send(deployment, inputs, more + later_state(pairs, profiles=10))
    second = _client_sync(path, deployment, headers, workspace_id)
    assert not second.snapshot and second.batches == 40

    assert differences(path, _page_sync(tmp_path / "paged.duckdb", deployment, headers, workspace_id)) == {}
    # A new client now gets a newer snapshot; the older one's files are gone.
    old_url = next(p["url"] for p in _snapshot(deployment, workspace_id, headers)["parts"])
    _send(deployment, inputs, [("iOS", factories.batch(950_000))])
    newer = _snapshot(deployment, workspace_id, headers)
    assert newer["through"] == newer["server_last_seq"]
    gone = deployment.http.get(old_url, headers=headers)
    assert gone.status_code == 404 and gone.json()["errors"][0]["code"] == "SNAPSHOT_GONE"
    assert _client_sync(tmp_path / "newcomer.duckdb", deployment, headers, workspace_id).snapshot
    assert differences(tmp_path / "newcomer.duckdb", _page_sync(tmp_path / "paged2.duckdb", deployment, headers, workspace_id)) == {}


def _snapshot(deployment, workspace_id, headers, **params) -> dict:
    reply = deployment.http.get(f"/v1/workspaces/{workspace_id}/snapshot", params=params, headers=headers)
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_a_sampled_snapshot_equals_a_sampled_page_sync(us, tmp_path):
    deployment, workspace_id, _, _, headers = us
    report = _client_sync(tmp_path / "sampled.duckdb", deployment, headers, workspace_id, sample=0.3)
    paged = _page_sync(tmp_path / "paged.duckdb", deployment, headers, workspace_id, sample=0.3)

    assert report.snapshot and report.sample == 0.3
    assert differences(tmp_path / "sampled.duckdb", paged) == {}
    whole = table_counts(_page_sync(tmp_path / "whole.duckdb", deployment, headers, workspace_id))
    assert 0 < table_counts(paged)["profiles"] < whole["profiles"]
    assert _meta(tmp_path / "sampled.duckdb")["sync_sample"] == "0.3"


def test_a_snapshot_that_lags_the_server_is_followed_by_pages(start_server, tmp_path):
    """A request brings its snapshot up to date for a limited time only: with none at all it serves
    the first page's worth, and the client's pages after the snapshot's cursor bring the rest."""
    deployment = start_server(page_batches=10, page_events=150, snapshot_dir=tmp_path / "snapshots", snapshot_catch_up_seconds=0,
                              snapshot_follow_ingest=False)
    workspace_id, inputs = _set_up_us(deployment)
    _send(deployment, inputs, demo_batches(profiles=40))
    headers = deployment.user_token("ann", ["US"])

    report = _client_sync(tmp_path / "laptop.duckdb", deployment, headers, workspace_id)
    assert report.snapshot and report.pages > 1  # the snapshot, then pages
    assert differences(tmp_path / "laptop.duckdb", _page_sync(tmp_path / "paged.duckdb", deployment, headers, workspace_id)) == {}


@pytest.mark.parametrize("damage", ["truncated", "not parquet", "rows missing"])
def test_a_malformed_snapshot_part_is_a_sync_error_and_leaves_the_cache_as_it_was(us, tmp_path, damage):
    deployment, workspace_id, _, _, headers = us
    listing = _snapshot(deployment, workspace_id, headers)  # made and exported; its files are then damaged
    folder = next((tmp_path / "snapshots" / "exports").iterdir())
    events = folder / "events.parquet"
    if damage == "truncated":
        events.write_bytes(events.read_bytes()[: events.stat().st_size // 2])
    elif damage == "not parquet":
        (folder / "profiles.parquet").write_bytes(b"PAR1 this is not a parquet file")
    else:  # a valid file with fewer rows than listed
        import duckdb

        with duckdb.connect() as con:
            con.execute(f"COPY (SELECT * FROM read_parquet('{events}') LIMIT 5) TO '{folder / 'short.parquet'}' (FORMAT parquet)")
        (folder / "short.parquet").replace(events)
    path = tmp_path / "laptop.duckdb"
    Cache(path).close()
    before = _meta(path)

    with pytest.raises(SyncError, match="malformed|nothing of it was kept"):
        _client_sync(path, deployment, headers, workspace_id)
    assert _meta(path) == before
    assert not any(table_counts(path).values())

    # Once the server has a sound snapshot again, the next sync starts the snapshot anew.
    for file in folder.iterdir():
        file.unlink()
    folder.rmdir()
    assert listing["through"] == _snapshot(deployment, workspace_id, headers)["through"]
    assert _client_sync(path, deployment, headers, workspace_id).snapshot
    assert differences(path, _page_sync(tmp_path / "paged.duckdb", deployment, headers, workspace_id)) == {}


def test_a_sync_cancelled_during_the_snapshot_keeps_nothing_and_starts_it_again(us, tmp_path):
    deployment, workspace_id, _, _, headers = us
    path = tmp_path / "laptop.duckdb"
    Cache(path).close()
    before = _meta(path)
    asked = []

    def cancelled() -> bool:
        asked.append(1)
        return len(asked) > 3  # after three parts

    with pytest.raises(SyncCancelled, match="nothing of it was kept"):
        _client_sync(path, deployment, headers, workspace_id, cancelled=cancelled)
    assert _meta(path) == before and not any(table_counts(path).values())
    assert _client_sync(path, deployment, headers, workspace_id).snapshot
    assert differences(path, _page_sync(tmp_path / "paged.duckdb", deployment, headers, workspace_id)) == {}


def test_a_workspace_holding_rows_already_is_synced_by_pages(us, tmp_path):
    deployment, workspace_id, _, _, headers = us
    path = tmp_path / "laptop.duckdb"
    cache = Cache(path)
    try:  # an import into the same local workspace before the first sync
        from app.connectors.batches import Rows, map_batch

        rows = Rows()
        map_batch(factories.batch(123_456_789), rows, workspace_id=1, seq=1)
        with cache.writing(source="import") as writer:
            writer.add(rows, 1)
    finally:
        cache.close()

    report = _client_sync(path, deployment, headers, workspace_id)
    assert not report.snapshot and report.pages > 1
    assert not (tmp_path / "snapshots" / "exports").exists()  # the server was never asked for one
    cache = Cache(path)
    try:
        assert cache.cursor().execute("SELECT count(*) FROM profiles WHERE mpid = 123456789").fetchone()[0] == 1
    finally:
        cache.close()


def test_a_server_without_snapshots_is_synced_by_pages(start_server, tmp_path):
    deployment = start_server(page_batches=40)
    workspace_id, inputs = _set_up_us(deployment)
    _send(deployment, inputs, demo_batches(profiles=30))
    headers = deployment.user_token("ann", ["US"])
    reply = deployment.http.get(f"/v1/workspaces/{workspace_id}/snapshot", headers=headers)
    assert reply.status_code == 404 and reply.json()["errors"][0]["code"] == "SNAPSHOTS_OFF"

    report = _client_sync(tmp_path / "laptop.duckdb", deployment, headers, workspace_id)
    assert not report.snapshot and report.pages >= 1
    assert differences(tmp_path / "laptop.duckdb", _page_sync(tmp_path / "paged.duckdb", deployment, headers, workspace_id)) == {}


def test_a_token_reads_only_its_users_snapshots(start_server, tmp_path):
    deployment = start_server(snapshot_dir=tmp_path / "snapshots")
    us = deployment.workspace("US")
    eu = deployment.workspace("EU")
    eu_ios = deployment.platform_input("EU", "iOS")
    assert deployment.http.post("/v2/events", json=factories.batch(events=[factories.purchase()]), auth=eu_ios.auth).status_code == 202
    ann = deployment.user_token("ann", ["US"])
    eve = deployment.user_token("eve", ["EU"])

    reply = deployment.http.get(f"/v1/workspaces/{eu}/snapshot", headers=ann)
    assert reply.status_code == 403 and reply.json()["errors"][0]["code"] == "FORBIDDEN"
    listing = _snapshot(deployment, eu, eve)
    assert listing["through"] == 1 and {p["table"] for p in listing["parts"]} >= {"profiles", "events", "event_products"}
    events_url = next(p["url"] for p in listing["parts"] if p["table"] == "events")
    got = deployment.http.get(events_url, headers=eve)
    assert got.status_code == 200 and got.headers["content-type"].startswith("application/vnd.apache.parquet")
    assert got.content[:4] == b"PAR1" and int(got.headers["x-rows"]) == 1
    assert deployment.http.get(events_url, headers=ann).status_code == 403
    # Nor by relabelling the part as another workspace's.
    assert deployment.http.get(events_url.replace(f"/workspaces/{eu}/", f"/workspaces/{us}/"), headers=ann).status_code == 400
    assert deployment.http.get(f"/v1/workspaces/{us}/snapshots/s1.xyz/events", headers=ann).status_code == 400


def test_a_snapshot_applies_the_same_pages_as_a_page_sync_even_where_pages_matter(start_server, tmp_path):
    """A deletion in one page and an older value of the same attribute in a later page: the cache's
    attribute_deletions keep the deletion, in the snapshot as in a page sync, so both leave nothing."""
    deployment = start_server(page_batches=1, snapshot_dir=tmp_path / "snapshots")
    workspace_id, inputs = _set_up_us(deployment)
    deleted = factories.batch(7, at=factories.T0 + 60_000, deleted_user_attributes=["loyalty_tier"], user_attributes={"tier": "new"})
    older = factories.batch(7, at=factories.T0)  # loyalty_tier=gold, a minute before its deletion
    _send(deployment, inputs, [("iOS", deleted), ("iOS", older)])
    headers = deployment.user_token("ann", ["US"])

    report = _client_sync(tmp_path / "snapshot.duckdb", deployment, headers, workspace_id)
    paged = _page_sync(tmp_path / "paged.duckdb", deployment, headers, workspace_id)
    assert report.snapshot
    assert differences(tmp_path / "snapshot.duckdb", paged) == {}
    with duckdb.connect(str(paged), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM attributes WHERE name = 'loyalty_tier'").fetchone() == (0,)


def test_ingest_brings_the_snapshot_up_to_date_in_the_background(start_server, tmp_path):
    """After accepted batches the server catches the workspace's snapshot up on its own, so the next
    first sync finds it warm (here a snapshot request itself may apply only one page of one batch)."""
    deployment = start_server(page_batches=1, snapshot_dir=tmp_path / "snapshots", snapshot_catch_up_seconds=0)
    workspace_id, inputs = _set_up_us(deployment)
    _send(deployment, inputs, [("iOS", factories.batch(mpid)) for mpid in range(1, 6)])
    background = deployment.server.app.state.server.snapshots._background.get((workspace_id, None))
    assert background is not None, "ingest started no catch-up"
    background.join(timeout=60)
    headers = deployment.user_token("ann", ["US"])
    snapshot = deployment.http.get(f"/v1/workspaces/{workspace_id}/snapshot", headers=headers).json()
    assert snapshot["through"] == 5


@pytest.mark.parametrize("given", [None, "elsewhere"])
def test_serve_keeps_snapshots_in_the_home_unless_told_where(tmp_path, monkeypatch, given):
    import uvicorn

    from app.cli.main import main

    served = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: served.append(app))
    home = tmp_path / "home"
    extra = ["--snapshot-dir", str(tmp_path / given)] if given else []
    assert main(["--home", str(home), "serve", "--database", f"sqlite:///{tmp_path / 'server.sqlite3'}", *extra]) == 0
    expected = tmp_path / given if given else home.resolve() / "server-snapshots"
    assert served[0].state.server.settings.snapshot_dir == expected
    assert served[0].state.server.snapshots.enabled


_KILLED_CLIENT = """
import sys, time
from pathlib import Path
from app.connectors.cache import Cache
from app.connectors.sync_client import RemoteWorkspace, SyncClient

url, token, workspace_id, cache_path, marker = sys.argv[1:]
def progress(report):  # the first part is on disk: say so, then wait to be killed
    Path(marker).write_text(str(report.bytes))
    time.sleep(120)
SyncClient(url, token).pull(Cache(cache_path), RemoteWorkspace(int(workspace_id), "US", 0), 1, progress=progress)
"""


def test_a_sync_killed_during_the_snapshot_download_leaves_the_cache_as_it_was(us, tmp_path):
    import subprocess
    import sys
    import time

    deployment, workspace_id, _, _, headers = us
    path = tmp_path / "laptop.duckdb"
    Cache(path).close()
    before = _meta(path)
    marker = tmp_path / "downloading"
    client = subprocess.Popen([sys.executable, "-c", _KILLED_CLIENT, deployment.server.base_url,
                               headers["Authorization"].removeprefix("Bearer "), str(workspace_id), str(path), str(marker)])
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and client.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the client never reached the snapshot's download"
    finally:
        client.kill()  # SIGKILL, mid-download
        client.wait(30)

    assert _meta(path) == before and not any(table_counts(path).values())
    assert _client_sync(path, deployment, headers, workspace_id).snapshot  # started again
    assert differences(path, _page_sync(tmp_path / "paged.duckdb", deployment, headers, workspace_id)) == {}


def test_audience_studio_sync_starts_a_new_home_from_the_snapshot(secret_service, start_server, tmp_path, monkeypatch, capsys):
    """The app's own path end to end: `sync login`, then `sync` into a new home, whose cache then
    equals a page-by-page sync (catalogs included), and a second sync brings only pages."""
    from app.cli.main import main
    from app.engines.home import OpenHome
    from app.paths import resolve_home
    from tests.server.test_sync_client import _login, _token

    deployment = start_server(page_batches=40, snapshot_dir=tmp_path / "snapshots")
    workspace_id, inputs = _set_up_us(deployment)
    _send(deployment, inputs, demo_batches(profiles=60))
    headers = deployment.user_token("ann", ["US"])
    home = tmp_path / "laptop"
    assert _login(monkeypatch, home, deployment.server.base_url, _token(headers)) == 0
    capsys.readouterr()

    assert main(["--home", str(home), "sync"]) == 0
    assert "US (new in this home): the server's snapshot, " in capsys.readouterr().out  # and nothing after it
    assert differences(resolve_home(home).cache_path, _page_sync(tmp_path / "paged.duckdb", deployment, headers, workspace_id)) == {}
    with OpenHome.open(resolve_home(home)) as opened:
        assert {(i.kind, i.name) for i in opened.workspaces.get("US").inputs} >= {("platform", "iOS"), ("feed", "CRM")}
        assert [row[0] for row in opened.cache.cursor().execute("SELECT description FROM loads").fetchall()] == [
            f"{deployment.server.base_url} US: snapshot through batch {deployment.admin.list_workspaces()[0].batches}"]

    _send(deployment, inputs, [("iOS", factories.batch(4_242))])
    assert main(["--home", str(home), "sync"]) == 0
    assert "US: 1 page, 1 batch" in capsys.readouterr().out
