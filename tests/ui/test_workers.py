"""Background tasks: the function runs off the GUI thread, its outcome comes back on it."""

from __future__ import annotations

import logging
import os
import sys
import threading

import pytest
from PySide6.QtCore import QThread

from app.errors import NotFound
from app.ui.thread_priority import BACKGROUND_NICENESS
from app.ui.workers import Tasks

TIMEOUT_MS = 30_000


def idle(activity: str) -> bool:
    return activity == ""


@pytest.fixture
def tasks(qapp):
    tasks = Tasks()
    yield tasks
    tasks.wait()


def test_the_function_runs_off_the_gui_thread_and_its_result_arrives_on_it(qapp, qtbot, tasks):
    ran_on: list[int] = []
    delivered: list[tuple[int, QThread]] = []

    def work() -> int:
        ran_on.append(threading.get_ident())
        return 42

    with qtbot.waitSignal(tasks.activity_changed, timeout=TIMEOUT_MS, check_params_cb=idle):
        tasks.run(work, label="Counting", on_success=lambda result: delivered.append((result, QThread.currentThread())))

    assert ran_on and ran_on[0] != threading.get_ident()
    assert delivered == [(42, qapp.thread())]


def test_a_user_error_is_reported_in_its_own_words_without_a_traceback(qtbot, tasks, caplog):
    def work() -> None:
        raise NotFound('There is no audience named "Lapsed".')

    with qtbot.waitSignal(tasks.error_reported, timeout=TIMEOUT_MS) as reported:
        tasks.run(work, label="Opening the audience")

    assert reported.args == ['There is no audience named "Lapsed".']
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_an_unexpected_error_is_logged_with_its_traceback_and_reported_as_a_failure(qtbot, tasks, caplog):
    def work() -> None:
        raise ZeroDivisionError("boom")

    with qtbot.waitSignal(tasks.error_reported, timeout=TIMEOUT_MS) as reported:
        tasks.run(work, label="Estimating")

    assert reported.args[0].startswith("Estimating failed unexpectedly")
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.exc_info[0] is ZeroDivisionError
    assert "in work" in caplog.text  # the traceback names the function that raised


def test_a_failure_handler_replaces_the_report_but_bugs_are_still_logged(qtbot, tasks, caplog):
    handled: list[BaseException] = []
    reported: list[str] = []
    tasks.error_reported.connect(reported.append)

    def work() -> None:
        raise KeyError("missing")

    with qtbot.waitSignal(tasks.activity_changed, timeout=TIMEOUT_MS, check_params_cb=idle):
        tasks.run(work, label="Loading", on_failure=handled.append)

    assert [type(exc) for exc in handled] == [KeyError]
    assert reported == []
    assert "Loading failed" in caplog.text


def test_the_activity_names_the_running_work_and_is_empty_once_it_is_done(qtbot, tasks):
    release = threading.Event()
    seen: list[str] = []
    tasks.activity_changed.connect(seen.append)

    first = tasks.run(lambda: release.wait(TIMEOUT_MS / 1000), label="Opening the home")
    second = tasks.run(lambda: release.wait(TIMEOUT_MS / 1000), label="Loading audiences")
    assert tasks.is_busy()
    assert tasks.activity() == "Loading audiences (+1 more)"

    with qtbot.waitSignals([first.finished, second.finished], timeout=TIMEOUT_MS):
        release.set()

    assert seen[:2] == ["Opening the home", "Loading audiences (+1 more)"]
    assert seen[-1] == ""
    assert not tasks.is_busy()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")
def test_background_work_runs_at_a_lower_priority_than_the_gui_thread(qapp, qtbot, tasks):
    """So that the window's own work is scheduled first on a laptop's few cores (threads the task starts,
    such as DuckDB's, inherit the lower priority)."""
    gui_nice = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen: list[tuple[int, int]] = []

    def work() -> None:
        child: list[int] = []
        started = threading.Thread(target=lambda: child.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))
        started.start()
        started.join()
        seen.append((os.getpriority(os.PRIO_PROCESS, threading.get_native_id()), child[0]))

    with qtbot.waitSignal(tasks.activity_changed, timeout=TIMEOUT_MS, check_params_cb=idle):
        tasks.run(work, label="Background work")

    assert seen == [(max(gui_nice, BACKGROUND_NICENESS),) * 2]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == gui_nice  # the GUI thread is untouched
