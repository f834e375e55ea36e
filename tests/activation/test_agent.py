"""The activation agent: forwards with the app closed, one forwarder per home, stops cleanly on SIGTERM, loses and
repeats nothing after kill -9, and installs as a systemd user unit that `systemd-analyze verify` accepts and whose
command really runs the agent."""

from __future__ import annotations

import configparser
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading

import pytest

from app.cli.main import main
from app.engines import membership
from app.engines.agent import Agent
from app.engines.agent_service import service_file
from app.engines.forwarder_lock import ForwarderLock, holder, read_agent_status
from app.engines.home import OpenHome
from app.models.services.forwarding_runs import ForwardingRunService
from app.paths import resolve_home
from tests.activation.conftest import SECRET
from tests.activation.helpers import quick_engines, tier_files, wait_for
from tests.outputs.homes import idfa, identity_example
from tests.outputs.partners import WebhookSimulator


class StallingWebhook(WebhookSimulator):
    """Processes each batch, then never answers until released: a reply lost when the agent is killed."""

    def __init__(self, secret: str):
        self.release = threading.Event()
        super().__init__(secret)

    def dispatch(self, method, path, headers, body):
        reply = super().dispatch(method, path, headers, body)
        self.release.wait(60)
        return reply


@pytest.fixture
def home(tmp_path, secret_service):
    """A home with an Active audience connected as Sending to a webhook, closed again (the agent opens it)."""
    root = resolve_home(tmp_path / "home")
    partner = StallingWebhook(SECRET)
    partner.release.set()
    with OpenHome.open(root) as opened:
        us, _eu, audience = identity_example(opened)
        membership.refresh(opened)
        output = opened.outputs.create("Hook", "webhook", {"url": partner.endpoint, "identity_types": ["ios_idfa"]},
                                       {"signing_secret": SECRET})
        opened.connections.connect(audience.id, output.id)
    yield root, partner, us.id
    partner.release.set()
    partner.close()


def agent_process(root, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "app", "--home", str(root.root), "agent", "run", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_the_agent_forwards_with_the_app_closed_and_then_follows_an_import(home, tmp_path):
    root, partner, workspace_id = home
    Agent(root, engine_factory=quick_engines).run(once=True)
    assert len(partner.held) == 100
    status = read_agent_status(root.root)
    assert status.state == "stopped" and "1 connection(s) forwarded" in status.last_run

    # New data imported by the command line while nothing runs; the agent's next round forwards the change.
    files = tier_files(tmp_path / "crm", workspace_id, {1: "silver", 101: "gold"})
    assert main(["--home", str(root.root), "import", "--workspace", "US", *map(str, files)]) == 0
    Agent(root, engine_factory=quick_engines).run(once=True)
    assert ("ios_idfa", idfa(1).lower()) not in partner.held and ("ios_idfa", idfa(101).lower()) in partner.held
    assert set(partner.added.values()) == {1}
    with OpenHome.open(root) as opened:
        assert [r.trigger for r in ForwardingRunService(opened.store).list()] == ["agent", "agent"]


def test_while_another_forwarder_holds_the_lock_the_agent_waits_and_touches_nothing(home):
    root, partner, _ = home
    app = ForwarderLock(root.root, "app")
    assert app.acquire()
    try:
        assert holder(root.root)["holder"] == "app"
        Agent(root, engine_factory=quick_engines).run(once=True)
    finally:
        app.release()
    assert partner.requests == 0
    assert read_agent_status(root.root).last_run_at is None
    assert holder(root.root) is None


def test_sigterm_stops_the_agent_cleanly(home):
    root, partner, _ = home
    process = agent_process(root, "--interval", "3600")
    try:
        wait_for(lambda: len(partner.held) == 100, "the agent's first round")
        wait_for(lambda: (read_agent_status(root.root) or None) is not None
                 and read_agent_status(root.root).state == "idle", "the round's end")
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "Agent stopped: 1 round(s); 1 sent" in out
    assert read_agent_status(root.root).state == "stopped"
    assert holder(root.root) is None


def test_kill_9_mid_batch_loses_nothing_and_resends_only_under_the_same_batch_id(home):
    root, partner, _ = home
    partner.release.clear()  # the partner takes the batch, then the reply never comes
    process = agent_process(root, "--interval", "3600")
    try:
        wait_for(lambda: len(partner.held) == 100, "the partner processed the batch")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    partner.release.set()
    assert holder(root.root) is None  # the OS let the dead agent's lock go
    Agent(root, engine_factory=quick_engines).run(once=True)
    assert partner.duplicates == 1  # the batch came again under its id, and the partner ignored it
    assert set(partner.added.values()) == {1} and len(partner.held) == 100
    assert len(partner.seen_batches) == 1
    with OpenHome.open(root) as opened:
        connection = opened.connections.list()[0]
        assert (connection.identities_held, connection.pending_batches) == (100, 0)


def test_the_linux_unit_verifies_and_its_command_runs_the_agent(home, tmp_path, monkeypatch):
    root, partner, _ = home
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert main(["--home", str(root.root), "agent", "install", "--platform", "linux", "--no-start"]) == 0
    unit = service_file("linux", root.root)
    assert unit.path == tmp_path / "config" / "systemd" / "user" / "audience-studio-agent.service"
    if shutil.which("systemd-analyze"):
        runtime = tmp_path / "runtime"
        runtime.mkdir(mode=0o700)
        verified = subprocess.run(["systemd-analyze", "verify", "--user", str(unit.path)], capture_output=True,
                                  text=True, env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)})
        assert verified.returncode == 0, verified.stderr
    parsed = configparser.ConfigParser(interpolation=None)
    parsed.read(unit.path)
    command = shlex.split(parsed["Service"]["ExecStart"].replace("%%", "%"))
    ran = subprocess.run([*command, "--once"], capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert len(partner.held) == 100

    assert main(["--home", str(root.root), "agent", "status", "--platform", "linux", "--json"]) == 0
    assert main(["--home", str(root.root), "agent", "uninstall", "--platform", "linux"]) == 0
    assert not unit.path.exists()


def test_the_macos_and_windows_files_name_the_agent_command(tmp_path, capsys):
    root = tmp_path / "a home"
    assert main(["--home", str(root), "agent", "install", "--platform", "macos", "--print"]) == 0
    plist = capsys.readouterr().out
    assert "<string>com.audience-studio.agent</string>" in plist and f"<string>{root.resolve()}</string>" in plist
    assert main(["--home", str(root), "agent", "install", "--platform", "windows", "--print"]) == 0
    xml = capsys.readouterr().out
    assert f'--home "{root.resolve()}" agent run' in xml and "<LogonTrigger>" in xml


def test_a_bad_interval_is_one_line(tmp_path, capsys):
    assert main(["--home", str(tmp_path / "h"), "agent", "run", "--interval", "0"]) == 1
    assert capsys.readouterr().err.strip() == "audience-studio: --interval 0: give a number of seconds above 0."


def test_status_says_who_forwards(home, capsys):
    root, _, _ = home
    lock = ForwarderLock(root.root, "app")
    lock.acquire()
    try:
        assert main(["--home", str(root.root), "agent", "status", "--platform", "linux", "--json"]) == 0
    finally:
        lock.release()
    assert json.loads(capsys.readouterr().out)["forwarder"] == "app"
