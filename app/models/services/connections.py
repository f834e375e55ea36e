"""Connections of audiences to outputs: connect, disconnect, Sending/Inactive, bulk connect with a per-audience report."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.connectors.outputs.directory import partner
from app.connectors.outputs.partner import Partner
from app.connectors.outputs.settings import clean_settings
from app.errors import InvalidInput, NotFound, UserError
from app.models.store.db import Store, emit_after_commit, utc_now
from app.models.services.faults import FaultInfo, FaultService
from app.models.store.schema import (
    CONNECTION_STATUSES,
    ABTest,
    ABVariant,
    Audience,
    Connection,
    Fault,
    ForwardedIdentity,
    ForwardingState,
    OutputConfiguration,
    PendingBatch,
)

if TYPE_CHECKING:
    from app.connectors.cache import Cache

log = logging.getLogger(__name__)

#: Why an audience cannot be connected in bulk, or None: (session, audience id) → reason.
Refusal = Callable[[Session, int], str | None]


def ab_test_refusal(session: Session, audience_id: int) -> str | None:
    """Bulk connections refuse audiences with a saved A/B test: each variation needs its own connection."""
    if session.scalars(select(ABTest.id).where(ABTest.audience_id == audience_id)).first() is not None:
        return ("it has an A/B test; connect the whole audience or each variation from the audience's "
                "A/B Test tab")
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
    #: The name of the A/B variation connected (None for the whole audience).
    variant_name: str | None = None

    @property
    def target_name(self) -> str:
        """What is connected, as the admin names it: the audience, or "Audience - Variation"."""
        return f"{self.audience_name} - {self.variant_name}" if self.variant_name else self.audience_name

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


@dataclass(frozen=True)
class SharingChoices:
    """The user attributes a connection of an audience to an output may share, or why it may share none."""

    #: The workspace's user attributes (from the cache's catalog), by name; empty when refused.
    names: tuple[str, ...]
    #: Why attributes cannot be shared (the audience, the partner); None when they can.
    refusal: str | None
    workspace_id: int | None = None

    @property
    def eligible(self) -> bool:
        return self.refusal is None


def sharing_refusal(audience: Audience, declared: Partner) -> str | None:
    """Why this audience's connection to this partner cannot share user attributes, or None when it can.

    Only single-workspace real-time audiences: a standard audience's members are a past snapshot, and
    attribute names mean different things in different workspaces.
    """
    if not declared.accepts_attributes:
        return declared.attributes_refusal()
    if audience.kind != "realtime":
        return (f'"{audience.name}" is a standard audience; only single-workspace real-time audiences share '
                "user attributes.")
    if len(audience.workspace_links) != 1:
        return (f'"{audience.name}" reads {len(audience.workspace_links)} workspaces; only single-workspace '
                "real-time audiences share user attributes.")
    return None


def _check_status(status: str) -> None:
    if status not in CONNECTION_STATUSES:
        raise InvalidInput(f'Connection status "{status}" is not known; use one of: {", ".join(CONNECTION_STATUSES)}.')


def draft_refusal(audience: Audience, status: str) -> str | None:
    """Why the audience cannot have a connection with this status: a draft audience is never forwarded, so a Sending
    connection of it would silently send nothing (Inactive is allowed, to prepare the connection before activating)."""
    if status == "sending" and audience.kind != "standard" and audience.status == "draft":
        return (f'Audience "{audience.name}" is a draft, so nothing would be sent: activate it first, or connect it '
                "as Inactive and make the connection Sending once the audience is active.")
    return None


class ConnectionService:
    def __init__(self, store: Store, user: str, *, refusals: Iterable[Refusal] = (ab_test_refusal,),
                 cache: "Cache | None" = None):
        self.store = store
        self.user = user
        #: Where the workspaces' user attributes are listed; without it, shared attributes cannot be chosen.
        self.cache = cache
        self._refusals = tuple(refusals)
        self._faults = FaultService(store, user)

    def connect(self, audience_id: int, configuration_id: int, settings: Mapping[str, Any] | None = None, *,
                status: str = "sending", shared_attributes: Iterable[str] = (),
                variant_id: int | None = None) -> ConnectionInfo:
        """Connect one audience to an output with the connection's own settings (and user attributes to share)."""
        _check_status(status)
        names = self._checked_attributes(audience_id, configuration_id, shared_attributes)
        with self.store.transaction() as session:
            configuration = self._configuration(session, configuration_id)
            cleaned = clean_settings(partner(configuration.partner).connection_fields, settings or {},
                                     what="connection settings")
            connection_id = self._connect(session, audience_id, configuration, cleaned, status, variant_id)
            if names:
                session.get(Connection, connection_id).shared_attributes = names
        return self.get(connection_id)

    def sharing_choices(self, audience_id: int, configuration_id: int) -> SharingChoices:
        """The user attributes a connection of the audience to the output may share, or why none."""
        with self.store.transaction() as session:
            audience = session.get(Audience, int(audience_id))
            if audience is None:
                raise NotFound(f"There is no audience with id {audience_id}.")
            refusal = sharing_refusal(audience, partner(self._configuration(session, configuration_id).partner))
            workspace_id = audience.workspace_links[0].workspace_id if len(audience.workspace_links) == 1 else None
        if refusal is not None:
            return SharingChoices((), refusal, workspace_id)
        if self.cache is None:
            return SharingChoices((), "The cache is not open here, so its user attributes cannot be listed.",
                                  workspace_id)
        return SharingChoices(tuple(self.cache.attribute_names(workspace_id)), None, workspace_id)

    def set_shared_attributes(self, connection_id: int, names: Iterable[str]) -> ConnectionInfo:
        """Choose the user attributes forwarded with the connection's identities (none: identities only).

        The next forwarding run re-sends every held identity whose values it now carries differently.
        """
        with self.store.transaction() as session:
            row = self._load(session, connection_id)
            audience_id, configuration_id = row.audience_id, row.configuration_id
        cleaned = self._checked_attributes(audience_id, configuration_id, names)
        with self.store.transaction() as session:
            row = self._load(session, connection_id)
            if list(row.shared_attributes or []) != cleaned:
                row.shared_attributes = cleaned
                row.updated_at = utc_now()
                emit_after_commit(session, "connection_changed", connection_id)
        log.info("connection %s shares %d user attributes", connection_id, len(cleaned))
        return self.get(connection_id)

    def _checked_attributes(self, audience_id: int, configuration_id: int, names: Iterable[str]) -> list[str]:
        """The names, trimmed, without repeats and sorted; InvalidInput unless the connection may share them all."""
        cleaned = sorted({str(n).strip() for n in names if str(n).strip()}, key=lambda n: (n.casefold(), n))
        if not cleaned:
            return []
        choices = self.sharing_choices(audience_id, configuration_id)
        if choices.refusal is not None:
            raise InvalidInput(f"User attributes cannot be shared: {choices.refusal}")
        unknown = [n for n in cleaned if n not in choices.names]
        if unknown:
            known = ", ".join(choices.names) if choices.names else "none yet (sync or import data first)"
            raise InvalidInput(f"Not user attributes of the audience's workspace: {', '.join(unknown)}. "
                               f"Its user attributes: {known}.")
        return cleaned

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
                 settings: dict[str, Any], status: str, variant_id: int | None = None) -> int:
        audience = session.get(Audience, audience_id)
        if audience is None:
            raise NotFound(f"There is no audience with id {audience_id}.")
        if audience.kind == "standard":
            # Imported here: the standard audiences module pulls in the compiler and the cache's engine.
            from app.models.services.standard_audiences import expiry_refusal

            expired = expiry_refusal(session, audience_id)
            if expired:
                raise InvalidInput(f'Standard audience "{audience.name}" cannot be connected: {expired}.')
        target, same_target = f'Audience "{audience.name}"', Connection.variant_id.is_(None)
        if variant_id is not None:
            variant = session.get(ABVariant, int(variant_id))
            if variant is None or session.get(ABTest, variant.test_id).audience_id != audience_id:
                raise InvalidInput(f'Variation {variant_id} is not a variation of the A/B test of "{audience.name}".')
            target, same_target = f'Variation "{variant.name}" of "{audience.name}"', Connection.variant_id == variant.id
        existing = session.scalars(select(Connection.id).where(Connection.audience_id == audience_id, same_target,
                                                               Connection.configuration_id == configuration.id)).first()
        if existing is not None:
            raise InvalidInput(f'{target} is already connected to "{configuration.name}" (connection {existing}).')
        refused = draft_refusal(audience, status)
        if refused:
            raise InvalidInput(refused)
        row = Connection(audience_id=audience_id, configuration_id=configuration.id, settings=settings, status=status,
                         variant_id=variant_id, created_by=self.user)
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
            refused = draft_refusal(session.get(Audience, row.audience_id), status)
            if refused and row.status != status:
                raise InvalidInput(refused)
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
        query = (select(Connection, Audience.name, OutputConfiguration.name, OutputConfiguration.partner, ABVariant.name)
                 .join(Audience, Audience.id == Connection.audience_id)
                 .join(OutputConfiguration, OutputConfiguration.id == Connection.configuration_id)
                 .outerjoin(ABVariant, ABVariant.id == Connection.variant_id)
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
        for row, audience_name, output_name, partner_key, variant_name in rows:
            state = states.get(row.id)
            out.append(ConnectionInfo(row.id, row.audience_id, audience_name, row.configuration_id, output_name,
                                      partner_key, dict(row.settings), row.status, faults.get(row.id),
                                      held.get(row.id, 0), pending.get(row.id, 0),
                                      state.last_forwarded_at if state else None, row.created_by, row.created_at,
                                      row.updated_at, row.variant_id, tuple(row.shared_attributes or ()),
                                      row.send_requested_at, variant_name=variant_name))
        return out

    def counts_by_audience(self) -> dict[int, int]:
        """audience id → connections: the audiences list's Connected Outputs column."""
        with self.store.transaction() as session:
            return dict(session.execute(select(Connection.audience_id, func.count()).group_by(Connection.audience_id)).all())

    def outputs_by_audience(self) -> dict[int, tuple[int, int]]:
        """audience id → (outputs it is connected to, those of them with an open fault): the audiences list's
        Outputs column. Outputs, not connections: an audience whose A/B variations go to one output has a
        connection per variation, but one output."""
        with self.store.transaction() as session:
            outputs = dict(session.execute(
                select(Connection.audience_id, func.count(Connection.configuration_id.distinct()))
                .group_by(Connection.audience_id)).all())
            faulted = dict(session.execute(
                select(Connection.audience_id, func.count(Connection.configuration_id.distinct()))
                .join(Fault, Fault.connection_id == Connection.id).where(Fault.resolved_at.is_(None))
                .group_by(Connection.audience_id)).all())
        return {audience_id: (count, faulted.get(audience_id, 0)) for audience_id, count in outputs.items()}

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
