"""Alembic environment for the server's database: migrates the connection `open_database` hands over,
or a URL given by hand (for writing a new migration against a scratch database)."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from app.server.tables import metadata

config = context.config
target_metadata = metadata

URL_VARIABLE = "AUDIENCE_STUDIO_SERVER_DB_URL"


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get(URL_VARIABLE)
    if not url:
        raise RuntimeError(f"No database to migrate: pass config.attributes['connection'], set sqlalchemy.url, or set {URL_VARIABLE}.")
    return url


def _configure(**kwargs: object) -> None:
    # Batch mode lets later migrations alter tables on SQLite (which rebuilds them); a no-op on PostgreSQL.
    context.configure(target_metadata=target_metadata, render_as_batch=True, compare_type=True, **kwargs)


def run_migrations_offline() -> None:
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def _run_on(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    engine = create_engine(_url(), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            _run_on(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
