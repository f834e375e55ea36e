"""`audience-studio server revenue load|demo`: revenue from CSV and Parquet files and the demo's year onto
a live server (SQLite and PostgreSQL), refused whole when a row is bad, and synced to a laptop by
`audience-studio sync` into the cache the Revenue pane reads."""

from __future__ import annotations

import datetime as dt
import io
import sys

import pyarrow as pa
import pyarrow.parquet as pq

from app.cli.main import main
from app.connectors import demo_revenue
from app.connectors.cache import REVENUE_TABLES
from app.connectors.sync_client import NO_RETRY, RemoteWorkspace, SyncClient
from app.engines.demo import DEMO_PUBLIC_SEGMENTS, example_audiences
from app.engines.home import OpenHome
from app.engines.sync import history
from app.paths import resolve_home
from app.server.revenue import demo_segments

RECORDS_CSV = """\
day,segment_key,agency,channel,impressions,revenue,currency
2026-03-02,HP - Onboarding nudge,northpeak,The Trade Desk,1000,12.5,USD
2026-03-02,HP - Onboarding nudge,,Meta,,8.0,USD
2026-03-02,HP - Onboarding nudge,northpeak,,250,3.25,USD
2026-03-03,High-value Gmail shoppers (US),bluefin,DV360,2000,20,USD
"""
AGENCIES_CSV = """\
agency,name,kind,country,contact
northpeak,Northpeak Media,agency,US,trading@northpeak.example
bluefin,Bluefin Performance,agency,,
"""


def _server(capsys, home, url, *args) -> tuple[int, str, str]:
    code = main(["--home", str(home), "server", *args, "--database", url])
    out, err = capsys.readouterr()
    return code, out, err


def _pull(deployment, headers, workspace_id, cache):
    client = SyncClient(deployment.server.base_url, headers["Authorization"].removeprefix("Bearer "), backoff=NO_RETRY)
    try:
        return client.pull_revenue(cache, RemoteWorkspace(workspace_id, "US", 0), 1)
    finally:
        client.close()


def test_load_reads_csv_and_parquet_and_the_rows_sync_as_they_were_written(deployment, cache, tmp_path, capsys):
    us = deployment.workspace("US")
    headers = deployment.user_token("ann", ["US"])
    (tmp_path / "records.csv").write_text(RECORDS_CSV)
    (tmp_path / "agencies.csv").write_text(AGENCIES_CSV)
    counts = pa.table({"day": [dt.date(2026, 3, 2), dt.date(2026, 3, 3)], "segment_key": ["HP - Onboarding nudge"] * 2,
                       "members": pa.array([1200, 1250], pa.int64())})
    pq.write_table(counts, tmp_path / "counts.parquet")

    code, out, _ = _server(capsys, tmp_path / "home", deployment.url, "revenue", "load", "--workspace", "us",
                           "--records", str(tmp_path / "records.csv"), "--counts", str(tmp_path / "counts.parquet"),
                           "--agencies", str(tmp_path / "agencies.csv"))
    assert code == 0
    assert "Stored in US: 4 revenue records, 2 member counts, 2 agencies" in out

    _pull(deployment, headers, us, cache)
    records = cache.cursor().execute(
        "SELECT day, segment_key, agency, channel, impressions, revenue, currency FROM revenue_records ORDER BY revenue").fetchall()
    assert records == [
        (dt.date(2026, 3, 2), "HP - Onboarding nudge", "northpeak", None, 250, 3.25, "USD"),  # an empty cell: not reported
        (dt.date(2026, 3, 2), "HP - Onboarding nudge", None, "Meta", None, 8.0, "USD"),
        (dt.date(2026, 3, 2), "HP - Onboarding nudge", "northpeak", "The Trade Desk", 1000, 12.5, "USD"),
        (dt.date(2026, 3, 3), "High-value Gmail shoppers (US)", "bluefin", "DV360", 2000, 20.0, "USD"),
    ]
    assert cache.cursor().execute("SELECT day, members FROM segment_counts ORDER BY day").fetchall() == [
        (dt.date(2026, 3, 2), 1200), (dt.date(2026, 3, 3), 1250)]
    assert cache.cursor().execute("SELECT agency, name, country FROM agencies ORDER BY agency").fetchall() == [
        ("bluefin", "Bluefin Performance", None), ("northpeak", "Northpeak Media", "US")]


def test_a_bad_row_in_any_file_stores_nothing_and_says_where(deployment, cache, tmp_path, capsys):
    us = deployment.workspace("US")
    headers = deployment.user_token("ann", ["US"])
    (tmp_path / "agencies.csv").write_text(AGENCIES_CSV)
    (tmp_path / "records.csv").write_text(RECORDS_CSV.replace(",20,USD", ",twenty,USD"))
    (tmp_path / "records.txt").write_text(RECORDS_CSV)
    home = tmp_path / "home"

    code, _, err = _server(capsys, home, deployment.url, "revenue", "load", "--workspace", "US",
                           "--agencies", str(tmp_path / "agencies.csv"), "--records", str(tmp_path / "records.csv"))
    assert code == 1
    assert "records.csv, row 4 (column revenue): 'twenty' is not a number" in err and "Traceback" not in err
    code, _, err = _server(capsys, home, deployment.url, "revenue", "load", "--workspace", "US", "--records", str(tmp_path / "records.txt"))
    assert code == 1 and "read CSV (.csv) or Parquet (.parquet) files" in err
    code, _, err = _server(capsys, home, deployment.url, "revenue", "load", "--workspace", "US", "--records", str(tmp_path / "none.csv"))
    assert code == 1 and "none.csv: no such file" in err
    code, _, err = _server(capsys, home, deployment.url, "revenue", "load", "--workspace", "Mars", "--agencies", str(tmp_path / "agencies.csv"))
    assert code == 1 and "No workspace 'Mars'" in err

    assert _pull(deployment, headers, us, cache).rows == 0  # not even the good agencies file


def test_demo_puts_the_demo_segments_history_on_the_server_and_sync_brings_it(secret_service, deployment, tmp_path, capsys, monkeypatch):
    deployment.workspace("Harbor & Pine US")
    token = deployment.admin.create_token(deployment.admin.create_user("ann", ["Harbor & Pine US"]).name)
    args = ("revenue", "demo", "--workspace", "harbor & pine us", "--days", "30", "--end", "2026-03-31")
    code, out, _ = _server(capsys, tmp_path / "admin", deployment.url, *args)
    assert code == 0
    segments = demo_segments("Harbor & Pine US")
    # The keys the desktop demo sells its public segments by, in the US workspace's currency.
    assert {s.key for s in segments} == {"HP - Onboarding nudge", "High-value Gmail shoppers (US)", "HP - Cart reminder",
                                         "Campers near Denver", "HP - Win back Android", "Gold and platinum members, US + EU"}
    # ...and as a fresh desktop demo makes them (app.engines.demo.add_demo_revenue, US = 1): the same rows.
    desktop = {(1, spec["external_name"] or spec["name"], "USD") for spec in example_audiences(1, 2)
               if 1 in spec["workspaces"] and spec["name"] in {name for name, _, _ in DEMO_PUBLIC_SEGMENTS}}
    assert {(s.workspace_id, s.key, s.currency) for s in segments} == desktop
    expected = demo_revenue.generate(segments, end=dt.date(2026, 3, 31), days=30, seed=7)
    assert f"{expected.records.num_rows:,} revenue records, {expected.counts.num_rows:,} member counts, 12 agencies" in out
    # Running it again replaces the same rows.
    assert _server(capsys, tmp_path / "admin", deployment.url, *args)[0] == 0

    home = tmp_path / "laptop"
    monkeypatch.setattr(sys, "stdin", io.StringIO(token + "\n"))
    assert main(["--home", str(home), "sync", "login", "--server", deployment.server.base_url]) == 0
    assert main(["--home", str(home), "sync"]) == 0
    with OpenHome.open(resolve_home(home)) as opened:
        local = opened.workspaces.get("Harbor & Pine US").id
        names = [n for n in REVENUE_TABLES["revenue_records"][0].names if n != "workspace_id"]
        cached = opened.cache.cursor().execute(
            f"SELECT {', '.join(names)} FROM revenue_records WHERE workspace_id = ? ORDER BY ALL", [local]).fetchall()
        wanted = sorted((tuple(r[n] for n in names) for r in expected.records.to_pylist()), key=repr)
        assert sorted(cached, key=repr) == wanted
        assert opened.cache.cursor().execute("SELECT count(*) FROM segment_counts WHERE workspace_id = ?", [local]).fetchall()[0][0] \
            == expected.counts.num_rows
        assert history(opened)[0].rows >= expected.records.num_rows + expected.counts.num_rows + 12
