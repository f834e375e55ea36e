"""`audience-studio channels`: the marketplace channels segments are pushed to, through the same service as the
Segment tab and the Channel Settings dialog (app/models/services/channels.py)."""

from __future__ import annotations

import argparse
import sys

from app.cli.console import print_json, print_table
from app.errors import InvalidInput
from app.models.services.channels import CHANNELS, ENDPOINTS_VARIABLE, REMOVED, channel

DESCRIPTION = """\
Channels are the platforms a segment's taxonomy (its name and category) is pushed to. Some switch on
with `enable`; the others need set-up first, with every value the app's wizard asks for:
""" + "\n".join(
    f"  {c.key}: " + ", ".join(f"{f.key}=" + ("|".join(f.choices) if f.choices else "yes" if f.kind == "confirm" else "…")
                              for step in c.steps for f in step.fields)
    for c in CHANNELS if c.needs_setup
) + """
Only public segments with a category are pushed. A push PUTs the segment to the channel's taxonomy API
(<base URL>/segments/audience-studio-<id>) and taking it off DELETEs it there; what the channel answered is
recorded, and a refusal exits with status 1 and its message. `tidy` takes off their channels the segments
that have expired or were made private and retries removals that failed (the app does it when it opens and
every hour). Set """ + ENDPOINTS_VARIABLE + """ to a JSON object of channel key to base URL to send a
channel's requests elsewhere, e.g. '{"harbor": "http://127.0.0.1:8080/harbor"}'."""


def add_parsers(commands) -> None:
    parser = commands.add_parser("channels", help="marketplace channels: switch on, set up, push segments",
                                 description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="channels_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every channel, switched on or not, and its set-up",
                                 description="Every channel with whether it is on and set up.")
    listing.add_argument("--json", action="store_true", help="print JSON")
    enable = actions.add_parser("enable", help="switch on a channel that needs no set-up",
                                description="Switch on a one-toggle channel.")
    enable.add_argument("channel", metavar="CHANNEL")
    disable = actions.add_parser("disable", help="switch a channel off", description="Switch a channel off.")
    disable.add_argument("channel", metavar="CHANNEL")
    configure = actions.add_parser("configure", help="set up a channel that needs it (and switch it on)",
                                   description="Set up a channel with every value its wizard asks for; each is checked.")
    configure.add_argument("channel", metavar="CHANNEL")
    configure.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", dest="values",
                           help="a set-up value (repeat for each field)")
    pushes = actions.add_parser("pushes", help="where an audience's segment was pushed, and what came off",
                                description="An audience's pushes: pushed, failed, or removed and why.")
    pushes.add_argument("audience", metavar="AUDIENCE")
    pushes.add_argument("--json", action="store_true", help="print JSON")
    push = actions.add_parser("push", help="push an audience's segment taxonomy to a channel",
                              description="Push (PUT) the segment's name and category to a switched-on channel's "
                                          "taxonomy API; exits 1 with the channel's answer when it refuses.")
    push.add_argument("audience", metavar="AUDIENCE")
    push.add_argument("channel", metavar="CHANNEL")
    remove = actions.add_parser("remove", help="take an audience's segment off a channel",
                                description="Take (DELETE) the segment off a channel it was pushed to; when the "
                                            "channel refuses, it exits 1 and `tidy` retries the removal.")
    remove.add_argument("audience", metavar="AUDIENCE")
    remove.add_argument("channel", metavar="CHANNEL")
    actions.add_parser("tidy", help="take expired and private segments off their channels",
                       description="Take off their channels the segments that expired or were made private, and "
                                   "retry removals that failed; exits 1 when a channel refused one.")


def _values(channel_key: str, pairs: list[str]) -> dict[str, object]:
    """FIELD=VALUE pairs as the wizard would give them: a confirmation is a tick (yes/no), the rest text."""
    kinds = {f.key: f.kind for step in channel(channel_key).steps for f in step.fields}
    values: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = (part.strip() for part in pair.partition("="))
        if not sep or not key:
            raise InvalidInput(f'Set-up value "{pair}" is not FIELD=VALUE.')
        values[key] = value.casefold() in ("yes", "true", "1") if kinds.get(key) == "confirm" else value
    return values


def run(opened, args) -> int:
    service = opened.channels
    action = args.channels_command
    if action == "list":
        states = service.channels()
        if args.json:
            print_json([{"key": s.channel.key, "name": s.channel.name, "needs_setup": s.channel.needs_setup,
                         "enabled": s.enabled, "set_up": s.is_set_up, "settings": s.settings} for s in states])
        else:
            print_table(("KEY", "CHANNEL", "ON", "SET-UP"), [
                (s.channel.key, s.channel.name, "yes" if s.enabled else "no",
                 ("done" if s.is_set_up else "needed") if s.channel.needs_setup else "none needed") for s in states])
        return 0
    if action in ("enable", "disable", "configure"):
        channel(args.channel)  # an unknown key is refused with the list of known ones
        if action == "enable":
            state = service.enable(args.channel)
        elif action == "disable":
            state = service.disable(args.channel)
        else:
            state = service.configure(args.channel, _values(args.channel, args.values))
        print(f"{state.channel.name} is {'on' if state.enabled else 'off'}"
              + (" and set up" if state.channel.needs_setup and state.is_set_up else "") + ".")
        return 0
    if action == "tidy":
        tried = opened.channel_pushes.tidy()
        removed = [p for p in tried if p.state == REMOVED]
        failed = [p for p in tried if p.state != REMOVED]
        for push in removed:
            print(f"audience {push.audience_id} on {channel(push.channel_key).name}: {push.describe()}")
        for push in failed:
            print(f"audience {push.audience_id} on {channel(push.channel_key).name}: {push.describe()}",
                  file=sys.stderr)
        print(f"{len(removed)} push(es) taken off." if removed else "Nothing to take off.")
        if failed:
            print(f"{len(failed)} could not be taken off; `tidy` tries again.", file=sys.stderr)
        return 1 if failed else 0
    audience = opened.audiences.get(args.audience)
    if action == "pushes":
        found = service.pushes(audience.id)
        if args.json:
            print_json([{"channel": key, "state": p.state, "taxonomy": p.taxonomy, "pushed_at": p.pushed_at,
                         "removed_at": p.removed_at, "removed_reason": p.removed_reason, "error": p.error,
                         "removal_pending": p.removal_pending} for key, p in found.items()])
            return 0
        if not found:
            print(f"{audience.name} has not been pushed to any channel.")
        for key, push in found.items():
            print(f"{channel(key).name}: {push.describe()}")
        return 0
    if action == "push":
        push = opened.channel_pushes.push(audience.id, args.channel)
    else:
        push = opened.channel_pushes.remove(audience.id, args.channel)
    # A refusal is recorded (the app shows it too) and reported: on stderr, with exit status 1.
    print(f"{channel(args.channel).name}: {push.describe()}", file=sys.stderr if push.error else sys.stdout)
    return 0 if push.error is None else 1


def cmd_channels(home, args) -> int:
    from app.engines.home import (
        OpenHome,  # the store and cache open only for the command that needs them
    )

    with OpenHome.open(home) as opened:
        return run(opened, args)


COMMANDS = {"channels": cmd_channels}
