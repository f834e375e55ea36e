"""Python's cyclic garbage collection, run on the GUI thread only.

The collector runs on whichever thread happens to allocate when a threshold is crossed. When that is
a worker (opening the store, running an estimate) and the garbage holds Qt objects (a closed
dialog, a lambda connected to a widget's signal), Qt objects are destroyed off their thread, which
crashes the process at random (a test run caught one: a segmentation fault inside SQLAlchemy in a
worker). So automatic collection is switched off and the GUI thread collects from a timer instead:
the young generation often (cheap), everything now and then.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

#: How often the young generation is collected; every FULL_EVERY-th time, all generations.
INTERVAL_MS = 1000
FULL_EVERY = 30


class GuiThreadGarbageCollector(QObject):
    """Turns automatic collection off for its lifetime and collects on the (GUI) thread it lives on."""

    def __init__(self, parent: QObject | None = None, *, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._ticks = 0
        self._timer = QTimer(self, interval=interval_ms)
        self._timer.timeout.connect(self.collect)
        self._timer.start()

    def collect(self) -> int:
        self._ticks += 1
        generation = 2 if self._ticks % FULL_EVERY == 0 else 0
        return gc.collect(generation)

    def stop(self) -> None:
        """Collect everything one last time and give collection back to Python."""
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()
