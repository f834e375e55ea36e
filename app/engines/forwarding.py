"""The forwarding engine: keeps each Sending connection's partner audience in step with the audience's membership.

A plain class run by a worker (or `audience-studio outputs forward`); no Qt. For each connection it:

1. sends the batches left pending by an earlier run that stopped (a fault, a cancel, a crash), under
   their original ids, so a partner that had already received one ignores it;
2. works out the identities the audience has now (members from the cache; every identity of each
   member the output sends, from every workspace of the profile), in the partner's form;
3. plans adds (there now, not yet held by the partner) and drops (held, no longer there) as batches,
   stored before the first is sent; the first run is the full upload;
4. sends each batch with retries; once the partner acknowledges it, records it as held, in one
   transaction with the removal of the pending batch: a batch is never both held and pending.

When a batch cannot be delivered (retries exhausted, 401, 403, a configuration error) a fault is
opened and the connection is left until the admin resumes it; the remaining batches stay pending.
A partner that takes a batch but refuses some of its records (per-record errors) does not fault: the
refused records are recorded (type and reason) and not sent again while they stay in the audience.

Each run that planned, sent or faulted anything (and every manual run) is kept in the run history
(models.services.forwarding_runs). Requests to a partner wait for the output's token bucket
(engines.rate_limits) when its partner declares a rate limit.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import requests
from sqlalchemy import delete, insert, select, update

from app.builder.document import CriteriaError
from app.connectors.outputs.batches import ADD, REMOVE, Attributes, Batch, Destination, Identity, attributes_hash
from app.connectors.outputs.directory import partner
from app.connectors.outputs.errors import OTHER, Failure, PartnerError
from app.connectors.outputs.partner import IDENTITY_TYPES_KEY, Partner, PartnerClient
from app.connectors.outputs.rejections import Rejected
from app.connectors.outputs.sending import RetryPolicy, SendFailed, call_with_retries
from app.models.services.audiences import AudienceInfo
from app.models.services.connections import ConnectionInfo
from app.models.services.forwarding_runs import ForwardingRunService, RunCounts
from app.models.store.db import utc_now
from app.engines.members import Variation, members_sql, variation
from app.engines.home import OpenHome
from app.engines.rate_limits import RateLimits
from app.models.services.outputs import OutputInfo
from app.models.store.schema import ForwardedIdentity, ForwardingState, PendingBatch, RejectedRecord

log = logging.getLogger(__name__)

SENT, UP_TO_DATE, SKIPPED, FAULTED, CANCELLED = "sent", "up to date", "skipped", "faulted", "cancelled"


@dataclass(frozen=True)
class ForwardingReport:
    """What one run did for one connection."""

    connection_id: int
    audience_name: str
    output_name: str
    outcome: str
    added: int = 0
    removed: int = 0
    batches: int = 0
    retries: int = 0
    #: Why it was skipped, or the fault's message.
    reason: str | None = None
    fault_id: int | None = None
    #: Identities the partner held already, sent again because their shared attribute values changed.
    updated: int = 0
    #: Records the partner refused on their own (per-record errors), adds and removes.
    rejected: int = 0


@dataclass(frozen=True)
class Membership:
    """The identities an output should hold for an audience, and how many members' values were unusable."""

    identities: frozenset[tuple[str, str]]
    members: int
    unusable: int
    #: With shared attributes: (type, value) → the member's values of them, sent with the identity.
    attributes: Mapping[tuple[str, str], Attributes] = field(default_factory=dict)


def plan_batches(adds: Iterable[tuple[str, str]], removes: Iterable[tuple[str, str]], limit: int,
                 first_sequence: int, attributes: Mapping[tuple[str, str], Attributes] | None = None) -> list[Batch]:
    """Adds then removes, each sorted (so a plan is reproducible) and cut into batches of at most `limit`.

    Each add carries its values from `attributes` when the connection shares some (removes never do).
    """
    batches: list[Batch] = []
    sequence = first_sequence
    carried = attributes or {}
    for action, items in ((ADD, sorted(adds)), (REMOVE, sorted(removes))):
        for start in range(0, len(items), limit):
            chunk = tuple(Identity(t, v, carried.get((t, v)) if action == ADD else None)
                          for t, v in items[start:start + limit])
            batches.append(Batch(Batch.new_id(), sequence, action, chunk))
            sequence += 1
    return batches


class ForwardingEngine:
    """Forwards audiences to their outputs; `cancel()` from any thread stops it between batches (resumable).

    `sleep`, `rng` and `clock` are injectable so tests run retry schedules and token expiry instantly;
    `batch_size` caps batches below the partner's own limit.
    """

    def __init__(self, home: OpenHome, *, http: requests.Session | None = None, policy: RetryPolicy = RetryPolicy(),
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None,
                 clock: Callable[[], float] = time.time, now: Callable[[], dt.datetime] = utc_now,
                 batch_size: int | None = None, trigger: str = "manual", rate_limits: RateLimits | None = None):
        self._home = home
        #: What started the runs, for the run history: manual, automatic or agent.
        self.trigger = trigger
        #: Shared by every engine of the process forwarding to the same outputs (per-output token buckets).
        self.rate_limits = rate_limits or RateLimits(sleep=sleep)
        self._runs = ForwardingRunService(home.store)
        self._http = http or requests.Session()
        self._policy, self._sleep, self._rng = policy, sleep, rng or random.Random()
        self._clock, self._now = clock, now
        self._batch_size = batch_size
        self._cancelled = threading.Event()
        #: Called after each batch is acknowledged: (connection id, batches sent this run, batches planned so far).
        self.on_batch: Callable[[int, int, int], None] | None = None

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    # -- runs -----------------------------------------------------------------------------------

    def forward(self, connection_ids: Iterable[int] | None = None,
                progress: Callable[[ForwardingReport], None] | None = None) -> list[ForwardingReport]:
        """Forward every connection (or those given), one after the other; a report for each."""
        ids = list(connection_ids) if connection_ids is not None else [c.id for c in self._home.connections.list()]
        reports = []
        for connection_id in ids:
            if self._cancelled.is_set():
                break
            report = self.forward_one(connection_id)
            reports.append(report)
            if progress is not None:
                progress(report)
        return reports

    def forward_one(self, connection_id: int) -> ForwardingReport:
        """Bring one connection's partner in step, and keep the run in its history (unless there was nothing to do).

        One run per connection at a time in a process: Forward Now and automatic forwarding of the same
        connection take turns (two at once would plan the same adds twice, under different batch ids)."""
        with _connection_lock(self._home, connection_id):
            started = utc_now()
            counts = _Counts()
            report = self._forward_one(connection_id, counts)
            self._record_run(connection_id, started, counts, report)
        return report

    def _record_run(self, connection_id: int, started: dt.datetime, counts: "_Counts",
                    report: ForwardingReport) -> None:
        if report.outcome != SKIPPED and (report.outcome != UP_TO_DATE or self.trigger == "manual"):
            message = report.reason if report.outcome in (FAULTED, CANCELLED) else None
            self._runs.record(connection_id, self.trigger, started, utc_now(), report.outcome, counts.frozen(report),
                              fault_id=report.fault_id, message=message)

    def _forward_one(self, connection_id: int, counts: "_Counts") -> ForwardingReport:
        connection = self._home.connections.get(connection_id)
        output = self._home.outputs.get(connection.configuration_id)
        audience = self._home.audiences.get(connection.audience_id)
        report = _Reporter(connection, output, counts)
        if connection.status != "sending":
            return report.done(SKIPPED, "the connection is Inactive")
        if connection.fault is not None:
            return report.done(SKIPPED, f"fault {connection.fault.id} is open ({connection.fault.category}); "
                                        "resume it to continue")
        if audience.kind == "standard":
            # Forwarded only when the user pressed Send since the last forwarding, never once expired.
            from app.models.services.standard_audiences import send_refusal

            waiting = send_refusal(self._home.store, audience.id, connection, self._now())
            if waiting:
                return report.done(SKIPPED, waiting)
        elif audience.status != "active":
            return report.done(SKIPPED, f"the audience is {audience.status}; activate it to forward it")
        declared = partner(output.partner)
        try:
            client = declared.make_client(self._home.output_sign_in.context(output, http=self._http, clock=self._clock))
            bucket = self.rate_limits.bucket(output.id, declared.requests_per_second, declared.burst)
            if bucket is not None:
                client = _Throttled(client, bucket.take)
            destination = self._prepare(client, connection, audience)
            self._send_pending(client, destination, report)
            if self._cancelled.is_set():
                return report.done(CANCELLED, "cancelled; the rest is sent on the next run")
            try:
                chosen = variation(self._home, connection.variant_id) if connection.variant_id is not None else None
                membership = self.membership(audience, output, chosen, shared=_shared(connection, audience, declared))
            except CriteriaError as exc:
                return report.done(SKIPPED, f"the audience cannot be calculated from the cache: {exc}")
            if membership is None:
                return report.done(SKIPPED, "the cache holds no profiles of the audience's workspaces; sync or "
                                            "import first (forwarding an empty cache would remove everyone)")
            if self._plan(connection.id, declared, membership):
                self._send_pending(client, destination, report)
                if self._cancelled.is_set():
                    return report.done(CANCELLED, "cancelled; the rest is sent on the next run")
            self._mark_forwarded(connection.id)
        except SendFailed as exc:
            fault = self._home.faults.record(connection.id, exc.failure)
            log.warning("connection %s faulted (%s, status %s) after %d retries", connection.id,
                        fault.category, fault.status_code, fault.retries)
            return report.done(FAULTED, fault.message, fault.id)
        return report.done(SENT if report.batches else UP_TO_DATE)

    # -- steps ----------------------------------------------------------------------------------

    def _prepare(self, client: PartnerClient, connection: ConnectionInfo, audience: AudienceInfo) -> Destination:
        with self._home.store.transaction() as session:
            state = session.get(ForwardingState, connection.id)
            partner_ref = state.partner_ref if state else None
        destination = Destination(connection.id, audience.id, downstream_name(audience, connection),
                                  dict(connection.settings), partner_ref)
        try:
            new_ref, _ = call_with_retries(lambda: client.prepare(destination), policy=self._policy, sleep=self._sleep,
                                           rng=self._rng, label=f"preparing connection {connection.id}")
        except Exception as exc:
            if isinstance(exc, SendFailed):
                raise
            # A partner client's bug must not kill the whole run; it becomes a fault the admin can see.
            log.exception("preparing connection %s failed", connection.id)
            raise SendFailed(Failure(OTHER, f"Unexpected error preparing the partner: {exc}", None, 0)) from exc
        if new_ref != partner_ref:
            with self._home.store.transaction() as session:
                _state(session, connection.id).partner_ref = new_ref
            destination = Destination(destination.connection_id, destination.audience_id, destination.audience_name,
                                      destination.connection_settings, new_ref)
        return destination

    def membership(self, audience: AudienceInfo, output: OutputInfo, variation: Variation | None = None, *,
                   shared: Sequence[str] = ()) -> Membership | None:
        """The identities the output should hold for the audience (or variation) now, with each member's values of
        the `shared` user attributes; None when the cache has no profiles in scope."""
        declared = partner(output.partner)
        types = [t for t in output.settings.get(IDENTITY_TYPES_KEY, declared.identity_types) if t in declared.identity_types]
        home = self._home
        home.cache.refresh_catalogs()
        cursor = home.cache.cursor()
        try:
            placeholders = ", ".join("?" for _ in audience.workspace_ids)
            profiles = cursor.execute(f"SELECT count(*) FROM profiles WHERE workspace_id IN ({placeholders})",
                                      list(audience.workspace_ids)).fetchone()[0]
            if not profiles:
                return None
            sql, params = members_sql(home, audience, cursor, now=self._now(), variation=variation)
            wanted = ", ".join("?" for _ in types) or "NULL"
            # No workspace filter on identities: a member's identities from every workspace of the profile count.
            rows = cursor.execute(
                f"WITH members AS MATERIALIZED ({sql})\n"
                f"SELECT m.mpid, i.identity_type, i.value FROM members m "
                f"LEFT JOIN identities i ON i.mpid = m.mpid AND i.identity_type IN ({wanted})",
                params + types).fetchall()
            values = _attribute_values(cursor, sql, params, audience.workspace_ids[0], shared) if shared else {}
        finally:
            cursor.close()
        identities: set[tuple[str, str]] = set()
        attributes: dict[tuple[str, str], Attributes] = {}
        unusable = 0
        # With attributes, by mpid: an identity two members share always carries the same member's values.
        ordered = sorted(rows, key=lambda row: (row[0], row[1] or "", row[2] or "")) if shared else rows
        for mpid, identity_type, value in ordered:
            if identity_type is None:
                continue
            sent = declared.to_partner(identity_type, value)
            if sent is None:
                unusable += 1
                continue
            if shared and (identity_type, sent) not in identities:
                member = values.get(mpid, {})
                attributes[(identity_type, sent)] = {name: member.get(name) for name in shared}
            identities.add((identity_type, sent))
        return Membership(frozenset(identities), len({row[0] for row in rows}), unusable, attributes)

    def _plan(self, connection_id: int, declared: Partner, membership: Membership) -> bool:
        """Store the batches that bring the partner in step; False when it already is.

        With shared attributes, an identity the partner holds whose values changed since they were sent is
        sent again as an add (partners treat it as an upsert).
        """
        with self._home.store.transaction() as session:
            held = {(t, v): h for t, v, h in session.execute(
                select(ForwardedIdentity.identity_type, ForwardedIdentity.value, ForwardedIdentity.attributes_hash)
                .where(ForwardedIdentity.connection_id == connection_id))}
            refused = set(session.execute(
                select(RejectedRecord.identity_type, RejectedRecord.value)
                .where(RejectedRecord.connection_id == connection_id, RejectedRecord.action == ADD)).all())
            gone = refused - membership.identities
            if gone:  # left the audience: forgotten, and sent again should they come back
                for identity_type, value in gone:
                    session.execute(delete(RejectedRecord).where(
                        RejectedRecord.connection_id == connection_id, RejectedRecord.identity_type == identity_type,
                        RejectedRecord.value == value))
            # What the partner refused is not offered again while it stays in the audience.
            adds = membership.identities - held.keys() - refused
            removes = held.keys() - membership.identities
            changed = {pair for pair, values in membership.attributes.items()
                       if pair in held and held[pair] != attributes_hash(values)}
            if not adds and not removes and not changed:
                return False
            state = _state(session, connection_id)
            limit = min(declared.max_batch, self._batch_size or declared.max_batch)
            # The planned values are stored with the batch: a retried batch is the same batch.
            batches = plan_batches(adds | changed, removes, limit, state.next_sequence, membership.attributes)
            state.next_sequence += len(batches)
            session.execute(insert(PendingBatch), [
                {"connection_id": connection_id, "batch_id": b.id, "sequence": b.sequence, "action": b.action,
                 "identities": [i.to_json() for i in b.identities], "created_at": utc_now()} for b in batches])
        log.info("connection %s: planned %d adds, %d updates and %d drops in %d batches", connection_id, len(adds),
                 len(changed), len(removes), len(batches))
        return True

    def _send_pending(self, client: PartnerClient, destination: Destination, report: "_Reporter") -> None:
        with self._home.store.transaction() as session:
            pending = [(row.batch_id, row.sequence, row.action, list(row.identities))
                       for row in session.scalars(select(PendingBatch).where(
                           PendingBatch.connection_id == destination.connection_id).order_by(PendingBatch.sequence))]
        report.planned += len(pending)
        for _, _, action, items in pending:
            report.counts.plan(action, len(items))
        if pending and self.on_batch is not None:
            self.on_batch(destination.connection_id, report.batches, report.planned)
        for batch_id, sequence, action, items in pending:
            if self._cancelled.is_set():
                return
            batch = Batch(batch_id, sequence, action, tuple(Identity.from_json(item) for item in items))
            try:
                refused, retries = call_with_retries(
                    lambda: client.send(batch, destination), policy=self._policy, sleep=self._sleep, rng=self._rng,
                    batch_id=batch.id, label=f"batch {batch.id} to connection {destination.connection_id}")
            except PartnerError as exc:  # pragma: no cover - call_with_retries turns these into SendFailed
                raise SendFailed(Failure(exc.category, exc.message, exc.status, 0, batch.id)) from exc
            rejected = list(refused or ())
            new = self._acknowledge(destination.connection_id, batch, rejected)
            report.count(batch, retries, new, len({(r.identity_type, r.value) for r in rejected}))
            if self.on_batch is not None:
                self.on_batch(destination.connection_id, report.batches, report.planned)

    def _acknowledge(self, connection_id: int, batch: Batch, rejected: Sequence[Rejected] = ()) -> int:
        """The partner has the batch: record what it now holds (all but the records it refused, which are kept
        as rejected) and drop the batch from pending, together.

        Returns how many of its identities the partner did not hold before (the rest were updates)."""
        refused = {(r.identity_type, r.value): r.reason for r in rejected}
        with self._home.store.transaction() as session:
            pairs = [{"connection_id": connection_id, "identity_type": i.type, "value": i.value,
                      "attributes_hash": attributes_hash(i.attributes)} for i in batch.identities
                     if (i.type, i.value) not in refused]
            new = 0
            if refused:
                # Type and count only: the values are the members' identities and never go to a log.
                log.warning("connection %s: the partner refused %d records of batch %s (%s)", connection_id,
                            len(refused), batch.id, ", ".join(sorted({t for t, _ in refused})))
                at = utc_now()
                session.execute(insert(RejectedRecord).prefix_with("OR REPLACE"), [
                    {"connection_id": connection_id, "identity_type": t, "value": v, "action": batch.action,
                     "reason": reason, "rejected_at": at} for (t, v), reason in refused.items()])
            if batch.action == ADD and pairs:
                # New identities are inserted (counted by the insert, in time proportional to the batch, not to
                # all the partner holds); the ones it held get their new values' hash (an update).
                new = session.connection().execute(insert(ForwardedIdentity).prefix_with("OR IGNORE"), pairs).rowcount
                if new < len(pairs):
                    session.execute(update(ForwardedIdentity), pairs)
            elif batch.action != ADD:
                for identity in batch.identities:
                    session.execute(delete(ForwardedIdentity).where(
                        ForwardedIdentity.connection_id == connection_id,
                        ForwardedIdentity.identity_type == identity.type, ForwardedIdentity.value == identity.value))
            session.execute(delete(PendingBatch).where(PendingBatch.batch_id == batch.id))
            state = _state(session, connection_id)
            state.batches_sent += 1
            state.last_batch_id = batch.id
            state.last_forwarded_at = utc_now()
            return new

    def _mark_forwarded(self, connection_id: int) -> None:
        with self._home.store.transaction() as session:
            state = _state(session, connection_id)
            now = utc_now()
            if state.full_upload_at is None:
                state.full_upload_at = now
            state.last_forwarded_at = now


_connection_locks: dict[tuple[int, int], threading.Lock] = {}
_connection_locks_guard = threading.Lock()


def _connection_lock(home: OpenHome, connection_id: int) -> threading.Lock:
    with _connection_locks_guard:
        return _connection_locks.setdefault((id(home.store), int(connection_id)), threading.Lock())


def _shared(connection: ConnectionInfo, audience: AudienceInfo, declared: Partner) -> tuple[str, ...]:
    """The attributes to send: those chosen, while the partner takes them and the audience is single-workspace
    and real-time (an audience edited to read more workspaces stops sharing rather than mixing workspaces)."""
    if not connection.shared_attributes:
        return ()
    if not declared.accepts_attributes or audience.kind != "realtime" or len(audience.workspace_ids) != 1:
        log.warning("connection %s: its shared attributes are not sent (the audience or partner no longer allows "
                    "them)", connection.id)
        return ()
    return connection.shared_attributes


def _attribute_values(cursor, members_query: str, params: list, workspace_id: int,
                      names: Sequence[str]) -> dict[int, dict[str, object]]:
    """mpid → {name: value} of the members' shared attributes in the audience's workspace (lists as lists)."""
    wanted = ", ".join("?" for _ in names)
    rows = cursor.execute(
        f"WITH members AS MATERIALIZED ({members_query})\n"
        f"SELECT a.mpid, a.name, a.value, a.value_list, a.json_kind FROM members m "
        f"JOIN attributes a ON a.mpid = m.mpid AND a.workspace_id = ? AND a.name IN ({wanted})",
        params + [workspace_id, *names]).fetchall()
    values: dict[int, dict[str, object]] = {}
    for mpid, name, value, value_list, json_kind in rows:
        values.setdefault(mpid, {})[name] = list(value_list or []) if json_kind == "list" else value
    return values


def downstream_name(audience: AudienceInfo, connection: ConnectionInfo) -> str:
    """The audience's name at the partner: "[External Name] - [Variant Name]" for a variation's connection."""
    if connection.variant_id is None:
        return audience.effective_external_name
    return f"{audience.effective_external_name} - {connection.variant_name}"


def _state(session, connection_id: int) -> ForwardingState:
    state = session.get(ForwardingState, connection_id)
    if state is None:
        state = ForwardingState(connection_id=connection_id)
        session.add(state)
        session.flush()
    return state


class _Throttled:
    """A partner client whose every batch request first takes a token from the output's bucket (`prepare` is
    at most one request in a connection's life, so it is not counted)."""

    def __init__(self, client: PartnerClient, take: Callable[[], float]):
        self._client, self._take = client, take

    def prepare(self, destination: Destination) -> str | None:
        return self._client.prepare(destination)

    def send(self, batch: Batch, destination: Destination):
        self._take()
        return self._client.send(batch, destination)


class _Counts:
    """A run's identities planned, sent and rejected by action, for the run history."""

    def __init__(self) -> None:
        self.planned = {ADD: 0, REMOVE: 0}
        self.sent = {ADD: 0, REMOVE: 0}
        self.rejected = {ADD: 0, REMOVE: 0}

    def plan(self, action: str, identities: int) -> None:
        self.planned[action] += identities

    def frozen(self, report: ForwardingReport) -> RunCounts:
        return RunCounts(self.planned[ADD], self.planned[REMOVE], self.sent[ADD], self.sent[REMOVE],
                         self.rejected[ADD], self.rejected[REMOVE], report.retries, report.batches)


class _Reporter:
    def __init__(self, connection: ConnectionInfo, output: OutputInfo, counts: _Counts | None = None):
        self.connection, self.output = connection, output
        self.counts = counts or _Counts()
        self.added = self.removed = self.updated = self.batches = self.retries = self.rejected = 0
        #: Batches to send this run, as far as known (pending ones first, then those just planned).
        self.planned = 0

    def count(self, batch: Batch, retries: int, new: int | None = None, rejected: int = 0) -> None:
        self.batches += 1
        self.retries += retries
        self.rejected += rejected
        self.counts.sent[batch.action] += len(batch) - rejected
        self.counts.rejected[batch.action] += rejected
        if batch.action == ADD:
            new = len(batch) - rejected if new is None else new
            self.added += new
            self.updated += len(batch) - rejected - new
        else:
            self.removed += len(batch) - rejected

    def done(self, outcome: str, reason: str | None = None, fault_id: int | None = None) -> ForwardingReport:
        return ForwardingReport(self.connection.id, self.connection.audience_name, self.output.name, outcome,
                                self.added, self.removed, self.batches, self.retries, reason, fault_id, self.updated,
                                self.rejected)
