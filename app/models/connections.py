"""Connections of audiences to outputs: connect, disconnect, Sending/Inactive, bulk connect with a per-audience report."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.connectors.outputs.directory import partner
from app.connectors.outputs.settings import clean_settings
from app.errors import InvalidInput, NotFound, UserError
from app.models.db import Store, emit_after_commit, utc_now
from app.models.faults import FaultInfo, FaultService
from app.models.schema import (
    CONNECTION_STATUSES,
    Audience,
    Connection,
    ForwardedIdentity,
    ForwardingState,
    OutputConfiguration,
    PendingBatch,
)

log = logging.getLogger(__name__)

#: Why an audience cannot be connected in bulk, or None: (session, audience id) → reason.
Refusal = Callable[[Session, int], str | None]


def ab_test_refusal(session: Session, audience_id: int) -> str | None:
    """Bulk connections refuse audiences with an A/B test (each variant needs its own connection).

    A/B tests do not exist yet, so nothing is refused for this today. The A/B issue plugs in here:
    return "it has an A/B test; connect its variants from the audience's A/B Test tab" when the
    audience has a saved test.
    """
    return None


@dataclass(frozen=True)
class ConnectionInfo:
    id: int
    audience_id: int
    audience_name: str
    configuration_id: int
    output_name: str
    partner: str
    settings: dict[str, Any]
    status: str
    #: The open fault that stops forwarding, if any.
    fault: FaultInfo | None
    identities_held: int
    pending_batches: int
    last_forwarded_at: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    #: The A/B variation connected, or None for the whole audience.
    variant_id: int | None = None
    #: User attributes forwarded with the identities (none unless chosen).
    shared_attributes: tuple[str, ...] = ()
    #: Standard audiences: when Send was last pressed (None: never).
    send_requested_at: datetime | None = None

    @property
    def faulted(self) -> bool:
        return self.fault is not None


@dataclass(frozen=True)
class BulkResult:
    audience_id: int
    audience_name: str
    connection_id: int | None
    #: Why the audience was not connected; None when it was.
    reason: str | None

    @property
    def connected(self) -> bool:
        return self.reason is None


@dataclass(frozen=True)
class BulkReport:
    output_name: str
    results: tuple[BulkResult, ...]

    @property
    def connected(self) -> list[BulkResult]:
        return [r for r in self.results if r.connected]

    @property
    def refused(self) -> list[BulkResult]:
        return [r for r in self.results if not r.connected]


def _check_status(status: str) -> None:
    if status not in CONNECTION_STATUSES:
        raise InvalidInput(f'Connection status "{status}" is not known; use one of: {", ".join(CONNECTION_STATUSES)}.')


class ConnectionService:
    def __init__(self, store: Store, user: str, *, refusals: Iterable[Refusal] = (ab_test_refusal,)):
        self.store = store
        self.user = user
        self._refusals = tuple(refusals)
        self._faults = FaultService(store, user)

    def connect(self, audience_id: int, configuration_id: int, settings: Mapping[str, Any] | None = None, *,
                status: str = "sending") -> ConnectionInfo:
        """Connect one audience to an output with the connection's own settings."""
        _check_status(status)
        with self.store.transaction() as session:
            configuration = self._configuration(session, configuration_id)
            cleaned = clean_settings(partner(configuration.partner).connection_fields, settings or {},
                                     what="connection settings")
            connection_id = self._connect(session, audience_id, configuration, cleaned, status)
        return self.get(connection_id)

    def bulk_connect(self, configuration_id: int, audience_ids: Iterable[int], settings: Mapping[str, Any] | None = None,
                     *, status: str = "sending") -> BulkReport:
        """Connect many audiences with one set of settings; each audience connects or is refused on its own."""
        _check_status(status)
        with self.store.transaction() as session:
            configuration = self._configuration(session, configuration_id)
            output_name = configuration.name
            # One set of settings for all: a problem with them is the admin's to fix before anything connects.
            cleaned = clean_settings(partner(configuration.partner).connection_fields, settings or {},
                                     what="connection settings")
        results = []
        for audience_id in dict.fromkeys(int(a) for a in audience_ids):
            results.append(self._bulk_one(configuration_id, audience_id, cleaned, status))
        report = BulkReport(output_name, tuple(results))
        log.info("bulk connect to output %s: %d connected, %d refused", configuration_id, len(report.connected),
                 len(report.refused))
        return report

    def _bulk_one(self, configuration_id: int, audience_id: int, settings: dict[str, Any], status: str) -> BulkResult:
        name = f"audience {audience_id}"
        try:
            with self.store.transaction() as session:
                audience = session.get(Audience, audience_id)
                if audience is None:
                    return BulkResult(audience_id, name, None, "it no longer exists")
                name = audience.name
                for refusal in self._refusals:
                    reason = refusal(session, audience_id)
                    if reason:
                        return BulkResult(audience_id, name, None, reason)
                connection_id = self._connect(session, audience_id, self._configuration(session, configuration_id),
                                              settings, status)
            return BulkResult(audience_id, name, connection_id, None)
        except UserError as exc:
            return BulkResult(audience_id, name, None, str(exc))

    def _connect(self, session: Session, audience_id: int, configuration: OutputConfiguration,
                 settings: dict[str, Any], status: str) -> int:
        audience = session.get(Audience, audience_id)
        if audience is None:
            raise NotFound(f"There is no audience with id {audience_id}.")
        existing = session.scalars(select(Connection.id).where(Connection.audience_id == audience_id,
                                                               Connection.configuration_id == configuration.id)).first()
        if existing is not None:
            raise InvalidInput(f'Audience "{audience.name}" is already connected to "{configuration.name}" '
                               f"(connection {existing}).")
        row = Connection(audience_id=audience_id, configuration_id=configuration.id, settings=settings, status=status,
                         created_by=self.user)
        session.add(row)
        session.flush()
        session.add(ForwardingState(connection_id=row.id))
        emit_after_commit(session, "connection_changed", row.id)
        emit_after_commit(session, "audience_changed", audience_id)
        return row.id

    def disconnect(self, connection_id: int) -> ConnectionInfo:
        """Remove the connection and what was recorded of its forwarding (the partner keeps what it received)."""
        info = self.get(connection_id)
        with self.store.transaction() as session:
            session.delete(session.get(Connection, connection_id))
            emit_after_commit(session, "connection_changed", connection_id)
            emit_after_commit(session, "audience_changed", info.audience_id)
        return info

    def set_status(self, connection_id: int, status: str) -> ConnectionInfo:
        _check_status(status)
        with self.store.transaction() as session:
            row = self._load(session, connection_id)
            if row.status != status:
                row.status = status
                row.updated_at = utc_now()
                emit_after_commit(session, "connection_changed", connection_id)
        return self.get(connection_id)

    def edit_settings(self, connection_id: int, settings: Mapping[str, Any]) -> ConnectionInfo:
        with self.store.transaction() as session:
            row = self._load(session, connection_id)
            configuration = session.get(OutputConfiguration, row.configuration_id)
            row.settings = clean_settings(partner(configuration.partner).connection_fields,
                                          {**row.settings, **settings}, what="connection settings")
            row.updated_at = utc_now()
            emit_after_commit(session, "connection_changed", connection_id)
        return self.get(connection_id)

    def get(self, connection_id: int) -> ConnectionInfo:
        found = self.list(connection_ids=[int(connection_id)])
        if not found:
            raise NotFound(f"There is no connection with id {connection_id}.")
        return found[0]

    def list(self, *, audience_id: int | None = None, configuration_id: int | None = None,
             connection_ids: Iterable[int] | None = None) -> list[ConnectionInfo]:
        query = (select(Connection, Audience.name, OutputConfiguration.name, OutputConfiguration.partner)
                 .join(Audience, Audience.id == Connection.audience_id)
                 .join(OutputConfiguration, OutputConfiguration.id == Connection.configuration_id)
                 .order_by(func.lower(Audience.name), func.lower(OutputConfiguration.name)))
        if audience_id is not None:
            query = query.where(Connection.audience_id == audience_id)
        if configuration_id is not None:
            query = query.where(Connection.configuration_id == configuration_id)
        if connection_ids is not None:
            query = query.where(Connection.id.in_(list(connection_ids)))
        with self.store.transaction() as session:
            rows = session.execute(query).all()
            ids = [row[0].id for row in rows]
            held = dict(session.execute(select(ForwardedIdentity.connection_id, func.count())
                                        .where(ForwardedIdentity.connection_id.in_(ids))
                                        .group_by(ForwardedIdentity.connection_id)).all())
            pending = dict(session.execute(select(PendingBatch.connection_id, func.count())
                                           .where(PendingBatch.connection_id.in_(ids))
                                           .group_by(PendingBatch.connection_id)).all())
            states = {s.connection_id: s for s in session.scalars(select(ForwardingState)
                                                                  .where(ForwardingState.connection_id.in_(ids)))}
        faults = {f.connection_id: f for f in reversed(self._faults.list(open_only=True))}
        out = []
        for row, audience_name, output_name, partner_key in rows:
            state = states.get(row.id)
            out.append(ConnectionInfo(row.id, row.audience_id, audience_name, row.configuration_id, output_name,
                                      partner_key, dict(row.settings), row.status, faults.get(row.id),
                                      held.get(row.id, 0), pending.get(row.id, 0),
                                      state.last_forwarded_at if state else None, row.created_by, row.created_at,
                                      row.updated_at, row.variant_id, tuple(row.shared_attributes or ()),
                                      row.send_requested_at))
        return out

    def counts_by_audience(self) -> dict[int, int]:
        """audience id → connections: the audiences list's Connected Outputs column."""
        with self.store.transaction() as session:
            return dict(session.execute(select(Connection.audience_id, func.count()).group_by(Connection.audience_id)).all())

    @staticmethod
    def _configuration(session: Session, configuration_id: int) -> OutputConfiguration:
        row = session.get(OutputConfiguration, int(configuration_id))
        if row is None:
            raise NotFound(f"There is no output with id {configuration_id}.")
        return row

    @staticmethod
    def _load(session: Session, connection_id: int) -> Connection:
        row = session.get(Connection, int(connection_id))
        if row is None:
            raise NotFound(f"There is no connection with id {connection_id}.")
        return row
