"""Channels: the Segment tab's Channels section, the Channel Settings dialog and the set-up wizard."""
