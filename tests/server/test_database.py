"""The server database: migrations from 0001 build what the code queries, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from app.server.database import alembic_config, open_database
from app.server.ratelimit import RateLimiter
from app.server.tables import metadata


@pytest.mark.filterwarnings("ignore:.*expression-based index:UserWarning", "ignore:.*expression-based index")
def test_the_migrations_build_the_tables_the_code_uses(database_url):
    database = open_database(database_url)
    try:
        with database.engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_heads() == (ScriptDirectory.from_config(alembic_config()).get_current_head(),)
            differences = [d for d in compare_metadata(MigrationContext.configure(connection), metadata)
                           if not (isinstance(d, tuple) and d[0] in ("add_index", "remove_index") and d[1].name == "uq_audiences_live_name")]
            assert differences == []  # the live-name index is an expression SQLite cannot reflect: tested by behaviour
        # Opening again is a no-op: the schema is already at the newest revision.
        open_database(database_url).close()
    finally:
        database.close()


def test_the_rate_limiter_refills_at_its_rate_and_says_how_long_to_wait():
    now = [100.0]
    limiter = RateLimiter(rate_per_second=2, burst=3, clock=lambda: now[0])
    assert [limiter.take(1) for _ in range(3)] == [None, None, None]
    assert limiter.take(1) == 1  # half a second to the next token, rounded up to whole seconds
    assert limiter.take(2) is None  # another input has its own bucket
    now[0] += 0.5
    assert limiter.take(1) is None
    slow = RateLimiter(rate_per_second=0.2, burst=1, clock=lambda: now[0])
    assert slow.take(1) is None and slow.take(1) == 5
