"""Automatic forwarding: every Sending connection of an Active audience is kept in step with its partner with
nobody pressing a button.

What is due (`due_connections`): a Sending connection without an open fault, of an Active real-time audience
(standard audiences are sent when the user presses Send), that has batches pending, was never uploaded in full
(a connection created as Sending sends the current members at once), or whose audience (or A/B variation)
gained or lost members in the membership engine's change log since it was last forwarded.

Who forwards (`Activator`): the desktop app while it is open, or the activation agent, never both: the
activator forwards only while it holds the home's forwarder lock (engines.forwarder_lock). (A home's cache
is open in one process at a time, so the agent works in rounds, opening the home only for each round, and
waits while the app holds the lock.) It has one planner
thread, woken after every membership run (`membership_ran`, called by the membership engine) and on its own
clock, and one queue and thread per output, so one slow or faulted output never delays the others. All queues
of an output share its token bucket (engines.rate_limits). Forward Now (a manual run) stays as it was.

Qt-free: the app hands it callbacks and turns them into signals; the agent logs them.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable

from sqlalchemy import select

from app.engines.forwarder_lock import ForwarderLock
from app.engines.forwarding import FAULTED, ForwardingEngine, ForwardingReport
from app.engines.home import OpenHome
from app.engines.rate_limits import RateLimits
from app.models.services.connections import ConnectionInfo
from app.models.store.schema import ForwardingState

log = logging.getLogger(__name__)

#: How often the planner looks for due connections without being woken (a change made by another process).
POLL_SECONDS = 60.0
WHOLE = 0


def due_connections(home: OpenHome, changed: Iterable[tuple[int, int]] = ()) -> list[ConnectionInfo]:
    """The connections automatic forwarding should run now (see the module's docstring).

    `changed`: (audience id, variant id) pairs a membership run in this process just calculated; their
    connections are due whatever the times say (a run that started before a forwarding ended logs its
    changes at its start, which the change log's comparison alone would miss)."""
    changed = set(changed)
    candidates = [c for c in home.connections.list() if c.status == "sending" and c.fault is None]
    if not candidates:
        return []
    audiences = {a.id: a for a in home.audiences.list()}
    candidates = [c for c in candidates if c.audience_id in audiences
                  and audiences[c.audience_id].kind == "realtime" and audiences[c.audience_id].status == "active"]
    if not candidates:
        return []
    with home.store.transaction() as session:
        uploaded = {s.connection_id: s.full_upload_at for s in session.scalars(
            select(ForwardingState).where(ForwardingState.connection_id.in_([c.id for c in candidates])))}
    last_changes = _last_changes(home)
    due = []
    for connection in candidates:
        last_change = last_changes.get((connection.audience_id, connection.variant_id or WHOLE))
        forwarded = connection.last_forwarded_at
        if (connection.pending_batches or uploaded.get(connection.id) is None or forwarded is None
                or (connection.audience_id, connection.variant_id or WHOLE) in changed
                or (last_change is not None and last_change >= _naive(forwarded))):
            due.append(connection)
    return due


def _last_changes(home: OpenHome) -> dict[tuple[int, int], dt.datetime]:
    """(audience id, variant id) → when its members last changed (the membership engine's change log, UTC)."""
    cursor = home.cache.cursor()
    try:
        rows = cursor.execute("SELECT audience_id, variant_id, max(changed_at) FROM membership_changes "
                              "GROUP BY audience_id, variant_id").fetchall()
    finally:
        cursor.close()
    return {(a, v): at for a, v, at in rows}


def _naive(moment: dt.datetime) -> dt.datetime:
    """As the cache keeps times: naive UTC."""
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


# -- who forwards, per process ----------------------------------------------------------------------------------

_activators: "weakref.WeakValueDictionary[int, Activator]" = weakref.WeakValueDictionary()
_activators_lock = threading.Lock()


def membership_ran(home: OpenHome, calculated: Iterable[tuple[int, int]] = ()) -> None:
    """Called by the membership engine after each run with the (audience, variant) pairs it calculated: wakes
    this process's activator of the home, if any, which looks at their connections on its next pass."""
    with _activators_lock:
        activator = _activators.get(id(home.store))
    if activator is not None:
        activator.note_changes(calculated)
        activator.wake()


class Activator:
    """Forwards due connections while it holds the home's forwarder lock: a planner and a queue per output.

    `holder` names it in the lock ("app" or "agent"); `lock`: one the caller holds already (the agent's round).
    `on_report(report)` is called (on an output's thread) after each run; `on_state()` when it starts or stops
    forwarding. `engine_factory()` makes each output thread's ForwardingEngine (tests inject sleeps and policies).
    """

    def __init__(self, home: OpenHome, *, holder: str = "app", trigger: str = "automatic",
                 poll_seconds: float = POLL_SECONDS,
                 on_report: Callable[[ForwardingReport], None] | None = None,
                 on_state: Callable[[], None] | None = None,
                 engine_factory: Callable[[OpenHome, str, RateLimits], ForwardingEngine] | None = None,
                 lock: ForwarderLock | None = None):
        self.home = home
        #: A lock handed in (the agent's, held for its round) is the caller's to release.
        self._owns_lock = lock is None
        self.lock = lock or ForwarderLock(home.home.root, holder)
        self.trigger = trigger
        self.poll_seconds = poll_seconds
        self.on_report, self.on_state = on_report, on_state
        self.rate_limits = RateLimits()
        self._engine_factory = engine_factory or (lambda h, t, r: ForwardingEngine(h, trigger=t, rate_limits=r))
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._queues: dict[int, _OutputQueue] = {}
        self._queues_lock = threading.Lock()
        self._planner: threading.Thread | None = None
        self._planning = False
        #: (audience id, variant id) pairs calculated since the last pass (membership_ran).
        self._changed: set[tuple[int, int]] = set()
        self._changed_lock = threading.Lock()
        #: Errors of the planner itself (a store or cache problem), last one; each run's own fault is a fault.
        self.last_error: str | None = None

    # -- life

    def start(self) -> "Activator":
        with _activators_lock:
            _activators[id(self.home.store)] = self
        self._planner = threading.Thread(target=self._plan_loop, name="activation-planner", daemon=True)
        self._planner.start()
        return self

    def stop(self, timeout: float | None = 30.0) -> None:
        """Stop planning, let each output finish the batch it is sending (a cancel between batches), release the lock."""
        self._stop.set()
        self._wake.set()
        with self._queues_lock:
            queues = list(self._queues.values())
        for queue in queues:
            queue.stop()
        # One deadline for all: a window closing waits `timeout` at most, however many outputs were sending.
        deadline = None if timeout is None else time.monotonic() + timeout
        left = lambda: None if deadline is None else max(0.0, deadline - time.monotonic())  # noqa: E731
        if self._planner is not None:
            self._planner.join(left())
        for queue in queues:
            queue.join(left())
        with _activators_lock:
            if _activators.get(id(self.home.store)) is self:
                del _activators[id(self.home.store)]
        self._release()

    @property
    def forwarding(self) -> bool:
        """Whether this process is the home's forwarder now."""
        return self.lock.held

    def wake(self) -> None:
        """Look for due connections now (after a membership run, a connection made or resumed)."""
        self._wake.set()

    def note_changes(self, calculated: Iterable[tuple[int, int]]) -> None:
        """Membership pairs just calculated: their connections are looked at on the next pass."""
        with self._changed_lock:
            self._changed.update((int(a), int(v)) for a, v in calculated)

    def submit(self, connections: Iterable[ConnectionInfo]) -> int:
        """Queue these connections on their outputs' queues (a connection already queued is not queued twice)."""
        queued = 0
        for connection in connections:
            with self._queues_lock:
                queue = self._queues.get(connection.configuration_id)
                if queue is None:
                    queue = self._queues[connection.configuration_id] = _OutputQueue(self, connection.configuration_id)
            queued += queue.put(connection.id)
        return queued

    def idle(self) -> bool:
        """Nothing queued or running (tests and the agent's `--once` wait for this)."""
        return not self._planning and not self._wake.is_set() and self._queues_idle()

    def _queues_idle(self) -> bool:
        with self._queues_lock:
            return all(q.idle() for q in self._queues.values())

    def run_once(self) -> int:
        """One planning pass on the caller's thread: take the lock if free, queue what is due; how many were queued."""
        if not self._hold():
            return 0
        with self._changed_lock:
            changed, self._changed = self._changed, set()
        try:
            return self.submit(due_connections(self.home, changed))
        except BaseException:
            self.note_changes(changed)  # looked at again on the next pass
            raise

    # -- the planner

    def _plan_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll_seconds)
            self._planning = True
            self._wake.clear()
            try:
                if self._stop.is_set():
                    break
                self.run_once()
                self.last_error = None
            except Exception as exc:  # a store or cache problem: logged, tried again on the next wake
                log.exception("automatic forwarding could not look for due connections")
                self.last_error = " ".join(str(exc).split())
            finally:
                self._planning = False

    def _hold(self) -> bool:
        was = self.lock.held
        held = self.lock.acquire()
        if held != was:
            log.info("automatic forwarding %s for %s", "starts" if held else "stays with the other forwarder",
                     self.home.home.root)
            if self.on_state is not None:
                self.on_state()
        return held

    def _release(self) -> None:
        if self._owns_lock and self.lock.held:
            self.lock.release()
            if self.on_state is not None:
                self.on_state()

    def _reported(self, report: ForwardingReport) -> None:
        if report.outcome == FAULTED:
            log.warning("connection %s (%s → %s) faulted: %s", report.connection_id, report.audience_name,
                        report.output_name, report.reason)
        if self.on_report is not None:
            try:
                self.on_report(report)
            except Exception:  # a listener's bug must not stop this output's queue
                log.exception("a forwarding listener failed")


class _OutputQueue:
    """One output's connections waiting to be forwarded, sent one after the other on the output's own thread."""

    def __init__(self, activator: Activator, output_id: int):
        self.activator = activator
        self.output_id = output_id
        self._items: deque[int] = deque()
        self._condition = threading.Condition()
        self._busy = False
        self._stopped = False
        self._engine: ForwardingEngine | None = None
        self._thread = threading.Thread(target=self._loop, name=f"forwarding-output-{output_id}", daemon=True)
        self._thread.start()

    def put(self, connection_id: int) -> int:
        with self._condition:
            if connection_id in self._items:
                return 0
            self._items.append(connection_id)
            self._condition.notify()
            return 1

    def idle(self) -> bool:
        with self._condition:
            return not self._items and not self._busy

    def stop(self) -> None:
        with self._condition:
            self._stopped = True
            self._items.clear()
            if self._engine is not None:
                self._engine.cancel()
            self._condition.notify()

    def join(self, timeout: float | None) -> None:
        self._thread.join(timeout)

    def _loop(self) -> None:
        activator = self.activator
        while True:
            with self._condition:
                while not self._items and not self._stopped:
                    self._condition.wait()
                if self._stopped:
                    return
                connection_id = self._items.popleft()
                self._busy = True
                self._engine = activator._engine_factory(activator.home, activator.trigger, activator.rate_limits)
            try:
                if activator.lock.held:  # the lock may have passed to the agent since this was queued
                    activator._reported(self._engine.forward_one(connection_id))
            except Exception:  # a connection deleted meanwhile, a store problem: the others go on
                log.exception("automatic forwarding of connection %s failed", connection_id)
            finally:
                with self._condition:
                    self._busy = False
                    self._engine = None
