"""Faults: why forwarding to a connection stopped, and resuming it (forwarding restarts only when the admin resumes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.connectors.outputs.errors import Failure
from app.errors import NotFound, UserError
from app.models.store.db import Store, emit_after_commit, utc_now
from app.models.store.schema import Audience, Connection, Fault, OutputConfiguration


@dataclass(frozen=True)
class FaultInfo:
    id: int
    connection_id: int
    audience_id: int
    audience_name: str
    output_id: int
    output_name: str
    category: str
    status_code: int | None
    message: str
    batch_id: str | None
    retries: int
    began_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None

    @property
    def open(self) -> bool:
        return self.resolved_at is None


def _query():
    return (select(Fault, Connection.audience_id, Audience.name, OutputConfiguration.id, OutputConfiguration.name)
            .join(Connection, Connection.id == Fault.connection_id)
            .join(Audience, Audience.id == Connection.audience_id)
            .join(OutputConfiguration, OutputConfiguration.id == Connection.configuration_id))


def _info(row: Fault, audience_id: int, audience_name: str, output_id: int, output_name: str) -> FaultInfo:
    return FaultInfo(row.id, row.connection_id, audience_id, audience_name, output_id, output_name, row.category,
                     row.status_code, row.message, row.batch_id, row.retries, row.began_at, row.resolved_at,
                     row.resolved_by)


def open_fault(session: Session, connection_id: int) -> Fault | None:
    return session.scalars(select(Fault).where(Fault.connection_id == connection_id, Fault.resolved_at.is_(None))
                           .order_by(Fault.id.desc()).limit(1)).first()


class FaultService:
    def __init__(self, store: Store, user: str):
        self.store = store
        self.user = user

    def list(self, *, open_only: bool = True, connection_id: int | None = None,
             audience_id: int | None = None) -> list[FaultInfo]:
        """Faults, newest first: only open ones unless `open_only` is False."""
        query = _query().order_by(Fault.began_at.desc(), Fault.id.desc())
        if open_only:
            query = query.where(Fault.resolved_at.is_(None))
        if connection_id is not None:
            query = query.where(Fault.connection_id == connection_id)
        if audience_id is not None:
            query = query.where(Connection.audience_id == audience_id)
        with self.store.transaction() as session:
            return [_info(*row) for row in session.execute(query).all()]

    def get(self, fault_id: int) -> FaultInfo:
        with self.store.transaction() as session:
            row = session.execute(_query().where(Fault.id == int(fault_id))).first()
            if row is None:
                raise NotFound(f"There is no fault with id {fault_id}.")
            return _info(*row)

    def open_counts_by_audience(self) -> dict[int, int]:
        """audience id → open faults on its connections: the fault icon in the audiences list."""
        with self.store.transaction() as session:
            return dict(session.execute(
                select(Connection.audience_id, func.count()).join(Fault, Fault.connection_id == Connection.id)
                .where(Fault.resolved_at.is_(None)).group_by(Connection.audience_id)).all())

    def record(self, connection_id: int, failure: Failure) -> FaultInfo:
        """Open a fault on the connection (forwarding to it stops until it is resumed)."""
        with self.store.transaction() as session:
            row = Fault(connection_id=connection_id, category=failure.category, status_code=failure.status,
                        message=failure.message[:2000], batch_id=failure.batch_id, retries=failure.retries)
            session.add(row)
            session.flush()
            emit_after_commit(session, "fault_changed", connection_id)
            fault_id = row.id
        return self.get(fault_id)

    def resume(self, fault_id: int) -> FaultInfo:
        """Mark the fault resolved: the next forwarding run continues the connection from where it stopped."""
        with self.store.transaction() as session:
            row = session.get(Fault, int(fault_id))
            if row is None:
                raise NotFound(f"There is no fault with id {fault_id}.")
            if row.resolved_at is not None:
                raise UserError(f"Fault {fault_id} was already resumed ({row.resolved_at:%Y-%m-%d %H:%M} UTC by "
                                f"{row.resolved_by}).")
            row.resolved_at = utc_now()
            row.resolved_by = self.user
            emit_after_commit(session, "fault_changed", row.connection_id)
        return self.get(fault_id)
