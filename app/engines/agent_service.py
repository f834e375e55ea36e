"""The activation agent as a per-user service: the files that start `audience-studio agent` at log-in on each
platform (a systemd user unit on Linux, a launchd agent on macOS, a Task Scheduler task on Windows), where
they go, and installing, removing and asking about them with the platform's own tool.

The service runs the agent in the foreground (the service manager keeps it running and stops it with
SIGTERM); the home is named on its command line, so one agent serves one home. Nothing secret goes into these
files: the agent reads tokens from the OS keyring like the app.
"""

from __future__ import annotations

import os
import plistlib
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from app.errors import UserError

PLATFORMS = ("linux", "macos", "windows")
UNIT_NAME = "audience-studio-agent.service"
LAUNCHD_LABEL = "com.audience-studio.agent"
TASK_NAME = "Audience Studio agent"


def current_platform() -> str:
    if sys.platform.startswith("linux"):
        return "linux"
    if sys.platform == "darwin":
        return "macos"
    if sys.platform == "win32":
        return "windows"
    raise UserError(f"The agent can be installed as a service on Linux, macOS and Windows, not on {sys.platform}; "
                    "run `audience-studio agent` from your own service manager instead.")


def agent_command(home_root: Path) -> list[str]:
    """The command the service runs: this Python with `-m app`, so the service uses this installation."""
    return [sys.executable, "-m", "app", "--home", str(home_root), "agent", "run"]


@dataclass(frozen=True)
class ServiceFile:
    platform: str
    path: Path
    text: str


def service_file(platform: str, home_root: Path, *, user_home: Path | None = None) -> ServiceFile:
    """The file that runs the agent for `home_root` on `platform`, and where it is installed."""
    user_home = user_home or Path.home()
    command = agent_command(Path(home_root).resolve())
    if platform == "linux":
        config = Path(os.environ.get("XDG_CONFIG_HOME") or user_home / ".config")
        return ServiceFile(platform, config / "systemd" / "user" / UNIT_NAME, systemd_unit(command, home_root))
    if platform == "macos":
        return ServiceFile(platform, user_home / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist",
                           launchd_plist(command, home_root))
    if platform == "windows":
        return ServiceFile(platform, Path(home_root) / "audience-studio-agent.xml", task_xml(command))
    raise UserError(f"Platform {platform!r} is not known; use one of: {', '.join(PLATFORMS)}.")


def systemd_unit(command: list[str], home_root: Path) -> str:
    # Restart=on-failure: a crash (or kill -9) restarts it; a clean stop (SIGTERM, exit 0) stays stopped.
    return "\n".join([
        "[Unit]",
        "Description=Audience Studio activation agent (keeps audiences live and forwarded)",
        "After=network-online.target",
        "",
        "[Service]",
        "Type=simple",
        f"ExecStart={' '.join(_systemd_quote(part) for part in command)}",
        f"WorkingDirectory={_systemd_quote(str(Path(home_root).resolve()))}",
        "Restart=on-failure",
        "RestartSec=30",
        "KillSignal=SIGTERM",
        "TimeoutStopSec=60",
        "",
        "[Install]",
        "WantedBy=default.target",
        "",
    ])


def _systemd_quote(part: str) -> str:
    """systemd's command-line quoting (double quotes, backslash escapes); % doubled (specifier)."""
    part = part.replace("%", "%%")
    if part and all(c.isalnum() or c in "/._-+=:,@" for c in part):
        return part
    return '"' + part.replace("\\", "\\\\").replace('"', '\\"') + '"'


def launchd_plist(command: list[str], home_root: Path) -> str:
    logs = Path(home_root).resolve() / "logs"
    return plistlib.dumps({
        "Label": LAUNCHD_LABEL,
        "ProgramArguments": command,
        "RunAtLoad": True,
        # Restarted after a crash, not after a clean exit.
        "KeepAlive": {"SuccessfulExit": False},
        "StandardOutPath": str(logs / "agent.out.log"),
        "StandardErrorPath": str(logs / "agent.err.log"),
    }).decode("utf-8")


def task_xml(command: list[str]) -> str:
    program, arguments = command[0], subprocess.list2cmdline(command[1:])
    return f"""<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Description>Audience Studio activation agent (keeps audiences live and forwarded)</Description>
  </RegistrationInfo>
  <Triggers>
    <LogonTrigger>
      <Enabled>true</Enabled>
    </LogonTrigger>
  </Triggers>
  <Principals>
    <Principal id="Author">
      <LogonType>InteractiveToken</LogonType>
      <RunLevel>LeastPrivilege</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>
    <RestartOnFailure>
      <Interval>PT1M</Interval>
      <Count>999</Count>
    </RestartOnFailure>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>{escape(program)}</Command>
      <Arguments>{escape(arguments)}</Arguments>
    </Exec>
  </Actions>
</Task>
"""


# -- installing ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """A command run (or to run by hand when its tool is missing) and what came of it."""

    command: list[str]
    ok: bool
    said: str

    def line(self) -> str:
        text = " ".join(shlex.quote(c) for c in self.command)
        return f"{'ran' if self.ok else 'FAILED'}: {text}" + (f" — {self.said}" if self.said else "")


def _run(command: list[str]) -> Step:
    if shutil.which(command[0]) is None:
        return Step(command, False, f"{command[0]} is not installed here; run it yourself")
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Step(command, False, str(exc))
    said = " ".join((done.stderr or done.stdout or "").split())[:300]
    return Step(command, done.returncode == 0, said)


def install(file: ServiceFile, *, start: bool = True) -> list[Step]:
    """Write the file, then register (and start) it with the platform's tool."""
    file.path.parent.mkdir(parents=True, exist_ok=True)
    temporary = file.path.with_name(file.path.name + ".tmp")
    # Windows' Task Scheduler reads the XML as UTF-16, as its declaration says.
    temporary.write_text(file.text, encoding="utf-16" if file.platform == "windows" else "utf-8")
    os.replace(temporary, file.path)
    if not start:
        return []
    if file.platform == "linux":
        return [_run(["systemctl", "--user", "daemon-reload"]), _run(["systemctl", "--user", "enable", "--now", UNIT_NAME])]
    if file.platform == "macos":
        return [_run(["launchctl", "load", "-w", str(file.path)])]
    return [_run(["schtasks", "/Create", "/F", "/TN", TASK_NAME, "/XML", str(file.path)]),
            _run(["schtasks", "/Run", "/TN", TASK_NAME])]


def uninstall(file: ServiceFile) -> list[Step]:
    """Stop and unregister the service, then remove its file."""
    steps: list[Step] = []
    if file.platform == "linux":
        steps = [_run(["systemctl", "--user", "disable", "--now", UNIT_NAME])]
    elif file.platform == "macos":
        steps = [_run(["launchctl", "unload", "-w", str(file.path)])]
    else:
        steps = [_run(["schtasks", "/Delete", "/F", "/TN", TASK_NAME])]
    file.path.unlink(missing_ok=True)
    if file.platform == "linux":
        steps.append(_run(["systemctl", "--user", "daemon-reload"]))
    return steps
