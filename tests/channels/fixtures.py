"""Channel fixtures shared by the channel service's tests and the channel pushes engine's: a controlled clock,
the channel API simulator on 127.0.0.1, the service and the engine pointed at it, and a public segment "Buyers".
Import the fixtures by name into a test module (pytest finds them there)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.connectors.channel_api import ChannelApi
from app.engines.channel_pushes import ChannelPushes
from app.models.services.channels import ChannelService
from app.models.services.segments import SegmentSettingsService
from tests.channels.simulator import ChannelSimulator

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
DSP = {"account_id": "dsp-204817", "endpoint_url": "https://api.example-dsp.com/taxonomy",
       "taxonomy_root": "Harbor Retail Data", "currency": "EUR"}


class Clock:
    def __init__(self) -> None:
        self.at = START

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def channel_api():
    with ChannelSimulator() as simulator:
        yield simulator


@pytest.fixture
def channels(store, clock, channel_api) -> ChannelService:
    return ChannelService(store, "maria", now=clock, endpoints=channel_api.endpoints())


@pytest.fixture
def pushing(channels) -> ChannelPushes:
    """The engine that sends the channels' requests, to the simulator (short timeouts keep a failure quick)."""
    return ChannelPushes(channels, ChannelApi(timeout=(2.0, 0.5)))


@pytest.fixture
def segments(store) -> SegmentSettingsService:
    return SegmentSettingsService(store, "maria")


@pytest.fixture
def buyers(audiences, retail, segments):
    audience = audiences.create("Buyers", workspace_ids=[retail.id])
    segments.update(audience.id, visibility="public", category="Retail > Outdoor", expiration_days=90)
    return audience
