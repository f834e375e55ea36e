"""Run a piece of GUI work on a later turn of the event loop, after what is waiting (input, paint, timers).

`QTimer.singleShot(0, ...)` posts its call as an event, and Qt delivers the events posted while it
delivers posted events in the same pass: a chain of such calls (build the editor's frame, show it,
build its cards) runs back to back, and clicks and keys wait for all of it. A zero-interval timer
is a timer event instead, handled once per turn of the loop beside input and the other timers, so
each piece is its own turn and the window answers in between.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer


def on_next_turn(owner: QObject, fn: Callable[[], None]) -> None:
    """Call `fn` on a later turn of the event loop, unless `owner` (which keeps the timer) is deleted first."""
    timer = QTimer(owner)
    timer.setSingleShot(True)
    timer.setInterval(0)
    timer.timeout.connect(fn)
    timer.timeout.connect(timer.deleteLater)
    timer.start()
