"""Property tests (issue 24): hypothesis-made mParticle batches, valid per the published schema and
mutated, against the mapping and the file import into a real DuckDB cache. Nothing raises but
`BatchError`, every valid batch is accepted, every refusal names its field, nothing loads in part."""

from __future__ import annotations

import orjson
from hypothesis import HealthCheck, given, settings

from app.connectors.batches import BatchError, Rows, map_batch
from app.connectors.cache import Cache
from app.connectors.importer import ImportFailed, import_files
from app.connectors.staging import tables_of
from tests.mparticle_batches import batches, mutated_batches

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                                                          HealthCheck.function_scoped_fixture])


def _load(rows: Rows) -> None:
    """Everything mapped loads into the cache (the cache's own writer, a scratch in-memory cache)."""
    cache = Cache(":memory:")
    try:
        with cache.writing(source="test") as writer:
            writer.add_tables(tables_of(rows), 1)
    finally:
        cache.close()


@SETTINGS
@given(batch=batches)
def test_every_valid_batch_maps_and_loads(batch):
    rows = Rows()
    map_batch(batch, rows, workspace_id=1, seq=1, feed="CRM", received_ms=1_760_000_000_000)
    _load(rows)


@SETTINGS
@given(batch=mutated_batches())
def test_a_mutated_batch_maps_and_loads_or_is_refused_naming_its_field(batch):
    rows = Rows()
    try:
        map_batch(batch, rows, workspace_id=1, seq=1, feed="CRM", received_ms=1_760_000_000_000)
    except BatchError as exc:
        assert exc.path or not isinstance(batch, dict), exc  # a refusal names the field
        assert rows.mark() == Rows().mark()  # nothing of it stays behind
        return
    _load(rows)


@settings(SETTINGS, max_examples=25)
@given(batch=mutated_batches(), valid=batches)
def test_the_import_loads_valid_and_mutated_batches_or_refuses_naming_the_field(tmp_path_factory, batch, valid):
    folder = tmp_path_factory.mktemp("import")
    path = folder / "batches.ndjson"
    path.write_bytes(orjson.dumps(valid) + b"\n" + orjson.dumps(batch) + b"\n")
    cache = Cache(folder / "cache.duckdb")
    try:
        try:
            report = import_files(cache, [path], workspace_id=1, feed="CRM", parallel=False)
        except ImportFailed as exc:
            assert exc.bad.where == "line 2" and exc.bad.path, exc  # the valid line is never the one refused
            assert cache.cursor().execute("SELECT count(*) FROM loads").fetchone()[0] == 0  # nothing in part
            return
        assert report.batches == 2
    finally:
        cache.close()
