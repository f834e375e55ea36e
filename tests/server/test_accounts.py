"""Accounts, roles and the audit log against a live server and a real SMTP server (aiosmtpd) on 127.0.0.1:
the company and first admin, an invitation e-mailed and its link followed, password sign-in, every
operation of the OpenAPI document walked with each role, and an audit log without secrets."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import threading

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from app.server import audit
from app.server.accounts import Accounts
from app.server.mail import SmtpSettings
from app.server.tables import audit_log, invitations
from tests.server.live import free_port

PASSWORD = "correct horse battery"
CRITERIA = {"version": 1, "root": {"id": "root", "type": "group", "match": "all", "exclude": False, "children": []}}


class Inbox:
    """aiosmtpd's handler: keeps every message it receives."""

    def __init__(self):
        self.messages: list[str] = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(f"To: {message['To']}\nSubject: {message['Subject']}\n\n{message.get_content()}")
        self.arrived.set()
        return "250 OK"

    def link(self) -> str:
        assert self.arrived.wait(10), "no e-mail arrived"
        return re.search(r"(http://\S+/activate\?token=\S+)", self.messages[-1]).group(1)


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, SmtpSettings(host="127.0.0.1", port=controller.port, security="none", sender="studio@example.com")
    finally:
        controller.stop()


def _company(deployment) -> dict[str, str]:
    """`server init`'s service: the company, its first workspace and admin; the admin's Bearer header."""
    Accounts(deployment.database).init("Harbor Retail", "Ada", "ada@example.com", PASSWORD)
    answer = deployment.http.post("/v1/sign-in", json={"email": "ADA@example.com", "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def test_an_invited_editor_activates_by_email_signs_in_and_links_work_once(start_server, smtp):
    inbox, settings = smtp
    deployment = start_server(smtp=settings)
    admin = _company(deployment)
    workspace_id = deployment.http.get("/v1/me", headers=admin).json()["workspaces"][0]["id"]

    invited = deployment.http.post("/v1/invitations", headers=admin,
                                   json={"email": "Eve@Example.com", "grants": [{"workspace_id": workspace_id, "role": "editor"}]})
    assert invited.status_code == 201, invited.text
    assert invited.json()["status"] == "sent"
    link = inbox.link()
    assert "Harbor Retail" in inbox.messages[-1]
    page = deployment.http.get(link.replace(deployment.server.base_url, ""))
    assert page.status_code == 200 and "eve@example.com" in page.text, (link, inbox.messages[-1])
    token = link.split("token=", 1)[1]

    assert deployment.http.post("/v1/activate", json={"token": token, "password": "short"}).status_code == 400
    assert deployment.http.post("/v1/activate", json={"token": token, "password": PASSWORD}).json() == {"email": "eve@example.com"}
    reused = deployment.http.post("/v1/activate", json={"token": token, "password": PASSWORD})
    assert reused.status_code == 410 and reused.json()["errors"][0]["code"] == "LINK_USED"
    assert deployment.http.get(link.replace(deployment.server.base_url, "")).status_code == 410

    assert deployment.http.post("/v1/sign-in", json={"email": "eve@example.com", "password": "wrong password!"}).status_code == 401
    signed = deployment.http.post("/v1/sign-in", json={"email": "eve@example.com", "password": PASSWORD, "label": "laptop"})
    me = deployment.http.get("/v1/me", headers={"Authorization": f"Bearer {signed.json()['token']}"}).json()
    assert me["user"] == "eve@example.com" and me["company"] == "Harbor Retail"
    assert me["roles"] == {str(workspace_id): "editor"}


def test_an_expired_link_is_refused_and_a_resend_replaces_it(start_server, smtp):
    inbox, settings = smtp
    deployment = start_server(smtp=settings)
    admin = _company(deployment)
    invited = deployment.http.post("/v1/invitations", headers=admin, json={"email": "bo@example.com", "grants": [{"workspace_id": 1, "role": "viewer"}]})
    old = inbox.link().split("token=", 1)[1]
    with deployment.database.write() as connection:
        connection.execute(update(invitations).values(expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)))
    expired = deployment.http.post("/v1/activate", json={"token": old, "password": PASSWORD})
    assert expired.status_code == 410 and expired.json()["errors"][0]["code"] == "LINK_EXPIRED"

    inbox.arrived.clear()
    assert deployment.http.post(f"/v1/invitations/{invited.json()['id']}/resend", headers=admin).status_code == 200
    new = inbox.link().split("token=", 1)[1]
    assert new != old
    assert deployment.http.post("/v1/activate", json={"token": old, "password": PASSWORD}).status_code == 404
    assert deployment.http.post("/v1/activate", json={"token": new, "password": PASSWORD}).status_code == 200


def test_an_unreachable_smtp_server_is_a_clear_error_and_the_invitation_is_kept_to_resend(start_server, smtp):
    inbox, settings = smtp
    nowhere = SmtpSettings(host="127.0.0.1", port=free_port(), security="none", sender="studio@example.com", password="smtp-pw-123")
    deployment = start_server(smtp=nowhere)
    admin = _company(deployment)
    failed = deployment.http.post("/v1/invitations", headers=admin, json={"email": "cy@example.com", "grants": [{"workspace_id": 1, "role": "viewer"}]})
    assert failed.status_code == 502
    error = failed.json()["errors"][0]
    assert error["code"] == "SMTP_FAILED" and f"127.0.0.1:{nowhere.port}" in error["message"] and "smtp-pw-123" not in failed.text
    kept = deployment.http.get("/v1/invitations", headers=admin).json()
    assert [(i["email"], i["status"]) for i in kept] == [("cy@example.com", "not sent")]

    # Once SMTP works (here: the service with working settings, as `server invite --resend` uses it).
    sent = Accounts(deployment.database, settings, deployment.server.base_url).resend("ops", kept[0]["id"])
    assert sent.error is None and "cy@example.com" in inbox.messages[-1]
    assert deployment.http.post("/v1/activate", json={"token": inbox.link().split("token=", 1)[1], "password": PASSWORD}).status_code == 200


#: The role each operation needs on its workspace: None for no user (public, or an input's HTTP Basic).
REQUIRED = {
    ("POST", "/v2/events"): None, ("POST", "/v2/bulkevents"): None, ("GET", "/health"): None,
    ("POST", "/v1/activate"): None, ("POST", "/v1/sign-in"): None,
    ("GET", "/v1/me"): "viewer", ("GET", "/v1/company"): "viewer",
    ("GET", "/v1/workspaces/{workspace_id}/changes"): "viewer",
    ("GET", "/v1/workspaces/{workspace_id}/pages/{page}/{table}"): "viewer",
    ("GET", "/v1/workspaces/{workspace_id}/snapshot"): "viewer",
    ("GET", "/v1/workspaces/{workspace_id}/snapshots/{token}/{table}"): "viewer",
    ("GET", "/v1/workspaces/{workspace_id}/revenue/changes"): "viewer",
    ("GET", "/v1/workspaces/{workspace_id}/revenue/pages/{page}/{table}"): "viewer",
    ("GET", "/v1/audiences"): "viewer", ("GET", "/v1/audiences/{audience_id}"): "viewer",
    ("GET", "/v1/audiences/by-client-ref/{client_ref}"): "viewer",
    ("GET", "/v1/workspaces/{workspace_id}/members"): "viewer",
    ("POST", "/v1/audiences"): "editor", ("PUT", "/v1/audiences/{audience_id}"): "editor",
    ("DELETE", "/v1/audiences/{audience_id}"): "editor",
    ("POST", "/v1/workspaces/{workspace_id}/revenue"): "admin",
    ("POST", "/v1/invitations"): "admin", ("GET", "/v1/invitations"): "admin",
    ("POST", "/v1/invitations/{invitation_id}/resend"): "admin",
    ("PUT", "/v1/workspaces/{workspace_id}/members/{user}/role"): "admin",
    ("DELETE", "/v1/workspaces/{workspace_id}/members/{user}"): "admin",
    ("GET", "/v1/audit"): "admin",
    ("GET", "/v1/workspaces/{workspace_id}/activity"): "viewer",
    ("GET", "/v1/workspaces/{workspace_id}/batches/{seq}"): "viewer",
    ("GET", "/v1/workspaces/{workspace_id}/sources"): "admin", ("POST", "/v1/workspaces/{workspace_id}/sources"): "admin",
    ("POST", "/v1/sources/{source_id}/disable"): "admin", ("POST", "/v1/sources/{source_id}/enable"): "admin",
    ("POST", "/v1/sources/{source_id}/rotate"): "admin",
    ("POST", "/v1/audience-versions"): "editor", ("GET", "/v1/audience-versions"): "viewer",
}
RANK = {"viewer": 0, "editor": 1, "admin": 2}


def test_every_operation_is_allowed_or_refused_as_the_role_table_says(deployment):
    admin = _company(deployment)
    ws = 1
    headers = {"admin": admin}
    for role in ("viewer", "editor"):
        deployment.admin.create_user(role, [])
        Accounts(deployment.database).set_role("test", role, ws, role)
        headers[role] = {"Authorization": f"Bearer {deployment.admin.create_token(role)}"}
    Accounts(deployment.database).invite("test", "zed@example.com", {ws: "viewer"})  # kept unsent: no SMTP
    made = deployment.http.post("/v1/audiences", headers=admin, json={"name": "Seed", "workspace_ids": [ws], "criteria": CRITERIA, "client_ref": "r1"})
    assert made.status_code == 201, made.text
    values = {"workspace_id": ws, "audience_id": made.json()["id"], "client_ref": "r1", "page": "x", "token": "x",
              "table": "profiles", "invitation_id": 1, "user": "zed@example.com", "seq": 1,
              "source_id": deployment.admin.create_input(str(ws), feed="Walk").input.id}
    bodies = {
        ("POST", "/v1/audiences"): lambda role: {"name": f"By {role}", "workspace_ids": [ws], "criteria": CRITERIA},
        ("PUT", "/v1/audiences/{audience_id}"): lambda role: {"name": "Seed", "version": 1, "criteria": CRITERIA},
        ("POST", "/v1/workspaces/{workspace_id}/revenue"): lambda role: {"records": []},
        ("POST", "/v1/invitations"): lambda role: {"email": f"new-{role}@example.com", "grants": [{"workspace_id": ws, "role": "viewer"}]},
        ("PUT", "/v1/workspaces/{workspace_id}/members/{user}/role"): lambda role: {"role": "viewer"},
        ("POST", "/v1/workspaces/{workspace_id}/sources"): lambda role: {"kind": "feed", "name": f"By {role}"},
        ("POST", "/v1/audience-versions"): lambda role: {"versions": [
            {"ref": f"walk-{role}", "audience_id": values["audience_id"], "saved_by": role,
             "saved_at": "2026-12-01T10:00:00Z", "document": {"format": 1}}]},
    }
    paths = deployment.http.get("/openapi.json").json()["paths"]
    operations = {(m.upper(), p) for p, item in paths.items() for m in item}
    assert operations == set(REQUIRED)  # a new operation must be given its role here
    for role in ("viewer", "editor", "admin"):
        for (method, path), needed in sorted(REQUIRED.items()):
            if needed is None:
                continue
            url = re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)
            params = {"version": 1} if method == "DELETE" and "audiences" in path else None
            if path.endswith("/activity"):
                params = {"follow": "false"}  # the stream ends once it has sent what is there
            body = bodies.get((method, path))
            answer = deployment.http.request(method, url, headers=headers[role], params=params, json=body(role) if body else None)
            if RANK[role] >= RANK[needed]:
                assert answer.status_code not in (401, 403), (role, method, path, answer.text)
            else:
                assert answer.status_code == 403, (role, method, path, answer.text)
                assert needed in answer.json()["errors"][0]["message"], (role, method, path, answer.text)


def test_a_role_removed_while_signed_in_applies_to_the_next_request(deployment):
    admin = _company(deployment)
    deployment.admin.create_user("eve", [])
    Accounts(deployment.database).set_role("test", "eve", 1, "editor")
    eve = {"Authorization": f"Bearer {deployment.admin.create_token('eve')}"}
    assert deployment.http.get("/v1/workspaces/1/changes", headers=eve).status_code == 200
    assert deployment.http.put("/v1/workspaces/1/members/eve/role", headers=admin, json={"role": "viewer"}).status_code == 204
    refused = deployment.http.post("/v1/audiences", headers=eve, json={"name": "X", "workspace_ids": [1], "criteria": CRITERIA})
    assert refused.status_code == 403 and "editor" in refused.json()["errors"][0]["message"]
    assert deployment.http.delete("/v1/workspaces/1/members/eve", headers=admin).status_code == 204
    assert deployment.http.get("/v1/workspaces/1/changes", headers=eve).status_code == 403


def test_the_audit_log_says_who_changed_what_filters_pages_and_holds_no_secret(start_server, smtp, tmp_path, capsys):
    inbox, settings = smtp
    deployment = start_server(smtp=settings)
    admin = _company(deployment)
    new_input = deployment.admin.create_input("Harbor Retail", platform="iOS")
    deployment.http.post("/v1/invitations", headers=admin, json={"email": "eve@example.com", "grants": [{"workspace_id": 1, "role": "editor"}]})
    token = inbox.link().split("token=", 1)[1]
    deployment.http.post("/v1/activate", json={"token": token, "password": PASSWORD})
    eve_token = deployment.http.post("/v1/sign-in", json={"email": "eve@example.com", "password": PASSWORD}).json()["token"]
    eve = {"Authorization": f"Bearer {eve_token}"}
    made = deployment.http.post("/v1/audiences", headers=eve, json={"name": "Buyers", "workspace_ids": [1], "criteria": CRITERIA}).json()
    deployment.http.delete(f"/v1/audiences/{made['id']}", headers=eve, params={"version": 1})
    deployment.http.put("/v1/workspaces/1/members/eve@example.com/role", headers=admin, json={"role": "viewer"})

    everything = deployment.http.get("/v1/audit", headers=admin).json()
    seen = [(e["actor"], e["kind"], e["action"]) for e in everything["entries"]]
    assert seen == [(audit.COMMAND_LINE, "company", "create"), (audit.COMMAND_LINE, "account", "create"),
                    ("Ada", "account", "sign-in"), (audit.COMMAND_LINE, "input", "create"), ("Ada", "invitation", "create"),
                    ("eve@example.com", "account", "activate"), ("eve@example.com", "account", "sign-in"),
                    ("eve@example.com", "audience", "create"), ("eve@example.com", "audience", "delete"), ("Ada", "role", "set")]
    only = deployment.http.get("/v1/audit", headers=admin, params={"actor": "eve@example.com", "kind": "audience"}).json()["entries"]
    assert [e["action"] for e in only] == ["create", "delete"]
    first = deployment.http.get("/v1/audit", headers=admin, params={"limit": 4}).json()
    rest = deployment.http.get("/v1/audit", headers=admin, params={"after": first["next_after"]}).json()
    assert first["more"] and not rest["more"] and [e["id"] for e in first["entries"] + rest["entries"]] == [e["id"] for e in everything["entries"]]
    later = deployment.http.get("/v1/audit", headers=admin, params={"since": "2999-01-01T00:00:00"}).json()
    assert later["entries"] == []
    assert deployment.http.get("/v1/audit", headers=eve).status_code == 403

    from app.cli.main import main

    csv_file = tmp_path / "audit.csv"
    assert main(["server", "audit", "--database", deployment.url, "--csv", str(csv_file)]) == 0
    with deployment.database.read() as connection:
        stored = "\n".join(repr(tuple(r)) for r in connection.execute(select(audit_log)))
    for text in (stored, csv_file.read_text()):
        assert "Buyers" in text
        for secret in (PASSWORD, token, eve_token, admin["Authorization"][7:], new_input.secret, new_input.input.api_key,
                       "as-secret-", "as-token-", "as-activate-", "$argon2"):
            assert secret not in text


def test_the_first_workspace_init_makes_is_found_by_any_spelling_of_its_name(start_server):
    """`server init` on a server without workspaces names the first after the company; its name is unique
    whatever the case like any other workspace's (a second "équipe" is refused)."""
    from app.errors import UserError
    from app.server.admin import Admin, _workspace_id

    deployment = start_server()
    Accounts(deployment.database).init("Équipe", "Ada", "ada@example.com", PASSWORD)
    admin = Admin(deployment.database)
    [first] = [w for w in admin.list_workspaces() if w.name == "Équipe"]
    with deployment.database.read() as connection:
        assert _workspace_id(connection, "ÉQUIPE") == first.id
    with pytest.raises(UserError, match="already exists"):
        admin.create_workspace("équipe")


def test_entries_of_no_workspace_are_shown_only_to_admins_of_every_workspace(deployment):
    """The company, accounts and sign-ins belong to no workspace: they say who works for the company and when they
    sign in, so only a company admin (admin of every workspace) sees them; an admin of one workspace sees its entries."""
    ada = _company(deployment)  # admin of the company's first workspace (1), the only one so far: a company admin
    deployment.admin.create_workspace("Harbor EU")  # 2: Ada is not its admin (yet)
    deployment.admin.create_user("bo", [])
    Accounts(deployment.database).set_role("test", "bo", 2, "admin")
    bo = {"Authorization": f"Bearer {deployment.admin.create_token('bo')}"}
    eu_input = deployment.http.post("/v1/workspaces/2/sources", headers=bo, json={"kind": "feed", "name": "CRM"})
    assert eu_input.status_code == 201, eu_input.text

    seen_by_bo = deployment.http.get("/v1/audit", headers=bo).json()["entries"]
    assert [(e["kind"], e["action"], e["workspace_id"]) for e in seen_by_bo] == [("role", "set", 2), ("input", "create", 2)]
    # Ada administers workspace 1 only now that workspace 2 exists: she no longer sees the company-wide entries.
    seen_by_ada = deployment.http.get("/v1/audit", headers=ada).json()["entries"]
    assert seen_by_ada == []
    Accounts(deployment.database).set_role("test", "Ada", 2, "admin")
    seen_by_ada = deployment.http.get("/v1/audit", headers=ada).json()["entries"]
    assert ("company", "create", None) in [(e["kind"], e["action"], e["workspace_id"]) for e in seen_by_ada]
    assert ("input", "create", 2) in [(e["kind"], e["action"], e["workspace_id"]) for e in seen_by_ada]
