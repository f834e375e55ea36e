"""Fixtures for the channels' HTTP tests: a channel API simulator on 127.0.0.1, stopped after the test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.channels.simulator import ChannelSimulator


@pytest.fixture
def channel_api() -> Iterator[ChannelSimulator]:
    with ChannelSimulator() as simulator:
        yield simulator
