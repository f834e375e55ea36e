"""Cyclic garbage is collected on the GUI thread, never on a worker (app/ui/garbage.py)."""

from __future__ import annotations

import gc
import threading

from app.ui.garbage import GuiThreadGarbageCollector


class _Cycle:
    def __init__(self, collected_on: list[str]) -> None:
        self.me = self
        self.collected_on = collected_on

    def __del__(self) -> None:
        self.collected_on.append(threading.current_thread().name)


def test_garbage_made_on_a_worker_is_collected_on_the_gui_thread(qapp, qtbot):
    collector = GuiThreadGarbageCollector(qapp, interval_ms=20)
    try:
        assert not gc.isenabled()
        collected_on: list[str] = []

        def work() -> None:
            for _ in range(50):
                _Cycle(collected_on)
            [object() for _ in range(100_000)]  # allocations that would have crossed the threshold

        worker = threading.Thread(target=work, name="worker")
        worker.start()
        worker.join()
        qtbot.waitUntil(lambda: len(collected_on) == 50, timeout=5000)
        assert set(collected_on) == {threading.main_thread().name}
    finally:
        collector.stop()
