"""The catalogs and the 1 % sample after a load: brought up to date with only the new events, and equal to a
full rebuild whatever was loaded before (real DuckDB caches, batches imported through the real import)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.connectors.cache import SAMPLE_BUCKETS, Cache, _refresh_catalogs, _refresh_sample, sample_bucket
from app.connectors.importer import import_files
from tests.factories import T0, batch, event

#: Attribute values of every detected type, and ones that sit near a type's edge.
VALUES = st.one_of(
    st.integers(-1000, 1000), st.floats(-1e6, 1e6, allow_nan=False), st.booleans(),
    st.sampled_from(["true", "FALSE", "12", "1e3", "2025-03-14", "2025-03-14T10:00:00+02:00", "2025-13-40",
                     "tent", "", "n/a", "0001-01-01", "-12-34-567"]),
)
EVENTS = st.builds(
    lambda name, attributes, minutes: event(at=T0 + minutes * 60_000, event_name=name, custom_attributes=attributes),
    st.sampled_from(["Search", "Share", "Rate"]),
    st.dictionaries(st.sampled_from(["query", "stars", "when", "flag"]), VALUES, max_size=3),
    st.integers(0, 10_000),
)
#: Loads: each a list of (mpid, events) batches. mpids 1..400 put some profiles in the 1 % sample.
LOADS = st.lists(st.lists(st.tuples(st.integers(1, 400), st.lists(EVENTS, min_size=1, max_size=3)),
                          min_size=1, max_size=4), min_size=2, max_size=4)

CATALOGS = {
    "event_catalog": "SELECT * FROM event_catalog ORDER BY ALL",
    "event_attribute_catalog": "SELECT * FROM event_attribute_catalog ORDER BY ALL",
    "attribute_catalog": "SELECT * FROM attribute_catalog ORDER BY ALL",
    "sample_events": "SELECT event_id, workspace_id, mpid FROM sample_events ORDER BY event_id",
    "sample_profiles": "SELECT workspace_id, mpid FROM sample_profiles ORDER BY ALL",
}


def load(cache: Cache, folder: Path, name: str, batches: list[tuple[int, list[dict]]]) -> None:
    path = folder / f"{name}.ndjson"
    path.write_bytes(b"\n".join(orjson.dumps(batch(mpid, events=events, user_attributes={"n": len(events)}))
                                for mpid, events in batches) + b"\n")
    import_files(cache, [path], workspace_id=1 + len(name) % 2, parallel=False)


def shown(cache: Cache) -> dict[str, list[tuple]]:
    cursor = cache.cursor()
    return {name: cursor.execute(query).fetchall() for name, query in CATALOGS.items()}


def rebuilt(cache: Cache) -> dict[str, list[tuple]]:
    """What a full rebuild gives, computed in a transaction that is rolled back."""
    cursor = cache.cursor()
    cursor.execute("BEGIN TRANSACTION")
    try:
        _refresh_catalogs(cursor)
        _refresh_sample(cursor)
        return {name: cursor.execute(query).fetchall() for name, query in CATALOGS.items()}
    finally:
        cursor.execute("ROLLBACK")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(loads=LOADS)
def test_catalogs_brought_up_to_date_load_by_load_equal_a_full_rebuild(loads):
    with tempfile.TemporaryDirectory() as folder:
        cache = Cache(Path(folder) / "cache.duckdb")
        try:
            for number, batches in enumerate(loads):
                load(cache, Path(folder), "x" * (number + 1), batches)
                assert cache.meta("catalog_event_id") == cache.meta("next_event_id")
                assert shown(cache) == rebuilt(cache)
        finally:
            cache.close()


def test_a_refresh_takes_in_only_the_events_loaded_since_the_last(cache, tmp_path):
    load(cache, tmp_path, "a", [(1, [event(event_name="Search", custom_attributes={"stars": 4})])])
    assert cache.meta("catalog_event_id") == "2"
    # A stand-in for "already counted": change the stored count; an incremental refresh keeps it.
    cache.cursor().execute("UPDATE event_catalog SET events = 100")
    load(cache, tmp_path, "ccc", [(2, [event(event_name="Search", custom_attributes={"stars": "many"})])])  # same workspace
    cursor = cache.cursor()
    assert cursor.execute("SELECT event_name, events FROM event_catalog").fetchall() == [("Search", 101)]
    # 4 then "many": no longer a number.
    assert cursor.execute("SELECT attribute, detected_type FROM event_attribute_catalog").fetchall() == [
        ("stars", "string")]


def test_forgetting_a_workspace_rebuilds_the_sample_whole(cache, tmp_path):
    sampled = next(m for m in range(1, 2000) if sample_bucket(m) < SAMPLE_BUCKETS)
    load(cache, tmp_path, "a", [(sampled, [event()])])  # workspace 2
    load(cache, tmp_path, "bb", [(sampled, [event()])])  # workspace 1
    assert cache.cursor().execute("SELECT count(*) FROM sample_events").fetchall() == [(2,)]

    cache.forget_workspaces([2])

    assert cache.cursor().execute("SELECT workspace_id FROM sample_events").fetchall() == [(1,)]
    assert shown(cache) == rebuilt(cache)

