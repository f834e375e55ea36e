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


@pytest.mark.filterwarnings("ignore:.*expression-based index:UserWarning", "ignore:.*expression-based index")
def test_upgrading_scopes_the_client_refs_kept_and_keeps_names_unique(database_url):
    """0004 fills each audience's client_scope from its workspaces, lets a ref be reused in other
    workspaces, and keeps the live-name index SQLite rebuilds the table around."""
    import datetime as dt

    import sqlalchemy as sa
    from alembic import command
    from sqlalchemy.exc import IntegrityError

    from app.server.tables import audiences

    old = open_database(database_url, migrate=False)
    config = alembic_config()
    with old.write() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
        now = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
        connection.execute(sa.text("INSERT INTO workspaces (id, name, created_at) VALUES (1, 'US', :t), (2, 'EU', :t)"), {"t": now})
        for id_, ref, name in ((1, "r-1", "Buyers"), (2, "r-2", "Everyone")):
            connection.execute(sa.text(
                "INSERT INTO audiences (id, client_ref, name, scope, kind, status, criteria, inputs, tags, version, change_seq, "
                "deleted, created_by, created_at, updated_by, updated_at) VALUES (:id, :ref, :name, 'single', 'realtime', 'draft', "
                "'{}', '[]', '[]', 1, :id, false, 'ann', :t, 'ann', :t)"), {"id": id_, "ref": ref, "name": name, "t": now})
        connection.execute(sa.text("INSERT INTO audience_workspaces VALUES (1, 1), (2, 2), (2, 1)"))
    old.close()

    database = open_database(database_url)
    try:
        with database.read() as connection:
            scopes = dict(connection.execute(sa.select(audiences.c.id, audiences.c.client_scope)).all())
        assert scopes == {1: "1", 2: "1,2"}
        row = {"scope": "single", "kind": "realtime", "status": "draft", "criteria": {}, "inputs": [], "tags": [], "version": 1,
               "deleted": False, "created_by": "eve", "created_at": now, "updated_by": "eve", "updated_at": now}
        with database.write() as connection:  # the same ref in another workspace is another audience's
            connection.execute(sa.insert(audiences).values(id=3, client_ref="r-1", client_scope="2", name="EU buyers", change_seq=3, **row))
        for ref, scope, name in (("r-1", "1", "Other"), (None, "2", "BUYERS")):
            with pytest.raises(IntegrityError), database.write() as connection:
                connection.execute(sa.insert(audiences).values(client_ref=ref, client_scope=scope, name=name, change_seq=4, **row))
    finally:
        database.close()
