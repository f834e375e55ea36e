"""`audience-studio audiences segment`: show or change an audience's segment settings (expiration, visibility on
the data marketplace, CPM price, category), through the same service as the editor's Segment tab."""

from __future__ import annotations

import argparse

from app.cli.console import print_json
from app.models.services.segments import CURRENCY, PUBLIC, SegmentInfo

DESCRIPTION = """\
Show an audience's segment settings, or change the ones given:
  expiration  days after a push to a channel when the segment is old and taken off it (1-3650, or never)
  visibility  public: offered on the data marketplace; private: only you, the data provider, can buy it
  CPM price   USD per thousand users, at most 2 decimals, 0-1000; only public segments have one
  category    a taxonomy path such as "Retail > Outdoor"
A priced segment is made private only with --cpm none in the same command."""


def add_parser(audience_commands) -> None:
    """Add `segment` to the `audiences` actions."""
    seg = audience_commands.add_parser("segment", help="show or change the audience's segment settings "
                                                       "(expiration, visibility, CPM price, category)",
                                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    seg.add_argument("audience", metavar="NAME|ID")
    seg.add_argument("--expiration-days", metavar="N|never", help="expire N days after each push (1-3650), or never")
    visibility = seg.add_mutually_exclusive_group()
    visibility.add_argument("--public", dest="visibility", action="store_const", const="public",
                            help="offer the segment on the data marketplace")
    visibility.add_argument("--private", dest="visibility", action="store_const", const="private",
                            help="only you, the data provider, can buy it (a price must be cleared with --cpm none)")
    seg.add_argument("--cpm", metavar="PRICE|none", help=f"the price per thousand users in {CURRENCY}, e.g. 2.50; "
                                                         "none clears it")
    seg.add_argument("--category", metavar="TEXT", help='the taxonomy category, e.g. "Retail > Outdoor"; "" clears it')
    seg.add_argument("--json", action="store_true", help="print the settings as JSON")


def run(opened, args) -> int:
    audience = opened.audiences.get(args.audience)
    service = opened.segments
    changes = {}
    if args.expiration_days is not None:
        changes["expiration_days"] = args.expiration_days
    if args.visibility is not None:
        changes["visibility"] = args.visibility
    if args.cpm is not None:
        changes["cpm"] = None if args.cpm.strip().casefold() == "none" else args.cpm
    if args.category is not None:
        changes["category"] = args.category
    settings = service.update(audience.id, **changes) if changes else service.get(audience.id)
    if args.json:
        print_json({"audience": audience.name, **settings.as_json()})
        return 0
    if changes:
        print(f"Saved the segment settings of audience {audience.id}: {audience.name}")
    else:
        print(f"Segment settings of audience {audience.id}: {audience.name}")
    _print(settings)
    return 0


def _print(settings: SegmentInfo) -> None:
    expiration = "never" if settings.expiration_days is None else f"{settings.expiration_days} days after each push"
    visibility = ("public (offered on the data marketplace)" if settings.visibility == PUBLIC
                  else "private (only you, the data provider, can buy it)")
    price = "none" if settings.cpm is None else f"{settings.cpm:.2f} {CURRENCY} per thousand users"
    saved = ("not set yet (the defaults)" if settings.updated_at is None
             else f"by {settings.updated_by}, {settings.updated_at:%Y-%m-%d %H:%M} UTC")
    for label, value in (("Expiration", expiration), ("Visibility", visibility), ("CPM price", price),
                         ("Category", settings.category or "none"), ("Last saved", saved)):
        print(f"  {label + ':':<12} {value}")

