"""Helpers for activation tests: waiting for the activator's threads (bounded, never a timed assertion), engines
that retry without sleeping, batch files for real imports."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from pathlib import Path

from app.engines.forwarding import ForwardingEngine
from app.engines.rate_limits import RateLimits
from app.connectors.outputs.sending import RetryPolicy
from tests.outputs.homes import gold_member


def wait_for(condition: Callable[[], bool], what: str, limit: float = 30.0) -> None:
    """Poll until `condition()`; fail naming `what` if it never holds (a hang guard, not a speed check)."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.02)


def quick_engines(home, trigger: str, limits: RateLimits) -> ForwardingEngine:
    """Engines as the activator makes them, but retrying at once (no real back-off waits in tests)."""
    return ForwardingEngine(home, trigger=trigger, rate_limits=limits, sleep=lambda _s: None, rng=random.Random(3),
                            policy=RetryPolicy(retries=2))


def tier_files(folder: Path, workspace_id_unused: int, tiers: dict[int, str]) -> list[Path]:
    """One batch file per profile moving in or out of the gold audience, as a CRM export would write them."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for n, tier in tiers.items():
        path = folder / f"profile-{n}.json"
        path.write_text(json.dumps(gold_member(n, tier=tier)))
        files.append(path)
    return files
