"""Opening the workspace store: the SQLite file, its connection settings, migrations and change events."""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, DateTime, Engine, TypeDecorator, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DatabaseError, SAWarning
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from app.errors import UserError

if TYPE_CHECKING:
    # alembic is imported where a store is opened, not with this module: the desktop app imports the
    # models before its window shows, and alembic alone adds ~0.2 s to that (docs/performance.md).
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

EVENT_KINDS = frozenset({"audience_added", "audience_changed", "audience_removed", "workspace_changed",
                         "output_changed", "connection_changed", "fault_changed"})

# Key in Session.info where a transaction collects the events it will publish once committed.
_PENDING_EVENTS = "audience_studio.pending_events"

StoreCallback = Callable[[str, int], None]


def utc_now() -> datetime:
    """The current time as a timezone-aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp kept as naive UTC in SQLite (which has no time zones) and read back as aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            # A naive time is ambiguous (local or UTC?); refusing it catches the bug where it is made.
            raise ValueError(f"Timestamp {value.isoformat()} has no time zone; store aware datetimes.")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class StoreEvents:
    """Tells subscribers what changed in the store, only after the change is committed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._callbacks: list[StoreCallback] = []

    def subscribe(self, callback: StoreCallback) -> Callable[[], None]:
        """Call `callback(kind, id)` after each committed change; returns a function that unsubscribes."""
        with self._lock:
            self._callbacks.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return unsubscribe

    def publish(self, kind: str, subject_id: int) -> None:
        """Tell every subscriber; one failing subscriber must not hide the change from the others."""
        with self._lock:
            callbacks = list(self._callbacks)
        # Called outside the lock so a subscriber may (un)subscribe or read the store.
        for callback in callbacks:
            try:
                callback(kind, subject_id)
            except Exception:
                log.exception("Store event subscriber %r failed on %s %s", callback, kind, subject_id)


def emit_after_commit(session: Session, kind: str, subject_id: int) -> None:
    """Queue a store event that is published only if this session's transaction commits.

    `subject_id` is the audience id for audience_* kinds, the workspace id for workspace_changed, the
    output configuration's id for output_changed and the connection's id for connection_changed and
    fault_changed.
    """
    if kind not in EVENT_KINDS:
        raise ValueError(f"Unknown store event kind {kind!r}; expected one of {sorted(EVENT_KINDS)}.")
    pending: list[tuple[str, int]] = session.info.setdefault(_PENDING_EVENTS, [])
    if (kind, subject_id) not in pending:
        pending.append((kind, subject_id))


class Store:
    """An open workspace store: an engine on one SQLite file, transactions and change events."""

    def __init__(self, engine: Engine, path: Path) -> None:
        self.engine = engine
        self.path = path
        self.events = StoreEvents()
        self._sessions = sessionmaker(bind=engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction: committed if the block succeeds, rolled back if it raises.

        Events queued with `emit_after_commit` are published after the commit and after the
        session is closed, so subscribers never run inside the transaction.
        """
        session = self._sessions()
        try:
            with session.begin():
                yield session
            events: list[tuple[str, int]] = list(session.info.get(_PENDING_EVENTS, ()))
        finally:
            session.info.pop(_PENDING_EVENTS, None)
            session.close()
        for kind, subject_id in events:
            self.events.publish(kind, subject_id)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def alembic_config(url: str | None = None) -> Config:
    """An alembic configuration for the store's migrations, built in code (there is no alembic.ini).

    With a URL it can also drive alembic commands by hand, e.g. writing a new migration:
    `command.revision(alembic_config("sqlite:///dev.sqlite3"), "add outputs", autogenerate=True)`.
    """
    from alembic.config import Config

    config = Config()
    # ConfigParser treats "%" as interpolation; a path containing one must be escaped.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy emit BEGIN itself (below) so reads and DDL are transactional too;
        # the sqlite3 driver's legacy mode only begins before INSERT/UPDATE/DELETE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=5000")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        # IMMEDIATE: take the write lock when the transaction starts. A deferred transaction that read
        # first and then writes fails at once with "database is locked" if another connection wrote
        # in between (WAL cannot upgrade a stale snapshot, and busy_timeout does not apply); two saves
        # running side by side (the criteria and the segment settings) did exactly that. Store
        # transactions are short, so waiting for the lock (busy_timeout) costs little.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def unknown_revision(connection: Connection, config: Config) -> str | None:
    """The database's schema revision if these migrations do not know it (a newer version made it)."""
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError as AlembicError

    scripts = ScriptDirectory.from_config(config)
    for revision in MigrationContext.configure(connection).get_current_heads():
        try:
            known = scripts.get_revision(revision) is not None
        except AlembicError:
            known = False
        if not known:
            return revision
    return None


def _refuse_newer_schema(connection: Connection, config: Config, path: Path) -> None:
    revision = unknown_revision(connection, config)
    if revision is not None:
        raise UserError(
            f"The store {path} was saved by a newer version of Audience Studio (schema {revision}); "
            "update the app to open it."
        )


def _upgrade(engine: Engine, path: Path) -> None:
    """Bring the schema to the newest migration; a no-op when it is already there."""
    from alembic import command

    config = alembic_config()
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        # Batch migrations rebuild tables (copy, DROP, rename); with foreign keys enforced the DROP
        # would cascade-delete child rows. The pragma is ignored inside a transaction, so set it first.
        raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                _refuse_newer_schema(connection, config, path)
                config.attributes["connection"] = connection
                with warnings.catch_warnings():
                    # Batch migrations reflect tables, and SQLite cannot reflect expression indexes (such as
                    # the case-insensitive name indexes); the migrations recreate those by hand, so the
                    # warning would only alarm whoever reads the console.
                    warnings.filterwarnings("ignore", r".*expression-based index", SAWarning)
                    command.upgrade(config, "head")
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    # Raising rolls the whole upgrade back, leaving the file as it was.
                    raise RuntimeError(f"Migrating the store broke {len(broken)} references: {broken[:5]}")
        finally:
            raw.execute("PRAGMA foreign_keys=ON")


def open_store(path: Path) -> Store:
    """Open (creating if needed) the store at `path` and migrate it to the current schema."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{path}")
    _configure_sqlite(engine)
    try:
        _upgrade(engine, path)
    except DatabaseError as exc:
        engine.dispose()
        if "not a database" in str(exc.orig):
            raise UserError(f"{path} is not an Audience Studio store, or it is damaged.") from exc
        raise
    except BaseException:
        engine.dispose()
        raise
    return Store(engine, path)
