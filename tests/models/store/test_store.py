"""Tests for opening the store: migrations, connection settings, transactions, timestamps and change events."""

from __future__ import annotations

import re
import sqlite3
import threading
import warnings
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import CheckConstraint, inspect, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.schema import CreateIndex

from app.errors import UserError
from app.models.store.db import Store, StoreEvents, alembic_config, emit_after_commit, open_store
from app.models.store.schema import Base, Workspace

EXPECTED_TABLES = {
    "alembic_version",
    "calculated_attributes",
    "workspaces",
    "inputs",
    "audiences",
    "audience_workspaces",
    "audience_inputs",
    "audience_tags",
    "audience_versions",
    "audience_version_cursors",
    "attribute_type_overrides",
    "output_configurations",
    "connections",
    "forwarding_runs",
    "rejected_records",
    "ab_tests",
    "ab_variants",
    "standard_audiences",
    "standard_calculations",
    "credit_ledger",
    "forwarding_states",
    "forwarded_identities",
    "forwarding_batches",
    "faults",
    "audience_sync",
    "audience_sync_cursors",
    "sync_runs",
    "segment_settings",
    "channel_configurations",
    "segment_channel_pushes",
}


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {
            name
            for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not name.startswith("sqlite_")
        }


def _normalised(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip().lower()


def test_open_store_creates_folder_and_schema_at_newest_migration(store: Store, store_path: Path) -> None:
    assert store.path == store_path
    assert _tables(store_path) == EXPECTED_TABLES
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with store.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head


def test_reopening_the_store_is_idempotent_and_keeps_data(store_path: Path) -> None:
    with open_store(store_path) as first:
        with first.transaction() as session:
            session.add(Workspace(name="Retail"))
    for _ in range(2):
        with open_store(store_path) as again:
            with again.transaction() as session:
                assert session.scalars(select(Workspace.name)).all() == ["Retail"]
    assert _tables(store_path) == EXPECTED_TABLES


def test_connections_enforce_foreign_keys_use_wal_and_wait_when_busy(store: Store) -> None:
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000


def test_migrations_and_orm_describe_the_same_schema(store: Store) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
        with warnings.catch_warnings():
            # SQLite cannot reflect expression indexes (lower(name)); they are compared below instead.
            warnings.filterwarnings("ignore", message=".*expression-based index.*")
            assert compare_metadata(context, Base.metadata) == []


def test_migrations_create_the_orm_expression_indexes(store: Store) -> None:
    with store.engine.connect() as connection:
        stored = dict(connection.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index'").all())
    for table in Base.metadata.tables.values():
        for index in table.indexes:
            if any(not hasattr(e, "name") for e in index.expressions):
                expected = str(CreateIndex(index).compile(dialect=sqlite.dialect()))
                assert _normalised(stored[index.name]) == _normalised(expected)


def test_migrations_create_the_orm_check_constraints(store: Store) -> None:
    inspector = inspect(store.engine)
    for table in Base.metadata.tables.values():
        expected = {
            (c.name, _normalised(str(c.sqltext))) for c in table.constraints if isinstance(c, CheckConstraint)
        }
        found = {(c["name"], _normalised(c["sqltext"])) for c in inspector.get_check_constraints(table.name)}
        assert found == expected, table.name


def test_check_constraints_refuse_unknown_values(store: Store) -> None:
    with pytest.raises(IntegrityError):
        with store.transaction() as session:
            session.execute(
                text(
                    "INSERT INTO audiences (name, scope, criteria, created_by, created_at, updated_at) "
                    "VALUES ('A', 'everywhere', '{}', 'maria', '2026-01-01', '2026-01-01')"
                )
            )


def test_audience_names_are_unique_ignoring_case_in_the_database(store: Store) -> None:
    insert = text(
        "INSERT INTO audiences (name, scope, criteria, created_by, created_at, updated_at) "
        "VALUES (:name, 'single', '{}', 'maria', '2026-01-01', '2026-01-01')"
    )
    with store.transaction() as session:
        session.execute(insert, {"name": "Lapsed buyers"})
    with pytest.raises(IntegrityError):
        with store.transaction() as session:
            session.execute(insert, {"name": "LAPSED BUYERS"})


def test_transaction_rolls_back_everything_when_the_block_raises(store: Store) -> None:
    with pytest.raises(RuntimeError):
        with store.transaction() as session:
            session.add(Workspace(name="Retail"))
            session.flush()
            raise RuntimeError("boom")
    with store.transaction() as session:
        assert session.scalars(select(Workspace)).all() == []


def test_timestamps_come_back_as_aware_utc(store: Store) -> None:
    paris_noon = datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=1)))
    with store.transaction() as session:
        session.add(Workspace(name="Retail", created_at=paris_noon))
    with store.transaction() as session:
        created = session.scalars(select(Workspace.created_at)).one()
    assert created == paris_noon
    assert created.tzinfo == UTC
    assert created.hour == 11


def test_naive_timestamps_are_refused(store: Store) -> None:
    with pytest.raises(Exception, match="no time zone"):
        with store.transaction() as session:
            session.add(Workspace(name="Retail", created_at=datetime(2026, 3, 1, 12, 0)))


def test_events_are_published_after_commit_and_outside_the_transaction(store: Store) -> None:
    seen: list[tuple[str, int, list[str]]] = []

    def on_change(kind: str, subject_id: int) -> None:
        # A fresh transaction sees the committed row, so the writer's transaction has ended.
        with store.transaction() as session:
            seen.append((kind, subject_id, session.scalars(select(Workspace.name)).all()))

    store.events.subscribe(on_change)
    with store.transaction() as session:
        workspace = Workspace(name="Retail")
        session.add(workspace)
        session.flush()
        emit_after_commit(session, "workspace_changed", workspace.id)
        emit_after_commit(session, "workspace_changed", workspace.id)
        assert seen == []
    assert seen == [("workspace_changed", workspace.id, ["Retail"])]


def test_events_are_dropped_when_the_transaction_rolls_back(store: Store, recorded_events: list) -> None:
    with pytest.raises(RuntimeError):
        with store.transaction() as session:
            emit_after_commit(session, "audience_changed", 1)
            raise RuntimeError("boom")
    with store.transaction():
        pass
    assert recorded_events == []


def test_unknown_event_kind_is_a_programming_error(store: Store) -> None:
    with pytest.raises(ValueError, match="audience_renamed"):
        with store.transaction() as session:
            emit_after_commit(session, "audience_renamed", 1)


def test_a_failing_subscriber_does_not_stop_the_others() -> None:
    events = StoreEvents()
    received: list[tuple[str, int]] = []

    def broken(kind: str, subject_id: int) -> None:
        raise RuntimeError("subscriber bug")

    events.subscribe(broken)
    events.subscribe(lambda kind, subject_id: received.append((kind, subject_id)))
    events.publish("audience_added", 3)
    assert received == [("audience_added", 3)]


def test_unsubscribed_callbacks_are_not_called() -> None:
    events = StoreEvents()
    received: list[tuple[str, int]] = []
    unsubscribe = events.subscribe(lambda kind, subject_id: received.append((kind, subject_id)))
    unsubscribe()
    unsubscribe()
    events.publish("audience_added", 3)
    assert received == []


def test_subscribing_from_many_threads_while_publishing_loses_no_subscriber() -> None:
    events = StoreEvents()
    counts = [0] * 20

    def subscriber(n: int) -> None:
        def bump(kind: str, subject_id: int) -> None:
            counts[n] += 1

        events.subscribe(bump)

    threads = [threading.Thread(target=subscriber, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
        events.publish("audience_changed", 1)
    for thread in threads:
        thread.join()
    events.publish("audience_changed", 1)
    assert all(count >= 1 for count in counts)


def test_opening_a_file_that_is_not_a_store_fails_without_touching_it(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(UserError, match="is not an Audience Studio store"):
        open_store(path)
    assert path.read_bytes() == b"this is not a database" * 100


def test_a_store_from_a_newer_app_version_is_refused_with_advice(store_path: Path) -> None:
    open_store(store_path).close()
    with sqlite3.connect(store_path) as db:
        db.execute("UPDATE alembic_version SET version_num = '0099'")
    with pytest.raises(UserError, match="newer version of Audience Studio \\(schema 0099\\); update the app"):
        open_store(store_path)


def test_alembic_run_by_hand_on_a_url_finds_nothing_to_generate(store: Store, store_path: Path) -> None:
    # The path a developer takes to autogenerate the next migration; it must see the ORM and migrations agree.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*expression-based index.*")
        command.check(alembic_config(f"sqlite:///{store_path}"))


def test_two_transactions_that_read_then_write_side_by_side_both_commit(store: Store) -> None:
    """A save of the criteria and a save of the segment settings run at once on pool threads; each reads,
    then writes. Neither may fail with "database is locked" (a deferred transaction cannot upgrade a stale
    snapshot): the second waits for the first instead."""
    with store.transaction() as session:
        session.add(Workspace(name="Shared"))
    both_read = threading.Barrier(2, timeout=1)
    errors: list[BaseException] = []

    def save(name: str) -> None:
        try:
            with store.transaction() as session:
                session.scalars(select(Workspace)).all()
                try:
                    both_read.wait()  # with IMMEDIATE transactions the second waits at BEGIN, never reaches here first
                except threading.BrokenBarrierError:
                    pass
                session.add(Workspace(name=name))
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(name,)) for name in ("First", "Second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with store.transaction() as session:
        assert sorted(w.name for w in session.scalars(select(Workspace))) == ["First", "Second", "Shared"]
