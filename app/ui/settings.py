"""The app's own preferences, kept in QSettings (per user, not per home): names, defaults and typed reads."""

from __future__ import annotations

from PySide6.QtCore import QSettings

#: How long the builder waits after an edit before estimating (ms).
ESTIMATE_DELAY_KEY = "preferences/estimate_delay_ms"

DEFAULT_ESTIMATE_DELAY_MS = 300
ESTIMATE_DELAY_RANGE_MS = (100, 2000)


def estimate_delay_ms() -> int:
    try:
        value = int(QSettings().value(ESTIMATE_DELAY_KEY, DEFAULT_ESTIMATE_DELAY_MS))
    except (TypeError, ValueError):
        return DEFAULT_ESTIMATE_DELAY_MS
    low, high = ESTIMATE_DELAY_RANGE_MS
    return min(max(value, low), high)


def save_preferences(*, estimate_delay: int) -> None:
    settings = QSettings()
    settings.setValue(ESTIMATE_DELAY_KEY, int(estimate_delay))
