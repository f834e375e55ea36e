"""Sending one batch with retries: exponential backoff with jitter for 429 and 5xx, honouring Retry-After.

The clock is the caller's `sleep`, so tests run the whole schedule instantly.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from app.connectors.outputs.batches import Batch, Destination
from app.connectors.outputs.errors import Failure, PartnerError
from app.connectors.outputs.partner import PartnerClient

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying a batch the partner could not take right now."""

    retries: int = 5
    base_seconds: float = 1.0
    cap_seconds: float = 60.0
    #: A Retry-After longer than this is not waited out in the background: the connection faults instead.
    longest_wait_seconds: float = 15 * 60.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Full jitter (a random wait up to the exponential step) spreads clients out; Retry-After is a floor."""
        backoff = rng.uniform(0, min(self.cap_seconds, self.base_seconds * 2 ** attempt))
        return max(backoff, retry_after or 0.0)


class SendFailed(Exception):
    """The batch could not be delivered; `failure` says why, for the fault."""

    def __init__(self, failure: Failure):
        super().__init__(failure.message)
        self.failure = failure


def call_with_retries(action: Callable[[], T], *, policy: RetryPolicy = RetryPolicy(),
                      sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None,
                      batch_id: str | None = None, label: str = "request") -> tuple[T, int]:
    """`action()`'s result and how many retries it took; SendFailed when it must stop for the admin."""
    rng = rng or random.Random()
    attempt = 0
    while True:
        try:
            return action(), attempt
        except PartnerError as exc:
            error = exc
        too_long = error.retry_after is not None and error.retry_after > policy.longest_wait_seconds
        if not error.retryable or attempt >= policy.retries or too_long:
            message = error.message
            if too_long:  # else the fault would not say why nothing was retried
                message += (f" It asked to wait {error.retry_after:,.0f} s, longer than the {policy.longest_wait_seconds / 60:g} "
                            f"minutes waited in the background: resume once that time has passed.")
            raise SendFailed(Failure(error.category, message, error.status, attempt, batch_id)) from error
        wait = policy.delay(attempt, error.retry_after, rng)
        attempt += 1
        log.info("%s: %s; retry %d in %.1f s", label, error.status or "no answer", attempt, wait)
        sleep(wait)


def send_with_retries(client: PartnerClient, batch: Batch, destination: Destination, *,
                      policy: RetryPolicy = RetryPolicy(), sleep: Callable[[float], None] = time.sleep,
                      rng: random.Random | None = None) -> int:
    """Deliver `batch`; returns how many retries it took. SendFailed when it must stop for the admin."""
    _, retries = call_with_retries(lambda: client.send(batch, destination), policy=policy, sleep=sleep, rng=rng,
                                   batch_id=batch.id, label=f"batch {batch.id} to connection {destination.connection_id}")
    return retries
