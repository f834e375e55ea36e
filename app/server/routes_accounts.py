"""Accounts over HTTP: the company, invitations, activation (a small page and a JSON endpoint),
password sign-in, members and their roles, and the audit log. See docs/server.md "Accounts and roles"."""

from __future__ import annotations

import datetime as dt
import html

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from app.errors import InvalidInput, NotFound, UserError
from app.server import audit
from app.server.accounts import InvitationRow, LinkProblem, Sent
from app.server.api_models import ErrorBody
from app.server.auth import api_caller
from app.server.definitions import Caller
from app.server.errors import ApiError
from app.server.responses import errors
from app.server.roles import ADMIN, ROLES, VIEWER, at_least
from app.server.state import ServerState, server_state

router = APIRouter(tags=["accounts"])

Role = Field(pattern="^(admin|editor|viewer)$", description=f"One of {', '.join(ROLES)}")


class Company(BaseModel):
    name: str | None = Field(description="The company's name (what channel taxonomy pushes carry); null before `server init`")


class Grant(BaseModel):
    workspace_id: int = Field(ge=1, le=2**31 - 1)
    role: str = Role


class InvitationCreate(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    name: str | None = Field(None, max_length=200, description="The member's name as others see it (default: the e-mail)")
    grants: list[Grant] = Field(min_length=1, max_length=1000)


class Invitation(BaseModel):
    id: int
    user: str
    email: str
    invited_by: str
    created_at: dt.datetime
    expires_at: dt.datetime
    sent_at: dt.datetime | None
    send_error: str | None = Field(description="Why the last sending failed (the invitation is kept to be sent again)")
    status: str = Field(description="not sent, sent, expired or activated")


class Activation(BaseModel):
    token: str = Field(min_length=1, max_length=200, description="The token of the activation link")
    password: str = Field(min_length=1, max_length=1000)


class Activated(BaseModel):
    email: str


class SignIn(BaseModel):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1000)
    label: str | None = Field(None, max_length=200, description="What the token is for, e.g. the laptop's name")


class SignedIn(BaseModel):
    user: str
    token: str = Field(description="An API token for `Authorization: Bearer`, shown once")


class Member(BaseModel):
    name: str
    email: str | None
    activated: bool
    roles: dict[str, str] = Field(description="workspace id -> role")


class RoleChange(BaseModel):
    role: str = Role


class AuditEntry(BaseModel):
    id: int
    at: dt.datetime
    actor: str
    kind: str
    action: str
    target: str
    workspace_id: int | None
    details: dict


class AuditPage(BaseModel):
    entries: list[AuditEntry]
    next_after: int = Field(description="Pass as `after` for the next page")
    more: bool


_SMTP_502 = {502: {"model": ErrorBody, "description": "The e-mail could not be sent (SMTP_FAILED); the invitation is kept, to be resent"}}
_GONE = {410: {"model": ErrorBody, "description": "The activation link was used already or has expired"}}


def _user_error(exc: UserError) -> ApiError:
    status = 404 if isinstance(exc, NotFound) else 400 if isinstance(exc, InvalidInput) else 409
    return ApiError(status, "NOT_FOUND" if status == 404 else "INVALID_FIELD" if status == 400 else "CONFLICT", str(exc))


def _invitation(row: InvitationRow) -> Invitation:
    return Invitation(id=row.id, user=row.user, email=row.email, invited_by=row.invited_by, created_at=row.created_at,
                      expires_at=row.expires_at, sent_at=row.sent_at, send_error=row.send_error, status=row.status)


def _sent(sent: Sent) -> Invitation:
    if sent.error:
        raise ApiError(502, "SMTP_FAILED", f"the invitation {sent.invitation.id} is kept but its e-mail was not sent: {sent.error}; "
                       f"send it again with POST /v1/invitations/{sent.invitation.id}/resend",
                       extra={"invitation": _invitation(sent.invitation).model_dump(mode="json")})
    return _invitation(sent.invitation)


def _admin_workspaces(caller: Caller) -> frozenset[int]:
    return frozenset(w for w, r in caller.roles.items() if at_least(r, ADMIN))


@router.get("/v1/company", response_model=Company, responses=errors(400, 401), summary="The company this server belongs to")
def get_company(caller: Caller = Depends(api_caller), state: ServerState = Depends(server_state)) -> Company:
    return Company(name=state.accounts.company_name())


@router.post("/v1/invitations", status_code=201, response_model=Invitation, responses={**errors(400, 401, 403, 404, 409), **_SMTP_502},
             summary="Invite a member by e-mail (admin of every workspace granted)")
def invite(body: InvitationCreate, request: Request, caller: Caller = Depends(api_caller),
           state: ServerState = Depends(server_state)) -> Invitation:
    """Makes the member with their grants and e-mails an activation link (works once, until it expires)."""
    for i, grant in enumerate(body.grants):
        caller.require(grant.workspace_id, f"grants[{i}].workspace_id", ADMIN)
    try:
        sent = state.accounts.invite(caller.name, body.email, {g.workspace_id: g.role for g in body.grants}, body.name,
                                     base_url=str(request.base_url))
    except UserError as exc:
        raise _user_error(exc) from None
    return _sent(sent)


@router.get("/v1/invitations", response_model=list[Invitation], responses=errors(400, 401, 403),
            summary="Invitations to the workspaces you administer")
def list_invitations(caller: Caller = Depends(api_caller), state: ServerState = Depends(server_state)) -> list[Invitation]:
    caller.require_anywhere(ADMIN)
    return [_invitation(r) for r in state.accounts.invitations(workspace_ids=_admin_workspaces(caller))]


@router.post("/v1/invitations/{invitation_id}/resend", response_model=Invitation,
             responses={**errors(400, 401, 403, 404, 409), **_SMTP_502}, summary="Send an invitation again, with a new link")
def resend(request: Request, invitation_id: int = Path(ge=1, le=2**31 - 1), caller: Caller = Depends(api_caller),
           state: ServerState = Depends(server_state)) -> Invitation:
    """The old link stops working; the new one works until a new expiry. Admin of every workspace the invitation grants."""
    try:
        for workspace_id in sorted(state.accounts.invitation_workspaces(invitation_id)):
            caller.require(workspace_id, "invitation_id", ADMIN)
        return _sent(state.accounts.resend(caller.name, invitation_id, base_url=str(request.base_url)))
    except UserError as exc:
        raise _user_error(exc) from None


@router.post("/v1/activate", response_model=Activated, responses={**errors(400, 404), **_GONE},
             summary="Set your password from your activation link (no authentication: the link's token is the proof)")
def activate(body: Activation, state: ServerState = Depends(server_state)) -> Activated:
    try:
        return Activated(email=state.accounts.activate(body.token, body.password))
    except LinkProblem as exc:
        raise ApiError(404 if exc.reason == "unknown" else 410, f"LINK_{exc.reason.upper()}", str(exc)) from None
    except UserError as exc:
        raise _user_error(exc) from None


@router.get("/activate", response_class=HTMLResponse, include_in_schema=False)
def activation_page(token: str = Query("", max_length=200), state: ServerState = Depends(server_state)) -> HTMLResponse:
    """The page an activation link opens: a password form that posts to /v1/activate."""
    try:
        email = state.accounts.check_link(token)
    except LinkProblem as exc:
        return HTMLResponse(_page("Activation link not usable", f"<p>{html.escape(str(exc))}.</p>"), status_code=410 if exc.reason != "unknown" else 404)
    form = f"""<p>Set the password for <b>{html.escape(email)}</b> (at least 10 characters).</p>
<form id="f"><input type="password" id="p" autocomplete="new-password" required minlength="10">
<button>Set password</button></form><p id="r"></p>
<script>
document.getElementById("f").onsubmit = async (e) => {{
  e.preventDefault();
  const r = await fetch("/v1/activate", {{method: "POST", headers: {{"Content-Type": "application/json"}},
    body: JSON.stringify({{token: {html.escape(repr(token))}, password: document.getElementById("p").value}})}});
  const j = await r.json();
  document.getElementById("r").textContent = r.ok ? "Done: sign in from the Audience Studio app with " + j.email + " and this password."
                                                  : j.errors[0].message;
}};
</script>"""
    return HTMLResponse(_page("Activate your Audience Studio account", form))


def _page(title: str, body: str) -> str:
    return f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>{body}</body></html>'


@router.post("/v1/sign-in", response_model=SignedIn, responses=errors(400, 401),
             summary="A new API token for an activated member's e-mail and password")
async def sign_in(body: SignIn, state: ServerState = Depends(server_state)) -> SignedIn:
    try:
        # argon2 takes tens of milliseconds of CPU: off the event loop.
        user, token = await run_in_threadpool(state.accounts.sign_in, body.email, body.password, body.label)
    except UserError as exc:
        raise ApiError(401, "UNAUTHORIZED", str(exc)) from None
    return SignedIn(user=user, token=token)


@router.get("/v1/workspaces/{workspace_id}/members", response_model=list[Member], responses=errors(400, 401, 403),
            summary="The workspace's members and their roles")
def members(workspace_id: int = Path(ge=1, le=2**31 - 1), caller: Caller = Depends(api_caller),
            state: ServerState = Depends(server_state)) -> list[Member]:
    caller.require(workspace_id, role=VIEWER)
    return [Member(**m) for m in state.accounts.members(frozenset({workspace_id}))]


@router.put("/v1/workspaces/{workspace_id}/members/{user}/role", status_code=204, responses=errors(400, 401, 403, 404),
            summary="Grant a member a role on the workspace (admin)")
def set_role(body: RoleChange, workspace_id: int = Path(ge=1, le=2**31 - 1), user: str = Path(min_length=1, max_length=320),
             caller: Caller = Depends(api_caller), state: ServerState = Depends(server_state)) -> None:
    caller.require(workspace_id, role=ADMIN)
    try:
        state.accounts.set_role(caller.name, user, workspace_id, body.role)
    except UserError as exc:
        raise _user_error(exc) from None


@router.delete("/v1/workspaces/{workspace_id}/members/{user}", status_code=204, responses=errors(400, 401, 403, 404),
               summary="Take a member's grant on the workspace away (admin); applies to their next request")
def remove_member(workspace_id: int = Path(ge=1, le=2**31 - 1), user: str = Path(min_length=1, max_length=320),
                  caller: Caller = Depends(api_caller), state: ServerState = Depends(server_state)) -> None:
    caller.require(workspace_id, role=ADMIN)
    try:
        state.accounts.set_role(caller.name, user, workspace_id, None)
    except UserError as exc:
        raise _user_error(exc) from None


@router.get("/v1/audit", response_model=AuditPage, responses=errors(400, 401, 403),
            summary="The audit log of the workspaces you administer, oldest first; entries of no workspace only for admins of every workspace")
def audit_log(
    actor: str | None = Query(None, max_length=200, description="Only this actor's entries"),
    kind: str | None = Query(None, pattern=f"^({'|'.join(audit.KINDS)})$", description="Only this kind of thing"),
    since: dt.datetime | None = Query(None, description="Only entries at or after this time (ISO 8601)"),
    until: dt.datetime | None = Query(None, description="Only entries before this time (ISO 8601)"),
    after: int = Query(0, ge=0, le=2**62, description="The next_after of the previous page"),
    limit: int = Query(100, ge=1, le=1000),
    caller: Caller = Depends(api_caller), state: ServerState = Depends(server_state),
) -> AuditPage:
    caller.require_anywhere(ADMIN)
    with state.database.read() as connection:
        found = audit.entries(connection, actor=actor, kind=kind, since=_utc(since), until=_utc(until),
                              workspace_ids=_admin_workspaces(caller), company_wide=audit.company_admin(connection, caller.roles),
                              after_id=after, limit=limit + 1)
    more = len(found) > limit
    found = found[:limit]
    return AuditPage(entries=[AuditEntry(**e.as_json()) for e in found], next_after=found[-1].id if found else after, more=more)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """A time without a zone is taken as UTC (the log's times are UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)
