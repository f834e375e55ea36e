"""Reading an HTTP Retry-After header (RFC 9110 §10.2.3): how many seconds a server asks to be left alone.

Shared by the sync client and the outputs' and channels' HTTP clients.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
import time

#: delta-seconds is 1*DIGIT; a decimal fraction (which some servers send) is read too.
_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from `now` (time.time()): delta-seconds, or an HTTP-date in any of its three
    forms (IMF-fixdate, and the obsolete RFC 850 and asctime forms, all in UTC); a date passed is 0.
    None when the header is absent or not either form."""
    text = (value or "").strip()
    if not text:
        return None
    if _SECONDS.fullmatch(text):
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # the asctime form names no zone: HTTP dates are UTC
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
