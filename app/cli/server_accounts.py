"""`audience-studio server init | invite | role | audit`: the company, members and the audit log."""

from __future__ import annotations

import csv
import datetime as dt
import getpass
import json
import sys
from pathlib import Path

from app.errors import InvalidInput, UserError
from app.server import audit
from app.server.accounts import Accounts
from app.server.mail import load_settings


def run(admin, args) -> int:
    return {"init": _init, "invite": _invite, "role": _role, "audit": _audit}[args.server_thing](admin, args)


def _init(admin, args) -> int:
    password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass("First admin's password: ")
    name = Accounts(admin.db).init(args.company, args.admin_name or "", args.admin_email, password, args.workspace)
    print(f"Created the company {args.company.strip()!r} and its first admin {name}. "
          "Sign in from the app with that e-mail and password.")
    return 0


def _invite(admin, args) -> int:
    smtp = load_settings(Path(args.smtp_settings).expanduser() if args.smtp_settings else None)
    accounts = Accounts(admin.db, smtp, args.public_url)
    if args.resend is not None:
        sent = accounts.resend(audit.COMMAND_LINE, args.resend)
    else:
        if not args.email or not args.workspace:
            raise InvalidInput("server invite needs an EMAIL and at least one --workspace (or --resend ID)")
        ids = {w.id for w in admin.list_workspaces() if w.name.casefold() in {n.strip().casefold() for n in args.workspace} or str(w.id) in args.workspace}
        if len(ids) != len(set(args.workspace)):
            raise InvalidInput(f"Not every --workspace of {', '.join(args.workspace)} is on this server (`server workspace list`)")
        sent = accounts.invite(audit.COMMAND_LINE, args.email, {w: args.role for w in ids}, args.name)
    if sent.error:
        raise UserError(f"Invitation {sent.invitation.id} for {sent.invitation.email} is kept but was not sent: {sent.error}. "
                        f"`audience-studio server invite --resend {sent.invitation.id} --public-url ...` sends it again.")
    print(f"Invitation {sent.invitation.id} sent to {sent.invitation.email}; the link works until "
          f"{sent.invitation.expires_at:%Y-%m-%d %H:%M} UTC.")
    return 0


def _role(admin, args) -> int:
    ids = [w.id for w in admin.list_workspaces() if w.name.casefold() == args.workspace.strip().casefold() or str(w.id) == args.workspace.strip()]
    if not ids:
        raise InvalidInput(f"No workspace {args.workspace!r} on this server (`server workspace list`)")
    Accounts(admin.db).set_role(audit.COMMAND_LINE, args.user, ids[0], None if args.remove else args.role)
    print(f"{args.user} {'no longer has a grant' if args.remove else f'is now {args.role}'} on {args.workspace}.")
    return 0


def _audit(admin, args) -> int:
    since = None
    if args.since:
        try:
            since = dt.datetime.fromisoformat(args.since)
        except ValueError:
            raise InvalidInput(f"--since {args.since!r}: give a time as 2026-11-25 or 2026-11-25T14:00") from None
        since = since.replace(tzinfo=dt.timezone.utc) if since.tzinfo is None else since
    with admin.db.read() as connection:
        found = audit.entries(connection, actor=args.actor, kind=args.kind, since=since, limit=args.limit)
    rows = [e.as_json() for e in found]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    elif args.csv:
        with open(args.csv, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "at", "actor", "kind", "action", "target", "workspace_id", "details"])
            for r in rows:
                writer.writerow([r["id"], r["at"], r["actor"], r["kind"], r["action"], r["target"], r["workspace_id"] or "",
                                 json.dumps(r["details"], ensure_ascii=False, sort_keys=True)])
        print(f"Wrote {len(rows)} audit entries to {args.csv}.")
    else:
        for r in rows:
            print(f"{r['at'][:19]}  {r['actor']}  {r['kind']} {r['action']}  {r['target']}")
        if not rows:
            print("No audit entries.")
    return 0
