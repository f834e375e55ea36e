"""`audience-studio audiences versions | diff | restore`: an audience's edit history, the difference between two
of its versions in words, and restoring one as a new version (app.models.services.versions; docs/insights.md)."""

from __future__ import annotations

from app.cli.console import print_json, print_table

ACTIONS = ("versions", "diff", "restore")


def add_parsers(audience_commands) -> None:
    """Add the history actions to `audiences`."""
    versions = audience_commands.add_parser(
        "versions", help="every saved version of the audience: number, who saved it, when",
        description="Every saved version of the audience, oldest first: its number, who saved it (the account "
                    "name signed in to the team's server, else the OS user), when, and why when not an edit.")
    versions.add_argument("audience", metavar="NAME|ID")
    versions.add_argument("--json", action="store_true", help="print JSON, each version with its whole document")

    diff = audience_commands.add_parser(
        "diff", help="what changed between two versions of the audience, in words",
        description="What changed from version V1 to version V2 (numbers from `audiences versions`): settings "
                    "changed, cards and groups added, removed, moved and changed.")
    diff.add_argument("audience", metavar="NAME|ID")
    diff.add_argument("old", type=int, metavar="V1")
    diff.add_argument("new", type=int, metavar="V2")
    diff.add_argument("--json", action="store_true", help="print JSON")

    restore = audience_commands.add_parser(
        "restore", help="make the audience say what version V says, saved as a new version",
        description="Make the audience say what version V says (name, status, tags, inputs, segment settings, "
                    "criteria). It is saved as a new version; the history is never rewritten, so restoring the "
                    "version before undoes it.")
    restore.add_argument("audience", metavar="NAME|ID")
    restore.add_argument("version", type=int, metavar="V")


def run(opened, args) -> int:
    service = opened.versions
    if args.audiences_command == "versions":
        history = service.history(args.audience)
        if args.json:
            print_json({"audience_id": history.audience_id, "audience": history.audience_name,
                        "versions": [v.as_json() for v in history.versions]})
            return 0
        print(f"Versions of audience {history.audience_id}: {history.audience_name}")
        print_table(("VERSION", "SAVED (UTC)", "BY", "NOTE"),
                    [(str(v.number), f"{v.saved_at:%Y-%m-%d %H:%M:%S}", v.saved_by, v.note or "")
                     for v in history.versions])
        return 0
    if args.audiences_command == "diff":
        changes = service.diff(args.audience, args.old, args.new)
        if args.json:
            print_json({"audience": service.history(args.audience).audience_name, "from": args.old, "to": args.new,
                        "changes": [c.as_json() for c in changes]})
            return 0
        if not changes:
            print(f"Versions {args.old} and {args.new} say the same.")
        for change in changes:
            print(f"  {change.text}")
        return 0
    restored = service.restore(args.audience, args.version)
    history = service.history(args.audience)
    if restored is None:
        print(f"Audience {history.audience_name!r} already says what version {args.version} says; nothing was saved.")
    else:
        print(f"Restored version {args.version} of audience {history.audience_id}: {history.audience_name}, "
              f"saved as version {restored.number}.")
    return 0
