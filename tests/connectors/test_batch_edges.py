"""Edges of the batch mapping found by tests kept outside the project (issue 24): every batch mParticle's
schema allows is imported, and whatever is mapped loads into the real DuckDB cache."""

from __future__ import annotations

import time

import orjson

from app.connectors.batches import Rows, map_batch
from app.connectors.importer import import_files
from tests.factories import T0, batch, event


def _ndjson(path, batches):
    path.write_bytes(b"\n".join(orjson.dumps(b) for b in batches) + b"\n")
    return path


def _profile_only(mpid: int, events: list | None = []) -> dict:  # noqa: B006 - never changed
    """Identities, attributes, consent and location, and neither events nor a batch time."""
    made = batch(mpid, events=[], timestamp_unixtime_ms=None)
    made["events"] = events
    for purpose in made["consent_state"].values():  # consent without a time of its own too
        for state in purpose.values():
            del state["timestamp_unixtime_ms"]
    return made


def test_a_profile_only_batch_without_a_time_imports_at_the_imports_moment(cache, tmp_path):
    no_events_key = _profile_only(2)
    del no_events_key["events"]
    files = _ndjson(tmp_path / "profiles.ndjson", [_profile_only(1), no_events_key, _profile_only(3, events=None)])
    before = time.time_ns() // 1_000_000
    report = import_files(cache, [files], workspace_id=1, parallel=False)
    after = time.time_ns() // 1_000_000
    assert report.batches == 3 and not report.bad
    rows = cache.cursor().execute("SELECT mpid, first_seen, last_seen FROM profiles ORDER BY mpid").fetchall()
    assert [r[0] for r in rows] == [1, 2, 3]
    moments = {r[1] for r in rows} | {r[2] for r in rows}
    assert len(moments) == 1  # one moment per import run
    [moment] = moments
    moment_ms = int(moment.timestamp() * 1000) if hasattr(moment, "timestamp") else int(moment)
    assert before <= moment_ms <= after
    assert cache.cursor().execute("SELECT value FROM attributes WHERE mpid = 1 AND name = 'loyalty_tier'").fetchall() == [("gold",)]


def test_the_parallel_import_gives_profile_only_batches_one_moment_too(cache, tmp_path):
    files = _ndjson(tmp_path / "profiles.ndjson", [_profile_only(m) for m in range(1, 40)])
    report = import_files(cache, [files], workspace_id=1, parallel=True, workers=2)
    assert report.batches == 39
    assert cache.cursor().execute("SELECT count(DISTINCT first_seen), count(*) FROM profiles").fetchall() == [(1, 39)]


def test_untimed_events_take_the_batch_time_else_the_moment_received():
    rows = Rows()
    untimed = {"event_type": "custom_event", "data": {"event_name": "Search"}}
    map_batch(batch(1, events=[untimed], timestamp_unixtime_ms=None), rows, workspace_id=1, seq=0, received_ms=T0 + 5)
    map_batch(batch(2, events=[untimed]), rows, workspace_id=1, seq=1, received_ms=T0 + 5)
    assert rows.ev_ts == [T0 + 5, T0]


def _change_events() -> list[dict]:
    return [
        event("user_attribute_change", user_attribute_name="tier", new="gold", old="silver",
              custom_attributes={"user_attribute_name": "spoof", "new": "x", "custom_attributes.new": "y", "source": "crm"}),
        event("user_identity_change", new={"identity_type": "email", "identity": "a@b.c", "timestamp_unixtime_ms": T0},
              old={"identity_type": "email", "identity": "o@b.c", "timestamp_unixtime_ms": T0},
              custom_attributes={"identity_type": "spoof"}),
    ]


def test_change_events_whose_custom_attributes_reuse_the_changes_names_import_with_both_values(cache, tmp_path):
    files = _ndjson(tmp_path / "changes.ndjson", [batch(1, events=_change_events())])
    assert import_files(cache, [files], workspace_id=1, parallel=False).batches == 1
    got = dict(cache.cursor().execute("SELECT event_type, map_entries(attributes) FROM events").fetchall())
    attribute_change = {e["key"]: e["value"] for e in got["user_attribute_change"]}
    assert attribute_change == {"user_attribute_name": "tier", "new": "gold", "custom_attributes.user_attribute_name": "spoof",
                                "custom_attributes.new": "y", "custom_attributes.custom_attributes.new": "x", "source": "crm"}
    identity_change = {e["key"]: e["value"] for e in got["user_identity_change"]}
    assert identity_change == {"identity_type": "email", "custom_attributes.identity_type": "spoof"}
