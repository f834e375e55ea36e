"""Large imports map in worker processes: same cache as in-process, same reports, nothing kept on failure."""

from __future__ import annotations

import gzip
import multiprocessing
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from app.connectors import importer
from app.connectors.cache import Cache, CacheWriter
from app.connectors.demo_data import generate
from app.connectors.importer import Cancelled, ImportFailed, import_files
from tests.factories import T0, batch, event, purchase

DAY = 86_400_000
TABLES = ["profiles", "identities", "attributes", "consent", "devices", "locations", "attribution", "events",
          "event_products", "attribute_catalog", "event_catalog", "event_attribute_catalog"]


def contents(cache: Cache) -> dict:
    """Every table, rows in a fixed order (event ids included), and the counters in cache_meta."""
    cur = cache.cursor()
    out = {}
    for table in TABLES:
        columns = [row[0] for row in cur.execute(f"DESCRIBE {table}").fetchall()]
        order = ", ".join(f"CAST({c} AS VARCHAR)" for c in columns)
        out[table] = cur.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()
    out["meta"] = cur.execute("SELECT key, value FROM cache_meta ORDER BY key").fetchall()
    out["loads"] = cur.execute("SELECT source, description, batches, events FROM loads ORDER BY loaded_at").fetchall()
    return out


def write_ndjson(path: Path, batches: list) -> Path:
    path.write_bytes(b"\n".join(orjson.dumps(b) for b in batches) + b"\n")
    return path


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of a few kilobytes, so even test files are cut into many chunks across both workers."""
    monkeypatch.setattr(importer, "PARALLEL_CHUNK_BYTES", 4_000)


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory) -> tuple[Path, Path]:
    """A realistic app file and its CRM feed file from the demo generator."""
    folder = tmp_path_factory.mktemp("demo")
    app, crm = [], []
    for item in generate(profiles=120, days=20, seed=11, end=datetime(2026, 11, 1, tzinfo=UTC)):
        (crm if item.feed else app).append(item.batch)
    return write_ndjson(folder / "app.ndjson", app), write_ndjson(folder / "crm.ndjson", crm)


def factory_batches() -> list:
    """Factory batches with the state edge cases: older data after newer, deletions, set-and-delete."""
    return [
        batch(1, at=T0 + DAY, user_attributes={"tier": "platinum"}, user_identities={"email": "new@example.com"}),
        batch(2, events=[purchase(amount=50), event("screen_view", screen_name="Cart"), purchase(amount=7)]),
        batch(1, at=T0, user_attributes={"tier": "bronze", "age": 40}, user_identities={"email": "old@example.com"}),
        batch(3, user_attributes={"tier": "gold"}, deleted_user_attributes=["tier"]),
        batch(4, at=T0, user_attributes={"opt": True}),
        batch(4, at=T0 + 1000, user_attributes={}, deleted_user_attributes=["opt"]),
        batch(mpid=None, user_identities={"customer_id": "c-5"}, events=[event("user_identity_change", T0, new={"identity_type": "email", "identity": "x@example.com"})]),
        batch(6, events=[event("uninstall")], attribution_info={"service_provider": "Adjust", "publisher": "Organic"}),
    ] * 3


def import_both(tmp_path: Path, files: list[Path], **kwargs):
    """Import `files` into two fresh caches, in-process and with two workers; return reports and contents."""
    results = []
    for name, parallel in (("serial", False), ("parallel", True)):
        cache = Cache(tmp_path / f"{name}.duckdb")
        try:
            report = import_files(cache, files, workspace_id=1, parallel=parallel, workers=2, **kwargs)
            results.append((report, contents(cache)))
        finally:
            cache.close()
    return results


def test_parallel_import_gives_the_same_cache_as_in_process(tmp_path, demo_files, small_chunks):
    app_file, _ = demo_files
    factory_file = write_ndjson(tmp_path / "factory.ndjson", factory_batches())
    (serial_report, serial), (parallel_report, parallel) = import_both(tmp_path, [app_file, factory_file])
    assert serial["events"] and serial["event_products"] and serial["attributes"]
    for table in serial:
        assert parallel[table] == serial[table], table
    assert (parallel_report.batches, parallel_report.events, parallel_report.inputs) == (
        serial_report.batches, serial_report.events, serial_report.inputs)


def test_feed_import_in_parallel_matches_in_process(tmp_path, demo_files, small_chunks):
    _, crm_file = demo_files
    (_, serial), (_, parallel) = import_both(tmp_path, [crm_file], feed="CRM")
    assert serial["profiles"]
    assert parallel == serial


def test_state_merged_in_several_rounds_and_small_loads_is_the_same(tmp_path, demo_files, small_chunks, monkeypatch):
    app_file, _ = demo_files
    (tmp_path / "once").mkdir()
    (tmp_path / "rounds").mkdir()
    (_, once), _ = import_both(tmp_path / "once", [app_file])
    monkeypatch.setattr(CacheWriter, "STATE_FLUSH_ROWS", 50)  # merge after (almost) every chunk
    monkeypatch.setattr(importer, "CHUNK_EVENTS", 300)  # and load many small chunks
    (_, serial_rounds), (_, parallel_rounds) = import_both(tmp_path / "rounds", [app_file])
    assert serial_rounds == once
    assert parallel_rounds == once


def test_gzip_and_several_files_keep_their_own_line_numbers(tmp_path, small_chunks):
    first = write_ndjson(tmp_path / "a.ndjson", [batch(i) for i in range(1, 40)])
    broken = batch(99)
    broken["events"][1]["data"]["timestamp_unixtime_ms"] = "soon"
    second = tmp_path / "b.ndjson.gz"
    with gzip.open(second, "wb") as handle:
        handle.write(b"\n".join(orjson.dumps(b) for b in [batch(i) for i in range(40, 70)] + [broken]) + b"\n")
    cache = Cache(tmp_path / "c.duckdb")
    with pytest.raises(ImportFailed) as error:
        import_files(cache, [first, second], workspace_id=1, parallel=True, workers=2)
    assert "b.ndjson.gz, line 31, field events[1].data.timestamp_unixtime_ms" in str(error.value)
    assert cache.cursor().execute("SELECT count(*) FROM events").fetchall() == [(0,)]
    assert cache.data_version == 0
    cache.close()


def test_files_of_the_same_name_are_numbered_apart(tmp_path, small_chunks):
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    first = write_ndjson(tmp_path / "x" / "day.ndjson", [batch(i) for i in range(1, 60)])
    broken = [batch(i) for i in range(60, 65)]
    broken[2]["user_identities"]["fax"] = "1"
    second = write_ndjson(tmp_path / "y" / "day.ndjson", broken)
    cache = Cache(tmp_path / "c.duckdb")
    report = import_files(cache, [first, second], workspace_id=1, parallel=True, workers=2, skip_bad=True)
    assert [str(b) for b in report.bad] == ["day.ndjson, line 3, field user_identities.fax: unknown identity type"]
    assert report.batches == 63
    cache.close()


def test_bad_batch_in_a_worker_fails_naming_file_line_and_field_and_keeps_nothing(tmp_path, small_chunks):
    batches = [batch(i) for i in range(1, 200)]
    batches[150]["events"][0]["data"]["timestamp_unixtime_ms"] = 1_700_000_000  # seconds, not milliseconds
    path = write_ndjson(tmp_path / "big.ndjson", batches)
    cache = Cache(tmp_path / "c.duckdb")
    import_files(cache, [write_ndjson(tmp_path / "good.ndjson", [batch(1)])], workspace_id=1)
    before = contents(cache)
    with pytest.raises(ImportFailed) as error:
        import_files(cache, [path], workspace_id=1, parallel=True, workers=2)
    assert "big.ndjson, line 151, field events[0].data.timestamp_unixtime_ms" in str(error.value)
    assert "seconds sent by mistake" in str(error.value)
    assert contents(cache) == before
    assert multiprocessing.active_children() == []
    cache.close()


def test_skip_bad_reports_the_same_bad_batches_as_in_process(tmp_path, small_chunks):
    lines = [orjson.dumps(batch(i)) for i in range(1, 120)]
    lines[10] = b"{not json"
    lines[20] = b""  # a blank line is neither a batch nor bad
    no_name = batch(500, events=[{"event_type": "custom_event", "data": {"timestamp_unixtime_ms": T0}}])
    lines[70] = orjson.dumps(no_name)
    lines[100] = orjson.dumps(batch(501, application_info={"os": "Amiga"}))
    path = tmp_path / "mixed.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    (serial_report, serial), (parallel_report, parallel) = import_both(tmp_path, [path], skip_bad=True)
    assert [(b.where, b.path) for b in parallel_report.bad] == [
        ("line 11", ""), ("line 71", "events[0].data.event_name"), ("line 101", "application_info.os")]
    assert parallel_report.bad == serial_report.bad
    assert parallel_report.batches == serial_report.batches == 115
    assert parallel == serial


def test_cancelled_parallel_import_keeps_nothing_and_stops_the_workers(tmp_path, small_chunks):
    path = write_ndjson(tmp_path / "a.ndjson", [batch(i) for i in range(1, 300)])
    cache = Cache(tmp_path / "c.duckdb")
    calls = []

    def cancelled() -> bool:
        calls.append(1)
        return len(calls) > 3  # after a few chunks have been loaded

    with pytest.raises(Cancelled):
        import_files(cache, [path], workspace_id=1, parallel=True, workers=2, cancelled=cancelled)
    assert cache.cursor().execute("SELECT count(*) FROM events").fetchall() == [(0,)]
    assert cache.data_version == 0
    assert multiprocessing.active_children() == []
    cache.close()


def test_progress_counts_the_batches_read(tmp_path, small_chunks):
    path = write_ndjson(tmp_path / "a.ndjson", [batch(i) for i in range(1, 101)])
    cache = Cache(tmp_path / "c.duckdb")
    seen: list[int] = []
    import_files(cache, [path], workspace_id=1, parallel=True, workers=2, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 100 and len(seen) > 1
    cache.close()


def test_small_imports_stay_in_process(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a small import started workers")

    monkeypatch.setattr(importer, "_import_parallel", refuse)
    path = write_ndjson(tmp_path / "a.ndjson", [batch(1)])
    cache = Cache(tmp_path / "c.duckdb")
    assert import_files(cache, [path], workspace_id=1).batches == 1
    cache.close()
