"""Importing batch files into the real DuckDB cache: formats, all-or-nothing, latest-wins state."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import duckdb
import orjson
import pytest

from app.connectors.cache import SCHEMA_VERSION, Cache, sample_bucket
from app.connectors.importer import Cancelled, ImportFailed, import_files
from app.errors import InvalidInput
from tests.factories import T0, batch, event, purchase

DAY = 86_400_000


def write_ndjson(path: Path, batches: list) -> Path:
    path.write_bytes(b"\n".join(orjson.dumps(b) for b in batches) + b"\n")
    return path


def count(cache: Cache, table: str) -> int:
    return cache.cursor().execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]


def snapshot(cache: Cache) -> dict:
    tables = ["profiles", "identities", "attributes", "events", "event_products", "consent", "devices", "locations", "attribution", "loads"]
    return {t: count(cache, t) for t in tables} | {"version": cache.data_version}


def test_ndjson_json_list_and_gzip_all_import(cache, tmp_path):
    write_ndjson(tmp_path / "a.ndjson", [batch(1), batch(2)])
    (tmp_path / "b.json").write_bytes(orjson.dumps([batch(3), batch(4)]))
    (tmp_path / "c.json").write_bytes(orjson.dumps(batch(5)))
    with gzip.open(tmp_path / "d.ndjson.gz", "wb") as handle:
        handle.write(orjson.dumps(batch(6)) + b"\n")
    report = import_files(cache, sorted(tmp_path.glob("*.*json*")), workspace_id=1)
    assert report.batches == 6
    assert report.events == 12
    assert count(cache, "profiles") == 6
    assert report.inputs == {1: {("platform", "iOS")}}


def test_broken_batch_fails_naming_file_line_and_field_and_imports_nothing(cache, tmp_path):
    import_files(cache, [write_ndjson(tmp_path / "good.ndjson", [batch(1)])], workspace_id=1)
    before = snapshot(cache)
    broken = batch(3)
    broken["events"][0]["data"]["timestamp_unixtime_ms"] = "soon"
    path = write_ndjson(tmp_path / "mixed.ndjson", [batch(2), broken, batch(4)])
    with pytest.raises(ImportFailed) as error:
        import_files(cache, [path], workspace_id=1)
    message = str(error.value)
    assert "mixed.ndjson, line 2, field events[0].data.timestamp_unixtime_ms" in message
    assert "Nothing was imported" in message
    assert snapshot(cache) == before


def test_skip_bad_reports_bad_batches_and_imports_the_rest(cache, tmp_path):
    broken = batch(3, events=[{"event_type": "custom_event", "data": {"timestamp_unixtime_ms": T0}}])
    path = tmp_path / "mixed.ndjson"
    path.write_bytes(orjson.dumps(batch(2)) + b"\n{not json\n" + orjson.dumps(broken) + b"\n" + orjson.dumps(batch(4)) + b"\n")
    report = import_files(cache, [path], workspace_id=1, skip_bad=True)
    assert report.batches == 2
    assert [(b.where, b.path) for b in report.bad] == [("line 2", ""), ("line 3", "events[0].data.event_name")]
    assert "not valid JSON" in report.bad[0].message
    assert count(cache, "profiles") == 2


def test_a_json_file_that_does_not_parse_names_the_line(cache, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('[\n{"mpid": 1,\n "events": [}\n]')
    with pytest.raises(InvalidInput, match=r"bad.json: not valid JSON at line 3"):
        import_files(cache, [path], workspace_id=1)


def test_unknown_file_kind_and_missing_file_are_refused_before_anything_loads(cache, tmp_path):
    (tmp_path / "data.csv").write_text("a,b")
    with pytest.raises(InvalidInput, match="expected .json, .ndjson"):
        import_files(cache, [tmp_path / "data.csv"], workspace_id=1)
    with pytest.raises(InvalidInput, match="no such file"):
        import_files(cache, [tmp_path / "nope.json"], workspace_id=1)


def test_corrupt_gzip_is_reported_and_nothing_loads(cache, tmp_path):
    path = tmp_path / "x.ndjson.gz"
    path.write_bytes(b"this is not gzip")
    with pytest.raises(InvalidInput, match="cannot be read"):
        import_files(cache, [path], workspace_id=1)
    assert count(cache, "events") == 0


def test_cancelled_import_keeps_nothing(cache, tmp_path):
    path = write_ndjson(tmp_path / "a.ndjson", [batch(i) for i in range(5)])
    with pytest.raises(Cancelled):
        import_files(cache, [path], workspace_id=1, cancelled=lambda: True)
    assert count(cache, "events") == 0 and cache.data_version == 0


def test_latest_state_wins_whatever_the_import_order(cache, tmp_path):
    newer = batch(1, at=T0 + DAY, user_attributes={"loyalty_tier": "platinum"}, user_identities={"email": "new@example.com"})
    older = batch(1, at=T0, user_attributes={"loyalty_tier": "bronze"}, user_identities={"email": "old@example.com"})
    import_files(cache, [write_ndjson(tmp_path / "n.ndjson", [newer])], workspace_id=1)
    import_files(cache, [write_ndjson(tmp_path / "o.ndjson", [older])], workspace_id=1)
    cur = cache.cursor()
    assert cur.execute("SELECT value FROM attributes WHERE name = 'loyalty_tier'").fetchall() == [("platinum",)]
    assert cur.execute("SELECT value FROM identities WHERE identity_type = 'email'").fetchall() == [("new@example.com",)]
    first, last = cur.execute("SELECT first_seen, last_seen FROM profiles").fetchall()[0]
    assert last - first >= __import__("datetime").timedelta(days=1)


def test_deleted_attribute_disappears_and_a_later_value_brings_it_back(cache, tmp_path):
    steps = [
        batch(1, at=T0, user_attributes={"newsletter_opt_in": True}),
        batch(1, at=T0 + 1000, user_attributes={}, deleted_user_attributes=["newsletter_opt_in"]),
    ]
    import_files(cache, [write_ndjson(tmp_path / "a.ndjson", steps)], workspace_id=1)
    query = "SELECT count(*) FROM attributes WHERE name = 'newsletter_opt_in'"
    assert cache.cursor().execute(query).fetchall() == [(0,)]
    import_files(cache, [write_ndjson(tmp_path / "b.ndjson", [batch(1, at=T0 + 2000, user_attributes={"newsletter_opt_in": False})])], workspace_id=1)
    assert cache.cursor().execute("SELECT value_bool FROM attributes WHERE name = 'newsletter_opt_in'").fetchall() == [(False,)]


def test_a_deletion_wins_over_an_older_value_loaded_later(cache, tmp_path):
    """The cache remembers when an attribute was deleted, so an older value arriving in a later load (a
    later sync page, a second file) does not bring it back: loads in any cut give what one load gives."""
    deletion = batch(1, at=T0 + 2000, user_attributes={}, deleted_user_attributes=["newsletter_opt_in"])
    older = batch(1, at=T0, user_attributes={"newsletter_opt_in": True})
    import_files(cache, [write_ndjson(tmp_path / "d.ndjson", [deletion])], workspace_id=1)
    import_files(cache, [write_ndjson(tmp_path / "o.ndjson", [older])], workspace_id=1)
    query = "SELECT count(*) FROM attributes WHERE name = 'newsletter_opt_in'"
    assert cache.cursor().execute(query).fetchall() == [(0,)]
    # A newer value still brings it back, and the deletion is then forgotten.
    import_files(cache, [write_ndjson(tmp_path / "n.ndjson", [batch(1, at=T0 + 3000, user_attributes={"newsletter_opt_in": False})])],
                 workspace_id=1)
    assert cache.cursor().execute("SELECT value_bool FROM attributes WHERE name = 'newsletter_opt_in'").fetchall() == [(False,)]
    assert cache.cursor().execute("SELECT count(*) FROM attribute_deletions").fetchall() == [(0,)]


def test_attribute_values_get_typed_columns_and_the_catalog_detects_types(cache, tmp_path):
    b = batch(1, user_attributes={"age": 31, "age_text": "42", "tier": "gold", "cats": ["a", "b"], "opt": True,
                                  "signup": "2025-03-14", "last_seen_at": "2025-03-14T10:00:00+02:00"})
    import_files(cache, [write_ndjson(tmp_path / "a.ndjson", [b, batch(2, user_attributes={"age_text": "n/a"})])], workspace_id=1)
    cur = cache.cursor()
    types = dict(cur.execute("SELECT name, detected_type FROM attribute_catalog").fetchall())
    assert types == {"age": "number", "age_text": "string", "tier": "string", "cats": "list", "opt": "boolean",
                     "signup": "date", "last_seen_at": "date"}
    when = cur.execute("SELECT value_date FROM attributes WHERE name = 'last_seen_at'").fetchall()[0][0]
    assert when.isoformat() == "2025-03-14T08:00:00"  # stored in UTC


def test_event_catalog_lists_names_and_attribute_types(cache, tmp_path):
    b = batch(1, events=[event(event_name="Search", custom_attributes={"query": "tent", "results": 3}), purchase()])
    import_files(cache, [write_ndjson(tmp_path / "a.ndjson", [b])], workspace_id=1)
    cur = cache.cursor()
    assert set(cur.execute("SELECT event_type, event_name, events FROM event_catalog").fetchall()) == {
        ("custom_event", "Search", 1), ("commerce_event", "purchase", 1)}
    assert set(cur.execute("SELECT attribute, detected_type FROM event_attribute_catalog").fetchall()) == {
        ("query", "string"), ("results", "number")}


def test_products_point_at_their_event(cache, tmp_path):
    b = batch(1, events=[event(), purchase(amount=50), event(), purchase(amount=70)])
    import_files(cache, [write_ndjson(tmp_path / "a.ndjson", [b, batch(2, events=[purchase(amount=9)])])], workspace_id=1)
    rows = cache.cursor().execute("""
        SELECT p.mpid, e.revenue, p.price FROM event_products p JOIN events e USING (event_id) ORDER BY e.event_id""").fetchall()
    assert rows == [(1, 50.0, 50.0), (1, 70.0, 70.0), (2, 9.0, 9.0)]


def test_event_ids_continue_across_imports(cache, tmp_path):
    import_files(cache, [write_ndjson(tmp_path / "a.ndjson", [batch(1)])], workspace_id=1)
    import_files(cache, [write_ndjson(tmp_path / "b.ndjson", [batch(2)])], workspace_id=1)
    ids = [r[0] for r in cache.cursor().execute("SELECT event_id FROM events ORDER BY event_id").fetchall()]
    assert ids == [1, 2, 3, 4]


def test_workspaces_are_kept_apart(cache, tmp_path):
    import_files(cache, [write_ndjson(tmp_path / "a.ndjson", [batch(1)])], workspace_id=1)
    import_files(cache, [write_ndjson(tmp_path / "b.ndjson", [batch(1, user_identities={"email": "eu@example.com"})])], workspace_id=2, feed="CRM")
    rows = cache.cursor().execute("SELECT workspace_id, value FROM identities WHERE identity_type = 'email' ORDER BY 1").fetchall()
    assert rows == [(1, "Ada@Example.com"), (2, "eu@example.com")]
    assert cache.cursor().execute("SELECT DISTINCT input FROM events WHERE workspace_id = 2").fetchall() == [("CRM",)]


def test_sample_bucket_in_python_matches_the_cache(cache, tmp_path):
    mpids = [1, -5, 2**62, -(2**63), 123456789]
    import_files(cache, [write_ndjson(tmp_path / "a.ndjson", [batch(m) for m in mpids])], workspace_id=1)
    buckets = dict(cache.cursor().execute("SELECT mpid, bucket FROM profiles").fetchall())
    assert buckets == {m: sample_bucket(m) for m in mpids}


def test_cache_of_an_older_schema_is_rebuilt(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE cache_meta (key VARCHAR, value VARCHAR); INSERT INTO cache_meta VALUES ('schema_version', '0')")
    con.execute("CREATE TABLE leftovers (x INT)")
    con.close()
    cache = Cache(path)
    tables = {r[0] for r in cache.cursor().execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert "leftovers" not in tables and "events" in tables
    assert cache.meta("schema_version") == str(SCHEMA_VERSION)
    cache.close()


@pytest.mark.parametrize(("stored", "said"), [
    (str(SCHEMA_VERSION + 1), "was made by a newer version of Audience Studio (cache schema"),
    ("two", "has a schema version Audience Studio never writes ('two'); move the file away"),
])
def test_a_cache_of_a_newer_or_unknown_schema_is_refused_and_left_as_it_was(tmp_path, stored, said):
    from app.errors import UserError

    path = tmp_path / "newer.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE cache_meta (key VARCHAR, value VARCHAR)")
    con.execute("INSERT INTO cache_meta VALUES ('schema_version', ?)", [stored])
    con.execute("CREATE TABLE events_of_the_future (x INT); INSERT INTO events_of_the_future VALUES (1)")
    con.close()
    with pytest.raises(UserError, match=re.escape(said)):
        Cache(path)
    con = duckdb.connect(str(path))  # not dropped, and not left open
    assert con.execute("SELECT count(*) FROM events_of_the_future").fetchone() == (1,)
    con.close()


def test_a_cache_held_by_another_process_is_reported_plainly(tmp_path):
    import subprocess
    import sys

    from app.errors import UserError

    path = tmp_path / "held.duckdb"
    Cache(path).close()
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, sys; c = duckdb.connect({str(path)!r}); print('ready', flush=True); sys.stdin.read()"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(UserError, match="in use by another Audience Studio"):
            Cache(path)
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
