"""Opening the server's database (SQLite in the home, or PostgreSQL by URL), migrating it, and its transactions."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import ConnectionPoolEntry

from app.errors import UserError
from app.models.store.db import unknown_revision
from app.paths import Home

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

SUPPORTED = ("sqlite", "postgresql")


def default_url(home: Home) -> str:
    """The embedded default: server.sqlite3 in the home, beside (never inside) the desktop store."""
    return f"sqlite:///{home.root / 'server.sqlite3'}"


class Database:
    """An engine on the server's database with read and write transactions."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as connection, connection.begin():
            yield connection

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: committed when the block ends, rolled back if it raises.

        On SQLite it begins IMMEDIATE: a deferred transaction that reads and then writes can fail at
        once with "database is locked" when another writer got there first, instead of waiting.
        """
        with self.engine.connect().execution_options(audience_studio_write=True) as connection, connection.begin():
            yield connection

    def close(self) -> None:
        self.engine.dispose()


def alembic_config(url: str | None = None) -> Config:
    """The server's alembic configuration, built in code (no alembic.ini), separate from the store's."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def open_database(url: str, *, migrate: bool = True) -> Database:
    """Connect to `url`, check it is SQLite or PostgreSQL, and bring its schema to the newest revision."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UserError(f"{url!r} is not a database URL; expected sqlite:///PATH or postgresql+psycopg://USER@HOST/DB") from None
    if parsed.get_backend_name() not in SUPPORTED:
        raise UserError(f"The server keeps its data in SQLite or PostgreSQL, not {parsed.get_backend_name()!r}")
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed)
        _configure_sqlite(engine)
    else:
        # Requests run in a thread pool; enough connections that they rarely wait for one.
        engine = create_engine(parsed, pool_size=10, max_overflow=20, pool_pre_ping=True)
    database = Database(engine)
    if migrate:
        try:
            _upgrade(database, parsed.render_as_string(hide_password=True))
        except OperationalError as exc:
            engine.dispose()
            raise UserError(f"Cannot open the server database {parsed.render_as_string(hide_password=True)}: {exc.orig}") from None
        except BaseException:
            engine.dispose()
            raise
    return database


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")  # sync reads never wait for ingest
            cursor.execute("PRAGMA busy_timeout=10000")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get("audience_studio_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _upgrade(database: Database, shown_url: str) -> None:
    config = alembic_config()
    with database.write() as connection:
        revision = unknown_revision(connection, config)
        if revision is not None:
            raise UserError(f"The server database {shown_url} was made by a newer Audience Studio (schema {revision}); update the server.")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
