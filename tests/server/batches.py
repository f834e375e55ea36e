"""Batches for the server's tests: a small slice of the demo workspace (every cache table has rows),
and helpers to send them through ingest the way a client would."""

from __future__ import annotations

import datetime as dt
import itertools

from app.connectors.batches import PLATFORM_NAMES
from app.connectors.demo_data import US_WORKSPACE, generate
from tests import factories


def demo_batches(profiles: int = 120, days: int = 14) -> list[tuple[str, dict]]:
    """(input, batch) pairs of the US demo workspace in generation order; input is a platform name or "feed:CRM"."""
    out = []
    for item in generate(profiles=profiles, days=days, seed=11, end=dt.datetime(2026, 1, 20, tzinfo=dt.UTC)):
        if item.workspace != US_WORKSPACE:
            continue
        if item.feed:
            out.append((f"feed:{item.feed}", item.batch))
        else:
            os_name = (item.batch.get("application_info") or {}).get("os") or item.batch["device_info"]["platform"]
            out.append((PLATFORM_NAMES[os_name.lower()], item.batch))
    return out


def later_state(pairs: list[tuple[str, dict]], profiles: int = 3) -> list[tuple[str, dict]]:
    """Newer state for a few of the profiles: a deleted attribute and changed values (latest wins)."""
    later = factories.T0 + 200 * 86_400_000
    return [("iOS", factories.batch(b["mpid"], at=later + k, deleted_user_attributes=["loyalty_tier"], user_attributes={"tier": "new"}))
            for k, (_, b) in enumerate(pairs[:profiles])]


def runs(pairs: list[tuple[str, dict]], size: int = 100):
    """Consecutive batches of one input, in order, at most `size` at a time (one bulk request each)."""
    for input_name, group in itertools.groupby(pairs, key=lambda pair: pair[0]):
        group = [batch for _, batch in group]
        for start in range(0, len(group), size):
            yield input_name, group[start:start + size]
