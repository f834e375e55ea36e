"""Accounts: the company and its first admin, invitations by e-mail, activation, password sign-in and roles.

An invitation makes the user (with their workspace grants) at once and sends an activation link;
only the SHA-256 of the link's token is stored. The link works once and until it expires. When the
e-mail cannot be sent the invitation is kept, with the reason, for an admin to send again (which
makes a new link and voids the old one). Every change is written to the audit log in its transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import Connection, delete, func, insert, select, update

from app.errors import InvalidInput, NotFound, UserError
from app.models.store.db import utc_now
from app.server import audit, credentials, mail, passwords
from app.server.admin import name_key
from app.server.database import Database
from app.server.roles import ADMIN, clean_role
from app.server.tables import company, invitations, memberships, tokens, users, workspaces

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ACTIVATION_PREFIX = "as-activate-"


class LinkProblem(UserError):
    """An activation link that cannot be used: `reason` is "unknown", "used" or "expired"."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class InvitationRow:
    id: int
    user: str
    email: str
    invited_by: str
    created_at: dt.datetime
    expires_at: dt.datetime
    sent_at: dt.datetime | None
    send_error: str | None
    used_at: dt.datetime | None

    @property
    def status(self) -> str:
        if self.used_at is not None:
            return "activated"
        if self.expires_at <= utc_now():
            return "expired"
        return "sent" if self.sent_at is not None else "not sent"


@dataclass(frozen=True)
class Sent:
    invitation: InvitationRow
    link: str
    #: Why the e-mail was not sent (the invitation is kept), or None.
    error: str | None


def clean_email(text: str) -> str:
    email = text.strip()
    if not _EMAIL.match(email) or len(email) > 320:
        raise InvalidInput(f"{text!r} is not an e-mail address")
    return email.casefold()


def _message(company_name: str, link: str, expires_at: dt.datetime) -> str:
    return (f"You are invited to {company_name}'s Audience Studio.\n\n"
            f"Set your password here (the link works once, until {expires_at:%Y-%m-%d %H:%M} UTC):\n\n{link}\n\n"
            "Then sign in from the Audience Studio app with your e-mail address and that password.\n")


class Accounts:
    def __init__(self, database: Database, smtp: mail.SmtpSettings | None = None, public_url: str | None = None,
                 invitation_hours: float = 72.0):
        self.db = database
        self.smtp = smtp
        #: The server's address as members reach it, for the links; None: the address the admin's request came to.
        self.public_url = public_url
        self.invitation_hours = invitation_hours

    # -- the company ------------------------------------------------------------------------------

    def company_name(self) -> str | None:
        with self.db.read() as connection:
            return connection.execute(select(company.c.name).where(company.c.id == 1)).scalar()

    def init(self, company_name: str, admin_name: str, admin_email: str, password: str, workspace: str | None = None) -> str:
        """Create the company, a first workspace (named after the company unless given) if none exists,
        and the first admin (admin of every workspace). Refused once a company exists."""
        company_name = company_name.strip()
        if not company_name or len(company_name) > 200:
            raise InvalidInput("The company needs a name of 1 to 200 characters")
        email = clean_email(admin_email)
        weak = passwords.check_strength(password)
        if weak:
            raise InvalidInput(f"Password: {weak}")
        admin_name = admin_name.strip() or email
        with self.db.write() as connection:
            existing = connection.execute(select(company.c.name).where(company.c.id == 1)).scalar()
            if existing is not None:
                raise UserError(f"This server already belongs to {existing!r}; `server init` runs once")
            now = utc_now()
            connection.execute(insert(company).values(id=1, name=company_name, created_at=now))
            ids = list(connection.execute(select(workspaces.c.id)).scalars())
            if not ids or workspace:
                name = (workspace or company_name).strip()
                key = name_key(name)
                found = connection.execute(select(workspaces.c.id).where(workspaces.c.name_key == key)).scalar()
                ids = ids if found is not None else [*ids, connection.execute(
                    insert(workspaces).values(name=name, name_key=key, last_seq=0, created_at=now)).inserted_primary_key[0]]
            if connection.execute(select(users.c.id).where((func.lower(users.c.name) == admin_name.casefold()) | (users.c.email == email))).first():
                raise UserError(f"A user named {admin_name!r} or with the e-mail {email} already exists")
            user_id = connection.execute(insert(users).values(name=admin_name, email=email, password_hash=passwords.hash_password(password),
                                                              created_at=now)).inserted_primary_key[0]
            connection.execute(insert(memberships), [{"user_id": user_id, "workspace_id": w, "role": ADMIN} for w in ids])
            audit.record(connection, audit.COMMAND_LINE, "company", "create", f"company {company_name!r}")
            audit.record(connection, audit.COMMAND_LINE, "account", "create", f"user {admin_name!r}",
                         details={"email": email, "roles": {str(w): ADMIN for w in ids}})
        return admin_name

    # -- invitations ----------------------------------------------------------------------------

    def invite(self, actor: str, email: str, grants: dict[int, str], name: str | None = None, base_url: str | None = None) -> Sent:
        """Make the user with their grants and send the activation link (kept, with the reason, if sending fails)."""
        email = clean_email(email)
        name = (name or "").strip() or email
        if not grants:
            raise InvalidInput("An invitation grants at least one workspace")
        grants = {w: clean_role(r) for w, r in grants.items()}
        with self.db.write() as connection:
            if connection.execute(select(users.c.id).where((users.c.email == email) | (func.lower(users.c.name) == name.casefold()))).first():
                raise UserError(f"A user with the e-mail {email} or the name {name!r} already exists (resend their invitation instead)")
            known = set(connection.execute(select(workspaces.c.id).where(workspaces.c.id.in_(sorted(grants)))).scalars())
            missing = sorted(set(grants) - known)
            if missing:
                raise NotFound(f"No workspace {missing[0]} on this server")
            user_id = connection.execute(insert(users).values(name=name, email=email, created_at=utc_now())).inserted_primary_key[0]
            connection.execute(insert(memberships), [{"user_id": user_id, "workspace_id": w, "role": r} for w, r in sorted(grants.items())])
            invitation_id, token = self._new_link(connection, user_id, actor)
            audit.record(connection, actor, "invitation", "create", f"invitation of {email}",
                         details={"user": name, "roles": {str(w): r for w, r in sorted(grants.items())}})
        return self._send(invitation_id, token, base_url)

    def resend(self, actor: str, invitation_id: int, base_url: str | None = None) -> Sent:
        """A new link (the old one stops working) and a new expiry, sent again."""
        with self.db.write() as connection:
            row = connection.execute(select(invitations).where(invitations.c.id == invitation_id)).first()
            if row is None:
                raise NotFound(f"No invitation {invitation_id}")
            if row.used_at is not None:
                raise UserError(f"Invitation {invitation_id} was already used to activate the account")
            token = ACTIVATION_PREFIX + credentials.new_token()[len(credentials.TOKEN_PREFIX):]
            connection.execute(update(invitations).where(invitations.c.id == invitation_id).values(
                token_hash=credentials.digest(token), expires_at=utc_now() + dt.timedelta(hours=self.invitation_hours),
                sent_at=None, send_error=None))
            audit.record(connection, actor, "invitation", "resend", f"invitation {invitation_id}")
        return self._send(invitation_id, token, base_url)

    def _new_link(self, connection: Connection, user_id: int, actor: str) -> tuple[int, str]:
        token = ACTIVATION_PREFIX + credentials.new_token()[len(credentials.TOKEN_PREFIX):]
        now = utc_now()
        new_id = connection.execute(insert(invitations).values(
            user_id=user_id, token_hash=credentials.digest(token), invited_by=actor, created_at=now,
            expires_at=now + dt.timedelta(hours=self.invitation_hours))).inserted_primary_key[0]
        return new_id, token

    def _send(self, invitation_id: int, token: str, base_url: str | None) -> Sent:
        base = (self.public_url or base_url or "http://127.0.0.1:8080").rstrip("/")
        link = f"{base}/activate?token={token}"
        invitation = self.invitation(invitation_id)
        error = None
        if self.smtp is None:
            error = "no SMTP server is configured (serve --smtp-settings FILE, or AUDIENCE_STUDIO_SMTP_HOST)"
        else:
            try:
                mail.send(self.smtp, invitation.email, f"Your invitation to {self.company_name() or 'Audience Studio'}",
                          _message(self.company_name() or "your company", link, invitation.expires_at))
            except mail.MailError as exc:
                error = str(exc)
        with self.db.write() as connection:
            connection.execute(update(invitations).where(invitations.c.id == invitation_id).values(
                sent_at=None if error else utc_now(), send_error=error))
        return Sent(self.invitation(invitation_id), link, error)

    def invitation(self, invitation_id: int) -> InvitationRow:
        rows = self.invitations(invitation_id=invitation_id)
        if not rows:
            raise NotFound(f"No invitation {invitation_id}")
        return rows[0]

    def invitations(self, invitation_id: int | None = None, workspace_ids: frozenset[int] | None = None) -> list[InvitationRow]:
        with self.db.read() as connection:
            query = (select(invitations, users.c.name, users.c.email).join(users, users.c.id == invitations.c.user_id)
                     .order_by(invitations.c.id))
            if invitation_id is not None:
                query = query.where(invitations.c.id == invitation_id)
            if workspace_ids is not None:
                query = query.where(invitations.c.user_id.in_(
                    select(memberships.c.user_id).where(memberships.c.workspace_id.in_(sorted(workspace_ids) or [-1]))))
            return [InvitationRow(r.id, r.name, r.email, r.invited_by, r.created_at, r.expires_at, r.sent_at, r.send_error, r.used_at)
                    for r in connection.execute(query)]

    def invitation_workspaces(self, invitation_id: int) -> set[int]:
        with self.db.read() as connection:
            user_id = connection.execute(select(invitations.c.user_id).where(invitations.c.id == invitation_id)).scalar()
            if user_id is None:
                raise NotFound(f"No invitation {invitation_id}")
            return set(connection.execute(select(memberships.c.workspace_id).where(memberships.c.user_id == user_id)).scalars())

    # -- activation and sign-in -----------------------------------------------------------------

    def _usable(self, connection: Connection, token: str):
        row = connection.execute(select(invitations).where(invitations.c.token_hash == credentials.digest(token.strip()))).first()
        if row is None:
            raise LinkProblem("unknown", "This activation link is not valid (it may have been replaced by a newer one): ask an admin to send it again")
        if row.used_at is not None:
            raise LinkProblem("used", "This activation link was already used: sign in from the app with your e-mail and password")
        if row.expires_at <= utc_now():
            raise LinkProblem("expired", "This activation link has expired: ask an admin to send it again")
        return row

    def check_link(self, token: str) -> str:
        """The invited e-mail address, if the link can still be used (else LinkProblem)."""
        with self.db.read() as connection:
            row = self._usable(connection, token)
            return connection.execute(select(users.c.email).where(users.c.id == row.user_id)).scalar_one()

    def activate(self, token: str, password: str) -> str:
        """Set the member's password from their link (once); returns their e-mail address."""
        weak = passwords.check_strength(password)
        if weak:
            raise InvalidInput(f"Password: {weak}")
        with self.db.write() as connection:
            row = self._usable(connection, token)
            # Only the first of two concurrent activations updates the row: the other sees rowcount 0.
            done = connection.execute(update(invitations).where(invitations.c.id == row.id, invitations.c.used_at.is_(None))
                                      .values(used_at=utc_now())).rowcount
            if done != 1:
                raise LinkProblem("used", "This activation link was already used: sign in from the app with your e-mail and password")
            connection.execute(update(users).where(users.c.id == row.user_id).values(password_hash=passwords.hash_password(password)))
            user = connection.execute(select(users.c.name, users.c.email).where(users.c.id == row.user_id)).one()
            audit.record(connection, user.name, "account", "activate", f"user {user.name!r}")
            return user.email

    def sign_in(self, email: str, password: str, label: str | None = None) -> tuple[str, str]:
        """A new API token for the e-mail and password (the user's name and the token), else UserError."""
        try:
            email = clean_email(email)
        except InvalidInput:
            email = ""
        with self.db.read() as connection:
            row = connection.execute(select(users.c.id, users.c.name, users.c.password_hash).where(users.c.email == email)).first()
        if not passwords.verify(password, row.password_hash if row is not None else None) or row is None:
            raise UserError("The e-mail address and password do not match an activated account")
        token = credentials.new_token()
        with self.db.write() as connection:
            connection.execute(insert(tokens).values(user_id=row.id, token_hash=credentials.digest(token),
                                                     label=(label or "password sign-in")[:200], created_at=utc_now()))
            audit.record(connection, row.name, "account", "sign-in", f"user {row.name!r}", details={"label": label or "password sign-in"})
        return row.name, token

    # -- roles ----------------------------------------------------------------------------------

    def set_role(self, actor: str, user: str, workspace_id: int, role: str | None) -> None:
        """Grant `role` on the workspace, or remove the grant (None). Applies to the user's next request."""
        role = clean_role(role) if role is not None else None
        with self.db.write() as connection:
            user_id = connection.execute(select(users.c.id).where((func.lower(users.c.name) == user.strip().casefold()) |
                                                                  (users.c.email == user.strip().casefold()))).scalar()
            if user_id is None:
                raise NotFound(f"No user {user!r} on this server")
            if connection.execute(select(workspaces.c.id).where(workspaces.c.id == workspace_id)).first() is None:
                raise NotFound(f"No workspace {workspace_id} on this server")
            before = connection.execute(select(memberships.c.role).where(memberships.c.user_id == user_id,
                                                                        memberships.c.workspace_id == workspace_id)).scalar()
            if role is None:
                connection.execute(delete(memberships).where(memberships.c.user_id == user_id, memberships.c.workspace_id == workspace_id))
            elif before is None:
                connection.execute(insert(memberships).values(user_id=user_id, workspace_id=workspace_id, role=role))
            else:
                connection.execute(update(memberships).where(memberships.c.user_id == user_id, memberships.c.workspace_id == workspace_id)
                                   .values(role=role))
            audit.record(connection, actor, "role", "remove" if role is None else "set", f"user {user.strip()!r}", workspace_id,
                         {"before": before, "after": role})

    def members(self, workspace_ids: frozenset[int]) -> list[dict]:
        with self.db.read() as connection:
            rows = connection.execute(select(users.c.name, users.c.email, users.c.password_hash.is_not(None).label("active"),
                                             memberships.c.workspace_id, memberships.c.role)
                                      .join(memberships, memberships.c.user_id == users.c.id)
                                      .where(memberships.c.workspace_id.in_(sorted(workspace_ids) or [-1]))
                                      .order_by(users.c.id, memberships.c.workspace_id))
            found: dict[str, dict] = {}
            for r in rows:
                entry = found.setdefault(r.name, {"name": r.name, "email": r.email, "activated": bool(r.active), "roles": {}})
                entry["roles"][str(r.workspace_id)] = r.role
            return list(found.values())
