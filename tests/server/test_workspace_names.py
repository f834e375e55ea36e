"""Workspace names are unique whatever their case, by Unicode case folding, on SQLite and PostgreSQL
alike (issue 24: "Équipe" and "équipe" could both be created on SQLite, and a laptop merged them into
one workspace); the upgrade of a database already holding such names renames the later ones."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic import command
from sqlalchemy import insert, select, text

from app.cli.main import main
from app.errors import UserError
from app.server.admin import Admin
from app.server.database import alembic_config, open_database
from app.server.tables import inputs, workspaces


@pytest.fixture
def admin(database_url):
    database = open_database(database_url)
    try:
        yield Admin(database)
    finally:
        database.close()


@pytest.mark.parametrize("first, second", [("Équipe", "équipe"), ("ÉQUIPE", "équipe"), ("Straße", "STRASSE"),
                                           ("Ｅquipe", "equipe"), ("Cafe\u0301", "CAFÉ"), ("İstanbul", "i̇stanbul")])
def test_names_equal_but_for_case_are_one_name(admin, first, second):
    created = admin.create_workspace(first)
    with pytest.raises(UserError) as error:
        admin.create_workspace(second)
    assert str(error.value) == (f"workspace name {second!r}: a workspace of that name already exists "
                                f"({first!r}: workspace names are the same whatever their case)")
    # ...and any spelling of it finds the workspace.
    assert admin.create_input(second, feed="CRM").input.workspace_id == created.id
    assert [w.name for w in admin.list_workspaces()] == [first]


def test_the_command_line_says_so_in_one_line(capsys, tmp_path, database_url):
    run = ["--home", str(tmp_path), "server", "workspace", "create", "--database", database_url]
    assert main([*run[:-2], "Équipe", *run[-2:]]) == 0
    capsys.readouterr()
    assert main([*run[:-2], "équipe", *run[-2:]]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "workspace name 'équipe': a workspace of that name already exists ('Équipe'" in err


def test_the_upgrade_renames_later_workspaces_whose_names_equal_an_older_one_but_for_case(database_url):
    """A server upgraded from revision 0002 holding "Équipe", "équipe" and "ÉQUIPE" (SQLite let them
    in): the oldest keeps its name, the others become "équipe (2)" and "ÉQUIPE (3)", nothing else changes."""
    database = open_database(database_url, migrate=False)
    try:
        config = alembic_config()
        with database.write() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0002")
        now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
        names = ["Équipe", "Other", "équipe", "équipe (2)x", "ÉQUIPE", "E" * 199 + "é"]
        names.append("e" * 199 + "É")
        with database.write() as connection:
            for name in names:
                connection.execute(text("INSERT INTO workspaces (name, last_seq, created_at, revenue_seq) "
                                        "VALUES (:name, 7, :now, 0)"), {"name": name, "now": now})
            ids = dict(connection.execute(text("SELECT name, id FROM workspaces")).all())
            connection.execute(insert(inputs).values(workspace_id=ids["équipe"], kind="feed", name="CRM", api_key="k1",
                                                     secret_hash="h", enabled=True, created_at=now))
    finally:
        database.close()

    database = open_database(database_url)  # the upgrade to the newest revision
    try:
        with database.read() as connection:
            rows = connection.execute(select(workspaces.c.id, workspaces.c.name, workspaces.c.last_seq).order_by(workspaces.c.id)).all()
            assert [r.name for r in rows] == ["Équipe", "Other", "équipe (2)", "équipe (2)x", "ÉQUIPE (3)",
                                              "E" * 199 + "é", "e" * 196 + " (2)"]
            assert [r.id for r in rows] == [ids[n] for n in names] and {r.last_seq for r in rows} == {7}
            assert connection.execute(select(inputs.c.workspace_id)).scalar_one() == ids["équipe"]
        with pytest.raises(UserError, match="already exists"):
            Admin(database).create_workspace("ÉQUIPE (3)".lower())
    finally:
        database.close()
