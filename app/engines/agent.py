"""The activation agent's loop, Qt-free (run by `audience-studio agent`): keeps a home's audiences live and
forwarded with the desktop app closed.

A home's cache is open in one process at a time (DuckDB), so the agent works in rounds: on its clock it takes
the home's forwarder lock, opens the home, syncs with the team server when the home is signed in to one,
brings live audiences up to date, forwards what is due (one queue per output), closes the home and lets the
lock go. While the desktop app is open it holds the lock (and the cache): the agent waits, and says so in
HOME/agent.json, which the app shows.

A round interrupted by kill -9 loses nothing: batches are stored before they are sent and acknowledged one
transaction each (engines.forwarding), so the next round re-sends only pending batches, under their ids.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import Counter
from collections.abc import Callable

from app.engines import membership
from app.engines.activation import Activator
from app.engines.forwarder_lock import AgentStatus, ForwarderLock, now_text, write_agent_status
from app.engines.forwarding import ForwardingEngine, ForwardingReport
from app.engines.home import OpenHome
from app.engines.rate_limits import RateLimits
from app.errors import UserError
from app.paths import Home

log = logging.getLogger(__name__)


class Agent:
    def __init__(self, home: Home, *, interval: float = 60.0, stop: threading.Event | None = None,
                 engine_factory: Callable[[OpenHome, str, RateLimits], ForwardingEngine] | None = None):
        self.home = home
        self.interval = interval
        self.stop = stop or threading.Event()
        self.pid = os.getpid()
        self.lock = ForwarderLock(home.root, "agent")
        self.outcomes: Counter[str] = Counter()
        self.rounds = 0
        #: Rounds skipped because another forwarder (the desktop app) held the lock.
        self.waited = 0
        self._engine_factory = engine_factory
        #: Shared by the rounds: an output's bucket keeps its state from one round to the next.
        self._rate_limits = RateLimits()
        self._last_run_at: str | None = None
        self._last_run: str | None = None

    def run(self, *, once: bool = False) -> None:
        """Rounds on the clock until `stop` is set (SIGTERM), or one round with `once`."""
        try:
            while not self.stop.is_set():
                if self.lock.acquire():
                    try:
                        self._round()
                    finally:
                        self.lock.release()
                    self._status("idle")
                else:
                    log.info("the desktop app forwards for %s while it is open; the agent waits", self.home.root)
                    self.waited += 1
                    self._status("waiting")
                if once:
                    break
                self.stop.wait(self.interval)
        finally:
            self._status("stopped")

    def _round(self) -> None:
        self._status("forwarding")
        try:
            opened = OpenHome.open(self.home, user="agent")
        except UserError as exc:  # the cache is in use (a command running on the home): next round
            log.warning("round skipped: %s", exc)
            return
        with opened:
            self.rounds += 1
            self._sync(opened)
            activator = Activator(opened, holder="agent", trigger="agent", lock=self.lock,
                                  on_report=self._reported, engine_factory=self._engine_factory)
            activator.rate_limits = self._rate_limits
            try:
                activator.note_changes(membership.run_due(opened).calculated)
            except Exception:  # each audience's failure is recorded on it; a whole-run problem: next round
                log.exception("updating live audiences failed; tried again next round")
            try:
                queued = activator.run_once()
                while not self.stop.is_set() and not activator.idle():
                    self.stop.wait(0.05)
            finally:
                activator.stop()  # SIGTERM: each output stops after the batch it is sending
        self._last_run_at = now_text()
        self._last_run = f"round {self.rounds}: {queued} connection(s) forwarded"
        log.info("agent round %d done: %d connection(s) forwarded", self.rounds, queued)

    def _sync(self, opened: OpenHome) -> None:
        from app.engines import sync

        try:
            account = sync.account(opened)
        except Exception:  # a keyring that cannot be reached: the agent still forwards what the home has
            log.exception("could not read the team-server sign-in")
            return
        if not (account.server and account.signed_in):
            return
        try:
            sync.sync_home(opened, cancelled=self.stop.is_set)
        except UserError as exc:
            log.warning("sync with %s failed: %s", account.server, exc)
        except Exception:
            log.exception("sync with %s failed", account.server)

    def _reported(self, report: ForwardingReport) -> None:
        self.outcomes[report.outcome] += 1
        log.info("connection %s (%s → %s): %s, %d added, %d removed, %d rejected, %d retries%s", report.connection_id,
                 report.audience_name, report.output_name, report.outcome, report.added, report.removed,
                 report.rejected, report.retries, f" — {report.reason}" if report.reason else "")

    def _status(self, state: str) -> None:
        try:
            write_agent_status(self.home.root, AgentStatus(self.pid, state, now_text(), self._last_run_at,
                                                           self._last_run))
        except OSError:
            log.exception("could not write the agent's status file")

    def summary(self) -> str:
        done = ", ".join(f"{n} {outcome}" for outcome, n in sorted(self.outcomes.items())) or "nothing forwarded"
        waited = f"; waited {self.waited} time(s) while the desktop app forwarded" if self.waited else ""
        return f"{self.rounds} round(s); {done}{waited}"
