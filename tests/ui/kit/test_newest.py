"""The newest-request-wins runner: older answers are dropped, older requests cancelled, and no Qt needed."""

from __future__ import annotations

import subprocess
import sys
import threading

from app.ui.kit.newest import NewestWins


def test_only_the_newest_requests_answer_is_delivered() -> None:
    runner, seen = NewestWins(), []
    first = runner.begin()
    second = runner.begin()
    first.deliver(seen.append)("old")
    second.deliver(seen.append)("new")
    assert seen == ["new"]
    assert first.cancelled and not second.cancelled


def test_a_new_request_cancels_the_one_before_once() -> None:
    runner, cancelled = NewestWins(), []
    runner.begin(cancel=lambda: cancelled.append("first"))
    runner.begin(cancel=lambda: cancelled.append("second"))
    runner.begin()
    assert cancelled == ["first", "second"]


def test_stop_drops_every_answer_and_cancels_the_running_request() -> None:
    runner, seen, cancelled = NewestWins(), [], []
    ticket = runner.begin(cancel=lambda: cancelled.append(True))
    runner.stop()
    ticket.deliver(seen.append)("late")
    assert seen == [] and cancelled == [True]
    runner.stop()  # nothing running: nothing to cancel
    assert cancelled == [True]


def test_a_failing_cancel_does_not_stop_the_new_request() -> None:
    runner = NewestWins()

    def broken() -> None:
        raise RuntimeError("interrupt failed")

    runner.begin(cancel=broken)
    ticket = runner.begin()
    assert ticket.current


def test_a_worker_sees_its_request_become_stale_from_another_thread() -> None:
    runner = NewestWins()
    ticket = runner.begin()
    started, replaced, saw = threading.Event(), threading.Event(), []

    def worker() -> None:
        started.set()
        replaced.wait(30)
        saw.append(ticket.cancelled)

    thread = threading.Thread(target=worker)
    thread.start()
    started.wait(30)
    runner.begin()
    replaced.set()
    thread.join(30)
    assert saw == [True]


def test_the_runner_imports_no_qt() -> None:
    code = "import sys, app.ui.kit.newest; print(any(m.startswith('PySide6') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
