"""The server's command-line half: `audience-studio serve` and `audience-studio server ...` (administration).

`app.cli` registers these subcommands; they print what an administrator needs, secrets exactly once.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from app.paths import Home

#: The environment variable that chooses the server database when --database is not given.
DATABASE_ENV = "AUDIENCE_STUDIO_SERVER_DATABASE"

SERVE_DESCRIPTION = """\
Run the Audience Studio server: mParticle-compatible ingest (POST /v2/events, /v2/bulkevents) and the
sync API the app follows (/v1/...). Its OpenAPI document is at /openapi.json. Data lives in
server.sqlite3 in the home, or in PostgreSQL with --database postgresql+psycopg://USER:PASSWORD@HOST/DB.
"""

SERVER_DESCRIPTION = """\
Administer the server's database: workspaces, their inputs (a platform or a feed, each with an API key
and secret for ingest), users (and the workspaces they may read and write), their API tokens, the
workspaces' revenue (records, segment member counts, agencies) and their stored batches (list, check,
quarantine).
Secrets and tokens are printed once and stored only as hashes.
"""


def add_parsers(commands: argparse._SubParsersAction, positive_int) -> None:
    database = argparse.ArgumentParser(add_help=False)
    database.add_argument("--database", metavar="URL",
                          help=f"the server database (default: ${DATABASE_ENV}, else sqlite:///HOME/server.sqlite3)")

    serve = commands.add_parser("serve", parents=[database], help="run the audience server (ingest and sync)",
                                description=SERVE_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, metavar="P", help="the port to listen on (default 8080)")
    serve.add_argument("--max-body-bytes", type=positive_int, default=4 * 1024 * 1024, metavar="N",
                       help="largest request body accepted; above it, 413 (default 4 MiB)")
    serve.add_argument("--rate", type=float, default=50.0, metavar="R",
                       help="requests per second each input may send; above it, 429 with Retry-After (default 50)")
    serve.add_argument("--burst", type=positive_int, default=100, metavar="N", help="requests an input may send at once (default 100)")
    serve.add_argument("--smtp-settings", metavar="FILE",
                       help="a TOML file whose [smtp] table has host, port, security (starttls, tls or none), sender, user "
                            "(and password, or set AUDIENCE_STUDIO_SMTP_PASSWORD) for invitation e-mails "
                            "(default: the AUDIENCE_STUDIO_SMTP_* environment)")
    serve.add_argument("--public-url", metavar="URL", help="the server's address as members reach it, for activation links "
                                                           "(default: the address the inviting admin used)")
    serve.add_argument("--snapshot-dir", metavar="DIR",
                       help="where to keep the snapshots a new client's first sync starts from (default: HOME/server-snapshots)")

    server = commands.add_parser("server", help="administer the server: workspaces, inputs, users, tokens, revenue, batches",
                                 description=SERVER_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    things = server.add_subparsers(dest="server_thing", metavar="THING", required=True)

    init = things.add_parser("init", parents=[database], help="create the company and its first admin (once)",
                             description="Create the company (its name is what channel taxonomy pushes carry), a first workspace "
                                         "if the server has none, and the first admin (admin of every workspace). The password "
                                         "is read from standard input (or asked for). Runs once per server.")
    init.add_argument("--company", required=True, metavar="NAME", help="the company's name")
    init.add_argument("--admin-email", required=True, metavar="EMAIL", help="the first admin's e-mail (they sign in with it)")
    init.add_argument("--admin-name", metavar="NAME", help="the first admin's name (default: the e-mail)")
    init.add_argument("--workspace", metavar="NAME", help="the first workspace's name (default: the company's)")

    inv = things.add_parser("invite", parents=[database], help="invite a member by e-mail",
                            description="Make a member with a role on workspaces and e-mail them an activation link (works "
                                        "once, for 72 hours). If the e-mail cannot be sent the invitation is kept: "
                                        "`server invite --resend ID` sends it again with a new link.")
    inv.add_argument("email", nargs="?", metavar="EMAIL")
    inv.add_argument("--workspace", action="append", default=[], metavar="W", help="a workspace granted (repeat for several)")
    inv.add_argument("--role", default="viewer", choices=("admin", "editor", "viewer"), help="the role on those workspaces (default viewer)")
    inv.add_argument("--name", metavar="NAME", help="the member's name (default: the e-mail)")
    inv.add_argument("--resend", type=int, metavar="ID", help="send invitation ID again with a new link instead")
    inv.add_argument("--smtp-settings", metavar="FILE", help="as for `serve` (default: the AUDIENCE_STUDIO_SMTP_* environment)")
    inv.add_argument("--public-url", required=True, metavar="URL", help="the server's address as members reach it")

    role = things.add_parser("role", parents=[database], help="set or remove a member's role on a workspace",
                             description="Set a member's role on a workspace (admin, editor or viewer), or remove their grant "
                                         "with --remove. Applies to their next request.")
    role.add_argument("user", metavar="USER", help="the member's name or e-mail")
    role.add_argument("workspace", metavar="WORKSPACE", help="the workspace's name or id")
    what = role.add_mutually_exclusive_group(required=True)
    what.add_argument("--role", choices=("admin", "editor", "viewer"))
    what.add_argument("--remove", action="store_true")

    aud = things.add_parser("audit", parents=[database], help="the audit log: who changed what and when",
                            description="The audit log, oldest first: audiences, inputs, accounts, roles and invitations "
                                        "changed, by whom and when. It never holds secrets.")
    aud.add_argument("--actor", metavar="NAME", help="only this actor's entries")
    aud.add_argument("--kind", choices=("audience", "input", "account", "role", "invitation", "company", "workspace"))
    aud.add_argument("--since", metavar="ISO", help="only entries at or after this time (UTC when no zone is given)")
    aud.add_argument("--limit", type=positive_int, default=1000, metavar="N", help="at most N entries (default 1000)")
    out = aud.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print JSON")
    out.add_argument("--csv", metavar="FILE", help="write the entries to a CSV file")

    ws = things.add_parser("workspace", help="workspaces", description="The server's workspaces.").add_subparsers(dest="server_action", metavar="ACTION", required=True)
    ws_create = ws.add_parser("create", parents=[database], help="create a workspace", description="Create a workspace.")
    ws_create.add_argument("name", metavar="NAME")
    ws_list = ws.add_parser("list", parents=[database], help="list the workspaces", description="The workspaces and how many batches each holds.")
    ws_list.add_argument("--json", action="store_true", help="print JSON")

    inp = things.add_parser("input", help="inputs and their API keys", description="Inputs: where batches come from.").add_subparsers(dest="server_action", metavar="ACTION", required=True)
    inp_create = inp.add_parser("create", parents=[database], help="create an input and print its API key and secret once",
                                description="Create a platform input (its batches say their platform) or a feed input, and print its API key and secret. The secret is shown only now.")
    inp_create.add_argument("workspace", metavar="WORKSPACE", help="the workspace's name or id")
    kind = inp_create.add_mutually_exclusive_group(required=True)
    kind.add_argument("--platform", metavar="NAME", help="an app platform: iOS, Android, Web, ...")
    kind.add_argument("--feed", metavar="NAME", help="a data feed, e.g. CRM")
    inp_create.add_argument("--json", action="store_true", help="print JSON: api_key, secret, workspace, kind, name")
    inp_list = inp.add_parser("list", parents=[database], help="list inputs (never their secrets)", description="Inputs with their API keys (secrets are not kept).")
    inp_list.add_argument("workspace", nargs="?", metavar="WORKSPACE", help="only this workspace's")
    inp_list.add_argument("--json", action="store_true", help="print JSON")
    for action, text in (("disable", "refuse the input's batches (403) until enabled again"), ("enable", "accept the input's batches again")):
        sub = inp.add_parser(action, parents=[database], help=text, description=text[0].upper() + text[1:] + ".")
        sub.add_argument("api_key", metavar="API_KEY")
    rotate = inp.add_parser("rotate", parents=[database], help="give the input a new secret, printed once (the old one stops working)",
                            description="Give the input a new secret and print it once; the old secret stops working at once, the API key stays.")
    rotate.add_argument("api_key", metavar="API_KEY")

    usr = things.add_parser("user", help="users and their workspaces", description="Users: who syncs.").add_subparsers(dest="server_action", metavar="ACTION", required=True)
    usr_create = usr.add_parser("create", parents=[database], help="create a user", description="Create a user who may read and write the given workspaces.")
    usr_create.add_argument("name", metavar="NAME")
    usr_create.add_argument("--workspace", action="append", default=[], metavar="W", help="a workspace the user may use (repeat for several)")
    usr_grant = usr.add_parser("grant", parents=[database], help="let a user use more workspaces", description="Add workspaces to a user's.")
    usr_grant.add_argument("name", metavar="NAME")
    usr_grant.add_argument("--workspace", action="append", required=True, metavar="W", help="a workspace (repeat for several)")
    usr_list = usr.add_parser("list", parents=[database], help="list users", description="Users and their workspaces.")
    usr_list.add_argument("--json", action="store_true", help="print JSON")

    tok = things.add_parser("token", help="users' API tokens", description="API tokens: how the app signs in.").add_subparsers(dest="server_action", metavar="ACTION", required=True)
    tok_create = tok.add_parser("create", parents=[database], help="create a token and print it once", description="Create an API token for a user and print it. It is shown only now.")
    tok_create.add_argument("user", metavar="USER")
    tok_create.add_argument("--label", metavar="TEXT", help="what the token is for, e.g. the laptop it goes on")
    tok_create.add_argument("--json", action="store_true", help="print JSON: user, token")
    tok_revoke = tok.add_parser("revoke", parents=[database], help="revoke all of a user's tokens", description="Revoke every token of a user.")
    tok_revoke.add_argument("user", metavar="USER")

    bat = things.add_parser("batch", help="stored batches: list and check them, quarantine one",
                            description="The batches a workspace holds. A batch that cannot be loaded into a cache stops "
                                        "laptops' syncs at its page; quarantine it to take it out of every page and snapshot "
                                        "(its data is kept) and release it to serve it again (docs/server.md)."
                            ).add_subparsers(dest="server_action", metavar="ACTION", required=True)
    bat_list = bat.add_parser("list", parents=[database], help="list a workspace's batches, each checked",
                              description="List a workspace's stored batches, in order, with why any cannot be loaded (checked "
                                          "as a laptop loads it) and whether it is quarantined.")
    bat_list.add_argument("workspace", metavar="WORKSPACE", help="the workspace's name or id")
    bat_list.add_argument("--after", type=int, default=0, metavar="SEQ", help="only batches after this number (default 0)")
    bat_list.add_argument("--limit", type=positive_int, default=100, metavar="N", help="at most N batches (default 100)")
    bat_list.add_argument("--problems", action="store_true",
                          help="only batches that cannot be loaded or are quarantined (checks every batch of the workspace)")
    bat_list.add_argument("--json", action="store_true", help="print JSON")
    bat_q = bat.add_parser("quarantine", parents=[database], help="stop serving a batch (its data is kept)",
                           description="Take a batch out of every sync page and snapshot. Its data is kept; laptops that "
                                       "already hold it keep it. `release` serves it again.")
    bat_q.add_argument("workspace", metavar="WORKSPACE", help="the workspace's name or id")
    bat_q.add_argument("seq", type=int, metavar="SEQ", help="the batch's number (`batch list` shows it)")
    bat_q.add_argument("--reason", metavar="TEXT", help="why, shown by `batch list`")
    bat_r = bat.add_parser("release", parents=[database], help="serve a quarantined batch again",
                           description="Serve a quarantined batch again, as the workspace's newest batch (a new number), "
                                       "so every laptop receives it with its next sync.")
    bat_r.add_argument("workspace", metavar="WORKSPACE", help="the workspace's name or id")
    bat_r.add_argument("seq", type=int, metavar="SEQ", help="the quarantined batch's number")

    rev = things.add_parser("revenue", help="revenue records, segment member counts and agencies",
                            description="Revenue the app's Revenue pane shows: stored per workspace, synced to every laptop "
                                        "(docs/revenue.md).").add_subparsers(dest="server_action", metavar="ACTION", required=True)
    rev_load = rev.add_parser("load", parents=[database], help="store revenue from CSV or Parquet files",
                              description="Store revenue records, member counts and agencies from CSV (.csv) or Parquet (.parquet) "
                                          "files with the columns of docs/revenue.md (a workspace_id column is ignored; an empty "
                                          "agency or channel cell means not reported). A row replaces the stored row of the same "
                                          "key. Every row of every file is checked first; one bad row and nothing is stored.")
    rev_load.add_argument("--workspace", required=True, metavar="W", help="the workspace's name or id")
    rev_load.add_argument("--records", metavar="FILE", help="revenue records: day, segment_key, agency, channel, impressions, revenue, currency")
    rev_load.add_argument("--counts", metavar="FILE", help="segment member counts: day, segment_key, members")
    rev_load.add_argument("--agencies", metavar="FILE", help="agencies: agency, name, kind, country, contact")
    rev_demo = rev.add_parser("demo", parents=[database], help="store the demo's year of revenue for its public segments",
                              description="Store the demo generator's revenue history for the demo's priced public segments, under "
                                          "the keys the desktop demo sells them by, so a demo home's audiences match it. "
                                          "Deterministic for the seed and end day; running it again replaces the same rows.")
    rev_demo.add_argument("--workspace", required=True, metavar="W", help="the workspace's name or id")
    rev_demo.add_argument("--days", type=positive_int, default=365, metavar="N", help="days of history (default 365)")
    rev_demo.add_argument("--seed", type=int, default=7, metavar="S", help="the generator's seed (default 7, the demo's)")
    rev_demo.add_argument("--end", metavar="YYYY-MM-DD", help="the last day (default yesterday, UTC)")
    rev_demo.add_argument("--currency", metavar="CODE", help="the revenue's currency (default EUR for the demo's EU workspace, else USD)")


def _url(home: Home, args) -> str:
    from app.server.database import default_url

    return args.database or os.environ.get(DATABASE_ENV) or default_url(home)


def cmd_serve(home: Home, args) -> int:
    import uvicorn

    from app.server.app import create_app
    from app.server.database import open_database
    from app.server.settings import ServerSettings

    url = _url(home, args)
    database = open_database(url)
    snapshot_dir = Path(args.snapshot_dir).expanduser().resolve() if args.snapshot_dir else home.root / "server-snapshots"
    from app.server.mail import load_settings

    smtp = load_settings(Path(args.smtp_settings).expanduser() if args.smtp_settings else None)
    settings = ServerSettings(max_body_bytes=args.max_body_bytes, rate_per_second=args.rate, rate_burst=args.burst,
                              snapshot_dir=snapshot_dir, smtp=smtp, public_url=args.public_url)
    shown = database.engine.url.render_as_string(hide_password=True)
    print(f"Audience Studio server on http://{args.host}:{args.port} (database {shown}); Ctrl+C stops it.", flush=True)
    from app.server.accounts import Accounts

    if Accounts(database).company_name() is None:
        print("First run: no company yet. `audience-studio server init --company NAME --admin-email EMAIL` creates it "
              "and its first admin.", flush=True)
    if smtp is None:
        print("No SMTP settings: invitations are kept unsent until the server runs with --smtp-settings.", flush=True)
    try:
        uvicorn.run(create_app(database, settings), host=args.host, port=args.port, log_level="warning")
    finally:
        database.close()
    return 0


def cmd_server(home: Home, args) -> int:
    from app.server.admin import Admin
    from app.server.database import open_database

    database = open_database(_url(home, args))
    try:
        return _administer(Admin(database), args)
    finally:
        database.close()


def _administer(admin, args) -> int:
    thing, action = args.server_thing, getattr(args, "server_action", None)
    if thing in ("init", "invite", "role", "audit"):
        from app.cli import server_accounts

        return server_accounts.run(admin, args)
    if thing == "revenue":
        return _revenue(admin.db, args)
    if thing == "batch":
        return _batches(admin.db, args)
    if thing == "workspace":
        if action == "create":
            ws = admin.create_workspace(args.name)
            print(f"Created workspace {ws.id}: {ws.name}")
        else:
            rows = admin.list_workspaces()
            if args.json:
                _print_json([{"id": w.id, "name": w.name, "batches": w.batches} for w in rows])
            else:
                for w in rows:
                    print(f"{w.id}  {w.name}  ({w.batches:,} batches)")
                if not rows:
                    print("No workspaces yet: `audience-studio server workspace create NAME` makes one.")
    elif thing == "input":
        if action == "create":
            new = admin.create_input(args.workspace, platform=args.platform, feed=args.feed)
            if args.json:
                _print_json({"api_key": new.input.api_key, "secret": new.secret, "workspace": new.input.workspace,
                             "workspace_id": new.input.workspace_id, "kind": new.input.kind, "name": new.input.name})
                return 0
            print(f"Created {new.input.kind} input {new.input.name!r} in workspace {new.input.workspace!r}.")
            print(f"API key: {new.input.api_key}")
            print(f"Secret:  {new.secret}")
            print("Keep the secret now: the server stores only its hash and cannot show it again.")
        elif action == "list":
            rows = admin.list_inputs(args.workspace)
            if args.json:
                _print_json([{"id": i.id, "workspace": i.workspace, "kind": i.kind, "name": i.name, "api_key": i.api_key, "enabled": i.enabled} for i in rows])
            else:
                for i in rows:
                    print(f"{i.workspace}  {i.kind:<8} {i.name:<16} {i.api_key}{'' if i.enabled else '  (disabled)'}")
        elif action == "rotate":
            new = admin.rotate_secret(args.api_key)
            print(f"New secret for the {new.input.kind} input {new.input.name!r} in workspace {new.input.workspace!r}: {new.secret}")
            print("Keep it now: the server stores only its hash. The old secret no longer works.")
        else:
            admin.set_input_enabled(args.api_key, action == "enable")
            print(f"Input {args.api_key} {action}d.")
    elif thing == "user":
        if action == "create":
            user = admin.create_user(args.name, args.workspace)
            print(f"Created user {user.name} (workspaces: {', '.join(user.workspaces) or 'none'})")
        elif action == "grant":
            user = admin.grant(args.name, args.workspace)
            print(f"{user.name} may now use: {', '.join(user.workspaces)}")
        else:
            rows = admin.list_users()
            if args.json:
                _print_json([{"id": u.id, "name": u.name, "workspaces": list(u.workspaces)} for u in rows])
            else:
                for u in rows:
                    print(f"{u.name}  ({', '.join(u.workspaces) or 'no workspaces'})")
    else:
        if action == "create":
            token = admin.create_token(args.user, args.label)
            if args.json:
                _print_json({"user": args.user, "token": token})
                return 0
            print(f"API token for {args.user}: {token}")
            print("Keep it now: the server stores only its hash and cannot show it again.", file=sys.stderr)
        else:
            count = admin.revoke_tokens(args.user)
            print(f"Revoked {count} token{'s' if count != 1 else ''} of {args.user}.")
    return 0


def _print_json(data) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _batches(database, args) -> int:
    from app.server import stored_batches

    if args.server_action == "quarantine":
        name = stored_batches.quarantine(database, args.workspace, args.seq, args.reason)
        print(f"Batch {args.seq} of {name} is quarantined: no longer served in pages or snapshots (its data is kept). "
              f"`audience-studio server batch release {args.workspace} {args.seq}` serves it again.")
        return 0
    if args.server_action == "release":
        new_seq = stored_batches.release(database, args.workspace, args.seq)
        print(f"Batch {args.seq} is served again as batch {new_seq}; laptops receive it with their next sync.")
        return 0
    name, rows = stored_batches.list_batches(database, args.workspace, after=args.after, limit=args.limit, problems=args.problems)
    if args.json:
        _print_json([{"seq": b.seq, "received_at": b.received_at.isoformat(), "input": b.input, "mpid": b.mpid, "events": b.events,
                      "quarantined": b.quarantined, "reason": b.reason, "problem": b.problem} for b in rows])
        return 0
    for b in rows:
        state = "  QUARANTINED" + (f" ({b.reason})" if b.reason else "") if b.quarantined else ""
        problem = f"  PROBLEM: {b.problem}" if b.problem else ""
        print(f"{b.seq}  {b.received_at:%Y-%m-%d %H:%M:%S}  {b.input}  mpid {b.mpid}  {b.events} events{state}{problem}")
    if not rows:
        print(f"No {'problem ' if args.problems else ''}batches in {name}" + (f" after {args.after}." if args.after else "."))
    return 0


def _revenue(database, args) -> int:
    import datetime as dt
    from pathlib import Path

    from app.errors import InvalidInput
    from app.server import revenue

    if args.server_action == "load":
        files = {"records": args.records, "segment_counts": args.counts, "agencies": args.agencies}
        name, written = revenue.load_files(database, args.workspace, {k: Path(v) if v else None for k, v in files.items()})
    else:
        try:
            end = dt.date.fromisoformat(args.end) if args.end else None
        except ValueError:
            raise InvalidInput(f"--end {args.end!r}: give a day as YYYY-MM-DD") from None
        name, written = revenue.put_demo(database, args.workspace, days=args.days, seed=args.seed, end=end, currency=args.currency)
    print(f"Stored in {name}: {written['records']:,} revenue records, {written['segment_counts']:,} member counts, "
          f"{written['agencies']:,} agencies. Laptops receive them with their next sync.")
    return 0


COMMANDS = {"serve": cmd_serve, "server": cmd_server}
