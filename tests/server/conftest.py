"""Fixtures for the server's tests: a real PostgreSQL started for the session, a fresh database per test
(SQLite or PostgreSQL: every test that takes `database_url` runs on both), and live servers on 127.0.0.1.

PostgreSQL refuses to run as root, so when the tests run as root initdb and postgres run as the
`postgres` system user (which Debian's package creates) on a data folder it owns.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from tests.server.live import Deployment, free_port

REQUIRE_ENV = "AUDIENCE_STUDIO_REQUIRE_POSTGRES"
#: The database the tests use; each test gets a schema of its own in it (much faster to make than a database).
DATABASE = "server_tests"


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")  # a PATH set by hand
    if on_path:
        return Path(on_path).parent
    homebrew = sorted(glob.glob("/opt/homebrew/opt/postgresql@*/bin/pg_ctl") + glob.glob("/usr/local/opt/postgresql@*/bin/pg_ctl"))
    return Path(homebrew[-1]).parent if homebrew else None


class PostgresServer:
    """A throwaway PostgreSQL cluster on 127.0.0.1, trusted connections as the `postgres` role."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="audience-studio-pg-"))  # under /tmp: reachable by the postgres user
        self.data = self.root / "data"
        self.port = free_port()
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            try:
                shutil.chown(self.root, "postgres", "postgres")
            except LookupError:
                pytest.fail("The tests run as root and PostgreSQL refuses root: no 'postgres' system user to run it as "
                            "(installing Debian's postgresql package creates one)")
            self._as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        result = subprocess.run([*self._as_user, *args], capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            log = (self.root / "postgres.log")
            tail = log.read_text()[-2000:] if log.exists() else ""
            pytest.fail(f"{' '.join(args[:2])} failed ({result.returncode}): {result.stderr or result.stdout}\n{tail}")

    def start(self) -> None:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-h 127.0.0.1 -p {self.port} -k {self.data} -F -c max_connections=300"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "postgres.log"), "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        subprocess.run([*self._as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60, check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str, schema: str | None = None) -> str:
        options = f"?options=-csearch_path%3D{schema}" if schema else ""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}{options}"

    def admin_execute(self, sql: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=database, autocommit=True) as connection:
            connection.execute(sql)


@pytest.fixture(scope="session")
def postgres():
    bindir = _postgres_bin()
    if bindir is None:
        message = ("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/pg_ctl, nor pg_ctl on the PATH): "
                   "`scripts/setup --test` installs Debian's postgresql package")
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(message + f" ({REQUIRE_ENV}=1 makes the PostgreSQL tests required)", pytrace=False)
        pytest.skip(message)
    server = PostgresServer(bindir)
    try:
        server.start()
        server.admin_execute(f'CREATE DATABASE "{DATABASE}"')
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A fresh, empty server database of each kind (for PostgreSQL: a schema of its own, as search_path)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'server.sqlite3'}"
        return
    postgres = request.getfixturevalue("postgres")
    name = "t_" + uuid.uuid4().hex[:12]
    postgres.admin_execute(f'CREATE SCHEMA "{name}"', DATABASE)
    try:
        yield postgres.url(DATABASE, schema=name)
    finally:
        postgres.admin_execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE', DATABASE)


@pytest.fixture
def deployment(database_url):
    """A live server on the test's database, with the default settings."""
    with Deployment.start(database_url) as running:
        yield running


@pytest.fixture
def start_server(database_url):
    """Start a live server with chosen settings: `start_server(page_batches=3)`."""
    started: list[Deployment] = []

    def start(**settings) -> Deployment:
        running = Deployment.start(database_url, **settings).__enter__()
        started.append(running)
        return running

    yield start
    for running in started:
        running.__exit__(None, None, None)
