"""Which of the revenue's channels are this app's own: the Revenue pane's channel breakdown names them.

Revenue records name the channel a report came from as the server got it. The app has its own channels
(Channels pane: the marketplaces and platforms a segment's taxonomy is pushed to, app/models/services/
channels.py). A record's channel that is one of them - by its key ("harbor") or its name ("Harbor Data
Marketplace"), in any case - is shown under the app's name for it, and said to be set up here or not; any
other channel (a platform the server gets reports from that the app does not push to, like Meta) is
labelled as another source, so the breakdown never passes off an unrelated channel as one of the app's.
The Unknown part (no channel reported) stays Unknown.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from app.engines import revenue as R
from app.engines.home import OpenHome

#: What a revenue channel is to this app.
SET_UP, NOT_SET_UP, OTHER = "set up", "not set up", "other source"
#: The label's end of a channel that is not one of the app's.
OTHER_SUFFIX = " (other source)"


@dataclass(frozen=True)
class AppChannel:
    key: str
    name: str
    set_up: bool  # switched on (and configured, for a channel that needs it) in this home


@dataclass(frozen=True)
class ChannelSources:
    """The app's channels, to tell a revenue channel's kind and label."""

    channels: tuple[AppChannel, ...] = ()

    def app_channel(self, key: str | None) -> AppChannel | None:
        if key is None:
            return None
        wanted = key.strip().casefold()
        return next((c for c in self.channels if wanted in (c.key.casefold(), c.name.casefold())), None)

    def kind(self, key: str | None) -> str | None:
        """SET_UP, NOT_SET_UP or OTHER; None for the Unknown part."""
        if key is None:
            return None
        found = self.app_channel(key)
        return OTHER if found is None else SET_UP if found.set_up else NOT_SET_UP

    def label(self, key: str | None) -> str:
        if key is None:
            return R.UNKNOWN
        found = self.app_channel(key)
        return found.name if found is not None else key + OTHER_SUFFIX

    def describe(self, key: str | None) -> str:
        """A tooltip's sentence on where the revenue came from."""
        kind = self.kind(key)
        if kind is None:
            return "Revenue whose channel was not reported"
        if kind == SET_UP:
            return f"{self.label(key)}: one of this app's channels, set up here"
        if kind == NOT_SET_UP:
            return f"{self.label(key)}: one of this app's channels, not set up here (Channels pane)"
        return f"{key}: another source the server has reports from; not one of this app's channels"

    def order(self, key: str | None) -> tuple[int, str]:
        """Sort key: the app's channels first, then other sources, Unknown last."""
        kind = self.kind(key)
        return ({SET_UP: 0, NOT_SET_UP: 0, OTHER: 1, None: 2}[kind], self.label(key).casefold())


def channel_sources(home: OpenHome) -> ChannelSources:
    """The app's channels with whether each is set up in this home (reads the store)."""
    return ChannelSources(tuple(AppChannel(state.channel.key, state.channel.name, state.enabled and state.is_set_up)
                                for state in home.channels.channels()))


def label_channels(breakdown: R.Breakdown, sources: ChannelSources) -> R.Breakdown:
    """A channel breakdown with the app's names for its channels and other sources marked as such."""
    return dataclasses.replace(breakdown, parts=[dataclasses.replace(p, label=sources.label(p.key))
                                                 for p in breakdown.parts])


def label_series(series: R.Series, key: str | None, sources: ChannelSources) -> R.Series:
    return dataclasses.replace(series, label=sources.label(key))
