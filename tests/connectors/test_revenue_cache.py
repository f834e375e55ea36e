"""The cache's revenue tables: the writer (latest wins per key, all or nothing, rollups kept in step)
and the additive upgrade of caches made before the tables existed."""

from __future__ import annotations

import datetime as dt

import duckdb
import orjson
import pyarrow as pa
import pytest

from app.connectors.cache import REVENUE_ROLLUPS, REVENUE_TABLES, SCHEMA_VERSION, Cache
from app.connectors.importer import import_files
from app.errors import InvalidInput
from tests.factories import batch

D = dt.date


def records(*rows: tuple) -> pa.Table:
    """(workspace, day, segment, agency, channel, impressions, revenue, currency) tuples as Arrow."""
    names = REVENUE_TABLES["revenue_records"][0].names
    return pa.table({name: [row[i] for row in rows] for i, name in enumerate(names)})


def rows(cache: Cache, sql: str) -> list[tuple]:
    return cache.cursor().execute(sql).fetchall()


def tables(cache: Cache) -> set[str]:
    return {r[0] for r in rows(cache, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'")}


def test_a_record_with_the_same_key_replaces_the_cached_one_unknown_agency_included(cache):
    with cache.writing(source="sync") as writer:
        assert writer.add_revenue(records(
            (1, D(2026, 3, 1), "Hikers", "Acme", "DV360", 1000, 2.5, "USD"),
            (1, D(2026, 3, 1), "Hikers", None, "Meta", None, 4.0, "USD"),
        )) == 2
    with cache.writing(source="sync") as writer:
        # A channel's correction of both records, and a new day.
        writer.add_revenue(records(
            (1, D(2026, 3, 1), "Hikers", "Acme", "DV360", 1200, 3.0, "USD"),
            (1, D(2026, 3, 1), "Hikers", None, "Meta", None, 5.0, "USD"),
            (1, D(2026, 3, 2), "Hikers", None, "Meta", None, 1.0, "USD"),
        ))
    assert rows(cache, "SELECT day, agency, channel, impressions, revenue FROM revenue_records ORDER BY day, channel") == [
        (D(2026, 3, 1), "Acme", "DV360", 1200, 3.0),
        (D(2026, 3, 1), None, "Meta", None, 5.0),
        (D(2026, 3, 2), None, "Meta", None, 1.0),
    ]
    # The rollups follow the replacement instead of adding the old and the new.
    assert rows(cache, "SELECT day, revenue, impressions, records FROM revenue_daily_segments ORDER BY day") == [
        (D(2026, 3, 1), 8.0, 1200, 2), (D(2026, 3, 2), 1.0, None, 1)]
    assert rows(cache, "SELECT month, sum(revenue), sum(records) FROM revenue_monthly GROUP BY month") == [(D(2026, 3, 1), 9.0, 3)]
    assert cache.meta("revenue_version") == "2"


def test_the_last_of_two_records_with_one_key_in_the_same_rows_wins(cache):
    with cache.writing(source="sync") as writer:
        assert writer.add_revenue(records(
            (1, D(2026, 3, 1), "Hikers", None, None, None, 1.0, "USD"),
            (1, D(2026, 3, 1), "Hikers", None, None, None, 7.0, "USD"),
        )) == 1
    assert rows(cache, "SELECT revenue FROM revenue_records") == [(7.0,)]


def test_counts_and_agencies_are_written_latest_wins(cache):
    counts = pa.table({"workspace_id": [1, 1], "day": [D(2026, 1, 1), D(2026, 1, 2)], "segment_key": ["Hikers"] * 2,
                       "members": [10, 12]})
    agencies = pa.table({"workspace_id": [1], "agency": ["acme"], "name": ["Acme Media"], "kind": ["agency"],
                         "country": ["US"], "contact": ["buying@acme.example"]})
    with cache.writing(source="sync") as writer:
        writer.add_segment_counts(counts)
        writer.add_agencies(agencies)
    with cache.writing(source="sync") as writer:
        writer.add_segment_counts(counts.slice(1).set_column(3, "members", pa.array([13])))
        writer.add_agencies(agencies.set_column(2, "name", pa.array(["Acme Media Group"])))
    assert rows(cache, "SELECT day, members FROM segment_counts ORDER BY day") == [(D(2026, 1, 1), 10), (D(2026, 1, 2), 13)]
    assert rows(cache, "SELECT agency, name, country FROM agencies") == [("acme", "Acme Media Group", "US")]


@pytest.mark.parametrize("table, message", [
    (pa.table({"workspace_id": [1], "day": [D(2026, 1, 1)]}), "no column segment_key"),
    (records((1, D(2026, 1, 1), None, "a", "c", 1, 1.0, "USD")), "1 rows have no segment_key"),
    (records((1, D(2026, 1, 1), "s", "a", "c", 1, None, "USD")), "1 rows have no revenue"),
    (records((1, "yesterday", "s", "a", "c", 1, 1.0, "USD")), "revenue_records"),
])
def test_malformed_records_are_refused_and_nothing_of_the_load_is_kept(cache, table, message):
    with pytest.raises(InvalidInput, match=message), cache.writing(source="sync") as writer:
        writer.add_revenue(records((1, D(2026, 1, 1), "s", "a", "c", 1, 1.0, "USD")))
        writer.add_revenue(table)
    assert rows(cache, "SELECT count(*) FROM revenue_records") == [(0,)]
    assert rows(cache, "SELECT count(*) FROM revenue_daily_segments") == [(0,)]
    assert cache.meta("revenue_version") is None


def test_forgetting_a_workspace_forgets_its_revenue(cache):
    with cache.writing(source="sync") as writer:
        writer.add_revenue(records((1, D(2026, 1, 1), "s", "a", "c", 1, 1.0, "USD"),
                                   (2, D(2026, 1, 1), "s", "a", "c", 1, 2.0, "EUR")))
    cache.forget_workspaces([1])
    for table in ("revenue_records", "revenue_daily_segments", "revenue_monthly"):
        assert rows(cache, f"SELECT workspace_id FROM {table}") == [(2,)]


def test_a_cache_made_before_the_revenue_tables_gets_them_and_keeps_everything_else(tmp_path):
    path = tmp_path / "cache.duckdb"
    events_file = tmp_path / "a.ndjson"
    events_file.write_bytes(b"\n".join(orjson.dumps(batch(m)) for m in (1, 2, 3)) + b"\n")
    cache = Cache(path)
    import_files(cache, [events_file], workspace_id=1)
    before = {table: rows(cache, f"SELECT count(*) FROM {table}")[0][0] for table in ("profiles", "events", "identities", "loads")}
    version = cache.data_version
    cache.close()
    # What a cache of the previous release looks like: the same schema version, no revenue tables.
    con = duckdb.connect(str(path))
    for table in (*REVENUE_TABLES, *REVENUE_ROLLUPS):
        con.execute(f"DROP TABLE {table}")
    con.close()

    cache = Cache(path)
    try:
        assert {*REVENUE_TABLES, *REVENUE_ROLLUPS} <= tables(cache)
        assert {table: rows(cache, f"SELECT count(*) FROM {table}")[0][0] for table in before} == before
        assert before["events"] > 0
        assert cache.data_version == version
        assert cache.meta("schema_version") == str(SCHEMA_VERSION)
        with cache.writing(source="sync") as writer:
            writer.add_revenue(records((1, D(2026, 1, 1), "s", None, "c", None, 1.5, "USD")))
        assert rows(cache, "SELECT revenue FROM revenue_records") == [(1.5,)]
    finally:
        cache.close()


def test_a_rollup_added_to_a_cache_holding_records_is_filled_from_them(tmp_path):
    path = tmp_path / "cache.duckdb"
    cache = Cache(path)
    with cache.writing(source="sync") as writer:
        writer.add_revenue(records((1, D(2026, 1, 5), "s", "a", "c", 10, 1.0, "USD"),
                                   (1, D(2026, 1, 11), "s", "a", "c", 5, 2.0, "USD")))
    cache.close()
    con = duckdb.connect(str(path))
    con.execute("DROP TABLE revenue_weekly")
    con.close()
    cache = Cache(path)
    try:
        assert rows(cache, "SELECT week, revenue, impressions, records FROM revenue_weekly") == [(D(2026, 1, 5), 3.0, 15, 2)]
    finally:
        cache.close()


def test_a_new_cache_has_the_revenue_tables(cache):
    assert {*REVENUE_TABLES, *REVENUE_ROLLUPS} <= tables(cache)
