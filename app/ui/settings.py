"""The app's own preferences, kept in QSettings (per user, not per home): names, defaults and typed reads."""

from __future__ import annotations

from PySide6.QtCore import QSettings

#: Size the audiences of the list in the background as soon as it is shown (off: only on View › Refresh Sizes).
SIZE_AUTOMATICALLY_KEY = "preferences/size_audiences_automatically"
#: How long the builder waits after an edit before estimating (ms).
ESTIMATE_DELAY_KEY = "preferences/estimate_delay_ms"

DEFAULT_ESTIMATE_DELAY_MS = 300
ESTIMATE_DELAY_RANGE_MS = (100, 2000)


def _bool(value: object, default: bool) -> bool:
    # INI files give the text "true"/"false" back; native stores give a bool.
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def size_audiences_automatically() -> bool:
    return _bool(QSettings().value(SIZE_AUTOMATICALLY_KEY), True)


def estimate_delay_ms() -> int:
    try:
        value = int(QSettings().value(ESTIMATE_DELAY_KEY, DEFAULT_ESTIMATE_DELAY_MS))
    except (TypeError, ValueError):
        return DEFAULT_ESTIMATE_DELAY_MS
    low, high = ESTIMATE_DELAY_RANGE_MS
    return min(max(value, low), high)


def save_preferences(*, size_automatically: bool, estimate_delay: int) -> None:
    settings = QSettings()
    settings.setValue(SIZE_AUTOMATICALLY_KEY, size_automatically)
    settings.setValue(ESTIMATE_DELAY_KEY, int(estimate_delay))
