"""Fixtures for output tests: the real Secret Service, the real OAuth server, a home with profiles, partner simulators."""

from __future__ import annotations

import os

import keyring
import pytest

from app.connectors.outputs.secrets import SecretStore
from app.models.home import OpenHome
from tests.outputs import services


@pytest.fixture(scope="session")
def secret_service(tmp_path_factory):
    """gnome-keyring's Secret Service on a private session bus, chosen as keyring's backend for the session."""
    service, processes = services.start_secret_service(tmp_path_factory.mktemp("secret-service"))
    previous_bus = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    os.environ["DBUS_SESSION_BUS_ADDRESS"] = service.bus_address
    previous_keyring = keyring.get_keyring()
    try:
        from keyring.backends import SecretService

        backend = SecretService.Keyring()
        _wait_until_usable(backend)
        keyring.set_keyring(backend)
        yield backend
    finally:
        keyring.set_keyring(previous_keyring)
        if previous_bus is None:
            os.environ.pop("DBUS_SESSION_BUS_ADDRESS", None)
        else:
            os.environ["DBUS_SESSION_BUS_ADDRESS"] = previous_bus
        services.stop(processes)


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
    server, process = services.start_oauth_server(tmp_path_factory.mktemp("oauth-server") / "server.log", 30)
    try:
        yield server
    finally:
        services.stop([process])


@pytest.fixture
def secrets(secret_service) -> SecretStore:
    return SecretStore(secret_service)


@pytest.fixture
def opened(home_dir, secret_service):
    """An open home whose outputs keep their secrets in the session's Secret Service."""
    with OpenHome.open(home_dir, user="admin") as home:
        home.secrets = SecretStore(secret_service, plaintext_file=home.home.root / "never-written.json",
                                   allow_plaintext=False)
        yield home
