"""Sources (the inputs apps and feeds send batches through) as the integration center sees them: each with
its status, last data received and volume; made, disabled, enabled and given a new secret by an admin.

A secret is returned once, when it is made (or rotated), and kept only as a SHA-256 hash. Every change is
audited in its own transaction, naming the source but never its key or secret. Ingest requests refused
although their credentials matched (a disabled source still sending) are kept in `input_refusals`, at
most one per source per second, for the activity stream.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass

from sqlalchemy import Connection, case, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.errors import NotFound, UserError
from app.models.store.db import utc_now
from app.server import audit, credentials
from app.server.database import Database
from app.server.tables import batches, input_refusals, inputs, workspaces

#: Refusals kept per source: at most one a second (a sender retrying in a loop cannot fill the table).
REFUSAL_INTERVAL_SECONDS = 1.0
#: What "recent volume" covers.
RECENT = dt.timedelta(hours=24)


@dataclass(frozen=True)
class SourceRow:
    id: int
    workspace_id: int
    workspace: str
    kind: str  # "platform" | "feed"
    name: str
    api_key: str
    enabled: bool
    created_at: dt.datetime
    secret_rotated_at: dt.datetime | None
    last_received_at: dt.datetime | None
    batches: int
    events: int
    batches_24h: int
    refused: int
    last_refused_at: dt.datetime | None

    @property
    def status(self) -> str:
        """In words: disabled; receiving (data in the last 24 hours); quiet (data before); waiting (none yet)."""
        if not self.enabled:
            return "disabled"
        if self.last_received_at is None:
            return "waiting for data"
        return "receiving" if self.batches_24h else "quiet"


def _label(kind: str, name: str) -> str:
    return f"{kind} input {name!r}"


class Sources:
    """The sources of a server database, for the HTTP API (app/server/routes_sources.py)."""

    def __init__(self, database: Database):
        self.db = database
        self._refused_at: dict[int, float] = {}
        self._lock = threading.Lock()

    def list(self, workspace_ids: frozenset[int]) -> list[SourceRow]:
        """The sources of these workspaces, oldest first, with their last data and volume."""
        with self.db.read() as connection:
            return self._rows(connection, inputs.c.workspace_id.in_(sorted(workspace_ids) or [-1]))

    def get(self, source_id: int) -> SourceRow:
        with self.db.read() as connection:
            found = self._rows(connection, inputs.c.id == source_id)
        if not found:
            raise NotFound(f"source_id: no source {source_id} on this server")
        return found[0]

    def workspace_of(self, source_id: int) -> int:
        with self.db.read() as connection:
            found = connection.execute(select(inputs.c.workspace_id).where(inputs.c.id == source_id)).scalar()
        if found is None:
            raise NotFound(f"source_id: no source {source_id} on this server")
        return found

    def create(self, actor: str, workspace_id: int, kind: str, name: str) -> tuple[SourceRow, str]:
        """A new source and its secret (returned once). `name` is a platform (iOS, Android, Web...) for a
        platform source, any name for a feed."""
        from app.server.admin import _clean_name, platform_name

        name = platform_name(name) if kind == "platform" else _clean_name(name, "feed")
        key, secret = credentials.new_api_key(), credentials.new_secret()
        try:
            with self.db.write() as connection:
                new_id = connection.execute(insert(inputs).values(
                    workspace_id=workspace_id, kind=kind, name=name, api_key=key, secret_hash=credentials.digest(secret),
                    enabled=True, created_at=utc_now())).inserted_primary_key[0]
                audit.record(connection, actor, "input", "create", _label(kind, name), workspace_id)
        except IntegrityError:
            raise UserError(f"name: workspace {workspace_id} already has the {kind} source {name!r}") from None
        return self.get(new_id), secret

    def set_enabled(self, actor: str, source_id: int, enabled: bool) -> SourceRow:
        """A disabled source's batches are refused (403), and the refusals show in the activity stream."""
        with self.db.write() as connection:
            row = self._locked(connection, source_id)
            if row.enabled != enabled:
                connection.execute(update(inputs).where(inputs.c.id == source_id).values(enabled=enabled))
                audit.record(connection, actor, "input", "enable" if enabled else "disable", _label(row.kind, row.name),
                             row.workspace_id)
        return self.get(source_id)

    def rotate(self, actor: str, source_id: int) -> tuple[SourceRow, str]:
        """A new secret (returned once); the old one stops working at once. The API key stays."""
        secret = credentials.new_secret()
        with self.db.write() as connection:
            row = self._locked(connection, source_id)
            connection.execute(update(inputs).where(inputs.c.id == source_id)
                               .values(secret_hash=credentials.digest(secret), secret_rotated_at=utc_now()))
            audit.record(connection, actor, "input", "rotate-secret", _label(row.kind, row.name), row.workspace_id)
        return self.get(source_id), secret

    def refused(self, input_id: int, workspace_id: int, status: int, reason: str) -> None:
        """Keep a refused request of a known source (at most one a second per source)."""
        now = time.monotonic()
        with self._lock:
            if now - self._refused_at.get(input_id, float("-inf")) < REFUSAL_INTERVAL_SECONDS:
                return
            self._refused_at[input_id] = now
        with self.db.write() as connection:
            # The workspace's row lock first (as ingest takes it): a workspace's refusals then commit in id
            # order, so an activity stream that has read refusal N never finds an N-1 committing later.
            connection.execute(update(workspaces).where(workspaces.c.id == workspace_id).values(last_seq=workspaces.c.last_seq))
            connection.execute(insert(input_refusals).values(workspace_id=workspace_id, input_id=input_id, at=utc_now(),
                                                             status=status, reason=reason[:1000]))

    # -- reading ----------------------------------------------------------------------------------

    @staticmethod
    def _locked(connection: Connection, source_id: int):
        row = connection.execute(select(inputs.c.workspace_id, inputs.c.kind, inputs.c.name, inputs.c.enabled)
                                 .where(inputs.c.id == source_id)).first()
        if row is None:
            raise NotFound(f"source_id: no source {source_id} on this server")
        return row

    @staticmethod
    def _rows(connection: Connection, where) -> list[SourceRow]:
        found = list(connection.execute(select(inputs, workspaces.c.name.label("workspace"))
                                        .join(workspaces, workspaces.c.id == inputs.c.workspace_id)
                                        .where(where).order_by(inputs.c.id)))
        if not found:
            return []
        ids = [r.id for r in found]
        since = utc_now() - RECENT
        volume = {r.input_id: r for r in connection.execute(
            select(batches.c.input_id, func.count().label("batches"), func.coalesce(func.sum(batches.c.events), 0).label("events"),
                   func.max(batches.c.received_at).label("last"),
                   func.coalesce(func.sum(case((batches.c.received_at >= since, 1), else_=0)), 0).label("recent"))
            .where(batches.c.input_id.in_(ids)).group_by(batches.c.input_id))}
        refusals = {r.input_id: r for r in connection.execute(
            select(input_refusals.c.input_id, func.count().label("n"), func.max(input_refusals.c.at).label("last"))
            .where(input_refusals.c.input_id.in_(ids)).group_by(input_refusals.c.input_id))}
        rows = []
        for r in found:
            v, f = volume.get(r.id), refusals.get(r.id)
            rows.append(SourceRow(
                r.id, r.workspace_id, r.workspace, r.kind, r.name, r.api_key, r.enabled, r.created_at, r.secret_rotated_at,
                _utc(v.last) if v else None, int(v.batches) if v else 0, int(v.events) if v else 0, int(v.recent) if v else 0,
                int(f.n) if f else 0, _utc(f.last) if f else None))
        return rows


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """max() over a UTC column comes back without its zone on SQLite: it is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.timezone.utc)
