"""Fixtures for output tests: secret stores and homes on the real Secret Service (tests/conftest.py starts it and the OAuth server)."""

from __future__ import annotations

import pytest

from app.connectors.outputs.secrets import SecretStore
from app.engines.home import OpenHome


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
