"""`audience-studio agent`: the activation agent, headless: keeps the home's audiences live and forwarded with the
app closed. `agent run` (the default) runs in the foreground until SIGTERM or Ctrl+C; `agent install`,
`uninstall` and `status` manage it as a per-user service (app/engines/agent_service.py)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from app.cli.console import print_json
from app.errors import InvalidInput

log = logging.getLogger(__name__)

DESCRIPTION = """\
The activation agent keeps audiences live and forwarded without the desktop app. On its clock (--interval) it
syncs with the team server (when the home is signed in to one), brings live audiences up to date (the
membership engine) and forwards every Sending connection of an Active audience whose members changed, as the
app does while it is open. One forwarder per home (HOME/forwarder.lock): while the desktop app is open it
forwards and the agent waits; the agent opens the home only for each round, so the app can open it between. Logs go to the log file (and stderr with -v);
SIGTERM or Ctrl+C stops it cleanly after the batch being sent."""


def add_parsers(commands: argparse._SubParsersAction) -> None:
    agent = commands.add_parser("agent", help="the activation agent: forwards audiences with the app closed",
                                description=DESCRIPTION)
    actions = agent.add_subparsers(dest="agent_command", metavar="ACTION")
    run = actions.add_parser("run", help="run the agent in the foreground (the default)", description=DESCRIPTION)
    for parser in (agent, run):
        parser.add_argument("--interval", type=float, default=None, metavar="SECONDS",
                            help="how often to sync, update memberships and forward (default 60)")
        parser.add_argument("--once", action="store_true",
                            help="one round (sync, memberships, forwarding), then exit when the forwarding is done")
    for name, text in (("install", "install and start the agent as a per-user service for this home"),
                       ("uninstall", "stop the agent's service and remove it"),
                       ("status", "whether the service is installed, who forwards for this home, the agent's last run")):
        sub = actions.add_parser(name, help=text, description=text[0].upper() + text[1:] + ": a systemd user unit on "
                                 "Linux, a launchd agent on macOS, a Task Scheduler task on Windows.")
        sub.add_argument("--platform", choices=("linux", "macos", "windows"),
                         help="the platform whose service file to use (default: this one)")
        if name == "install":
            sub.add_argument("--print", action="store_true", help="print the service file instead of installing it")
            sub.add_argument("--no-start", action="store_true", help="write the file without registering or starting it")
        if name == "status":
            sub.add_argument("--json", action="store_true", help="print JSON")


def cmd_agent(home, args) -> int:
    action = args.agent_command or "run"
    if action == "run":
        interval = args.interval if args.interval is not None else 60.0
        if interval <= 0:
            raise InvalidInput(f"--interval {interval:g}: give a number of seconds above 0.")
        return run_agent(home, interval=interval, once=args.once)
    from app.engines import agent_service

    platform = args.platform or agent_service.current_platform()
    file = agent_service.service_file(platform, home.root)
    if action == "install":
        if args.print:
            sys.stdout.write(file.text)
            return 0
        steps = agent_service.install(file, start=not args.no_start)
        print(f"Wrote {file.path}")
        for step in steps:
            print(step.line())
        return 0 if all(step.ok for step in steps) else 1
    if action == "uninstall":
        steps = agent_service.uninstall(file)
        print(f"Removed {file.path}")
        for step in steps:
            print(step.line())
        return 0
    return _status(home, file, args.json)


def _status(home, file, as_json: bool) -> int:
    from app.engines.forwarder_lock import holder, read_agent_status

    status = read_agent_status(home.root)
    current = holder(home.root)
    data = {"service_file": str(file.path), "installed": file.path.exists(),
            "forwarder": (current or {}).get("holder"), "forwarder_pid": (current or {}).get("pid"),
            "agent": None if status is None else {**status.__dict__, "alive": status.alive}}
    if as_json:
        print_json(data)
        return 0
    print(f"Service file: {file.path} ({'installed' if data['installed'] else 'not installed'})")
    if current is None:
        print("Nobody forwards for this home now (neither the agent nor the app is running).")
    else:
        print(f"Forwarding for this home: the {current.get('holder')} (pid {current.get('pid')})")
    if status is not None:
        print(f"Agent: {status.state if status.alive else 'not running'} (pid {status.pid}, updated {status.updated_at})"
              + (f"; last run {status.last_run_at}: {status.last_run}" if status.last_run_at else ""))
    return 0


def run_agent(home, *, interval: float, once: bool) -> int:
    """The agent's loop; returns the exit code (0 after SIGTERM or Ctrl+C)."""
    from app.engines.agent import Agent

    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda _s, _f: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        agent = Agent(home, interval=interval, stop=stop)
        print(f"Audience Studio agent for {home.root} (pid {agent.pid}); stop with Ctrl+C or SIGTERM.", flush=True)
        agent.run(once=once)
        print(f"Agent stopped: {agent.summary()}", flush=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


COMMANDS = {"agent": cmd_agent}

