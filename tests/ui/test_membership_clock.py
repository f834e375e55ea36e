"""The membership clock: live audiences are brought up to date on a timer, in a worker, one run at a time."""

from __future__ import annotations

import threading

from app.engines import membership
from app.engines.home import OpenHome
from app.paths import Home
from app.ui.membership_clock import MembershipClock
from tests.ui.editor_homes import GOLD, TIERS, document, fill_home

TIMEOUT_MS = 30_000
PROFILES = 40


def gold_count() -> int:
    """Recounted from the shoppers fill_home writes: tier is TIERS[mpid % 5]."""
    return sum(1 for mpid in range(1, PROFILES + 1) if TIERS[mpid % 5] == "gold")


def active_gold_home(home_dir: Home) -> tuple[Home, int]:
    ids = fill_home(home_dir, profiles=PROFILES, audiences={"Gold members": document(GOLD)})
    with OpenHome.open(home_dir, user="maria") as opened:
        opened.audiences.activate(ids["Gold members"])  # the store only: nothing calculated it yet
    return home_dir, ids["Gold members"]


def test_a_tick_calculates_an_active_audience_in_a_worker_and_tells_the_panes(qtbot, open_window, home_dir,
                                                                             monkeypatch):
    home, gold = active_gold_home(home_dir)
    window = open_window(home)
    clock = window.membership_clock
    opened = window.connection.open_home
    assert membership.status(opened, gold).state == "not calculated"
    threads: list[threading.Thread] = []
    original = membership.run_due

    def watched(*args, **kwargs):
        threads.append(threading.current_thread())
        return original(*args, **kwargs)

    monkeypatch.setattr(membership, "run_due", watched)  # the real run, noting which thread runs it
    with qtbot.waitSignals([clock.ran, window.bus.cache_changed], timeout=TIMEOUT_MS):
        assert clock.tick()
        assert clock.is_running() and not clock.tick()  # never two at once

    assert threads and threads[0] is not threading.main_thread()
    status = membership.status(opened, gold)
    assert (status.state, status.size) == ("ok", gold_count())
    assert not clock.is_running()


def test_a_run_with_nothing_due_does_not_make_the_panes_read_again(qtbot, open_window, home_dir):
    home, gold = active_gold_home(home_dir)
    window = open_window(home)
    clock = window.membership_clock
    with qtbot.waitSignal(clock.ran, timeout=TIMEOUT_MS):
        clock.tick()
    told: list[None] = []
    window.bus.cache_changed.connect(lambda: told.append(None))

    with qtbot.waitSignal(clock.ran, timeout=TIMEOUT_MS) as ran:
        clock.tick()

    assert ran.args[0].unchanged == [(gold, 0)] and not ran.args[0].calculated
    assert told == []


def test_the_timer_runs_the_clock_once_the_home_is_open(qtbot, retail_connection):
    connection, tasks = retail_connection
    from app.ui.kit.pane import PaneBus

    bus = PaneBus()
    clock = MembershipClock(connection, tasks, bus, interval_ms=20)
    connection.opened.emit(connection.open_home)  # as when the home opens after the clock was made

    with qtbot.waitSignal(clock.ran, timeout=TIMEOUT_MS) as ran:
        pass

    assert ran.args[0].calculated == []  # the retail home has no Active audience
    clock.timer.stop()
