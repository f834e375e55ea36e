"""Fixtures for continuous activation: homes with the real keyring (tests/outputs), webhook partners on 127.0.0.1."""

from __future__ import annotations

import pytest

from tests.outputs import conftest as outputs
from tests.outputs.partners import WebhookSimulator

#: The same homes as the output tests: the real Secret Service keeps their secrets.
secrets = outputs.secrets
opened = outputs.opened

SECRET = "whsec-activation-secret"


@pytest.fixture
def webhook():
    simulator = WebhookSimulator(SECRET)
    yield simulator
    simulator.close()
