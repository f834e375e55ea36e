"""Shared fixtures: a fresh home per test, with the real SQLite store and the real DuckDB cache."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def home_dir(tmp_path):
    from app.paths import resolve_home

    return resolve_home(tmp_path / "home")


@pytest.fixture
def cache(tmp_path):
    from app.connectors.cache import Cache

    opened = Cache(tmp_path / "cache.duckdb")
    yield opened
    opened.close()


def _services():
    # Imported when needed: most test runs never start these services.
    from tests.outputs import services

    return services


# The real Secret Service and OAuth server, shared by the output tests and the window tests (tests/ui).
@pytest.fixture(scope="session")
def secret_service_session(tmp_path_factory):
    """gnome-keyring's Secret Service on a private session bus, chosen as keyring's backend for the session."""
    import keyring

    service = _services().start_secret_service(tmp_path_factory.mktemp("secret-service"))
    previous_bus = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    os.environ["DBUS_SESSION_BUS_ADDRESS"] = service.bus_address
    previous_keyring = keyring.get_keyring()
    try:
        from keyring.backends import SecretService

        backend = SecretService.Keyring()
        _wait_until_usable(backend)
        keyring.set_keyring(backend)
        yield service, backend
    finally:
        keyring.set_keyring(previous_keyring)
        if previous_bus is None:
            os.environ.pop("DBUS_SESSION_BUS_ADDRESS", None)
        else:
            os.environ["DBUS_SESSION_BUS_ADDRESS"] = previous_bus
        _services().stop(service.processes())


@pytest.fixture
def secret_service(secret_service_session):
    """The session's Secret Service, its daemon checked before each test that uses it.

    gnome-keyring-daemon once exited in the middle of a CI run; the tests after it then failed with
    "KeyringLocked" from a stand-in daemon. A daemon found gone is restarted on the same keyring files
    (so nothing stored is lost) and a warning says so in the test report.
    """
    import warnings

    service, backend = secret_service_session
    restarted = service.ensure_running()
    if restarted is not None:
        warnings.warn(restarted, stacklevel=1)
        _wait_until_usable(backend)
    return backend


def _wait_until_usable(backend, seconds: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + seconds
    while True:
        try:
            backend.set_password("Audience Studio test", "probe", "ok")
            backend.delete_password("Audience Studio test", "probe")
            return
        except Exception as exc:  # the daemon may still be registering on the bus
            if time.monotonic() > deadline:
                pytest.fail(f"gnome-keyring's Secret Service did not answer: {exc!r}", pytrace=False)
            time.sleep(0.1)


@pytest.fixture(scope="session")
def oauth_server(tmp_path_factory):
    """panva/oidc-provider on 127.0.0.1 with 30-second access tokens."""
    server, process = _services().start_oauth_server(tmp_path_factory.mktemp("oauth-server") / "server.log", 30)
    try:
        yield server
    finally:
        _services().stop([process])
