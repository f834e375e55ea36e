"""Per-output rate limits: a token bucket from the partner's declared limit, shared by every connection to the
output (and every thread of the process that forwards to it), taken before each request to the partner."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """`rate` tokens a second up to `burst`; `take()` waits (with the injectable `sleep`) until one is there.

    Thread-safe: the forwarding queues of one output share a bucket. The wait is computed under the lock and
    slept outside it, so a waiting thread never blocks another output's bucket.
    """

    def __init__(self, rate: float, burst: int = 1, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if rate <= 0:
            raise ValueError("a rate limit is a positive number of requests per second")
        self.rate = float(rate)
        self.burst = max(1, int(burst))
        self._clock, self._sleep = clock, sleep
        self._tokens = float(self.burst)
        self._updated = clock()
        self._lock = threading.Lock()
        #: Seconds spent waiting for tokens so far (run history and tests read it).
        self.waited = 0.0

    def take(self) -> float:
        """Take one token, waiting until there is one; returns how long it waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            # The token is spent now (the balance may go negative): the next caller waits behind this one.
            self._tokens -= 1.0
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate
            self.waited += wait
        if wait > 0:
            self._sleep(wait)
        return wait


class RateLimits:
    """The buckets of a process, one per output (by output id), made on first use from the partner's limit."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self._clock, self._sleep = clock, sleep
        self._buckets: dict[int, TokenBucket] = {}
        self._lock = threading.Lock()

    def bucket(self, output_id: int, rate: float | None, burst: int = 1) -> TokenBucket | None:
        """The output's bucket, or None when its partner declares no limit."""
        if rate is None:
            return None
        with self._lock:
            found = self._buckets.get(output_id)
            if found is None or found.rate != rate or found.burst != max(1, burst):
                found = self._buckets[output_id] = TokenBucket(rate, burst, clock=self._clock, sleep=self._sleep)
            return found
