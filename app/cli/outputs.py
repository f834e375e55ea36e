"""The `outputs` and `faults` subcommands of audience-studio: partners, output configurations, connections, forwarding, faults.

Secrets are never taken from the command line (shell history and `ps` would show them): `--secret KEY`
reads the value from standard input, one line per secret in the order given, or prompts for it
without echo on a terminal.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import webbrowser
from typing import Any

from app.errors import InvalidInput
from app.cli.console import print_json, print_table

PARTNER_HELP = "a partner key, such as webhook, mailchimp or hubspot (`outputs partners` lists them all)"


def add_parsers(commands: argparse._SubParsersAction) -> None:
    out = commands.add_parser("outputs", help="partners, output configurations, connections and forwarding",
                              description="Outputs: where audiences are forwarded. Settings live in the store; secrets and "
                                          "sign-in tokens only in the OS keyring.")
    actions = out.add_subparsers(dest="outputs_command", metavar="ACTION", required=True)

    partners = actions.add_parser("partners", help="the partner directory", description="The partners an output can be made for, with their settings, authentication and identity types.")
    partners.add_argument("--search", metavar="TEXT", help="only partners whose name or description contains TEXT")
    partners.add_argument("--category", metavar="C", help="only this category (Advertising, Developer, Email, Files)")
    partners.add_argument("--auth", choices=("none", "api_key", "oauth2"), help="only partners authenticating this way")
    partners.add_argument("--identity-type", metavar="T", help="only partners accepting this identity type (e.g. email, ios_idfa)")
    partners.add_argument("--json", action="store_true", help="print JSON")

    listing = actions.add_parser("list", help="the output configurations", description="Every output configuration with its partner and how many connections use it.")
    listing.add_argument("--json", action="store_true", help="print JSON")

    show = actions.add_parser("show", help="one output: settings, which secrets are stored, its connections", description="One output by name or id.")
    show.add_argument("output", metavar="OUTPUT")
    show.add_argument("--json", action="store_true", help="print JSON")

    create = actions.add_parser("create", help="create an output configuration", description="Create an output for a partner. Secret values are read from standard input (one line per --secret) or prompted for, never taken from the command line.")
    create.add_argument("name", metavar="NAME")
    create.add_argument("--partner", required=True, metavar="P", help=PARTNER_HELP)
    create.add_argument("--setting", action="append", default=[], metavar="KEY=VALUE", help="a setting (repeat for more; identity_types takes a comma-separated list)")
    create.add_argument("--secret", action="append", default=[], metavar="KEY", help="a secret to store in the keyring (e.g. api_key, signing_secret, access_token)")

    edit = actions.add_parser("edit", help="rename an output, change settings or replace secrets", description="Change an output: settings not named stay as they are.")
    edit.add_argument("output", metavar="OUTPUT")
    edit.add_argument("--name", metavar="NEW", help="the new name")
    edit.add_argument("--setting", action="append", default=[], metavar="KEY=VALUE", help="a setting to change (repeat for more)")
    edit.add_argument("--secret", action="append", default=[], metavar="KEY", help="a secret to replace (value from standard input or a prompt)")

    delete = actions.add_parser("delete", help="remove an output no connection uses", description="Remove an output and its secrets and tokens from the keyring.")
    delete.add_argument("output", metavar="OUTPUT")

    authorize = actions.add_parser("authorize", help="sign an OAuth 2.0 output in with the system browser", description="Open the system browser on the partner's sign-in page (authorization code with PKCE, redirect to 127.0.0.1); the tokens go to the keyring. The address is printed too, to open by hand if no browser opens.")
    authorize.add_argument("output", metavar="OUTPUT")
    authorize.add_argument("--timeout", type=float, default=300, metavar="SECONDS", help="how long to wait for the browser (default 300)")

    sign_out = actions.add_parser("sign-out", help="revoke an OAuth 2.0 output's tokens and forget them", description="Revoke the tokens at the partner (when it has a revocation URL) and remove them from the keyring.")
    sign_out.add_argument("output", metavar="OUTPUT")

    connect = actions.add_parser("connect", help="connect an audience to an output", description="Connect an audience (by name or id) to an output, Sending unless --inactive.")
    connect.add_argument("audience", metavar="AUDIENCE")
    connect.add_argument("output", metavar="OUTPUT")
    connect.add_argument("--setting", action="append", default=[], metavar="KEY=VALUE", help="a connection setting (repeat for more)")
    connect.add_argument("--inactive", action="store_true", help="create the connection Inactive (nothing is forwarded)")
    connect.add_argument("--variation", metavar="NAME", help="connect one variation of the audience's A/B test (e.g. Control) instead of the whole audience")
    connect.add_argument("--share", metavar="ATTR,...", help="user attributes forwarded with the identities (single-workspace real-time audiences; none by default)")
    shared = actions.add_parser("set-shared-attributes", help="choose the user attributes a connection forwards",
                                description="Choose the user attributes forwarded with a connection's identities; no names: identities only. The next forward re-sends what changed.")
    shared.add_argument("connection", type=int, metavar="CONNECTION_ID")
    shared.add_argument("attributes", nargs="*", metavar="ATTRIBUTE")

    bulk = actions.add_parser("bulk-connect", help="connect many audiences to an output with one set of settings", description="Connect each audience; prints which connected and, for the others, why not.")
    bulk.add_argument("output", metavar="OUTPUT")
    bulk.add_argument("audiences", nargs="+", metavar="AUDIENCE")
    bulk.add_argument("--setting", action="append", default=[], metavar="KEY=VALUE", help="a connection setting for all of them")
    bulk.add_argument("--inactive", action="store_true", help="create the connections Inactive")

    disconnect = actions.add_parser("disconnect", help="remove a connection", description="Remove a connection (the partner keeps what it already received).")
    disconnect.add_argument("connection", type=int, metavar="CONNECTION_ID")

    status = actions.add_parser("set-status", help="make a connection Sending or Inactive", description="Make a connection Sending or Inactive.")
    status.add_argument("connection", type=int, metavar="CONNECTION_ID")
    status.add_argument("status", choices=("sending", "inactive"))

    connections = actions.add_parser("connections", help="the connections", description="Connections with their status, open fault and identities held by the partner.")
    connections.add_argument("--audience", metavar="AUDIENCE", help="only this audience's")
    connections.add_argument("--output", metavar="OUTPUT", help="only this output's")
    connections.add_argument("--json", action="store_true", help="print JSON")

    forward = actions.add_parser("forward", help="forward audiences to their outputs once", description="Run the forwarding engine once: pending batches first, then the adds and drops since the last run, for every Sending connection without an open fault (or only those given).")
    forward.add_argument("--connection", action="append", type=int, default=[], metavar="ID", help="only this connection (repeat for more)")
    forward.add_argument("--json", action="store_true", help="print JSON")

    runs = actions.add_parser("runs", help="the run history: each forwarding run of each connection",
                              description="Forwarding runs, newest first: when each started and ended, what started it "
                                          "(automatic after a membership change, manual, agent), the adds and removes "
                                          "planned, sent and rejected by the partner, retries, and the fault if any.")
    runs.add_argument("--connection", action="append", type=int, default=[], metavar="ID", help="only this connection (repeat for more)")
    runs.add_argument("--audience", metavar="AUDIENCE", help="only the connections of this audience (name or id)")
    runs.add_argument("--limit", type=int, default=50, metavar="N", help="at most N runs (default 50)")
    runs.add_argument("--json", action="store_true", help="print JSON")

    rejected = actions.add_parser("rejected", help="the records a partner refused for a connection",
                                  description="Identities the partner refused on their own (per-record errors) while it "
                                              "took the rest: their type, action and the partner's reason (never the "
                                              "value). They are not sent again while they stay in the audience.")
    rejected.add_argument("connection", type=int, metavar="CONNECTION_ID")
    rejected.add_argument("--json", action="store_true", help="print JSON")

    faults = commands.add_parser("faults", help="why forwarding stopped, and resuming it", description="Faults stop forwarding to a connection until they are resumed.")
    fault_actions = faults.add_subparsers(dest="faults_command", metavar="ACTION", required=True)
    f_list = fault_actions.add_parser("list", help="open faults (with --all, resumed ones too)", description="Faults with their category, the partner's status and message, when they began and the retries made.")
    f_list.add_argument("--all", action="store_true", help="include resumed faults")
    f_list.add_argument("--json", action="store_true", help="print JSON")
    f_resume = fault_actions.add_parser("resume", help="resume a faulted connection", description="Mark the fault resolved and forward the connection from where it stopped (unless --no-forward).")
    f_resume.add_argument("fault", type=int, metavar="FAULT_ID")
    f_resume.add_argument("--no-forward", action="store_true", help="only resolve the fault; the next `outputs forward` continues")


# -- helpers --------------------------------------------------------------------------------------


def _settings(pairs: list[str]) -> dict[str, str]:
    settings: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f'Setting "{pair}" is not KEY=VALUE.')
        settings[key.strip()] = value
    return settings


def _read_secrets(keys: list[str]) -> dict[str, str]:
    values = {}
    for key in keys:
        if sys.stdin.isatty():
            values[key] = getpass.getpass(f"{key}: ")
        else:
            line = sys.stdin.readline()
            if not line:
                raise InvalidInput(f"No value for secret {key} on standard input (one line per --secret).")
            values[key] = line.rstrip("\r\n")
    return values




def _open(home):
    from app.engines.home import OpenHome

    return OpenHome.open(home)


def _output_json(output) -> dict[str, Any]:
    return {"id": output.id, "name": output.name, "partner": output.partner, "partner_name": output.partner_name,
            "auth": output.auth, "settings": output.settings, "connections": output.connection_count,
            "created_by": output.created_by, "created_at": output.created_at.isoformat(),
            "updated_at": output.updated_at.isoformat()}


def _variation_id(opened, audience, name: str) -> int:
    test = opened.ab_tests.get(audience.id)
    if test is None:
        raise InvalidInput(f'Audience "{audience.name}" has no A/B test, so it has no variation "{name}".')
    for found in test.variations:
        if found.name.casefold() == name.strip().casefold():
            return found.id
    raise InvalidInput(f'Audience "{audience.name}" has no variation "{name}"; its variations: '
                       + ", ".join(v.name for v in test.variations) + ".")


def _connection_json(c) -> dict[str, Any]:
    return {"id": c.id, "audience_id": c.audience_id, "audience": c.audience_name, "output_id": c.configuration_id,
            "variation": c.variant_name, "shared_attributes": list(c.shared_attributes),
            "output": c.output_name, "partner": c.partner, "settings": c.settings, "status": c.status,
            "fault_id": c.fault.id if c.fault else None, "identities_held": c.identities_held,
            "pending_batches": c.pending_batches,
            "last_forwarded_at": c.last_forwarded_at.isoformat() if c.last_forwarded_at else None}


def _fault_json(f) -> dict[str, Any]:
    return {"id": f.id, "connection_id": f.connection_id, "audience": f.audience_name, "output": f.output_name,
            "category": f.category, "status_code": f.status_code, "message": f.message, "retries": f.retries,
            "batch_id": f.batch_id, "began_at": f.began_at.isoformat(),
            "resolved_at": f.resolved_at.isoformat() if f.resolved_at else None, "resolved_by": f.resolved_by}


def _print_reports(reports, as_json: bool) -> None:
    if as_json:
        print_json([r.__dict__ for r in reports])
        return
    if not reports:
        print("No connections to forward.")
    for r in reports:
        line = f"{r.connection_id}  {r.audience_name} → {r.output_name}: {r.outcome}"
        if r.batches:
            updated = f", {r.updated:,} updated" if r.updated else ""
            line += f" ({r.added:,} added{updated}, {r.removed:,} removed in {r.batches} batches, {r.retries} retries)"
        if r.reason:
            line += f" — {r.reason}"
        if r.fault_id:
            line += f" [fault {r.fault_id}: `audience-studio faults resume {r.fault_id}` once fixed]"
        print(line)


# -- commands -------------------------------------------------------------------------------------


def cmd_outputs(home, args) -> int:
    action = args.outputs_command
    if action == "partners":
        return _partners(args)
    with _open(home) as opened:
        outputs, connections = opened.outputs, opened.connections
        if action == "list":
            found = outputs.list()
            if args.json:
                print_json([_output_json(o) for o in found])
            elif not found:
                print("No outputs yet: `audience-studio outputs create NAME --partner P ...` makes one.")
            else:
                print_table(("ID", "NAME", "PARTNER", "CONNECTIONS"),
                       [(str(o.id), o.name, o.partner_name, str(o.connection_count)) for o in found])
            return 0
        if action == "show":
            output = outputs.get(args.output)
            data = {**_output_json(output), "secrets_stored": outputs.secrets_present(output.id),
                    "secrets_kept_in": opened.secrets.describe(),
                    "connections_using_it": [_connection_json(c) for c in connections.list(configuration_id=output.id)]}
            if args.json:
                print_json(data)
            else:
                print(f"Output {output.id}: {output.name} ({output.partner_name})")
                for key, value in output.settings.items():
                    print(f"  {key}: {', '.join(value) if isinstance(value, list) else value}")
                for key, present in data["secrets_stored"].items():
                    print(f"  {key}: {'stored' if present else 'not stored'} in {data['secrets_kept_in']}")
                for c in data["connections_using_it"]:
                    print(f"  connection {c['id']}: {c['audience']} ({c['status']})")
            return 0
        if action == "create":
            output = outputs.create(args.name, args.partner, _settings(args.setting), _read_secrets(args.secret))
            print(f"Created output {output.id}: {output.name} ({output.partner_name})"
                  + ("; sign it in with `audience-studio outputs authorize`" if output.auth == "oauth2" else ""))
            return 0
        if action == "edit":
            output = outputs.edit(args.output, name=args.name, settings=_settings(args.setting),
                                  secrets=_read_secrets(args.secret))
            print(f"Changed output {output.id}: {output.name}")
            return 0
        if action == "delete":
            output = outputs.delete(args.output)
            print(f"Deleted output {output.id}: {output.name}")
            return 0
        if action == "authorize":
            output = outputs.get(args.output)
            print(f"Opening your browser to sign in to {output.name}…", file=sys.stderr)

            def open_browser(url: str) -> object:
                # Said first: a browser can fail after it was started (gio open), which webbrowser cannot see.
                print(f"If no browser opens, open this address on this computer to sign in:\n{url}", file=sys.stderr,
                      flush=True)
                return webbrowser.open(url)

            opened.output_sign_in.authorize(
                output.id, timeout=args.timeout, open_browser=open_browser,
                show_url=lambda url: print("No browser could be opened; open the address above.", file=sys.stderr,
                                           flush=True))
            print(f"Signed in {output.name}; its tokens are in the keyring.")
            return 0
        if action == "sign-out":
            output = outputs.get(args.output)
            revoked = opened.output_sign_in.sign_out(output.id)
            print(f"Signed out {output.name}" + (" (revoked at the partner)." if revoked else "."))
            return 0
        if action == "connect":
            audience = opened.audiences.get(args.audience)
            output = outputs.get(args.output)
            variant_id = _variation_id(opened, audience, args.variation) if args.variation else None
            share = [name.strip() for name in (args.share or "").split(",") if name.strip()]
            c = connections.connect(audience.id, output.id, _settings(args.setting),
                                    status="inactive" if args.inactive else "sending", shared_attributes=share,
                                    variant_id=variant_id)
            print(f"Connected {c.target_name} to {c.output_name} (connection {c.id}, {c.status})"
                  + (f", sharing {', '.join(c.shared_attributes)}" if c.shared_attributes else ""))
            return 0
        if action == "set-shared-attributes":
            c = connections.set_shared_attributes(args.connection, args.attributes)
            print(f"Connection {c.id} shares " + (", ".join(c.shared_attributes) or "no user attributes (identities only)"))
            return 0
        if action == "bulk-connect":
            output = outputs.get(args.output)
            ids = [opened.audiences.get(a).id for a in args.audiences]
            report = connections.bulk_connect(output.id, ids, _settings(args.setting),
                                              status="inactive" if args.inactive else "sending")
            for r in report.results:
                print(f"{r.audience_name}: " + (f"connected (connection {r.connection_id})" if r.connected else f"not connected: {r.reason}"))
            return 0 if not report.refused else 1
        if action == "disconnect":
            c = connections.disconnect(args.connection)
            print(f"Disconnected {c.audience_name} from {c.output_name}")
            return 0
        if action == "set-status":
            c = connections.set_status(args.connection, args.status)
            print(f"Connection {c.id} is {c.status}")
            return 0
        if action == "connections":
            audience_id = opened.audiences.get(args.audience).id if args.audience else None
            output_id = outputs.get(args.output).id if args.output else None
            found = connections.list(audience_id=audience_id, configuration_id=output_id)
            if args.json:
                print_json([_connection_json(c) for c in found])
            elif not found:
                print("No connections yet: `audience-studio outputs connect AUDIENCE OUTPUT` makes one.")
            else:
                print_table(("ID", "AUDIENCE", "OUTPUT", "STATUS", "FAULT", "HELD", "PENDING"),
                       [(str(c.id), c.audience_name, c.output_name, c.status, str(c.fault.id) if c.fault else "",
                         f"{c.identities_held:,}", str(c.pending_batches)) for c in found])
            return 0
        if action == "forward":
            from app.engines.forwarding import ForwardingEngine

            _print_reports(ForwardingEngine(opened).forward(args.connection or None), args.json)
            return 0
        if action == "runs":
            return _runs(opened, args)
        if action == "rejected":
            return _rejected(opened, args)
    raise AssertionError(action)


def _runs(opened, args) -> int:
    from app.models.services.forwarding_runs import ForwardingRunService

    if args.limit < 1:
        raise InvalidInput(f"--limit {args.limit}: give a number of runs of at least 1.")
    for connection_id in args.connection:
        opened.connections.get(connection_id)  # NotFound names a connection that does not exist
    audience_id = opened.audiences.get(args.audience).id if args.audience else None
    found = ForwardingRunService(opened.store).list(connection_ids=args.connection or None, audience_id=audience_id,
                                                    limit=args.limit)
    if args.json:
        print_json([r.as_json() for r in found])
    elif not found:
        print("No forwarding runs yet: Sending connections of Active audiences are forwarded after each membership "
              "change, or now with `audience-studio outputs forward`.")
    else:
        print_table(("RUN", "CONN", "AUDIENCE", "OUTPUT", "STARTED (UTC)", "SECONDS", "TRIGGER", "OUTCOME",
                     "ADDS P/S/R", "REMOVES P/S/R", "RETRIES", "FAULT"),
                    [(str(r.id), str(r.connection_id), r.audience_name, r.output_name,
                      r.started_at.strftime("%Y-%m-%d %H:%M:%S"), f"{r.seconds:.1f}", r.trigger, r.outcome,
                      f"{r.adds_planned:,}/{r.adds_sent:,}/{r.adds_rejected:,}",
                      f"{r.removes_planned:,}/{r.removes_sent:,}/{r.removes_rejected:,}", str(r.retries),
                      f"{r.fault_id}: {r.message}" if r.fault_id else (r.message or "")) for r in found])
    return 0


def _rejected(opened, args) -> int:
    from app.models.services.forwarding_runs import ForwardingRunService

    connection = opened.connections.get(args.connection)
    found = ForwardingRunService(opened.store).rejected(connection.id)
    if args.json:
        print_json([{"connection_id": r.connection_id, "identity_type": r.identity_type, "action": r.action,
                     "reason": r.reason, "rejected_at": r.rejected_at.isoformat()} for r in found])
    elif not found:
        print(f"The partner refused no records of connection {connection.id}.")
    else:
        print_table(("TYPE", "ACTION", "REJECTED (UTC)", "REASON"),
                    [(r.identity_type, r.action, r.rejected_at.strftime("%Y-%m-%d %H:%M"), r.reason) for r in found])
    return 0


def _partners(args) -> int:
    from app.connectors.outputs.directory import find_partners
    from app.connectors.outputs.partner import AUTH_LABELS

    found = find_partners(name=args.search, category=args.category, auth=args.auth, identity_type=args.identity_type)
    if args.json:
        print_json([{"key": p.key, "name": p.name, "category": p.category, "auth": p.auth,
                      "identity_types": list(p.identity_types), "max_batch": p.max_batch, "description": p.description,
                      "settings": [{"key": f.key, "label": f.label, "kind": f.kind, "required": f.required, "help": f.help}
                                   for f in p.all_configuration_fields],
                      "secrets": [f.key for f in p.secret_fields],
                      "connection_settings": [f.key for f in p.connection_fields]} for p in found])
        return 0
    for p in found:
        print(f"{p.key}  {p.name}  [{p.category}; {AUTH_LABELS[p.auth]}]")
        print(f"    {p.description}")
        print(f"    identity types: {', '.join(p.identity_types)}")
        print(f"    settings: {', '.join(f.key + ('' if f.required and f.default is None else '?') for f in p.all_configuration_fields)}"
              + (f"; secrets: {', '.join(f.key for f in p.secret_fields)}" if p.secret_fields else ""))
    if not found:
        print("No partner matches.")
    return 0


def cmd_faults(home, args) -> int:
    with _open(home) as opened:
        if args.faults_command == "list":
            found = opened.faults.list(open_only=not args.all)
            if args.json:
                print_json([_fault_json(f) for f in found])
            elif not found:
                print("No open faults." if not args.all else "No faults.")
            else:
                for f in found:
                    state = "open" if f.open else f"resumed {f.resolved_at:%Y-%m-%d %H:%M} by {f.resolved_by}"
                    print(f"{f.id}  {f.audience_name} → {f.output_name}: {f.category}"
                          + (f" ({f.status_code})" if f.status_code else "")
                          + f", since {f.began_at:%Y-%m-%d %H:%M} UTC, {f.retries} retries, {state}")
                    print(f"    {f.message}")
            return 0
        fault = opened.faults.resume(args.fault)
        print(f"Resumed fault {fault.id} ({fault.audience_name} → {fault.output_name})")
        if args.no_forward:
            return 0
        from app.engines.forwarding import ForwardingEngine

        _print_reports(ForwardingEngine(opened).forward([fault.connection_id]), False)
        return 0


COMMANDS = {"outputs": cmd_outputs, "faults": cmd_faults}
