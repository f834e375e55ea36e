"""Revenue on the server and in sync: rows uploaded to a live server (SQLite and PostgreSQL) arrive in
the cache exactly, a correction replaces what it corrects, NULL agency or channel stay distinct keys,
a stopped sync resumes to the same end, malformed pages and bad uploads leave nothing behind, and a
token reads and writes only its own workspaces."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyarrow as pa
import pytest

from app.connectors.cache import REVENUE_TABLES
from app.connectors.sync_client import (
    NO_RETRY,
    REVENUE_CURSOR_KEY,
    RemoteWorkspace,
    SyncCancelled,
    SyncClient,
    SyncError,
)

LOCAL = 5  # the laptop numbers its workspaces its own way

D1, D2 = "2026-03-02", "2026-03-03"


def _record(day, segment, agency, channel, revenue, impressions=1000, currency="USD"):
    return {"day": day, "segment_key": segment, "agency": agency, "channel": channel, "impressions": impressions,
            "revenue": revenue, "currency": currency}


RECORDS = [
    _record(D1, "HP - Onboarding nudge", "northpeak", "The Trade Desk", 12.5),
    _record(D1, "HP - Onboarding nudge", None, "Meta", 8.0, impressions=None),  # Meta names no agency
    _record(D1, "HP - Onboarding nudge", "northpeak", None, 3.25),  # a direct deal: no channel
    _record(D1, "HP - Onboarding nudge", None, None, 1.0, impressions=None),  # neither reported
    _record(D1, "HP - Onboarding nudge", "northpeak", "The Trade Desk", 11.0, currency="EUR"),  # another currency
    _record(D2, "HP - Onboarding nudge", "bluefin", "DV360", 7.75),
    _record(D2, "High-value Gmail shoppers (US)", "bluefin", "DV360", 20.0),
    _record(D2, "High-value Gmail shoppers (US)", None, "Google Ads", 4.5, impressions=None),
]
COUNTS = [{"day": day, "segment_key": key, "members": members}
          for day, key, members in ((D1, "HP - Onboarding nudge", 1200), (D2, "HP - Onboarding nudge", 1250),
                                    (D2, "High-value Gmail shoppers (US)", 310))]
AGENCIES = [{"agency": "northpeak", "name": "Northpeak Media", "kind": "agency", "country": "US", "contact": "t@northpeak.example"},
            {"agency": "bluefin", "name": "Bluefin Performance", "kind": "agency", "country": None, "contact": None}]


def _team(deployment):
    us = deployment.workspace("US")
    eu = deployment.workspace("EU")
    headers = deployment.user_token("ann", ["US"], role="admin")  # uploading revenue needs admin
    return us, eu, headers


def _upload(deployment, headers, workspace_id, **body):
    reply = deployment.http.post(f"/v1/workspaces/{workspace_id}/revenue", json=body, headers=headers)
    assert reply.status_code == 200, reply.text
    return reply.json()


def _client(deployment, headers) -> SyncClient:
    return SyncClient(deployment.server.base_url, headers["Authorization"].removeprefix("Bearer "), backoff=NO_RETRY)


def _cached(cache, table: str, workspace_id: int = LOCAL) -> list[tuple]:
    """The cache's rows of a revenue table (without workspace_id), days as ISO text, sorted."""
    names = [n for n in REVENUE_TABLES[table][0].names if n != "workspace_id"]
    rows = cache.cursor().execute(f"SELECT {', '.join(names)} FROM {table} WHERE workspace_id = ?", [workspace_id]).fetchall()
    return sorted((tuple(v.isoformat() if isinstance(v, dt.date) else v for v in row) for row in rows), key=repr)


def _rows(items: list[dict], table: str) -> list[tuple]:
    names = [n for n in REVENUE_TABLES[table][0].names if n != "workspace_id"]
    return sorted((tuple(item.get(n) for n in names) for item in items), key=repr)


def _all_rows(cache, table: str) -> int:
    return cache.cursor().execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]


def test_uploaded_revenue_arrives_in_the_cache_and_a_correction_replaces_what_it_corrects(start_server, cache):
    deployment = start_server(revenue_page_rows=4)
    us, _eu, headers = _team(deployment)
    assert _upload(deployment, headers, us, records=RECORDS, segment_counts=COUNTS, agencies=AGENCIES) == {
        "records": 8, "segment_counts": 3, "agencies": 2}
    client = _client(deployment, headers)
    remote = RemoteWorkspace(us, "US", 0)

    report = client.pull_revenue(cache, remote, LOCAL)
    assert report.pages == 4 and report.rows == 13  # 13 rows, at most 4 per page
    assert _cached(cache, "revenue_records") == _rows(RECORDS, "revenue_records")  # the four NULL-keyed rows stay apart
    assert _cached(cache, "segment_counts") == _rows(COUNTS, "segment_counts")
    assert _cached(cache, "agencies") == _rows(AGENCIES, "agencies")
    assert cache.meta(REVENUE_CURSOR_KEY.format(server=deployment.server.base_url, workspace=us)) == report.cursor

    # A channel corrects two reports (one of them the agency-less Meta line) and a count; one new record.
    corrected = [dict(RECORDS[1], revenue=9.0), dict(RECORDS[6], revenue=21.5, impressions=1100)]
    new = _record(D2, "HP - Onboarding nudge", "bluefin", "Xandr", 2.0)
    _upload(deployment, headers, us, records=[*corrected, new], segment_counts=[dict(COUNTS[2], members=320)])
    again = client.pull_revenue(cache, remote, LOCAL)
    assert again.rows == 4
    expected = [r for i, r in enumerate(RECORDS) if i not in (1, 6)] + corrected + [new]
    assert _cached(cache, "revenue_records") == _rows(expected, "revenue_records")
    assert _all_rows(cache, "revenue_records") == 9  # updates, not duplicates
    assert _cached(cache, "segment_counts") == _rows(COUNTS[:2] + [dict(COUNTS[2], members=320)], "segment_counts")

    # Nothing new: no page, nothing written.
    version = cache.meta("revenue_version")
    assert client.pull_revenue(cache, remote, LOCAL).pages == 0
    assert cache.meta("revenue_version") == version
    client.close()


def test_a_sync_stopped_after_its_first_page_resumes_to_exactly_the_servers_rows(start_server, cache):
    deployment = start_server(revenue_page_rows=3)
    us, _eu, headers = _team(deployment)
    _upload(deployment, headers, us, records=RECORDS, segment_counts=COUNTS, agencies=AGENCIES)
    client = _client(deployment, headers)
    remote = RemoteWorkspace(us, "US", 0)
    pages = []

    with pytest.raises(SyncCancelled, match="after 1 pages of revenue"):
        client.pull_revenue(cache, remote, LOCAL, progress=lambda report: pages.append(report.pages),
                            cancelled=lambda: len(pages) >= 1)
    kept = sum(_all_rows(cache, t) for t in REVENUE_TABLES)
    assert kept == 3  # the first page, whole, with its cursor

    # Meanwhile a record of that first page is corrected: it moves to a later change number.
    first = cache.cursor().execute("SELECT day, segment_key, agency, channel, currency FROM revenue_records LIMIT 1").fetchall()
    moved = None
    if first:
        day, segment, agency, channel, currency = first[0]
        moved = next(r for r in RECORDS if (r["day"], r["segment_key"], r["agency"], r["channel"], r["currency"])
                     == (day.isoformat(), segment, agency, channel, currency))
        _upload(deployment, headers, us, records=[dict(moved, revenue=99.0)])
    client.pull_revenue(cache, remote, LOCAL)
    expected = [dict(r, revenue=99.0) if r is moved else r for r in RECORDS]
    assert _cached(cache, "revenue_records") == _rows(expected, "revenue_records")
    assert _cached(cache, "segment_counts") == _rows(COUNTS, "segment_counts")
    assert _cached(cache, "agencies") == _rows(AGENCIES, "agencies")
    assert _all_rows(cache, "revenue_records") == len(RECORDS)
    client.close()


def test_a_row_corrected_between_a_page_and_its_parts_comes_on_a_later_page(deployment, cache):
    us, _eu, headers = _team(deployment)
    _upload(deployment, headers, us, records=RECORDS[:3])
    page = deployment.http.get(f"/v1/workspaces/{us}/revenue/changes", headers=headers).json()
    assert (page["rows"], page["through"], page["more"]) == (3, 3, False)
    [part] = page["parts"]
    _upload(deployment, headers, us, records=[dict(RECORDS[0], revenue=50.0)])  # moves to change 4

    got = deployment.http.get(part["url"], headers=headers)
    assert got.status_code == 200 and got.headers["x-rows"] == "2"  # the part re-queried: the moved row has left it
    table = pa.ipc.open_stream(got.content).read_all()
    assert table.schema.equals(REVENUE_TABLES["revenue_records"][0]) and table.num_rows == 2
    assert 50.0 not in table["revenue"].to_pylist() and 12.5 not in table["revenue"].to_pylist()

    later = deployment.http.get(f"/v1/workspaces/{us}/revenue/changes", params={"cursor": page["next_cursor"]}, headers=headers).json()
    assert (later["after"], later["through"], later["rows"]) == (3, 4, 1)

    client = _client(deployment, headers)
    client.pull_revenue(cache, RemoteWorkspace(us, "US", 0), LOCAL)
    assert _cached(cache, "revenue_records") == _rows([dict(RECORDS[0], revenue=50.0), *RECORDS[1:3]], "revenue_records")
    client.close()


def test_bad_rows_are_refused_naming_the_field_and_nothing_of_the_upload_is_stored(deployment):
    us, _eu, headers = _team(deployment)
    cases = [
        ({"records": [RECORDS[0], dict(RECORDS[1], revenue="lots")]}, "records[1].revenue"),
        ({"records": [dict(RECORDS[0], currency="usd")]}, "records[0].currency"),
        ({"records": [dict(RECORDS[0], day="2026-02-30")]}, "records[0].day"),
        ({"records": RECORDS[:2] + [{k: v for k, v in RECORDS[2].items() if k != "segment_key"}]}, "records[2].segment_key"),
        ({"records": [dict(RECORDS[0], agency="   ")], "agencies": AGENCIES}, "records[0].agency"),  # blank is not "not reported"
        ({"segment_counts": [dict(COUNTS[0], members=-1)]}, "segment_counts[0].members"),
        ({"agencies": [dict(AGENCIES[0], colour="blue")]}, "agencies[0].colour"),
    ]
    for body, field in cases:
        reply = deployment.http.post(f"/v1/workspaces/{us}/revenue", json=body, headers=headers)
        assert reply.status_code == 400, (field, reply.text)
        [error] = reply.json()["errors"]
        assert error["field"] == field and error["message"].startswith(field), error
    # JSON's NaN and Infinity are not revenue
    reply = deployment.http.post(f"/v1/workspaces/{us}/revenue", content=json.dumps({"records": [dict(RECORDS[0], revenue=float("nan"))]}),
                                 headers=headers | {"Content-Type": "application/json"})
    assert reply.status_code == 400 and reply.json()["errors"][0]["field"] == "records[0].revenue"

    page = deployment.http.get(f"/v1/workspaces/{us}/revenue/changes", headers=headers).json()
    assert (page["rows"], page["server_revenue_seq"], page["parts"], page["page"]) == (0, 0, [], None)


def test_a_body_above_the_limit_is_413(start_server):
    deployment = start_server(max_body_bytes=2_000)
    us, _eu, headers = _team(deployment)
    reply = deployment.http.post(f"/v1/workspaces/{us}/revenue", json={"records": RECORDS * 10}, headers=headers)
    assert reply.status_code == 413 and reply.json()["errors"][0]["code"] == "TOO_LARGE"


def test_a_token_reads_and_writes_only_its_own_workspaces_revenue(deployment):
    us, eu, headers = _team(deployment)
    bob = deployment.user_token("bob", ["EU"], role="admin")
    _upload(deployment, bob, eu, records=[dict(RECORDS[0], currency="EUR")])
    eu_page = deployment.http.get(f"/v1/workspaces/{eu}/revenue/changes", headers=bob).json()

    assert deployment.http.post(f"/v1/workspaces/{eu}/revenue", json={"records": RECORDS}, headers=headers).status_code == 403
    assert deployment.http.get(f"/v1/workspaces/{eu}/revenue/changes", headers=headers).status_code == 403
    assert deployment.http.get(eu_page["parts"][0]["url"], headers=headers).status_code == 403
    # A cursor or page of another workspace, used on one's own, is a 400 naming it.
    stolen = deployment.http.get(f"/v1/workspaces/{us}/revenue/changes", params={"cursor": eu_page["next_cursor"]}, headers=headers)
    assert stolen.status_code == 400 and stolen.json()["errors"][0]["field"] == "cursor"
    url = eu_page["parts"][0]["url"].replace(f"/workspaces/{eu}/", f"/workspaces/{us}/")
    assert deployment.http.get(url, headers=headers).status_code == 400
    assert deployment.http.post(f"/v1/workspaces/{us}/revenue", json={"records": RECORDS}).status_code == 401
    # EU still holds only bob's record; US nothing.
    assert deployment.http.get(f"/v1/workspaces/{eu}/revenue/changes", headers=bob).json()["rows"] == 1
    assert deployment.http.get(f"/v1/workspaces/{us}/revenue/changes", headers=headers).json()["rows"] == 0


def test_a_cursor_ahead_of_the_server_is_409(deployment):
    from app.server.revenue import cursor

    us, _eu, headers = _team(deployment)
    reply = deployment.http.get(f"/v1/workspaces/{us}/revenue/changes", params={"cursor": cursor(us, 5)}, headers=headers)
    assert reply.status_code == 409 and reply.json()["errors"][0]["code"] == "CURSOR_AHEAD"


class _Malformed(BaseHTTPRequestHandler):
    """A server whose revenue part is wrong in the way `mode` says."""

    mode = "columns"

    def do_GET(self):
        schema = REVENUE_TABLES["segment_counts"][0]
        good = pa.table({"workspace_id": [1, 1], "day": [dt.date(2026, 3, 2)] * 2, "segment_key": ["a", "b"], "members": [1, 2]}, schema=schema)
        headers = {}
        if "/changes" in self.path:
            body, kind = json.dumps({"rows": 3, "more": False, "next_cursor": "r9", "parts": [
                {"table": "agencies", "rows": 1, "url": "/v1/workspaces/1/revenue/pages/p/agencies"},
                {"table": "segment_counts", "rows": 2, "url": "/v1/workspaces/1/revenue/pages/p/segment_counts"}]}).encode(), "application/json"
        elif self.path.endswith("/agencies"):  # a good part, loaded before the bad one is seen
            table = pa.table({"workspace_id": [1], "agency": ["x"], "name": ["X"], "kind": [None], "country": [None], "contact": [None]},
                             schema=REVENUE_TABLES["agencies"][0])
            body, kind, headers = _stream(table), "application/vnd.apache.arrow.stream", {"X-Rows": "1"}
        else:
            table = {"columns": good.rename_columns(["workspace_id", "day", "segment", "members"]),
                     "rows": good, "cut": good}[self.mode]
            body, kind = _stream(table), "application/vnd.apache.arrow.stream"
            headers = {"X-Rows": {"columns": "2", "rows": "2", "cut": "5"}[self.mode]}
            if self.mode == "rows":
                body = _stream(pa.concat_tables([good, good]))
                headers = {"X-Rows": "4"}
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _stream(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


@pytest.mark.parametrize(("mode", "message"), [("columns", "do not match"), ("rows", "more than the 2"), ("cut", "the server said 5")])
def test_a_malformed_revenue_page_is_named_and_nothing_of_it_is_kept(cache, mode, message, monkeypatch):
    monkeypatch.setattr(_Malformed, "mode", mode)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Malformed)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        client = SyncClient(url, "token", backoff=NO_RETRY)
        with pytest.raises(SyncError, match=f"segment_counts.*malformed.*{message}.*nothing of that page was kept"):
            client.pull_revenue(cache, RemoteWorkspace(1, "US", 0), LOCAL)
        assert sum(_all_rows(cache, t) for t in REVENUE_TABLES) == 0
        assert cache.meta(REVENUE_CURSOR_KEY.format(server=url, workspace=1)) is None
        assert cache.meta("revenue_version") is None
        client.close()
    finally:
        server.shutdown()


def test_a_server_database_made_before_revenue_gains_it_and_keeps_its_workspaces(database_url):
    from alembic import command
    from sqlalchemy import create_engine, text

    from app.server.database import alembic_config, open_database

    engine = create_engine(database_url)
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(text("INSERT INTO workspaces (name, last_seq, created_at) VALUES ('US', 7, '2026-01-01 00:00:00')"))
    engine.dispose()

    database = open_database(database_url)  # migrates to the newest revision
    try:
        from app.server import revenue

        with database.read() as connection:
            assert connection.execute(text("SELECT name, last_seq, revenue_seq FROM workspaces")).all() == [("US", 7, 0)]
        us = revenue.workspace_of(database, "US")[0]
        assert revenue.store(database, us, {"records": revenue.check_rows("records", RECORDS[:2])}) == {
            "records": 2, "segment_counts": 0, "agencies": 0}
    finally:
        database.close()
