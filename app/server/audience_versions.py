"""Edit history on the team's server: the saved versions of each audience, as the laptops send them, and the
versions received after a cursor, so every teammate's laptop comes to hold the same history.

A version is named by its `ref` everywhere: sent twice (a sync stopped before it heard back), it is kept
once. Versions are only added, never changed: the history is never rewritten. Sending needs the editor
role on all the audience's workspaces; reading, any role (as for the definitions). Each arrival takes the
next number of the "audience_versions" counter with UPDATE ... RETURNING, which holds the counter row
until commit, so versions commit in number order and "after N" never passes over a late commit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update

from app.models.store.db import utc_now
from app.server import cursors
from app.server.database import Database
from app.server.definitions import Caller, Definitions, _visible_to
from app.server.errors import ApiError
from app.server.roles import EDITOR
from app.server.tables import audience_versions, audiences, counters


class AudienceVersions:
    def __init__(self, database: Database, definitions: Definitions):
        self.db = database
        self.definitions = definitions

    def store(self, caller: Caller, versions: list[dict[str, Any]]) -> tuple[int, int]:
        """Keep the versions the server does not have yet, all or none: (added, known)."""
        added = known = 0
        with self.db.write() as connection:
            checked: set[int] = set()
            for index, version in enumerate(versions):
                if version["audience_id"] not in checked:
                    try:
                        self.definitions.authorised(connection, caller, version["audience_id"], EDITOR)
                    except ApiError as exc:
                        raise ApiError(exc.status, exc.code, f"versions[{index}].audience_id: {exc.message}",
                                       field=f"versions[{index}].audience_id") from None
                    checked.add(version["audience_id"])
                there = connection.execute(select(audience_versions.c.audience_id).where(
                    audience_versions.c.ref == version["ref"])).first()
                if there is not None:
                    if there.audience_id != version["audience_id"]:
                        raise ApiError(409, "REF_TAKEN", f"versions[{index}].ref: {version['ref']!r} names a version of "
                                       "another audience", field=f"versions[{index}].ref")
                    known += 1
                    continue
                connection.execute(insert(audience_versions).values(
                    audience_id=version["audience_id"], ref=version["ref"], seq=_next(connection),
                    saved_by=version["saved_by"], saved_at=version["saved_at"], note=version.get("note"),
                    document=version["document"], sent_by=caller.name, received_at=utc_now()))
                added += 1
        return added, known

    def changes(self, caller: Caller, cursor: str | None, limit: int,
                audience_id: int | None = None) -> tuple[list[dict[str, Any]], str, bool]:
        """Versions of the caller's audiences (or of one of them) received after the cursor, the next cursor, and
        whether more wait."""
        after = cursors.decode("v", cursor, field="cursor", names=("s",))["s"] if cursor else 0
        with self.db.read() as connection:
            query = (select(audience_versions).join(audiences, audiences.c.id == audience_versions.c.audience_id)
                     .where(audience_versions.c.seq > after, _visible_to(caller),
                            *([audience_versions.c.audience_id == audience_id] if audience_id is not None else []))
                     .order_by(audience_versions.c.seq).limit(limit))
            rows = list(connection.execute(query))
            found = [{"ref": r.ref, "audience_id": r.audience_id, "saved_by": r.saved_by, "saved_at": r.saved_at,
                      "note": r.note, "document": r.document, "sent_by": r.sent_by} for r in rows]
            if len(rows) == limit:
                return found, cursors.encode("v", {"s": rows[-1].seq}), True
            last = connection.execute(select(counters.c.value).where(counters.c.name == "audience_versions")).scalar_one()
            return found, cursors.encode("v", {"s": max(after, last)}), False


def _next(connection) -> int:
    return connection.execute(
        update(counters).where(counters.c.name == "audience_versions").values(value=counters.c.value + 1)
        .returning(counters.c.value)).scalar_one()
