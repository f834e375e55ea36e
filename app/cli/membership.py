"""`audience-studio audiences refresh-membership` and `audiences history`: the live audiences' membership as the
membership engine keeps it (docs/membership.md)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from app.cli.console import print_json, print_table
from app.errors import InvalidInput

# app.engines.membership is imported by the commands that use it: it brings DuckDB, which the desktop app's
# start (the same `audience-studio` program) need not wait for.

REFRESH_DESCRIPTION = """\
Bring the membership of the live audiences up to date and print each one's size, adds and drops of the
last 24 hours, volatility ((adds + drops) / size), when it was calculated ("as of") and its state.
Calculated: every Active real-time audience (and each variation of its A/B test) whose data, definition,
scope or inputs changed or whose recency windows slid since its last calculation; standard audiences
from their calculated members. Drafts and inactive audiences keep what they had. New data is calculated
only for the profiles the loads touched. Imports and syncs run this by themselves, as --due does; the
desktop app also runs it on a clock (--due: as the clock does)."""

HISTORY_DESCRIPTION = """\
An audience's daily history as the membership engine kept it (13 months): per day its size at the
day's last calculation and the members who entered (adds) and left (drops) that day."""


def add_parsers(audience_commands, utc_time) -> None:
    """Add `refresh-membership` and `history` to the `audiences` actions."""
    refresh = audience_commands.add_parser("refresh-membership", help="bring live audiences' membership up to date "
                                           "and print sizes, adds, drops, volatility, as of and state",
                                           description=REFRESH_DESCRIPTION)
    refresh.add_argument("--json", action="store_true", help="print JSON")
    refresh.add_argument("--now", type=utc_time, metavar="ISO8601", help="the moment to calculate at (default: now)")
    how = refresh.add_mutually_exclusive_group()
    how.add_argument("--due", action="store_true", help="as the app's clock does: an audience whose only change is "
                     "the clock waits for its workspace's refresh interval")
    how.add_argument("--full", action="store_true", help="calculate every live audience again, changed or not")
    history = audience_commands.add_parser("history", help="an audience's daily size, adds and drops",
                                           description=HISTORY_DESCRIPTION)
    history.add_argument("audience", metavar="NAME|ID")
    history.add_argument("--json", action="store_true", help="print JSON")
    history.add_argument("--csv", type=Path, metavar="FILE", help="also write the days to FILE as CSV "
                         "(day, size, adds, drops)")


def run(opened, args) -> int:
    if args.audiences_command == "refresh-membership":
        return _refresh(opened, args)
    return _history(opened, args)


def _refresh(opened, args) -> int:
    from app.engines import membership

    now = args.now or dt.datetime.now(dt.timezone.utc)
    if args.due:
        membership.run_due(opened, now)
    else:
        membership.refresh(opened, now, full=args.full)
    names = {a.id: a for a in opened.audiences.list()}
    found = membership.statuses(opened, now)
    rows = []
    for (audience_id, variant_id), status in found.items():
        audience = names.get(audience_id)
        if audience is None:
            continue
        name = audience.name
        if variant_id:
            test = opened.ab_tests.get(audience_id)
            variation = next((v for v in (test.variations if test else ()) if v.id == variant_id), None)
            if variation is None:
                continue
            name += f" / {variation.name}"
        rows.append((audience, name, status))
    if args.json:
        print_json([{"name": name, "audience_status": audience.status, **status.as_json()}
                    for audience, name, status in rows])
        return 0
    if not rows:
        print("No live audiences: activate one with `audience-studio audiences activate NAME`.")
        return 0
    print_table(("ID", "NAME", "SIZE", "ADDS 24H", "DROPS 24H", "VOLATILITY", "AS OF (UTC)", "STATE"),
                [(str(audience.id), name, _number(status.size), f"{status.adds:,}", f"{status.drops:,}",
                  "" if status.volatility is None else f"{status.volatility:.1%}",
                  "" if status.as_of is None else f"{status.as_of:%Y-%m-%d %H:%M}", _state(audience, status))
                 for audience, name, status in rows])
    return 0


def _history(opened, args) -> int:
    from app.engines import membership

    audience = opened.audiences.get(args.audience)
    days = membership.history(opened, audience.id)
    if args.csv is not None:
        _write_csv(args.csv, days)
    if args.json:
        print_json({"audience_id": audience.id, "name": audience.name,
                    "days": [{"day": d.day.isoformat(), "size": d.size, "adds": d.adds, "drops": d.drops} for d in days]})
        return 0
    if not days:
        print(f'Audience "{audience.name}" has no history yet: it is kept once the audience is active and calculated '
              "(`audience-studio audiences refresh-membership`).")
        return 0
    print(f"Audience {audience.id}: {audience.name}")
    print_table(("DAY", "SIZE", "ADDS", "DROPS"),
                [(d.day.isoformat(), f"{d.size:,}", f"{d.adds:,}", f"{d.drops:,}") for d in days])
    if args.csv is not None:
        print(f"Wrote {len(days):,} days to {args.csv}.")
    return 0


def _write_csv(path: Path, days) -> None:
    """Written to a temporary file beside it, then renamed: never a half-written CSV."""
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["day", "size", "adds", "drops"])
            writer.writerows([d.day.isoformat(), d.size, d.adds, d.drops] for d in days)
        partial.replace(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InvalidInput(f"{path}: cannot be written ({exc.strerror or exc})") from None


def _number(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def _state(audience, status) -> str:
    text = status.state
    if status.error:
        text += f": {status.error}"
    if audience.kind == "realtime" and audience.status != "active":
        text = f"{audience.status} (kept as of its last calculation); " + text
    return text
