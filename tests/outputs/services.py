"""Real services the output tests run against: the Secret Service (gnome-keyring on a private D-Bus) and an OAuth server.

Both are started once per test session and stopped at its end. When their programs are missing the
tests that need them are skipped, or fail with what to install when the test command asks for them
(AUDIENCE_STUDIO_REQUIRE_KEYRING=1, AUDIENCE_STUDIO_REQUIRE_OAUTH_SERVER=1: scripts/test sets both).
"""

from __future__ import annotations

import os
import selectors
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

OAUTH_SERVER_DIR = Path(__file__).resolve().parents[1] / "oauth_server"
PARTNER_API_SECRET = "partner-api-introspection-secret"


def unavailable(message: str, variable: str) -> None:
    """Fail when the test command requires the service, skip otherwise."""
    if os.environ.get(variable) == "1":
        pytest.fail(f"{message} ({variable}=1 requires it)", pytrace=False)
    pytest.skip(message)


def _read_line(process: subprocess.Popen, timeout: float) -> str:
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    line = b""
    while time.monotonic() < deadline and not line.endswith(b"\n"):
        if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
            break
        chunk = os.read(process.stdout.fileno(), 1)
        if not chunk:
            break
        line += chunk
    selector.close()
    return line.decode("utf-8", "replace").strip()


# The private bus knows no services of its own: without this, a request after gnome-keyring died would
# D-Bus-activate a fresh daemon whose login keyring is locked, and the tests would fail with a misleading
# KeyringLocked instead of finding the daemon gone (SecretService.ensure_running restarts it).
_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""
_KEYRING_PASSWORD = b"test-keyring-password"


@dataclass
class SecretService:
    """gnome-keyring on a private bus; its keyrings are files under `data_dir`, its messages in `log_path`."""

    bus_address: str
    data_dir: Path
    log_path: Path
    env: dict[str, str]
    bus: subprocess.Popen
    daemon: subprocess.Popen | None = None

    def start_daemon(self) -> None:
        """Starts gnome-keyring with the login keyring unlocked (created on the first start)."""
        with self.log_path.open("ab") as log:
            # --replace: a daemon still holding the bus name hands it over instead of keeping it.
            self.daemon = subprocess.Popen(
                ["gnome-keyring-daemon", "--foreground", "--replace", "--unlock", "--components=secrets"],
                stdin=subprocess.PIPE, stdout=log, stderr=log, env=self.env)
        # --unlock reads the login keyring's password from stdin up to its end.
        self.daemon.stdin.write(_KEYRING_PASSWORD)
        self.daemon.stdin.close()

    def ensure_running(self) -> str | None:
        """Restarts a daemon that has exited; returns what happened, for a warning, or None if it was running."""
        if self.daemon is not None and self.daemon.poll() is None:
            return None
        code = None if self.daemon is None else self.daemon.returncode
        self.start_daemon()
        tail = self.log_path.read_text("utf-8", "replace").strip().splitlines()[-5:]
        return (f"gnome-keyring-daemon had exited (code {code}) and was restarted with its keyrings; "
                f"its last messages: {' | '.join(tail) or 'none'}")

    def processes(self) -> list[subprocess.Popen]:
        return [p for p in (self.daemon, self.bus) if p is not None]


def start_secret_service(root: Path) -> SecretService:
    """A private session bus with gnome-keyring's Secret Service on it, its login keyring unlocked."""
    if not sys.platform.startswith("linux"):
        unavailable("The Secret Service tests run on Linux only", "AUDIENCE_STUDIO_REQUIRE_KEYRING")
    missing = [tool for tool in ("dbus-daemon", "gnome-keyring-daemon") if shutil.which(tool) is None]
    if missing:
        unavailable(f"{' and '.join(missing)} not found: install the Debian packages dbus and gnome-keyring "
                    "(scripts/setup --test does)", "AUDIENCE_STUDIO_REQUIRE_KEYRING")
    runtime, data = root / "run", root / "data"
    runtime.mkdir(mode=0o700)
    data.mkdir()
    config = root / "bus.conf"
    config.write_text(_BUS_CONFIG.format(socket=runtime / "bus"))
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "XDG_DATA_HOME": str(data), "XDG_CONFIG_HOME": str(root / "config")}
    bus = subprocess.Popen(["dbus-daemon", f"--config-file={config}", "--nofork", "--nopidfile", "--print-address=1"],
                           stdout=subprocess.PIPE, env=env)
    address = _read_line(bus, 10)
    if not address.startswith("unix:"):
        bus.kill()
        pytest.fail(f"dbus-daemon did not start (said {address!r})", pytrace=False)
    env["DBUS_SESSION_BUS_ADDRESS"] = address
    service = SecretService(address, data, root / "gnome-keyring.log", env, bus)
    service.start_daemon()
    return service


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass
class OAuthServer:
    """panva/oidc-provider on 127.0.0.1: the issuer URL and the endpoints the tests use."""

    issuer: str
    access_token_ttl: int

    @property
    def authorize_url(self) -> str:
        return self.issuer + "/auth"

    @property
    def token_url(self) -> str:
        return self.issuer + "/token"

    @property
    def revocation_url(self) -> str:
        return self.issuer + "/token/revocation"

    @property
    def introspection_url(self) -> str:
        return self.issuer + "/token/introspection"


def start_oauth_server(log_path: Path, access_token_ttl: int) -> tuple[OAuthServer, subprocess.Popen]:
    node = shutil.which("node")
    if node is None or not (OAUTH_SERVER_DIR / "node_modules" / "oidc-provider").is_dir():
        unavailable("The OAuth server needs Node.js and `npm ci` in tests/oauth_server (scripts/setup --test does both)",
                    "AUDIENCE_STUDIO_REQUIRE_OAUTH_SERVER")
    env = {**os.environ, "ACCESS_TOKEN_TTL": str(access_token_ttl), "PARTNER_SECRET": PARTNER_API_SECRET}
    log = log_path.open("wb")
    process = subprocess.Popen([node, "server.js"], cwd=OAUTH_SERVER_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=log, env=env)
    line = _read_line(process, 20)
    if not line.startswith("READY "):
        process.kill()
        pytest.fail(f"The OAuth server did not start; see {log_path}", pytrace=False)
    return OAuthServer(f"http://127.0.0.1:{int(line.split()[1])}", access_token_ttl), process
