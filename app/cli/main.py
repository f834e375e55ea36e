"""The `audience-studio` command: the desktop app with no subcommand, scripting subcommands otherwise."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from app import __version__
from app.builder.calculated import CALCULATIONS, EVENT_TYPES
from app.errors import InvalidInput, UserError
from app.cli.console import print_json
from app.logs import configure as configure_logging
from app.paths import HOME_ENV, resolve_home
from app.cli import ab_tests as ab_tests_cli
from app.cli import agent as agent_cli
from app.cli import membership as membership_cli
from app.cli import channels as channels_cli
from app.cli import outputs as outputs_cli
from app.cli import insights as insights_cli
from app.cli import segments as segments_cli
from app.cli import standard as standard_cli
from app.cli import versions as versions_cli
from app.cli import server as server_commands

log = logging.getLogger("app.cli")

DESCRIPTION = """\
Audience Studio: model audiences offline with live size estimates.

With no command, opens the desktop app on the home's workspaces.
"""

EPILOG = f"""\
The home (--home, or ${HOME_ENV}) holds the workspace store (store.sqlite3: what you make) and the
cache (cache.duckdb: profiles and events, rebuildable). Default: the platform's user data folder.

Examples:
  audience-studio demo --profiles 20000          build a demo workspace
  audience-studio info                            what the home holds
  audience-studio import batches.ndjson.gz        load mParticle batches
  audience-studio estimate criteria.json --exact  count an audience definition
  audience-studio audiences list                  the audiences, for scripting
  audience-studio audiences refresh-membership    live audiences: size, adds, drops, as of, state
  audience-studio audiences why "Lapsed buyers" --email ada@example.com   why a customer is in it or not
  audience-studio audiences segment "Lapsed buyers" --public --cpm 2.50   price a segment for the marketplace
  audience-studio export "Lapsed buyers" --out lapsed.zip --identities email   download identities
  audience-studio ab-test create "Lapsed buyers" --variation Push=20   split an audience for an A/B test
  audience-studio outputs partners                the partners audiences can be forwarded to
  audience-studio outputs forward                 forward connected audiences once
  audience-studio serve --port 8080               run the team's audience server
  audience-studio server workspace create US      administer it (workspaces, inputs, users, tokens, revenue)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="audience-studio", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--home", metavar="DIR", help=f"where the workspace store and cache live (default: ${HOME_ENV} or the user data folder)")
    parser.add_argument("--verbose", "-v", action="store_true", help="log to the console too, in detail")
    parser.add_argument("--version", action="version", version=f"audience-studio {__version__}")
    parser.add_argument("--self-test", action="store_true",
                        help="open the desktop app on the home, compute its first audience's estimate in the builder, "
                             "print it and quit (0 when it worked; the installers' smoke test runs this)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser("demo", help="build the demo workspace in the home",
                               description="Generate a realistic demo workspace (mParticle batches for the iOS, Android and web apps and a CRM feed of the fictional retailer Harbor & Pine), import it, and add example audiences. Deterministic for a seed.")
    demo.add_argument("--profiles", type=_positive_int, default=200_000, metavar="N", help="profiles to generate (default 200,000)")
    demo.add_argument("--days", type=_positive_int, default=60, metavar="D", help="days of history up to now, 1 to 3650 (default 60)")
    demo.add_argument("--seed", type=int, default=7, metavar="S", help="random seed (default 7)")
    demo.add_argument("--end", type=_utc_time, metavar="ISO8601", help="the moment the history ends (default: now, to the hour)")
    demo.add_argument("--replace", action="store_true", help="replace what the home holds (its workspaces, audiences and cache), once the new demo is complete")
    demo.add_argument("--if-missing", action="store_true", help="do nothing when the home already holds a workspace")

    imp = commands.add_parser("import", help="load mParticle batch files into the cache",
                              description="Load mParticle Events API batches (.json: a batch or a list of them as sent to /v2/bulkevents; .ndjson: a batch per line; either may be .gz). Without --skip-bad, one malformed batch stops the import and nothing is imported.")
    imp.add_argument("files", nargs="+", type=Path, metavar="FILE")
    imp.add_argument("--skip-bad", action="store_true", help="report malformed batches and import the rest")
    imp.add_argument("--workspace", metavar="NAME", help="the workspace to import into (created when new; default: the first)")
    imp.add_argument("--feed", metavar="NAME", help="the batches arrive through this feed instead of their app platform")

    info = commands.add_parser("info", help="what the home holds", description="Workspaces, inputs, counts of profiles, identities and events by type, the date range, the cache's version and the last import or sync.")
    info.add_argument("--json", action="store_true", help="print JSON")

    sync = commands.add_parser("sync", help="sync with the team's server: send audiences changed here, receive the team's, "
                               "pull the workspaces into the cache (or: sync login|logout|conflicts|resolve)",
                               description="Send the audiences created, changed or deleted here (even offline) to the team's "
                               "server, receive your teammates' (with every saved version of them: their edit history), and pull every workspace your token may read into the cache, "
                               "resuming where the last sync stopped. An audience changed on both sides is a conflict: "
                               "`sync conflicts` lists them with both versions, `sync resolve AUDIENCE --keep mine|theirs` settles one. "
                               "`sync login --server URL` checks an API token and keeps it in the OS keyring (read from standard "
                               "input, or asked for without echo); `sync login --server URL --email E` signs in with your e-mail "
                               "and password instead (the password likewise), and the server's new token goes to the keyring; "
                               "`sync logout` forgets it.")
    sync.add_argument("action", nargs="?", choices=["login", "logout", "conflicts", "resolve"],
                      help="sign in to a server, forget its token, list the open conflicts, or resolve one")
    sync.add_argument("audience", nargs="?", metavar="AUDIENCE", help="for resolve: the audience in conflict (its name)")
    sync.add_argument("--keep", choices=["mine", "theirs"], help="for resolve: keep your version (sent on the next sync) or take the server's")
    sync.add_argument("--server", metavar="URL", help="the server (default: the one signed in to last)")
    sync.add_argument("--email", metavar="E", help="for login: sign in with this e-mail and its password (read from standard input, "
                      "or asked for without echo) rather than an API token")
    sync.add_argument("--sample", type=float, metavar="F", help="only this fraction (0-1] of the profiles, chosen by mpid, for workspaces too large for a laptop")
    est = commands.add_parser("estimate", help="count the users a criteria document selects",
                              description="Count the users a criteria document (JSON, see docs/criteria.md) selects in the cache: from the 1 %% sample with its 95 %% interval, or exactly with --exact (then with a count per node).")
    est.add_argument("file", type=Path, metavar="FILE")
    est.add_argument("--now", type=_utc_time, metavar="ISO8601", help="the moment the audience is calculated at (default: now)")
    est.add_argument("--exact", action="store_true", help="count every profile instead of the sample")
    est.add_argument("--json", action="store_true", help="print JSON: count, exact, interval, elapsed_ms, nodes, now")
    est.add_argument("--explain", action="store_true", help="print the SQL and its bound parameters")
    est.add_argument("--workspace", action="append", default=[], metavar="NAME|ID", help="the workspace (repeat for several; default: the first)")

    aud = commands.add_parser("audiences", help="list, show, create, activate and clone audiences; their segment settings, live membership and history; members, why, overlap, breakdown; saved versions, diff, restore", description="Audiences, through the same services the app uses.")
    aud_commands = aud.add_subparsers(dest="audiences_command", metavar="ACTION", required=True)
    a_list = aud_commands.add_parser("list", help="all audiences", description="All audiences, optionally filtered.")
    a_list.add_argument("--json", action="store_true", help="print JSON")
    a_list.add_argument("--tag", action="append", default=[], metavar="T", help="only audiences with this tag (repeat: all of them)")
    a_list.add_argument("--search", metavar="TEXT", help="only audiences whose name contains TEXT")
    a_list.add_argument("--sizes", action="store_true", help="also size each audience from the cache: members now, adds and drops in the last 24 hours, volatility")
    a_list.add_argument("--now", type=_utc_time, metavar="ISO8601", help="with --sizes: the moment to size at (default: now)")
    a_show = aud_commands.add_parser("show", help="one audience and its criteria", description="One audience, by name or id.")
    a_show.add_argument("audience", metavar="NAME|ID")
    a_show.add_argument("--json", action="store_true", help="print JSON")
    a_create = aud_commands.add_parser("create", help="create a draft audience", description="Create a draft audience in the first workspace (or --workspace).")
    a_create.add_argument("name", metavar="NAME")
    a_create.add_argument("--external-name", metavar="X", help="the name partners see (default: the name)")
    a_create.add_argument("--criteria", type=Path, metavar="FILE", help="a criteria document (JSON)")
    a_create.add_argument("--tag", action="append", default=[], metavar="T", help="a tag (at most 18 characters; repeat for more)")
    a_create.add_argument("--workspace", action="append", default=[], metavar="NAME|ID", help="the workspace (repeat for a multi-workspace audience)")
    for action, text in (("activate", "start calculating and forwarding the audience"), ("deactivate", "stop the audience"),
                         ("clone", "copy the audience (criteria, inputs and tags) as a new draft")):
        sub = aud_commands.add_parser(action, help=text, description=text[0].upper() + text[1:] + ".")
        sub.add_argument("audience", metavar="NAME|ID")
        sub.add_argument("--json", action="store_true", help="print the result as JSON")
    segments_cli.add_parser(aud_commands)
    membership_cli.add_parsers(aud_commands, _utc_time)
    insights_cli.add_parsers(aud_commands, _utc_time)
    versions_cli.add_parsers(aud_commands)

    calc = commands.add_parser("calculated-attributes", help="define, list and delete calculated attributes",
                               description="Calculated attributes: per-user values worked out from a workspace's events when an audience is calculated (criteria use them as user attributes with \"calculated\": true).")
    calc_commands = calc.add_subparsers(dest="calculated_command", metavar="ACTION", required=True)
    c_list = calc_commands.add_parser("list", help="the calculated attributes", description="Every calculated attribute, by workspace.")
    c_list.add_argument("--workspace", metavar="NAME|ID", help="only this workspace's")
    c_list.add_argument("--json", action="store_true", help="print JSON")
    c_create = calc_commands.add_parser("create", help="define a calculated attribute",
                                        description="Define a calculated attribute in the first workspace (or --workspace). Calculations: "
                                        + "; ".join(f"{name}: {text}" for name, (_, _, text) in CALCULATIONS.items()) + ".")
    c_create.add_argument("name", metavar="NAME")
    c_create.add_argument("--calculation", required=True, choices=list(CALCULATIONS), metavar="CALCULATION",
                          help=f"one of: {', '.join(CALCULATIONS)}")
    c_create.add_argument("--event-type", required=True, choices=list(EVENT_TYPES), metavar="TYPE", help=f"one of: {', '.join(EVENT_TYPES)}")
    c_create.add_argument("--event-name", metavar="NAME", help="only events of this name (for commerce events: the product action, e.g. purchase)")
    c_create.add_argument("--attribute", metavar="A", help="the event attribute it reads (revenue is the event's revenue)")
    c_create.add_argument("--window-days", type=_positive_int, metavar="D", help="only events of the last D days (default: all time)")
    c_create.add_argument("--workspace", metavar="NAME|ID", help="the workspace (default: the first)")
    c_delete = calc_commands.add_parser("delete", help="remove a calculated attribute", description="Remove a calculated attribute; audiences that use it report it as unknown.")
    c_delete.add_argument("name", metavar="NAME")
    c_delete.add_argument("--workspace", metavar="NAME|ID", help="the workspace (default: the first)")

    exp = commands.add_parser("export", help="download audiences' identities as a ZIP of CSV files",
                              description="Write a ZIP holding a CSV per audience (or per variation of its A/B test) with the columns mpid, scanned_timestamp_ms, identity_value, identity_type - one row per identity - and a manifest.json describing the files. The ZIP appears only once it is complete; an existing file is replaced then. See docs/downloads.md.")
    exp.add_argument("audiences", nargs="+", metavar="AUDIENCE", help="an audience's name or id (several may be given)")
    exp.add_argument("--out", required=True, type=Path, metavar="FILE.zip", help="the ZIP file to write")
    exp.add_argument("--identities", type=_comma_list, metavar="TYPES", help="comma-separated identity types, e.g. email,ios_idfa (default: every type in the audiences' workspaces)")
    exp.add_argument("--variants", type=_comma_list, metavar="NAMES", help="split audiences with a saved A/B test into these variations: comma-separated names or ids, or all (default: each audience whole)")
    exp.add_argument("--now", type=_utc_time, metavar="ISO8601", help="evaluate real-time criteria at this moment (default: now)")

    server_commands.add_parsers(commands, _positive_int)
    outputs_cli.add_parsers(commands)
    ab_tests_cli.add_parsers(commands)
    standard_cli.add_parsers(commands)
    channels_cli.add_parsers(commands)
    agent_cli.add_parsers(commands)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def _comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _utc_time(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time such as 2026-09-09T13:00:00Z") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _run(argv)
    except BrokenPipeError:
        return _reader_gone()


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit:  # --help, --version or a usage error: written out here, so a closed pipe is noticed in main
        sys.stdout.flush()
        raise
    configure_logging(args.verbose)
    home = resolve_home(args.home)
    try:
        if args.command is None:
            from app.ui.application import run_app  # Qt is loaded only for the desktop app

            return run_app(home, sys.argv[:1], self_test=args.self_test)
        code = COMMANDS[args.command](home, args)
        sys.stdout.flush()  # here, so a reader that went away is noticed below, not at the interpreter's exit
        return code
    except UserError as exc:
        print(f"audience-studio: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("audience-studio: interrupted", file=sys.stderr)
        return 130


def _reader_gone() -> int:
    """The command piped into stopped reading (`... | head`): end quietly, as a shell tool ended by SIGPIPE
    does (status 141), rather than with a traceback. The rest of the output goes nowhere: standard output
    is pointed at the null device so the interpreter's last flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no file descriptor behind sys.stdout (an embedding, a test's capture)
        pass
    return 141


# -- commands -----------------------------------------------------------------------------------


#: Commands that only read the cache: they work beside the running desktop app (DuckDB lets one process
#: open the cache while it writes, so they read a snapshot of it then; README.md, "Beside the running app").
READ_ONLY_AUDIENCE_ACTIONS = ("list", "show")


def _open(home, *, reading: bool = False):
    from app.engines.home import OpenHome

    opened = OpenHome.open(home, reading=reading)
    if opened.cache.snapshot_dir is not None:
        print("audience-studio: the app has the cache open; reading a snapshot of it taken now.", file=sys.stderr)
    return opened


def cmd_demo(home, args) -> int:
    from app.engines.demo import build_demo, home_has_workspaces

    if args.if_missing and home_has_workspaces(home):
        print(f"The home {home.root} already holds a workspace; nothing to do.")
        return 0
    end = args.end or dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
    progress = _Progress("Generating and importing demo data", total=None)
    summary = build_demo(home, profiles=args.profiles, days=args.days, seed=args.seed, end=end,
                         replace=args.replace, progress=progress.update)
    progress.done()
    print(f"Demo workspace ready in {home.root}: {summary.profiles:,} profiles, {summary.events:,} events, "
          f"{summary.audiences} example audiences ({summary.seconds:.1f} s).")
    return 0


def cmd_sync(home, args) -> int:
    from app.engines import sync

    with _open(home) as opened:
        if args.action == "login":
            if not args.server:
                raise InvalidInput("sync login needs --server URL")
            if args.email:
                password = sys.stdin.readline().rstrip("\r\n") if not sys.stdin.isatty() else getpass.getpass(f"Password for {args.email}: ")
                user, workspaces = sync.sign_in_with_password(opened, args.server, args.email, password)
            else:
                token = sys.stdin.readline() if not sys.stdin.isatty() else getpass.getpass("API token: ")
                user, workspaces = sync.sign_in(opened, args.server, token)
            names = ", ".join(w.name for w in workspaces) or "none yet"
            print(f"Signed in to {args.server} as {user}; workspaces: {names}. The token is kept in "
                  f"{sync.token_place(opened)}.")
            return 0
        if args.action == "logout":
            print(f"Signed out of {sync.sign_out(opened, args.server)}.")
            return 0
        if args.action == "conflicts":
            return _print_conflicts(opened)
        if args.action == "resolve":
            from app.engines import audience_sync

            if not args.audience or not args.keep:
                raise InvalidInput("sync resolve needs the audience and --keep mine or --keep theirs")
            conflict = audience_sync.find_conflict(opened, args.audience)
            print(audience_sync.resolve(opened, conflict.id, args.keep))
            if args.keep == "mine":
                print("Run `audience-studio sync` to send it.")
            return 0
        if args.sample is not None and not 0 < args.sample <= 1:
            raise InvalidInput(f"--sample {args.sample}: use a fraction above 0 and at most 1, such as 0.1")
        result = sync.sync_home(opened, args.server, sample=args.sample)
        for done in result:
            created = " (new in this home)" if done.created else ""
            revenue = f", {done.revenue.rows:,} revenue rows" if done.revenue is not None and done.revenue.rows else ""
            print(f"{done.name}{created}: {_pages_words(done.report)}, {_count(done.report.batches, 'batch')}, "
                  f"{_count(done.report.events, 'event')}{revenue}")
        print(f"Audiences: {result.audiences.sent} sent, {result.audiences.received} received.")
        if result.audiences.versions_sent or result.audiences.versions_received:
            print(f"Saved versions (edit history): {result.audiences.versions_sent} sent, "
                  f"{result.audiences.versions_received} received.")
        for note in result.audiences.notes:
            print(f"  {note}", file=sys.stderr)
        from app.engines import audience_sync

        waiting = audience_sync.conflicts(opened)
        if waiting:
            print(f"{len(waiting)} conflict(s) to resolve: " + "; ".join(f"{c.name} ({c.words})" for c in waiting)
                  + ". See both versions with `audience-studio sync conflicts`.")
        return 0


def _pages_words(report) -> str:
    """How a pull came: "3 pages", or "the server's snapshot and 2 pages after it" for a first sync."""
    pages = report.pages - (1 if report.snapshot else 0)  # the snapshot is counted as a page
    if not report.snapshot:
        return _count(pages, "page")
    return "the server's snapshot" + (f" and {_count(pages, 'page')} after it" if pages else "")


def _print_conflicts(opened) -> int:
    """The open sync conflicts, each with both versions as readable outlines."""
    from app.engines import audience_sync

    found = audience_sync.conflicts(opened)
    if not found:
        print("No sync conflicts.")
        return 0
    print(f"{len(found)} audience(s) changed on both sides; choose a version with "
          "`audience-studio sync resolve AUDIENCE --keep mine|theirs`:")
    for conflict in found:
        print(f"\n{conflict.name}: {conflict.words} (server's copy by {conflict.theirs_by})")
        mine = audience_sync.outline(conflict.mine) if conflict.mine is not None else "(deleted here)"
        theirs = ("(deleted on the server)" if not conflict.theirs or conflict.theirs.get("deleted")
                  else audience_sync.outline(conflict.theirs))
        for title, text in (("  Yours:", mine), ("  The server's:", theirs)):
            print(title)
            print("\n".join("    " + line for line in text.splitlines()))
    return 0


def cmd_import(home, args) -> int:
    from app.engines.importing import import_into_workspace

    with _open(home) as opened:
        progress = _Progress("Importing", total=None)
        workspace, report = import_into_workspace(opened, args.files, workspace=args.workspace, feed=args.feed,
                                                  skip_bad=args.skip_bad, progress=progress.update)
        progress.done()
    print(f"Imported {_count(report.batches, 'batch')} ({_count(report.events, 'event')}) into workspace {workspace.name!r}.")
    if report.bad:
        print(f"Skipped {_count(len(report.bad), 'malformed batch')}:", file=sys.stderr)
        for bad in report.bad[:50]:
            print(f"  {bad}", file=sys.stderr)
        if len(report.bad) > 50:
            print(f"  ... and {len(report.bad) - 50} more (see the log)", file=sys.stderr)
    return 0


def _count(n: int, noun: str) -> str:
    plural = noun + ("es" if noun.endswith("ch") else "s")
    return f"{n:,} {noun if n == 1 else plural}"


def cmd_info(home, args) -> int:
    from app.engines.info import format_info, home_info

    with _open(home, reading=True) as opened:
        info = home_info(opened)
    print(json.dumps(info, indent=2) if args.json else format_info(info))
    return 0


def cmd_estimate(home, args) -> int:
    from app.engines.estimates import estimate_document

    document = _read_json(args.file)
    with _open(home, reading=True) as opened:
        workspaces = [opened.workspaces.get(w) for w in args.workspace] or [opened.workspaces.default()]
        result = estimate_document(opened, document, workspace_ids=[w.id for w in workspaces], now=args.now, exact=args.exact)
    if args.json:
        print_json(result.as_json())
    else:
        window = f", events of the last {result.realtime_days} days" if result.realtime_days else ""
        if result.exact:
            print(f"{result.count:,} users (exact, of {result.universe:,}{window}; {result.elapsed_ms:.0f} ms)")
            for node_id, count in result.nodes.items():
                print(f"  {node_id:<30} {count:>12,}")
        else:
            low, high = result.interval
            print(f"about {result.count:,} users (95 % interval {low:,} to {high:,}, from the 1 % sample, of {result.universe:,}{window}; {result.elapsed_ms:.0f} ms)")
    if args.explain:
        print("\n-- SQL", file=sys.stdout)
        print(result.sql)
        print("-- parameters, in order")
        for index, value in enumerate(result.params, start=1):
            print(f"  ${index}: {value!r}")
    return 0


def cmd_export(home, args) -> int:
    from app.engines import downloads

    with _open(home, reading=True) as opened:
        audiences = [opened.audiences.get(name) for name in args.audiences]
        parts = downloads.parts_for(opened, audiences, args.variants)
        if args.identities:
            types = downloads.check_identity_types(opened, args.identities)
        else:
            types = downloads.default_identity_types(opened, audiences)
        progress = _Progress("Exporting rows", total=None)
        try:
            result = downloads.download(opened, parts, args.out, identity_types=types, now=args.now,
                                        progress=progress.update)
        finally:
            progress.done()
    files = len(result.manifest["files"])
    print(f"Wrote {_count(result.total_rows, 'row')} ({', '.join(types)}) in {_count(files, 'CSV file')} to {result.path}.")
    return 0


def _read_json(path: Path):
    from app.builder.document import read_file

    return read_file(path)


def cmd_audiences(home, args) -> int:
    with _open(home, reading=args.audiences_command in READ_ONLY_AUDIENCE_ACTIONS) as opened:
        service = opened.audiences
        action = args.audiences_command
        if action == "list":
            audiences = service.list(tags_all=tuple(args.tag), search=args.search)
            sizes = {}
            if args.sizes:
                from app.engines.audience_sizes import SizeCalculator

                sizes = SizeCalculator(opened).sizes(audiences, now=args.now)
            statuses = _statuses(opened, audiences)
            if args.json:
                print_json([{**_audience_json(a, brief=True, status=statuses[a.id]), **_size_json(sizes.get(a.id))}
                            for a in audiences])
            elif not audiences:
                print("No audiences" + (" match." if args.tag or args.search else " yet: `audience-studio audiences create NAME` makes one."))
            else:
                _print_table(audiences, statuses, sizes)
            return 0
        if action == "show":
            audience = service.get(args.audience)
            status = _statuses(opened, [audience])[audience.id]
            if args.json:
                print_json(_audience_json(audience, status=status))
            else:
                _print_audience(audience, status)
            return 0
        if action == "create":
            audience = _create_audience(opened, args)
            print(f"Created draft audience {audience.id}: {audience.name}")
            return 0
        if action == "segment":
            return segments_cli.run(opened, args)
        if action in ("refresh-membership", "history"):
            return membership_cli.run(opened, args)
        if action in insights_cli.ACTIONS:
            return insights_cli.run(opened, args)
        if action in versions_cli.ACTIONS:
            return versions_cli.run(opened, args)
        target = service.get(args.audience)
        if action == "activate":
            result = service.activate(target.id)
            message = f"Activated audience {result.id}: {result.name}" + _first_calculation(opened, result)
        elif action == "deactivate":
            result = service.deactivate(target.id)
            message = f"Deactivated audience {result.id}: {result.name}"
        else:
            result = service.clone(target.id)
            message = f"Cloned audience {target.id} as {result.id}: {result.name}"
        if getattr(args, "json", False):
            print_json(_audience_json(result))
        else:
            print(message)
        return 0


def _first_calculation(opened, audience) -> str:
    """Activating a real-time audience calculates its members at once (docs/membership.md): its size, or why not."""
    if audience.kind != "realtime":
        return ""
    from app.engines import membership

    membership.refresh(opened, audience_ids=[audience.id])
    status = membership.status(opened, audience.id)
    if status.state == "failed":
        return f" (its members could not be calculated: {status.error})"
    return f" ({status.size:,} members)" if status.size is not None else ""


def cmd_calculated_attributes(home, args) -> int:
    from app.builder.calculated import CalculatedAttribute

    with _open(home) as opened:
        service = opened.calculated_attributes
        action = args.calculated_command
        if action == "list":
            workspace = opened.workspaces.get(args.workspace) if args.workspace else None
            found = service.list(workspace.id if workspace else None)
            if args.json:
                print_json([{"id": i.id, "workspace_id": i.workspace_id, "name": i.name, "type": i.definition.value_type,
                              **{k: getattr(i.definition, k) for k in ("calculation", "event_type", "event_name", "attribute", "window_days")},
                              "created_by": i.created_by, "created_at": i.created_at.isoformat()} for i in found])
            elif not found:
                print("No calculated attributes yet: `audience-studio calculated-attributes create NAME ...` defines one.")
            else:
                for info in found:
                    print(f"{info.workspace_id}  {info.name}  ({info.definition.value_type}): {info.definition.describe()}")
            return 0
        workspace = opened.workspaces.get(args.workspace) if args.workspace else opened.workspaces.default()
        if action == "create":
            info = service.create(workspace.id, CalculatedAttribute(args.name, args.calculation, args.event_type, args.event_name,
                                                                    args.attribute, args.window_days))
            print(f"Defined {info.name} ({info.definition.value_type}) in {workspace.name}: {info.definition.describe()}")
        else:
            info = service.delete(workspace.id, args.name)
            print(f"Deleted calculated attribute {info.name} from {workspace.name}")
        return 0


def _create_audience(opened, args):
    criteria = _read_json(args.criteria) if args.criteria else None
    workspaces = [opened.workspaces.get(w) for w in args.workspace] or [opened.workspaces.default()]
    return opened.audiences.create(
        args.name, external_name=args.external_name, scope="multi" if len(workspaces) > 1 else "single",
        workspace_ids=[w.id for w in workspaces], criteria=criteria, tags=args.tag,
    )


def _statuses(opened, audiences) -> dict[int, str]:
    """audience id → its status as the app shows it. A standard audience's is where its calculation stands
    (draft, calculating, ready, expired): its audience row stays "draft" (docs/standard_audiences.md)."""
    found = {a.id: a.status for a in audiences}
    if any(a.kind == "standard" for a in audiences):
        from app.engines.standard_calculation import StandardAudiences

        found.update({info.id: info.status.lower() for info in StandardAudiences(opened).list() if info.id in found})
    return found


def _audience_json(audience, *, brief: bool = False, status: str | None = None) -> dict[str, Any]:
    data = {
        "id": audience.id, "name": audience.name, "external_name": audience.effective_external_name,
        "external_name_set": audience.external_name is not None, "scope": audience.scope, "kind": audience.kind,
        "status": status or audience.status, "workspace_ids": list(audience.workspace_ids), "input_ids": list(audience.input_ids),
        "tags": list(audience.tags), "created_by": audience.created_by,
        "created_at": audience.created_at.isoformat(), "updated_at": audience.updated_at.isoformat(),
    }
    if not brief:
        data["criteria"] = audience.criteria
    return data


def _size_json(size) -> dict[str, Any]:
    if size is None:
        return {}
    return {"size": size.size, "adds": size.adds, "drops": size.drops,
            "volatility": None if size.volatility is None else round(size.volatility, 4), "size_problem": size.problem}


def _print_table(audiences, statuses, sizes=None) -> None:
    sizes = sizes or {}
    rows, header = [], ("ID", "NAME", "STATUS", "SCOPE", "TAGS", "UPDATED (UTC)")
    if sizes:
        header += ("SIZE", "ADDS 24H", "DROPS 24H", "VOLATILITY")
    for a in audiences:
        row = (str(a.id), a.name, statuses[a.id], a.scope, ", ".join(a.tags), a.updated_at.strftime("%Y-%m-%d %H:%M"))
        if sizes:
            size = sizes[a.id]
            if size.size is None:
                row += ("?", "", "", "")
            else:
                row += (f"{size.size:,}", f"{size.adds:,}", f"{size.drops:,}",
                        "" if size.volatility is None else f"{size.volatility:.1%}")
        rows.append(row)
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def _print_audience(a, status: str) -> None:
    external = a.effective_external_name + ("" if a.external_name else "  (same as the name)")
    print(f"Audience {a.id}: {a.name}")
    for label, value in (("External name", external), ("Status", status), ("Scope", a.scope), ("Kind", a.kind),
                         ("Workspaces", ", ".join(map(str, a.workspace_ids))), ("Inputs", ", ".join(map(str, a.input_ids)) or "all"),
                         ("Tags", ", ".join(a.tags) or "none"), ("Created by", a.created_by),
                         ("Created", a.created_at.isoformat()), ("Updated", a.updated_at.isoformat())):
        print(f"  {label + ':':<15}{value}")
    print("  Criteria:")
    print("    " + json.dumps(a.criteria, indent=2, ensure_ascii=False).replace("\n", "\n    "))


class _Progress:
    """A one-line progress report on stderr when it is a terminal; silent otherwise."""

    def __init__(self, label: str, total: int | None):
        self.label, self.total = label, total
        self.tty = sys.stderr.isatty()

    def update(self, done: int, total: int | None = None) -> None:
        if not self.tty:
            return
        total = total or self.total
        text = f"{self.label}: {done:,}" + (f" / {total:,} ({100 * done / total:.0f} %)" if total else "")
        print("\r" + text.ljust(70), end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.tty:
            print("\r" + " " * 70 + "\r", end="", file=sys.stderr, flush=True)


COMMANDS = {"demo": cmd_demo, "import": cmd_import, "sync": cmd_sync, "info": cmd_info, "estimate": cmd_estimate, "export": cmd_export, "audiences": cmd_audiences,
            "calculated-attributes": cmd_calculated_attributes, **server_commands.COMMANDS,
            **outputs_cli.COMMANDS, **standard_cli.COMMANDS, **ab_tests_cli.COMMANDS,
            **channels_cli.COMMANDS, **agent_cli.COMMANDS}
