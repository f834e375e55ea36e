"""One forwarder per home: whoever forwards automatically (the activation agent, or the desktop app while no
agent runs) holds an exclusive lock on HOME/forwarder.lock.

An OS file lock (fcntl.flock on Linux and macOS, msvcrt.locking on Windows) rather than a pid file: the OS
releases it when the holder dies, even by kill -9, so a crashed agent never blocks the home. Standard library
only (no `filelock` dependency needed for one lock). Beside it, HOME/agent.json says what the agent is doing
(waiting for the lock, forwarding, its last run) for the desktop app's status line; written whole (a
temporary file renamed over it), so a reader never sees half of it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

LOCK_NAME = "forwarder.lock"
AGENT_STATUS_NAME = "agent.json"


class ForwarderLock:
    """A non-blocking exclusive lock on the home's forwarder lock file; `acquire()` says whether it got it."""

    def __init__(self, home_root: Path, holder: str):
        self.path = Path(home_root) / LOCK_NAME
        self.holder = holder
        self._file = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def acquire(self) -> bool:
        if self._file is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+b")
        try:
            _lock(handle)
        except OSError:
            handle.close()
            return False
        # Who holds it, for the message another forwarder gives (the lock, not this text, is what counts).
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"holder": self.holder, "pid": os.getpid()}).encode())
        handle.flush()
        self._file = handle
        return True

    def release(self) -> None:
        if self._file is None:
            return
        try:
            _unlock(self._file)
        finally:
            self._file.close()
            self._file = None

    def __enter__(self) -> "ForwarderLock":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def holder(home_root: Path) -> dict | None:
    """Who holds the lock now ({"holder": "agent" | "app", "pid": N}), or None when nobody does."""
    probe = ForwarderLock(home_root, "probe")
    if not probe.path.exists():
        return None
    if probe.acquire():
        probe.release()
        return None
    try:
        return json.loads(probe.path.read_text() or "{}") or {"holder": "unknown"}
    except (OSError, ValueError):
        return {"holder": "unknown"}


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(handle) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)

    def _unlock(handle) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    # flock, not lockf: its lock belongs to the open file, so a probe from the same process (`holder`) is
    # refused too, and closing the probe never drops the holder's lock (lockf's locks are the process's).
    def _lock(handle) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(handle) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


# -- the agent's status file ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentStatus:
    pid: int
    #: "waiting" (the app holds the lock), "forwarding" (a round), "idle" (between rounds) or "stopped".
    state: str
    updated_at: str
    last_run_at: str | None = None
    last_run: str | None = None

    @property
    def alive(self) -> bool:
        return self.state != "stopped" and _pid_alive(self.pid)


def write_agent_status(home_root: Path, status: AgentStatus) -> None:
    path = Path(home_root) / AGENT_STATUS_NAME
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(status.__dict__, indent=1))
    os.replace(temporary, path)


def read_agent_status(home_root: Path) -> AgentStatus | None:
    path = Path(home_root) / AGENT_STATUS_NAME
    try:
        data = json.loads(path.read_text())
        return AgentStatus(int(data["pid"]), str(data["state"]), str(data["updated_at"]), data.get("last_run_at"),
                           data.get("last_run"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def now_text() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if sys.platform == "win32":  # pragma: no cover
        return True  # the lock says whether it really runs; the status file only says what it last did
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
