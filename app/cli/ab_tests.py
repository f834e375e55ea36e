"""The `ab-test` subcommand of audience-studio: show, create and delete an audience's A/B test.

The same service as the app's A/B Test tab (app.models.services.ab_tests): Control is the remainder, at most
five variations, saved variations are fixed, and deleting a test deletes the connections made for
its variations (so `delete` lists them and needs --yes).
"""

from __future__ import annotations

import argparse
import json

from app.engines import variant_sizes
from app.errors import InvalidInput


def _variation(text: str):
    """[NAME=]PERCENT → DraftVariation."""
    from app.models.services.ab_tests import DraftVariation

    name, _, percent = text.rpartition("=")
    try:
        value = int(percent)
    except ValueError:
        raise argparse.ArgumentTypeError(f"“{text}” is not [NAME=]PERCENT with a whole percentage, e.g. Push=20")
    return DraftVariation(value, name.strip())


def add_parsers(commands: argparse._SubParsersAction) -> None:
    ab = commands.add_parser("ab-test", help="show, create or delete an audience's A/B test",
                             description="A/B tests split an audience into Control and up to 5 variations by a hash of "
                                         "each user's mpid. Control holds 100 % minus the variations' shares.")
    actions = ab.add_subparsers(dest="ab_test_command", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="the audience's test: variations, shares, users and connections",
                              description="The audience's A/B test with each variation's users now and its connections.")
    show.add_argument("audience", metavar="AUDIENCE", help="an audience's name or id")
    show.add_argument("--json", action="store_true", help="print JSON")
    create = actions.add_parser("create", help="save a test; its variations cannot be edited afterwards",
                                description="Save an A/B test of the audience. Control is added as the remainder "
                                            "and must keep at least 1 %. Saved variations are fixed: to change them, "
                                            "delete the test and create another.")
    create.add_argument("audience", metavar="AUDIENCE", help="an audience's name or id")
    create.add_argument("--variation", action="append", type=_variation, default=[], metavar="[NAME=]PERCENT",
                        help="a variation and its whole percentage, e.g. Push=20 (repeat, at most 5; unnamed ones "
                             "become Variation A, B…)")
    delete = actions.add_parser("delete", help="delete the test, its variations and their connections",
                                description="Delete the audience's A/B test, its variations and every connection made "
                                            "for them (connections of the whole audience stay). Lists what goes; "
                                            "deletes only with --yes.")
    delete.add_argument("audience", metavar="AUDIENCE", help="an audience's name or id")
    delete.add_argument("--yes", action="store_true", help="delete without asking")


def _open(home):
    from app.engines.home import OpenHome

    return OpenHome.open(home)


def _print_test(test, sizes, connections) -> None:
    for variation, size in zip(test.variations, sizes):
        outputs = ", ".join(c.output_name for c in connections if c.variant_id == variation.id) or "not connected"
        print(f"  {variation.name:<24} {variation.percent:>3} %  {size:>10,} users  {outputs}")


def cmd_ab_test(home, args) -> int:
    from app.models.services.ab_tests import new_seed

    with _open(home) as opened:
        audience = opened.audiences.get(args.audience)
        service = opened.ab_tests
        if args.ab_test_command == "show":
            test = service.get(audience.id)
            if test is None:
                if args.json:
                    print(json.dumps(None))
                else:
                    print(f"“{audience.name}” has no A/B test: Control holds 100 %. "
                          f"`audience-studio ab-test create \"{audience.name}\" --variation Push=20` makes one.")
                return 0
            sizes = variant_sizes.sizes(opened, audience.id)
            connections = opened.connections.list(audience_id=audience.id)
            if args.json:
                print(json.dumps({"audience_id": audience.id, "created_by": test.created_by,
                                  "created_at": test.created_at.isoformat(), "variations": [
                                      {"id": v.id, "name": v.name, "percent": v.percent, "users": size,
                                       "connections": [c.id for c in connections if c.variant_id == v.id]}
                                      for v, size in zip(test.variations, sizes)]}, indent=2))
            else:
                print(f"A/B test of “{audience.name}”, saved by {test.created_by} on "
                      f"{test.created_at:%Y-%m-%d %H:%M} UTC:")
                _print_test(test, sizes, connections)
            return 0
        if args.ab_test_command == "create":
            if not args.variation:
                raise InvalidInput("Give at least one --variation [NAME=]PERCENT, e.g. --variation Push=20.")
            test = service.save(audience.id, args.variation, seed=new_seed())
            print(f"Saved the A/B test of “{audience.name}”; its variations are now fixed:")
            _print_test(test, variant_sizes.sizes(opened, audience.id), [])
            return 0
        impact = service.deletion_impact(audience.id)
        gone = [f"{c.variation_name} → {c.output_name} (connection {c.connection_id})" for c in impact.connections]
        if not args.yes:
            print(f"Deleting the A/B test of “{audience.name}” deletes its variations "
                  f"({', '.join(v.name for v in impact.test.variations)}) and "
                  + (f"{len(gone)} connection(s): " + "; ".join(gone) if gone else "no connections") + ".")
            print("Run again with --yes to delete.")
            return 1
        service.delete(audience.id)
        print(f"Deleted the A/B test of “{audience.name}” and {len(gone)} variation connection(s).")
        return 0


COMMANDS = {"ab-test": cmd_ab_test}
