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
def sampled_mpids(count: int) -> list[int]:
    return [m for m in range(1, 5000) if sample_bucket(m) < SAMPLE_BUCKETS][:count]


#: Loads: each a list of (mpid, events, city, forget) batches, of profiles in the 1 % sample and out
#: of it; city and forget (delete the attribute "n") change their state from load to load.
MPIDS = st.sampled_from(sampled_mpids(3) + [m for m in range(1, 50) if sample_bucket(m) >= SAMPLE_BUCKETS][:3])
LOADS = st.lists(st.lists(st.tuples(MPIDS, st.lists(EVENTS, min_size=1, max_size=3),
                                    st.sampled_from(["Oslo", "Lima", None]), st.booleans()),
                          min_size=1, max_size=4), min_size=2, max_size=4)

CATALOGS = {
    "event_catalog": "SELECT * FROM event_catalog ORDER BY ALL",
    "event_attribute_catalog": "SELECT * FROM event_attribute_catalog ORDER BY ALL",
    "attribute_catalog": "SELECT * FROM attribute_catalog ORDER BY ALL",
    "sample_events": "SELECT event_id, workspace_id, mpid FROM sample_events ORDER BY event_id",
    "sample_profiles": "SELECT workspace_id, mpid FROM sample_profiles ORDER BY ALL",
    **{f"sample_{table}": f"SELECT * FROM sample_{table} ORDER BY ALL"
       for table in ("profiles", "identities", "attributes", "consent", "devices", "locations", "attribution")},
}


def load(cache: Cache, folder: Path, name: str, batches: list[tuple]) -> None:
    path = folder / f"{name}.ndjson"
    path.write_bytes(b"\n".join(orjson.dumps(state_batch(*entry)) for entry in batches) + b"\n")
    import_files(cache, [path], workspace_id=1 + len(name) % 2, parallel=False)


def state_batch(mpid: int, events: list[dict], city: str | None = "Oslo", forget: bool = False) -> dict:
    return batch(mpid, events=events, user_attributes={"n": len(events)},
                 deleted_user_attributes=["n"] if forget else None,
                 context={"location": {"city_name": city}} if city else None)


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



def test_a_refresh_copies_only_the_profiles_a_load_changed_into_the_sample(cache, tmp_path):
    first, second = sampled_mpids(2)
    load(cache, tmp_path, "a", [(first, [event()], "Oslo", False), (second, [event()], "Oslo", False)])
    # A stand-in for "copied before": change a sampled row; a refresh that rebuilt would undo it.
    cache.cursor().execute("UPDATE sample_locations SET city = 'kept' WHERE mpid = ?", [second])

    load(cache, tmp_path, "c", [(first, [event()], "Lima", False)])  # same workspace

    cursor = cache.cursor()
    assert cursor.execute("SELECT mpid, city FROM sample_locations ORDER BY mpid").fetchall() == sorted(
        [(first, "Lima"), (second, "kept")])
    assert cursor.execute("SELECT count(*) FROM pending_sample_profiles").fetchall() == [(0,)]


def test_a_cache_from_before_the_pending_list_rebuilds_its_sample_once(tmp_path):
    (mpid,) = sampled_mpids(1)
    cache = Cache(tmp_path / "cache.duckdb")
    load(cache, tmp_path, "a", [(mpid, [event()], "Oslo", False)])
    cache.cursor().execute("DROP TABLE pending_sample_profiles")
    cache.close()

    cache = Cache(tmp_path / "cache.duckdb")
    try:
        assert cache.meta("catalog_event_id") is None  # so the next refresh is a full one
        load(cache, tmp_path, "c", [(mpid, [event()], "Lima", False)])
        assert cache.meta("catalog_event_id") == cache.meta("next_event_id")
        assert shown(cache) == rebuilt(cache)
    finally:
        cache.close()
