"""A token bucket per input: the ingest rate limit, with the wait a refused sender should observe.

Kept in the server process's memory: a limit per process is what protects the process, and a
restart forgetting the buckets only lets senders burst once.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class RateLimiter:
    def __init__(self, rate_per_second: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate = rate_per_second
        self.burst = max(1, burst)
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[int, tuple[float, float]] = {}  # key -> (tokens, when)

    def take(self, key: int) -> int | None:
        """Spend one request for `key`: None if allowed, else the whole seconds to wait (Retry-After)."""
        now = self._clock()
        with self._lock:
            tokens, when = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - when) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return None
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self.rate))
