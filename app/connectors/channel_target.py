"""Where one channel's taxonomy API is: its base URL and the headers every request to it carries.

Kept apart from the client (app/connectors/channel_api.py) so that the channel service can say where a segment
goes without importing an HTTP library: the service plans, an engine sends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit


@dataclass(frozen=True)
class ChannelTarget:
    """Where one channel's taxonomy API is and what it must be told on every request (account or seat headers)."""

    channel_name: str
    base_url: str
    headers: Mapping[str, str] = field(default_factory=dict)

    def segment_url(self, ref: str) -> str:
        return f"{self.base_url.rstrip('/')}/segments/{quote(ref, safe='')}"

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or self.base_url
