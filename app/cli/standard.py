"""The `standard` and `credits` subcommands of audience-studio: standard (historical) audiences and calculation credits.

`standard calculate` shows the days scanned and the credits it would spend, and asks before it starts
(unless --yes); Ctrl+C cancels it, and what the unfinished audiences would have cost is refunded.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import threading
from pathlib import Path
from typing import Any

from app.errors import InvalidInput
from app.cli.console import print_json, print_table
from app.engines.standard_calculation import StandardAudiences

#: app.models.services.standard_audiences.TABS and TAB_TITLES, not imported: the compiler need not load for `--help`.
TABS = ("in_progress", "ready", "archive")
TAB_TITLES = {"in_progress": "In progress", "ready": "Ready", "archive": "Archive"}

CREDIT_RULE = ("One credit covers 365 days of data scanned: the distinct days in the union of the date ranges "
               "calculated together cost max(1, ceil((days - 1) / 365)) credits.")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD") from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


def add_parsers(commands: argparse._SubParsersAction) -> None:
    std = commands.add_parser("standard", help="standard (historical) audiences: create, calculate, send",
                              description="Standard audiences scan all cached history in a date range. Calculating "
                                          "spends the workspace's credits; a calculated audience is Ready for 30 "
                                          "days, then Expired (clone it to calculate again). " + CREDIT_RULE)
    actions = std.add_subparsers(dest="standard_command", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="standard audiences and where they stand",
                                 description="Standard audiences with their date range, state, size and expiry.")
    listing.add_argument("--tab", choices=TABS, help="only those of one tab of the pane")
    listing.add_argument("--json", action="store_true", help="print JSON")

    create = actions.add_parser("create", help="create a standard draft",
                                description="Create a standard draft over a date range (inclusive, UTC); without "
                                            "--from and --to it covers all available data.")
    create.add_argument("name", metavar="NAME")
    create.add_argument("--workspace", metavar="NAME|ID", help="the workspace (default: the first)")
    create.add_argument("--from", dest="start", type=_date, metavar="YYYY-MM-DD", help="the first day")
    create.add_argument("--to", dest="end", type=_date, metavar="YYYY-MM-DD", help="the last day (inclusive)")
    create.add_argument("--criteria", type=Path, metavar="FILE", help="a criteria document (JSON)")
    create.add_argument("--input", action="append", default=[], metavar="NAME",
                        help="only events of this platform or feed (repeat for more; default: all)")

    calculate = actions.add_parser("calculate", help="calculate drafts together, spending credits",
                                   description="Calculate one or more drafts of one workspace together. " + CREDIT_RULE)
    calculate.add_argument("audiences", nargs="+", metavar="AUDIENCE", help="drafts by name or id")
    calculate.add_argument("--yes", action="store_true", help="do not ask before spending the credits")

    clone = actions.add_parser("clone", help="a new draft over the same range (to recalculate an expired one)",
                               description="Copy a standard audience as a new draft with the same criteria and range.")
    clone.add_argument("audience", metavar="AUDIENCE")

    send = actions.add_parser("send", help="send a Ready audience to some of its connections",
                              description="Connections of a standard audience forward nothing until sent; this "
                                          "marks them and forwards them now (unless --no-forward). It can be sent again.")
    send.add_argument("audience", metavar="AUDIENCE")
    send.add_argument("--connection", action="append", type=int, default=[], metavar="ID",
                      help="a connection to send (repeat for more; default: all of the audience's)")
    send.add_argument("--no-forward", action="store_true", help="only mark them; the next forwarding run sends them")

    credits = commands.add_parser("credits", help="calculation credits: balances, ledger, adding credits",
                                  description="Calculation credits pay for standard audiences. " + CREDIT_RULE)
    credit_actions = credits.add_subparsers(dest="credits_command", metavar="ACTION", required=True)
    show = credit_actions.add_parser("show", help="balances, or one workspace's ledger",
                                     description="Every workspace's balance, or with --workspace its ledger.")
    show.add_argument("--workspace", metavar="NAME|ID", help="show this workspace's ledger")
    show.add_argument("--json", action="store_true", help="print JSON")
    add = credit_actions.add_parser("add", help="add credits to a workspace (admin)",
                                    description="Add credits to a workspace's balance; the ledger records who and why.")
    add.add_argument("workspace", metavar="WORKSPACE", help="name or id")
    add.add_argument("credits", type=_positive, metavar="N")
    add.add_argument("--note", required=True, metavar="TEXT", help="why (e.g. the order or invoice number)")


def _open(home):
    from app.engines.home import OpenHome

    return OpenHome.open(home)




def _standard_json(info) -> dict[str, Any]:
    return {"id": info.id, "name": info.name, "workspace_id": info.workspace_id, "range_start": info.range_start,
            "range_end": info.range_end, "status": info.status, "tab": info.tab, "size": info.size,
            "calculated_at": info.calculated_at, "expires_at": info.expires_at,
            "scanned_start": info.scanned_start, "scanned_end": info.scanned_end}


def _when(moment: dt.datetime | None) -> str:
    return "" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


def cmd_standard(home, args) -> int:
    with _open(home) as opened:
        service = StandardAudiences(opened)
        service.recover()
        action = args.standard_command
        if action == "list":
            found = service.list(args.tab)
            if args.json:
                print_json([_standard_json(a) for a in found])
            elif not found:
                print("No standard audiences" + (f" in {TAB_TITLES[args.tab]}." if args.tab else
                                                 " yet: `audience-studio standard create NAME` makes one."))
            else:
                print_table(("ID", "NAME", "DATE RANGE", "STATE", "SIZE", "CALCULATED", "EXPIRES"),
                       [(str(a.id), a.name, a.range_text(), a.status, "" if a.size is None else f"{a.size:,}",
                         _when(a.calculated_at), _when(a.expires_at)) for a in found])
            return 0
        if action == "create":
            return _create(opened, args)
        if action == "calculate":
            return _calculate(opened, args)
        if action == "clone":
            copy = service.clone(service.get(args.audience).id)
            print(f"Created draft {copy.id}: {copy.name} ({copy.range_text()})")
            return 0
        return _send(opened, args)


def _create(opened, args) -> int:
    criteria = None
    if args.criteria:
        try:
            criteria = json.loads(args.criteria.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidInput(f"{args.criteria}: cannot be read as JSON ({exc})") from None
    workspace = opened.workspaces.get(args.workspace) if args.workspace else opened.workspaces.default()
    inputs = []
    for name in args.input:
        matches = [i.id for i in workspace.inputs if i.name.casefold() == name.casefold()]
        if not matches:
            raise InvalidInput(f'Workspace "{workspace.name}" has no input "{name}"; it has: '
                               + (", ".join(i.name for i in workspace.inputs) or "none"))
        inputs += matches
    info = StandardAudiences(opened).create(args.name, workspace_id=workspace.id, start=args.start, end=args.end,
                                            input_ids=inputs, criteria=criteria)
    print(f"Created standard draft {info.id}: {info.name} ({info.range_text()})")
    return 0


def _calculate(opened, args) -> int:
    service = StandardAudiences(opened)
    ids = [service.get(a).id for a in args.audiences]
    quote = service.quote(ids)
    for audience in quote.audiences:
        print(f"  {audience.name}: {audience.start} to {audience.end}")
    print(f"{quote.days:,} days scanned: {quote.credits} credit{'s' if quote.credits != 1 else ''} "
          f'of {quote.balance} in workspace "{quote.workspace_name}".')
    if not quote.enough:
        raise InvalidInput(quote.shortfall_text())
    if not args.yes:
        if not sys.stdin.isatty():
            raise InvalidInput("Add --yes to spend the credits without being asked.")
        if input("Spend them and calculate? [y/N] ").strip().lower() not in ("y", "yes"):
            print("Nothing calculated.")
            return 1
    job = service.calculate(ids)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            job.run(lambda done, total: print(f"  {done} of {total} calculated", file=sys.stderr))
        except BaseException as exc:  # noqa: BLE001 - re-raised on the main thread below
            failure.append(exc)

    worker = threading.Thread(target=run, name="standard calculation")
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.2)
    except KeyboardInterrupt:
        print("Cancelling…", file=sys.stderr)
        job.cancel()
        worker.join()
    if failure:
        raise failure[0]
    for audience in quote.audiences:
        info = service.get(audience.id)
        print(f"{info.name}: {info.status}" + (f", {info.size:,} members" if info.size is not None else ""))
    if job.outcome == "cancelled":
        print("Cancelled: the unfinished audiences are drafts again; their credits were refunded.")
        return 130
    return 0


def _send(opened, args) -> int:
    service = StandardAudiences(opened)
    info = service.get(args.audience)
    connection_ids = args.connection or [c.id for c in opened.connections.list(audience_id=info.id)]
    if not connection_ids:
        raise InvalidInput(f'"{info.name}" has no connections; connect it to an output first '
                           "(`audience-studio outputs connect`).")
    service.send(info.id, connection_ids)
    if args.no_forward:
        print(f"Marked {len(connection_ids)} connection(s) to send; the next forwarding run sends them.")
        return 0
    from app.engines.forwarding import ForwardingEngine

    reports = ForwardingEngine(opened).forward(connection_ids)
    for report in reports:
        print(f"{report.output_name}: {report.outcome}" + (f", {report.added:,} added" if report.added else "")
              + (f" ({report.reason})" if report.reason else ""))
    return 0 if all(r.outcome != "faulted" for r in reports) else 1


def cmd_credits(home, args) -> int:
    with _open(home) as opened:
        credits = opened.credits
        StandardAudiences(opened).recover()
        if args.credits_command == "add":
            workspace = opened.workspaces.get(args.workspace)
            credits.add(workspace.id, args.credits, args.note)
            print(f'Added {args.credits} credit{"s" if args.credits != 1 else ""} to "{workspace.name}"; '
                  f"the balance is {credits.balance(workspace.id)}.")
            return 0
        if args.workspace:
            workspace = opened.workspaces.get(args.workspace)
            ledger = credits.ledger(workspace.id)
            if args.json:
                print_json({"workspace_id": workspace.id, "balance": sum(e.change for e in ledger),
                             "ledger": [e.__dict__ for e in ledger]})
            elif not ledger:
                print(f'"{workspace.name}" has no credits yet: `audience-studio credits add` adds some.')
            else:
                print_table(("WHEN", "CHANGE", "BY", "REASON"),
                       [(_when(e.created_at), f"{e.change:+d}", e.created_by, e.reason) for e in ledger])
                print(f"Balance: {sum(e.change for e in ledger)}")
            return 0
        balances = credits.balances()
        names = {w.id: w.name for w in opened.workspaces.list()}
        if args.json:
            print_json([{"workspace_id": ws, "workspace": names.get(ws), "balance": b} for ws, b in balances.items()])
        elif not balances:
            print("There is no workspace yet.")
        else:
            print_table(("WORKSPACE", "CREDITS"), [(names.get(ws, str(ws)), str(b)) for ws, b in balances.items()])
        return 0


COMMANDS = {"standard": cmd_standard, "credits": cmd_credits}
