"""Times as every pane writes them: "just now", "5 min ago", and a stored UTC time in the user's own zone.

One place, so the status bar, the lists and the dialogs say the same thing the same way. `age`,
`parse_utc` and `minute` need no Qt (the status bar's freshness words are tested without a GUI);
`local_time` follows the user's locale through Qt.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDateTime, QLocale


def parse_utc(text: str | None) -> dt.datetime | None:
    """An ISO-8601 time as aware UTC; None when missing or unreadable (a status line must not crash)."""
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        # The cache writes UTC; a time without a zone is read the same way.
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def age(then: dt.datetime, now: dt.datetime) -> str:
    """How long ago `then` was: "just now", "5 min ago", "3 h ago", "1 day ago", "12 days ago"."""
    seconds = (now - then).total_seconds()
    # A time slightly in the future (clocks of two machines disagree) still reads as recent.
    if seconds < 60:
        return "just now"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min ago"
    hours = minutes // 60
    if hours < 24:
        return f"{hours} h ago"
    days = hours // 24
    return "1 day ago" if days == 1 else f"{days} days ago"


def minute(moment: dt.datetime | None, missing: str = "") -> str:
    """A stored time to the minute in the local zone ("2026-03-14 09:26"), or `missing` when there is none.

    ISO order, so the rows of a list sort and compare by eye; a time without a zone is taken as UTC
    (the store writes UTC)."""
    if moment is None:
        return missing
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def local_time(value: dt.datetime) -> str:
    """A stored UTC time as the user reads it: local time zone, the locale's short format."""
    moment = QDateTime.fromMSecsSinceEpoch(round(value.timestamp() * 1000))
    locale = QLocale.system()
    if locale.language() == QLocale.Language.C:
        # The bare "C" locale (no language set) writes "23 11 2026"; ISO order is clearer there.
        return moment.toString("yyyy-MM-dd HH:mm")
    return locale.toString(moment, QLocale.FormatType.ShortFormat)
