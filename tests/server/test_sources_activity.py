"""Sources and the activity stream against a live server (SQLite and PostgreSQL): an admin makes a source (key and
secret once, an example curl request that really works), disables it (its batches are refused with 403 and the
refusal shows in the stream), enables it, rotates its secret; all audited without a secret. The stream filters
by source, event type, name and user, resumes with Last-Event-ID, and shows a batch within seconds of its arrival."""

from __future__ import annotations

import subprocess
import threading

import httpx
from sqlalchemy import select

from app.connectors.team_client import StreamEvent, read_events
from app.server.accounts import Accounts
from app.server.tables import audit_log
from tests import factories

PASSWORD = "correct horse battery"


def _admin(deployment) -> dict[str, str]:
    Accounts(deployment.database).init("Harbor Retail", "Ada", "ada@example.com", PASSWORD)
    token = deployment.http.post("/v1/sign-in", json={"email": "ada@example.com", "password": PASSWORD}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def _member(deployment, name: str, role: str) -> dict[str, str]:
    deployment.admin.create_user(name, [])
    Accounts(deployment.database).set_role("test", name, 1, role)
    return {"Authorization": f"Bearer {deployment.admin.create_token(name)}"}


def _events(deployment, headers, **params) -> list[StreamEvent | str]:
    """The stream read to its end (follow=false), parsed as Server-Sent Events."""
    extra = {"Last-Event-ID": params.pop("last_event_id")} if "last_event_id" in params else {}
    with deployment.http.stream("GET", "/v1/workspaces/1/activity", headers=headers | extra,
                                params={"follow": "false"} | params) as reply:
        assert reply.status_code == 200, reply.read()
        assert reply.headers["content-type"].startswith("text/event-stream")
        return list(read_events(reply.iter_lines()))


def _mpids(found) -> list[int]:
    return [e.item["mpid"] for e in found if isinstance(e, StreamEvent)]


def _shown(found) -> list[tuple]:
    return [(e.kind, e.item["source"]["name"], e.item.get("event_names") or e.item.get("status")) for e in found
            if isinstance(e, StreamEvent)]


def test_an_admin_makes_disables_enables_and_rotates_a_source_and_the_audit_log_holds_no_secret(deployment):
    admin = _admin(deployment)
    editor = _member(deployment, "eve", "editor")

    made = deployment.http.post("/v1/workspaces/1/sources", headers=admin, json={"kind": "platform", "name": "ios"})
    assert made.status_code == 201, made.text
    answer = made.json()
    key, secret, source_id = answer["api_key"], answer["secret"], answer["source"]["id"]
    assert answer["source"]["name"] == "iOS" and answer["source"]["status"] == "waiting for data"

    # The example request works as it is (curl, to this server).
    sent = subprocess.run(answer["example_request"] + " -w ' %{http_code}'", shell=True, capture_output=True, text=True, timeout=30)
    assert sent.stdout.endswith(" 202"), (sent.stdout, sent.stderr)
    [listed] = deployment.http.get("/v1/workspaces/1/sources", headers=admin).json()
    assert (listed["status"], listed["batches"], listed["events"], listed["batches_24h"]) == ("receiving", 1, 1, 1)
    assert listed["last_received_at"] and "secret" not in listed

    taken = deployment.http.post("/v1/workspaces/1/sources", headers=admin, json={"kind": "platform", "name": "iOS"})
    assert taken.status_code == 409 and taken.json()["errors"][0]["field"] == "name"
    unknown = deployment.http.post("/v1/workspaces/1/sources", headers=admin, json={"kind": "platform", "name": "Amiga"})
    assert unknown.status_code == 400 and "Amiga" in unknown.json()["errors"][0]["message"]
    refused = deployment.http.get("/v1/workspaces/1/sources", headers=editor)
    assert refused.status_code == 403 and "admin" in refused.json()["errors"][0]["message"]
    assert deployment.http.post(f"/v1/sources/{source_id}/disable", headers=editor).status_code == 403
    assert deployment.http.post("/v1/sources/999/disable", headers=admin).status_code == 404

    assert deployment.http.post(f"/v1/sources/{source_id}/disable", headers=admin).json()["status"] == "disabled"
    blocked = deployment.http.post("/v2/events", json=factories.batch(), auth=(key, secret))
    assert blocked.status_code == 403 and "disabled" in blocked.json()["errors"][0]["message"]
    [listed] = deployment.http.get("/v1/workspaces/1/sources", headers=admin).json()
    assert listed["refused"] == 1 and listed["batches"] == 1
    assert _shown(_events(deployment, admin)) == [("batch", "iOS", ["Hello from curl"]), ("refused", "iOS", 403)]

    assert deployment.http.post(f"/v1/sources/{source_id}/enable", headers=admin).json()["enabled"] is True
    assert deployment.http.post("/v2/events", json=factories.batch(), auth=(key, secret)).status_code == 202

    rotated = deployment.http.post(f"/v1/sources/{source_id}/rotate", headers=admin).json()
    assert rotated["api_key"] == key and rotated["secret"] != secret and rotated["source"]["secret_rotated_at"]
    assert deployment.http.post("/v2/events", json=factories.batch(), auth=(key, secret)).status_code == 401
    assert deployment.http.post("/v2/events", json=factories.batch(), auth=(key, rotated["secret"])).status_code == 202

    entries = deployment.http.get("/v1/audit", headers=admin, params={"kind": "input"}).json()["entries"]
    assert [(e["actor"], e["action"], e["target"]) for e in entries] == [
        ("Ada", "create", "platform input 'iOS'"), ("Ada", "disable", "platform input 'iOS'"),
        ("Ada", "enable", "platform input 'iOS'"), ("Ada", "rotate-secret", "platform input 'iOS'")]
    with deployment.database.read() as connection:
        stored = "\n".join(repr(tuple(r)) for r in connection.execute(select(audit_log)))
    for text in (secret, rotated["secret"], key):
        assert text not in stored


def test_the_stream_filters_resumes_after_the_last_event_id_and_shows_one_batch_in_full(deployment):
    admin = _admin(deployment)
    viewer = _member(deployment, "val", "viewer")
    outsider = {"Authorization": f"Bearer {deployment.admin.create_token(deployment.admin.create_user('oz', []).name)}"}
    crm = deployment.feed_input("Harbor Retail", "CRM")
    ios = deployment.platform_input("Harbor Retail", "iOS")
    deployment.http.post("/v2/events", json=factories.batch(1, events=[factories.event(event_name="Search")]), auth=ios.auth)
    deployment.http.post("/v2/events", json=factories.batch(2, events=[factories.purchase()]), auth=crm.auth)
    deployment.http.post("/v2/events", json=factories.batch(3, events=[factories.event("screen_view", screen_name="Cart")],
                                                            user_identities={"email": "Zoe@Example.com"}), auth=ios.auth)

    everything = _events(deployment, viewer)
    assert _shown(everything) == [("batch", "iOS", ["Search"]), ("batch", "CRM", ["purchase"]), ("batch", "iOS", ["Cart"])]
    assert _mpids(_events(deployment, viewer, source="crm")) == [2]
    assert _mpids(_events(deployment, viewer, event_type="screen_view")) == [3]
    assert _mpids(_events(deployment, viewer, event_name="sear")) == [1]
    assert _mpids(_events(deployment, viewer, user="zoe@example.com")) == [3]
    # Filtered out items still move the position on (a bare id), so a resume does not read them again.
    assert _events(deployment, viewer, source="crm")[-1] == "3.0"

    after_first = everything[0].position
    assert _mpids(_events(deployment, viewer, last_event_id=after_first)) == [2, 3]
    assert _mpids(_events(deployment, viewer, backlog=1)) == [3]
    bad = deployment.http.get("/v1/workspaces/1/activity", headers=viewer | {"Last-Event-ID": "x.y"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "Last-Event-ID"
    assert deployment.http.get("/v1/workspaces/1/activity", headers=outsider).status_code == 403

    detail = deployment.http.get(f"/v1/workspaces/1/batches/{everything[1].item['seq']}", headers=viewer).json()
    assert detail["source"]["name"] == "CRM" and detail["batch"]["events"][0]["data"]["product_action"]["action"] == "purchase"
    assert deployment.http.get("/v1/workspaces/1/batches/99", headers=viewer).status_code == 404
    assert deployment.http.get("/v1/workspaces/1/batches/1", headers=outsider).status_code == 403
    assert admin  # the company's admin exists; the viewer reads the stream like the sync API


def test_a_batch_appears_in_an_open_stream_within_seconds(start_server):
    deployment = start_server(activity_poll_seconds=0.1)
    admin = _admin(deployment)
    ios = deployment.platform_input("Harbor Retail", "iOS")
    arrived: list[StreamEvent] = []
    opened = threading.Event()

    def listen() -> None:
        with httpx.Client(base_url=deployment.server.base_url, timeout=30) as http, \
                http.stream("GET", "/v1/workspaces/1/activity", headers=admin) as reply:
            opened.set()
            for event in read_events(reply.iter_lines()):
                if isinstance(event, StreamEvent):
                    arrived.append(event)
                    return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert opened.wait(10)
    assert deployment.http.post("/v2/events", json=factories.batch(77), auth=ios.auth).status_code == 202
    listener.join(10)
    assert [e.item["mpid"] for e in arrived] == [77] and arrived[0].position == "1.0"


def test_positions_only_grow_when_a_batch_received_earlier_commits_with_a_later_number(deployment):
    """Two requests in flight: the one received first can take the later sequence number. The stream keeps sequence
    order, so a client resuming after any event misses none (sorting by arrival time alone would emit 2 before 1
    and a resume after 2 would skip 1)."""
    import datetime as dt

    from app.server import ingest

    deployment.workspace("US")
    deployment.platform_input("US", "iOS")
    token = {"Authorization": f"Bearer {deployment.admin.create_token(deployment.admin.create_user('ann', ['US']).name)}"}
    sender = ingest.Sender(deployment.admin.list_inputs("US")[0].id, 1, "platform", "iOS")
    late, early = dt.datetime(2026, 3, 1, 9, 0, 2, tzinfo=dt.UTC), dt.datetime(2026, 3, 1, 9, 0, 1, tzinfo=dt.UTC)
    ingest.store(deployment.database, sender, [ingest.check_batch(factories.batch(1), sender)], late)
    ingest.store(deployment.database, sender, [ingest.check_batch(factories.batch(2), sender)], early)
    found = [e for e in _events(deployment, token) if isinstance(e, StreamEvent)]
    assert [(e.item["mpid"], e.position) for e in found] == [(1, "1.0"), (2, "2.0")]
    after_first = _events(deployment, token, last_event_id=found[0].position)
    assert _mpids(after_first) == [2]


def test_server_input_rotate_prints_a_new_secret_once_and_the_old_one_stops_working(deployment, capsys):
    from app.cli.main import main

    deployment.workspace("US")
    ios = deployment.platform_input("US", "iOS")
    assert main(["server", "input", "rotate", ios.api_key, "--database", deployment.url]) == 0
    said = capsys.readouterr().out
    secret = said.split(": ", 1)[1].split()[0]
    assert secret.startswith("as-secret-") and secret != ios.secret and "'iOS'" in said
    assert deployment.http.post("/v2/events", json=factories.batch(), auth=ios.auth).status_code == 401
    assert deployment.http.post("/v2/events", json=factories.batch(), auth=(ios.api_key, secret)).status_code == 202
    assert main(["server", "input", "rotate", "as-key-nope", "--database", deployment.url]) == 1
    err = capsys.readouterr().err
    assert "No input has the API key 'as-key-nope'" in err and "Traceback" not in err
