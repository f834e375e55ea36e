"""Roles on a workspace grant, and what each may do.

- viewer: reads the workspace (sync pages, snapshots, audiences, revenue, its members).
- editor: a viewer who also creates, edits and deletes audiences (and connections).
- admin: an editor who also manages accounts (invitations, roles), sources (inputs, revenue loads),
  outputs, and reads the audit log.

Each role includes the ones below it. A refusal is a 403 that names the role needed, so a member
knows whom to ask. Roles are read from the database on every request: a role changed or removed
while a member is signed in applies to their next request.
"""

from __future__ import annotations

VIEWER, EDITOR, ADMIN = "viewer", "editor", "admin"
ROLES = (VIEWER, EDITOR, ADMIN)
_RANK = {role: i for i, role in enumerate(ROLES)}


def at_least(role: str | None, needed: str) -> bool:
    """Whether `role` includes `needed` (None: no grant at all)."""
    return role is not None and _RANK.get(role, -1) >= _RANK[needed]


def clean_role(text: str) -> str:
    """A role from what a user typed; ValueError naming the choices otherwise."""
    role = text.strip().casefold()
    if role not in _RANK:
        raise ValueError(f"{text!r} is not a role; expected one of {', '.join(ROLES)}")
    return role
