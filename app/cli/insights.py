"""`audience-studio audiences members | why | overlap | breakdown`: who is in an audience and why, how
audiences overlap, what an audience is made of (app.engines.insights; docs/insights.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from app.cli.console import print_json, print_table
from app.engines.insights.breakdown import KINDS, breakdown
from app.engines.insights.members_page import SORTS, export_csv, members_page
from app.engines.insights.overlap import MAX_AUDIENCES, overlap, region_members
from app.engines.insights.subjects import subject
from app.engines.insights.why import explain, find_profile
from app.errors import InvalidInput

ACTIONS = ("members", "why", "overlap", "breakdown")


def add_parsers(audience_commands, utc_time: Callable[[str], object]) -> None:
    """Add the insight actions to `audiences`; `utc_time` parses --now."""
    def common(parser) -> None:
        parser.add_argument("--json", action="store_true", help="print JSON")
        parser.add_argument("--now", type=utc_time, metavar="ISO8601", help="the moment to count at (default: now)")

    members = audience_commands.add_parser(
        "members", help="a page of the audience's members: mpid, identities, attributes, first and last seen",
        description="A page of the audience's members as its criteria find them now, or all of them as CSV.")
    members.add_argument("audience", metavar="NAME|ID")
    members.add_argument("--search", metavar="TEXT", help="only members with an identity value containing TEXT (any case), or that mpid")
    members.add_argument("--sort", choices=SORTS, default="mpid", help="order by (default: mpid)")
    members.add_argument("--descending", action="store_true", help="largest or latest first")
    members.add_argument("--limit", type=int, default=50, metavar="N", help="members per page (default 50)")
    members.add_argument("--offset", type=int, default=0, metavar="N", help="skip the first N (default 0)")
    members.add_argument("--attribute", action="append", default=[], metavar="NAME", help="show this user attribute too (repeat for more)")
    members.add_argument("--csv", type=Path, metavar="FILE", help="write every member (matching --search) to FILE instead")
    common(members)

    why = audience_commands.add_parser(
        "why", help="why a profile is in the audience or not: each card's verdict with its evidence",
        description="Look a profile up by one identity and show, for every card and group of the audience, "
                    "whether the profile matches it and what was compared.")
    why.add_argument("audience", metavar="NAME|ID")
    by = why.add_mutually_exclusive_group(required=True)
    by.add_argument("--email", metavar="ADDRESS")
    by.add_argument("--customer-id", metavar="ID")
    by.add_argument("--device-id", metavar="ID", help="an advertising id, IDFV, Android UUID, push token...")
    by.add_argument("--mpid", metavar="N")
    common(why)

    over = audience_commands.add_parser(
        "overlap", help=f"exact sizes of every intersection of 2 to {MAX_AUDIENCES} audiences",
        description="Every region of the audiences' Venn diagram (profiles in exactly those audiences), and the "
                    "pairwise matrix (profiles in both, whatever else).")
    over.add_argument("audiences", nargs="+", metavar="NAME|ID")
    over.add_argument("--region", type=int, metavar="MASK", help="list the mpids of one region instead (bit i: audience i, from 1)")
    over.add_argument("--limit", type=int, default=100, metavar="N", help="with --region: mpids to list (default 100)")
    common(over)

    brk = audience_commands.add_parser(
        "breakdown", help="the audience's composition by an attribute, device, OS, location, consent or input",
        description="The members counted by each value, their share of the audience against the workspace's, and the "
                    "index (100: as common as in the workspace). KIND is one of: " + ", ".join(KINDS) + ".")
    brk.add_argument("audience", metavar="NAME|ID")
    brk.add_argument("--by", required=True, metavar="KIND[:NAME]", help="e.g. attribute:tier, device:os_version, os, location:city, consent, input")
    brk.add_argument("--top", type=int, default=20, metavar="N", help="values to show (default 20)")
    common(brk)


def run(opened, args) -> int:
    return {"members": _members, "why": _why, "overlap": _overlap, "breakdown": _breakdown}[args.audiences_command](opened, args)


def _members(opened, args) -> int:
    chosen = subject(opened, args.audience)
    if args.csv is not None:
        count = export_csv(opened, chosen, args.csv, search=args.search, sort=args.sort, descending=args.descending,
                           attributes=args.attribute, now=args.now)
        if args.json:
            print_json({"audience": chosen.name, "file": str(args.csv), "members": count})
        else:
            print(f"Wrote {count} members of {chosen.name} to {args.csv}")
        return 0
    page = members_page(opened, chosen, search=args.search, sort=args.sort, descending=args.descending,
                        offset=args.offset, limit=args.limit, attributes=args.attribute, now=args.now)
    if args.json:
        print_json(page.as_json())
        return 0
    shown = f"{page.offset + 1}-{page.offset + len(page.members)}" if page.members else "none"
    print(f"{chosen.name}: {page.total} members" + (" matching" if args.search else "") + f" (showing {shown})")
    if page.members:
        print_table(("mpid", "first seen", "last seen", "identities", *args.attribute), [
            (str(m.mpid), f"{m.first_seen:%Y-%m-%d %H:%M}", f"{m.last_seen:%Y-%m-%d %H:%M}",
             "; ".join(f"{k}={','.join(v)}" for k, v in m.identities.items()),
             *(m.attributes.get(a) or "" for a in args.attribute)) for m in page.members])
    return 0


def _why(opened, args) -> int:
    chosen = subject(opened, args.audience)
    by, value = next((k, getattr(args, k)) for k in ("email", "customer_id", "device_id", "mpid") if getattr(args, k) is not None)
    mpid = find_profile(opened, chosen, by, value)
    result = explain(opened, chosen, mpid, found_by=f"{by.replace('_', ' ')} {value}", now=args.now)
    if args.json:
        print_json(result.as_json())
        return 0
    verdict = "IS in" if result.in_audience else "is NOT in"
    print(f"Profile {mpid} ({result.found_by}) {verdict} {result.audience}" + (f" ({result.note})" if result.note else ""))
    for node in result.nodes:
        mark = "yes" if node.matches else "no "
        print(f"  {'  ' * node.depth}[{mark}] {node.node_id} ({node.type}): {node.evidence}")
    return 0


def _overlap(opened, args) -> int:
    chosen = [subject(opened, name) for name in args.audiences]
    if args.region is not None:
        mpids = region_members(opened, chosen, args.region, limit=args.limit, now=args.now)
        if args.json:
            print_json({"region": args.region, "mpids": mpids})
        else:
            print("\n".join(map(str, mpids)) if mpids else "No one is in that region.")
        return 0
    if args.limit < 1:
        raise InvalidInput("--limit must be 1 or more")
    result = overlap(opened, chosen, now=args.now)
    if args.json:
        print_json(result.as_json())
        return 0
    names = result.audiences
    print("In both (row and column):")
    print_table(("", *names), [(name, *(str(n) for n in row)) for name, row in zip(names, result.matrix())])
    empty = sum(1 for n in result.regions.values() if not n)
    print("\nRegions (profiles in exactly these audiences)" + (f"; {empty} empty regions not shown:" if empty else ":"))
    print_table(("region", "audiences", "profiles"), [
        (str(mask), " & ".join(a for i, a in enumerate(names) if mask >> i & 1), str(n))
        for mask, n in sorted(result.regions.items(), key=lambda item: (-item[1], item[0])) if n])
    return 0


def _breakdown(opened, args) -> int:
    result = breakdown(opened, subject(opened, args.audience), args.by, top=args.top, now=args.now)
    if args.json:
        print_json(result.as_json())
        return 0
    print(f"{result.audience} by {result.by}: {result.audience_size} members, workspace {result.workspace_size} profiles"
          + (f" ({len(result.rows)} of {result.values} values shown)" if result.values > len(result.rows) else ""))
    print_table(("value", "members", "% of audience", "% of workspace", "index"), [
        (r.value, str(r.audience), f"{100 * r.audience_share:.1f}", f"{100 * r.workspace_share:.1f}",
         "-" if r.index is None else f"{r.index:.0f}") for r in result.rows])
    return 0
