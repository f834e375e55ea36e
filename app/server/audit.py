"""The audit log: who changed what and when (audiences, inputs, accounts, roles, invitations).

Each change writes its entry in the change's own transaction, so the log never claims a change that
did not commit nor misses one that did. An entry never holds a secret: `record` refuses details
whose keys or values look like one (a key, secret, token or password), so a later change cannot slip
one in by accident.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select

from app.models.store.db import utc_now
from app.server.credentials import KEY_PREFIX, SECRET_PREFIX, TOKEN_PREFIX
from app.server.roles import ADMIN, at_least
from app.server.tables import audit_log, workspaces

KINDS = ("audience", "input", "account", "role", "invitation", "company", "workspace")
#: Detail keys that would name a secret; values with the credential prefixes are refused too.
_SECRET_KEY = re.compile(r"secret|password|token|api_key|hash", re.IGNORECASE)
#: Who a command-line change is attributed to (the server's operator, not a signed-in user).
COMMAND_LINE = "server administrator (command line)"


@dataclass(frozen=True)
class Entry:
    id: int
    at: dt.datetime
    actor: str
    kind: str
    action: str
    target: str
    workspace_id: int | None
    details: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at.isoformat(), "actor": self.actor, "kind": self.kind, "action": self.action,
                "target": self.target, "workspace_id": self.workspace_id, "details": self.details}


def _check_no_secret(details: dict[str, Any]) -> None:
    for key, value in details.items():
        if _SECRET_KEY.search(key):
            raise ValueError(f"audit details may not hold {key!r}")
        if isinstance(value, str) and value.startswith((SECRET_PREFIX, TOKEN_PREFIX, KEY_PREFIX)):
            raise ValueError(f"audit details {key!r} looks like a credential")


def company_admin(connection: Connection, roles: dict[int, str]) -> bool:
    """Whether a member administers every workspace of the server: only such a company admin sees the
    entries that belong to no workspace (the company, accounts, sign-ins, invitations across workspaces),
    which say who works for the company and when they signed in. An admin of some workspaces only sees
    their workspaces' entries."""
    every = set(connection.execute(select(workspaces.c.id)).scalars())
    return bool(every) and all(at_least(roles.get(w), ADMIN) for w in every)


def record(connection: Connection, actor: str, kind: str, action: str, target: str,
           workspace_id: int | None = None, details: dict[str, Any] | None = None) -> None:
    assert kind in KINDS, kind
    details = dict(details or {})
    _check_no_secret(details)
    connection.execute(insert(audit_log).values(at=utc_now(), actor=actor, kind=kind, action=action, target=target[:400],
                                                workspace_id=workspace_id, details=details))


def entries(connection: Connection, *, actor: str | None = None, kind: str | None = None,
            since: dt.datetime | None = None, until: dt.datetime | None = None,
            workspace_ids: frozenset[int] | None = None, company_wide: bool = True, after_id: int = 0,
            limit: int = 100) -> list[Entry]:
    """Entries oldest first, after `after_id` (the last id of the previous page). `workspace_ids`, if
    given, keeps only entries of those workspaces, and company-wide ones (no workspace) if `company_wide`."""
    query = select(audit_log).where(audit_log.c.id > after_id).order_by(audit_log.c.id).limit(limit)
    if actor:
        query = query.where(audit_log.c.actor == actor)
    if kind:
        query = query.where(audit_log.c.kind == kind)
    if since is not None:
        query = query.where(audit_log.c.at >= since)
    if until is not None:
        query = query.where(audit_log.c.at < until)
    if workspace_ids is not None:
        mine = audit_log.c.workspace_id.in_(sorted(workspace_ids) or [-1])
        query = query.where((audit_log.c.workspace_id.is_(None) | mine) if company_wide else mine)
    return [Entry(r.id, r.at, r.actor, r.kind, r.action, r.target, r.workspace_id, dict(r.details or {}))
            for r in connection.execute(query)]
