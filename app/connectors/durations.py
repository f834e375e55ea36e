"""A duration in words for messages: "45 seconds", "1 minute", "2 minutes 30 seconds", "1 hour 5 minutes".

Dividing by 60 and rounding told the admin a 30-second wait "took longer than 0 minutes"; this never
rounds a duration to nothing and names the unit it counts in.
"""

from __future__ import annotations


def _count(number: int, unit: str) -> str:
    return f"{number:,} {unit}" + ("" if number == 1 else "s")


def duration_text(seconds: float) -> str:
    """`seconds` in the largest units that say it exactly to the second (under a second: "less than a second")."""
    whole = int(round(seconds))
    if whole <= 0:
        return "less than a second"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [_count(n, unit) for n, unit in ((hours, "hour"), (minutes, "minute"), (secs, "second")) if n]
    return " ".join(parts)
