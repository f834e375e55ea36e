"""Run history: each forwarding run of a connection (start, end, adds and removes planned / sent / rejected,
retries, the fault) and the records partners rejected on their own. Written by the forwarding engine, read by
the Connections pane, the audience's Connect tab and `audience-studio outputs runs`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from sqlalchemy import delete, func, select

from app.models.store.db import Store, emit_after_commit
from app.models.store.schema import RUN_TRIGGERS, Audience, Connection, ForwardingRun, OutputConfiguration, RejectedRecord

#: Runs kept per connection; older ones are dropped as new ones are recorded.
KEPT_RUNS = 200


@dataclass(frozen=True)
class RunInfo:
    id: int
    connection_id: int
    audience_name: str
    output_name: str
    trigger: str
    started_at: dt.datetime
    ended_at: dt.datetime
    outcome: str
    adds_planned: int
    removes_planned: int
    adds_sent: int
    removes_sent: int
    adds_rejected: int
    removes_rejected: int
    retries: int
    batches: int
    fault_id: int | None
    message: str | None

    @property
    def seconds(self) -> float:
        return max(0.0, (self.ended_at - self.started_at).total_seconds())

    def as_json(self) -> dict[str, object]:
        out = asdict(self)
        out["started_at"] = _iso(self.started_at)
        out["ended_at"] = _iso(self.ended_at)
        return out


@dataclass(frozen=True)
class RunCounts:
    """What a run did, as the engine counted it."""

    adds_planned: int = 0
    removes_planned: int = 0
    adds_sent: int = 0
    removes_sent: int = 0
    adds_rejected: int = 0
    removes_rejected: int = 0
    retries: int = 0
    batches: int = 0


@dataclass(frozen=True)
class RejectedInfo:
    connection_id: int
    identity_type: str
    action: str
    reason: str
    rejected_at: dt.datetime


def _iso(value: dt.datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


class ForwardingRunService:
    def __init__(self, store: Store):
        self.store = store

    def record(self, connection_id: int, trigger: str, started_at: dt.datetime, ended_at: dt.datetime, outcome: str,
               counts: RunCounts, *, fault_id: int | None = None, message: str | None = None) -> int:
        """Store one run (and drop the connection's runs beyond the newest KEPT_RUNS); its id."""
        if trigger not in RUN_TRIGGERS:
            raise ValueError(f"unknown run trigger {trigger!r}")
        with self.store.transaction() as session:
            if session.get(Connection, int(connection_id)) is None:
                return 0  # disconnected while the run went: nothing to attach the history to
            row = ForwardingRun(connection_id=connection_id, trigger=trigger, started_at=started_at, ended_at=ended_at,
                                outcome=outcome, fault_id=fault_id, message=(message or None) and message[:2000],
                                **asdict(counts))
            session.add(row)
            session.flush()
            old = select(ForwardingRun.id).where(ForwardingRun.connection_id == connection_id) \
                .order_by(ForwardingRun.id.desc()).offset(KEPT_RUNS)
            session.execute(delete(ForwardingRun).where(ForwardingRun.id.in_(old)))
            emit_after_commit(session, "connection_changed", connection_id)
            return row.id

    def list(self, *, connection_ids: Iterable[int] | None = None, audience_id: int | None = None,
             limit: int | None = None) -> list[RunInfo]:
        """Runs, newest first."""
        query = (select(ForwardingRun, Audience.name, OutputConfiguration.name)
                 .join(Connection, Connection.id == ForwardingRun.connection_id)
                 .join(Audience, Audience.id == Connection.audience_id)
                 .join(OutputConfiguration, OutputConfiguration.id == Connection.configuration_id)
                 .order_by(ForwardingRun.started_at.desc(), ForwardingRun.id.desc()))
        if connection_ids is not None:
            query = query.where(ForwardingRun.connection_id.in_([int(c) for c in connection_ids]))
        if audience_id is not None:
            query = query.where(Connection.audience_id == int(audience_id))
        if limit is not None:
            query = query.limit(int(limit))
        with self.store.transaction() as session:
            return [_info(row, audience, output) for row, audience, output in session.execute(query).all()]

    def last_by_connection(self) -> dict[int, RunInfo]:
        """connection id → its newest run (the Last run column)."""
        newest = select(func.max(ForwardingRun.id)).group_by(ForwardingRun.connection_id)
        query = (select(ForwardingRun, Audience.name, OutputConfiguration.name)
                 .join(Connection, Connection.id == ForwardingRun.connection_id)
                 .join(Audience, Audience.id == Connection.audience_id)
                 .join(OutputConfiguration, OutputConfiguration.id == Connection.configuration_id)
                 .where(ForwardingRun.id.in_(newest)))
        with self.store.transaction() as session:
            return {row.connection_id: _info(row, a, o) for row, a, o in session.execute(query).all()}

    def rejected(self, connection_id: int) -> list[RejectedInfo]:
        """The records the partner refused for this connection (type, action and reason; the value stays in the store)."""
        with self.store.transaction() as session:
            rows = session.scalars(select(RejectedRecord).where(RejectedRecord.connection_id == int(connection_id))
                                   .order_by(RejectedRecord.rejected_at.desc())).all()
            return [RejectedInfo(r.connection_id, r.identity_type, r.action, r.reason, r.rejected_at) for r in rows]


def _info(row: ForwardingRun, audience: str, output: str) -> RunInfo:
    return RunInfo(row.id, row.connection_id, audience, output, row.trigger, row.started_at, row.ended_at, row.outcome,
                   row.adds_planned, row.removes_planned, row.adds_sent, row.removes_sent, row.adds_rejected,
                   row.removes_rejected, row.retries, row.batches, row.fault_id, row.message)
