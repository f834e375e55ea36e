"""The cache's 1 % profile sample: copies of every profile table restricted to sampled mpids.

Estimates run on these first. A profile is sampled when its bucket (md5 of its mpid mod 10,000, see
`cache.sample_bucket`) is below SAMPLE_BUCKETS, so the sample is the same on every machine and
keeps all of a sampled profile's rows in every workspace.
"""

from __future__ import annotations

import duckdb

from app.connectors.cache import BUCKETS, SAMPLE_BUCKETS

SAMPLED_TABLES = ("profiles", "events", "identities", "attributes", "consent", "devices", "locations", "attribution")


def refresh_sample(cursor: duckdb.DuckDBPyConnection) -> None:
    """Rebuild the sample tables from the full ones (inside the caller's transaction, if any)."""
    for table in SAMPLED_TABLES:
        order = " ORDER BY workspace_id, event_type, ts" if table == "events" else ""
        cursor.execute(
            f"CREATE OR REPLACE TABLE sample_{table} AS SELECT * FROM {table} "
            f"WHERE md5_number_lower(mpid::VARCHAR) % {BUCKETS} < {SAMPLE_BUCKETS}{order}"
        )


def sample_fraction() -> float:
    return SAMPLE_BUCKETS / BUCKETS
