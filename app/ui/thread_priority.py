"""Background threads run at a lower OS priority than the GUI thread.

On a laptop with two cores, a DuckDB query (which uses every core) or a sync page being merged
competes with the GUI thread for the CPU; typing would then wait behind it. Lowering the priority
of the threads that do background work lets the scheduler run the GUI thread first whenever it has
something to do, while the background work still gets every cycle the window does not need.

Threads created by a lowered thread inherit its priority on Linux, so DuckDB's own worker threads,
created when the cache is opened on a pool thread, are lowered too.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

from PySide6.QtCore import QThread

log = logging.getLogger(__name__)

#: How much nicer than the GUI thread background work is (Linux/macOS nice levels; 0 to 19).
#: 5 gives the GUI thread about three times the CPU share of one background thread when both want it,
#: without starving background work behind other programs.
BACKGROUND_NICENESS = 5

_done = threading.local()


def lower_current_thread() -> None:
    """Lower the calling thread's priority, once per thread; never raises (it is only a hint)."""
    if getattr(_done, "lowered", False):
        return
    _done.lowered = True
    try:
        if sys.platform.startswith("linux"):
            # On Linux a nice value belongs to one thread (its native id), not the whole process.
            tid = threading.get_native_id()
            current = os.getpriority(os.PRIO_PROCESS, tid)
            os.setpriority(os.PRIO_PROCESS, tid, max(current, BACKGROUND_NICENESS))
        else:
            thread = QThread.currentThread()
            if thread is not None:
                thread.setPriority(QThread.Priority.LowPriority)
    except (OSError, AttributeError, RuntimeError) as exc:  # not allowed, or not a thread Qt knows
        log.debug("could not lower the priority of thread %s: %s", threading.current_thread().name, exc)
