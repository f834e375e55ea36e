"""Comparing two caches table by table, as multisets of rows (event ids are numbering, not data)."""

from __future__ import annotations

from pathlib import Path

import duckdb

#: Every table the cache holds data in, and the columns compared. Products are compared joined to
#: their event, since the two caches may number events differently.
TABLES: dict[str, str] = {
    "profiles": "SELECT * FROM {db}.profiles",
    "identities": "SELECT * FROM {db}.identities",
    "attributes": "SELECT * FROM {db}.attributes",
    "attribute_deletions": "SELECT * FROM {db}.attribute_deletions",
    "consent": "SELECT * FROM {db}.consent",
    "devices": "SELECT * FROM {db}.devices",
    "locations": "SELECT * FROM {db}.locations",
    "attribution": "SELECT * FROM {db}.attribution",
    "events": "SELECT * EXCLUDE (event_id, attributes), attributes::VARCHAR FROM {db}.events",
    "event_products": """SELECT e.ts, e.event_type, e.event_name, e.input, e.attributes::VARCHAR,
                                p.* EXCLUDE (event_id) FROM {db}.event_products p JOIN {db}.events e USING (event_id)""",
    "attribute_catalog": "SELECT * FROM {db}.attribute_catalog",
    "event_catalog": "SELECT * FROM {db}.event_catalog",
    "event_attribute_catalog": "SELECT * FROM {db}.event_attribute_catalog",
}


def table_counts(path: Path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {t: con.execute(f"SELECT count(*) FROM ({TABLES[t].format(db='main')})").fetchone()[0] for t in TABLES}


def differences(left: Path, right: Path) -> dict[str, tuple[int, int, int, int]]:
    """Tables whose rows differ: (rows left, rows right, only left, only right)."""
    found = {}
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"ATTACH {_literal(left)} AS l (READ_ONLY)")
        con.execute(f"ATTACH {_literal(right)} AS r (READ_ONLY)")
        for table, query in TABLES.items():
            a, b = query.format(db="l"), query.format(db="r")
            counts = (
                con.execute(f"SELECT count(*) FROM ({a})").fetchone()[0],
                con.execute(f"SELECT count(*) FROM ({b})").fetchone()[0],
                con.execute(f"SELECT count(*) FROM ({a} EXCEPT ALL {b})").fetchone()[0],
                con.execute(f"SELECT count(*) FROM ({b} EXCEPT ALL {a})").fetchone()[0],
            )
            if counts[0] != counts[1] or counts[2] or counts[3]:
                found[table] = counts
    return found


def _literal(path: Path | str) -> str:
    """A file name as a SQL string literal (ATTACH takes no parameter; a path may hold ')."""
    return "'" + str(path).replace("'", "''") + "'"
