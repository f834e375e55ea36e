"""Alembic environment for the store: migrates the connection open_store hands over, or a URL given by hand."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from app.models.store.schema import Base

config = context.config
target_metadata = Base.metadata

# For running alembic by hand (e.g. autogenerating a new migration) against a scratch database.
URL_VARIABLE = "AUDIENCE_STUDIO_DB_URL"


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get(URL_VARIABLE)
    if not url:
        raise RuntimeError(
            f"No database to migrate: pass a connection in config.attributes['connection'], "
            f"set sqlalchemy.url, or set {URL_VARIABLE}."
        )
    return url


def _configure(**kwargs: object) -> None:
    # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
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
