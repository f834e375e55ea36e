"""The store's tables as SQLAlchemy ORM classes: workspaces, their inputs and calculated attributes,
audiences and their tags, outputs and their connections, forwarding state and faults, A/B tests,
standard audiences and calculation credits."""

from __future__ import annotations

import copy
from datetime import date, datetime
from typing import Any

from sqlalchemy import (JSON, CheckConstraint, Date, ForeignKey, Index, MetaData, String, UniqueConstraint, func,
                        text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from app.models.store.db import UTCDateTime, utc_now

INPUT_KINDS = ("platform", "feed")
AUDIENCE_SCOPES = ("single", "multi")
AUDIENCE_KINDS = ("realtime", "standard")
AUDIENCE_STATUSES = ("draft", "active", "inactive")
ATTRIBUTE_TYPES = ("string", "number", "date", "boolean", "list")

DEFAULT_REALTIME_WINDOW_DAYS = 30
#: How often a workspace's live audiences are recalculated on the clock while the app runs (docs/membership.md).
DEFAULT_MEMBERSHIP_REFRESH_MINUTES = 15
#: Frozen here rather than imported: a check constraint is part of the stored schema (see migration 0002).
CALCULATION_NAMES = ("count", "sum", "average", "min", "max", "first_value", "last_value", "most_frequent",
                     "unique_values", "first_time", "last_time")

_EMPTY_CRITERIA: dict[str, Any] = {
    "version": 1,
    "root": {"id": "root", "type": "group", "match": "all", "exclude": False, "children": []},
}


def empty_criteria() -> dict[str, Any]:
    """A fresh criteria document with an empty top-level group (a new copy each call, safe to edit)."""
    return copy.deepcopy(_EMPTY_CRITERIA)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    # Named constraints let later batch migrations on SQLite find and alter them.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String, unique=True)
    realtime_window_days: Mapped[int] = mapped_column(
        default=DEFAULT_REALTIME_WINDOW_DAYS, server_default=text(str(DEFAULT_REALTIME_WINDOW_DAYS))
    )
    membership_refresh_minutes: Mapped[int] = mapped_column(
        default=DEFAULT_MEMBERSHIP_REFRESH_MINUTES, server_default=text(str(DEFAULT_MEMBERSHIP_REFRESH_MINUTES))
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    inputs: Mapped[list[Input]] = relationship(
        back_populates="workspace", cascade="all, delete-orphan", passive_deletes=True, order_by="Input.id"
    )


class Input(Base):
    """A source of user data in a workspace: an app platform (iOS, Android, Web) or a data feed (CRM)."""

    __tablename__ = "inputs"
    __table_args__ = (
        UniqueConstraint("workspace_id", "kind", "name"),
        CheckConstraint(_one_of("kind", INPUT_KINDS), name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String)
    name: Mapped[str] = mapped_column(String)

    workspace: Mapped[Workspace] = relationship(back_populates="inputs")


class Audience(Base):
    __tablename__ = "audiences"
    __table_args__ = (
        CheckConstraint(_one_of("scope", AUDIENCE_SCOPES), name="scope"),
        CheckConstraint(_one_of("kind", AUDIENCE_KINDS), name="kind"),
        CheckConstraint(_one_of("status", AUDIENCE_STATUSES), name="status"),
        # Never reuse a deleted audience's id: undo restores it under that id, and the CLI accepts ids.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String)
    # None means the audience is sent to destinations under its own name.
    external_name: Mapped[str | None] = mapped_column(String)
    scope: Mapped[str] = mapped_column(String)
    kind: Mapped[str] = mapped_column(String, default="realtime", server_default="realtime")
    status: Mapped[str] = mapped_column(String, default="draft", server_default="draft")
    criteria: Mapped[dict[str, Any]] = mapped_column(JSON, default=empty_criteria)
    created_by: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    workspace_links: Mapped[list[AudienceWorkspace]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="AudienceWorkspace.workspace_id"
    )
    input_links: Mapped[list[AudienceInput]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="AudienceInput.input_id"
    )
    tag_rows: Mapped[list[AudienceTag]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="AudienceTag.tag"
    )

    @property
    def effective_external_name(self) -> str:
        return self.external_name or self.name


# The CLI addresses audiences by name, so two names differing only in case would be ambiguous.
Index("uq_audiences_lower_name", func.lower(Audience.name), unique=True)


class AudienceWorkspace(Base):
    __tablename__ = "audience_workspaces"

    audience_id: Mapped[int] = mapped_column(ForeignKey("audiences.id", ondelete="CASCADE"), primary_key=True)
    # No cascade from workspaces: deleting a workspace must not silently strip audiences of their scope.
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"), primary_key=True, index=True)


class AudienceInput(Base):
    __tablename__ = "audience_inputs"

    audience_id: Mapped[int] = mapped_column(ForeignKey("audiences.id", ondelete="CASCADE"), primary_key=True)
    input_id: Mapped[int] = mapped_column(ForeignKey("inputs.id"), primary_key=True, index=True)


class AudienceTag(Base):
    __tablename__ = "audience_tags"

    audience_id: Mapped[int] = mapped_column(ForeignKey("audiences.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String, primary_key=True, index=True)


class AttributeTypeOverride(Base):
    """A user's correction of the type detected for a user attribute in a workspace's data."""

    __tablename__ = "attribute_type_overrides"
    __table_args__ = (CheckConstraint(_one_of("type", ATTRIBUTE_TYPES), name="type"),)

    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    attribute_name: Mapped[str] = mapped_column(String, primary_key=True)
    type: Mapped[str] = mapped_column(String)


class CalculatedAttributeDefinition(Base):
    """A workspace's calculated attribute: a per-user value worked out from events (app.builder.calculated)."""

    __tablename__ = "calculated_attributes"
    __table_args__ = (
        UniqueConstraint("workspace_id", "name"),
        CheckConstraint(_one_of("calculation", CALCULATION_NAMES), name="calculation"),
        CheckConstraint("window_days IS NULL OR window_days > 0", name="window_days"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String)
    calculation: Mapped[str] = mapped_column(String)
    event_type: Mapped[str] = mapped_column(String)
    event_name: Mapped[str | None] = mapped_column(String, nullable=True)
    attribute: Mapped[str | None] = mapped_column(String, nullable=True)
    window_days: Mapped[int | None] = mapped_column(nullable=True)
    created_by: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


# -- outputs, connections, forwarding and faults (migration 0003) --------------------------------

CONNECTION_STATUSES = ("sending", "inactive")
BATCH_ACTIONS = ("add", "remove")
#: Frozen here rather than imported from app.connectors.outputs.errors: a check constraint is stored schema.
FAULT_CATEGORIES = ("Authentication", "Permissions", "Rate limiting", "Configuration", "Other")


class OutputConfiguration(Base):
    """An output: a partner with the admin's settings. Its secrets live in the OS keyring under `keyring_id`."""

    __tablename__ = "output_configurations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String)
    partner: Mapped[str] = mapped_column(String)
    #: Non-secret settings only; services refuse secret fields here.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: A random id naming the keyring service: two homes on one machine never share secrets.
    keyring_id: Mapped[str] = mapped_column(String, unique=True)
    created_by: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


Index("uq_output_configurations_lower_name", func.lower(OutputConfiguration.name), unique=True)


class Connection(Base):
    """An audience, or one variation of its A/B test, connected to an output with its own settings.

    Sending or Inactive. `shared_attributes` names the user attributes forwarded with the identities
    (single-workspace real-time audiences only; none unless the admin chooses them).
    """

    __tablename__ = "connections"
    __table_args__ = (CheckConstraint(_one_of("status", CONNECTION_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    audience_id: Mapped[int] = mapped_column(ForeignKey("audiences.id", ondelete="CASCADE"), index=True)
    #: None: the whole audience. Deleting a test deletes its variations and so their connections.
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("ab_variants.id", ondelete="CASCADE"), index=True,
                                                   nullable=True)
    # No cascade: an output in use cannot be deleted out from under its connections.
    configuration_id: Mapped[int] = mapped_column(ForeignKey("output_configurations.id"), index=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String, default="sending", server_default="sending")
    shared_attributes: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    #: Standard audiences forward only when the user presses Send: when they last did (None: never).
    send_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_by: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


# One connection per audience (or variation) and output; NULL variants (the whole audience) compare equal here.
Index("uq_connections_target_configuration", Connection.audience_id, func.coalesce(Connection.variant_id, 0),
      Connection.configuration_id, unique=True)


class ForwardingState(Base):
    """Where forwarding to a connection stands: the partner's id for its audience, batches numbered and sent."""

    __tablename__ = "forwarding_states"

    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True)
    partner_ref: Mapped[str | None] = mapped_column(String, nullable=True)
    next_sequence: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    batches_sent: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    last_batch_id: Mapped[str | None] = mapped_column(String, nullable=True)
    full_upload_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_forwarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ForwardedIdentity(Base):
    """An identity the partner holds for a connection (as the partner received it: normalised, maybe hashed).

    Adds are what the audience has and this lacks; drops the reverse.
    """

    __tablename__ = "forwarded_identities"

    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True)
    identity_type: Mapped[str] = mapped_column(String, primary_key=True)
    value: Mapped[str] = mapped_column(String, primary_key=True)
    #: A digest of the shared attribute values sent with it (None: none shared); a change re-sends the identity.
    attributes_hash: Mapped[str | None] = mapped_column(String, nullable=True)


class PendingBatch(Base):
    """A planned batch not yet acknowledged: sent first, under the same id, when forwarding resumes."""

    __tablename__ = "forwarding_batches"
    __table_args__ = (CheckConstraint(_one_of("action", BATCH_ACTIONS), name="action"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"), index=True)
    batch_id: Mapped[str] = mapped_column(String, unique=True)
    sequence: Mapped[int] = mapped_column()
    action: Mapped[str] = mapped_column(String)
    #: [[identity_type, value], ...] as the partner receives them.
    identities: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class Fault(Base):
    """Why forwarding to a connection stopped; open until the admin presses Resume (resolved_at set)."""

    __tablename__ = "faults"
    __table_args__ = (CheckConstraint(_one_of("category", FAULT_CATEGORIES), name="category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"), index=True)
    category: Mapped[str] = mapped_column(String)
    status_code: Mapped[int | None] = mapped_column(nullable=True)
    message: Mapped[str] = mapped_column(String)
    batch_id: Mapped[str | None] = mapped_column(String, nullable=True)
    retries: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    began_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String, nullable=True)


# -- run history and rejected records (migration 0009) --------------------------------------------

RUN_TRIGGERS = ("automatic", "manual", "agent")


class ForwardingRun(Base):
    """One forwarding run of a connection: when, what it planned, sent and the partner rejected, and any fault."""

    __tablename__ = "forwarding_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"), index=True)
    #: automatic (after a membership change), manual (Forward Now, `outputs forward`) or agent.
    trigger: Mapped[str] = mapped_column(String)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String)
    adds_planned: Mapped[int] = mapped_column(default=0)
    removes_planned: Mapped[int] = mapped_column(default=0)
    adds_sent: Mapped[int] = mapped_column(default=0)
    removes_sent: Mapped[int] = mapped_column(default=0)
    adds_rejected: Mapped[int] = mapped_column(default=0)
    removes_rejected: Mapped[int] = mapped_column(default=0)
    retries: Mapped[int] = mapped_column(default=0)
    batches: Mapped[int] = mapped_column(default=0)
    fault_id: Mapped[int | None] = mapped_column(nullable=True)
    #: The fault's message, or why the run stopped (kept when the fault is resumed).
    message: Mapped[str | None] = mapped_column(String, nullable=True)


class RejectedRecord(Base):
    """An identity the partner refused on its own while taking the rest of the batch (a per-record error).

    Kept so the next runs do not send it again while it stays in the audience; forgotten when it leaves.
    """

    __tablename__ = "rejected_records"

    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True)
    identity_type: Mapped[str] = mapped_column(String, primary_key=True)
    #: As the partner received it (normalised, maybe hashed); never written to logs.
    value: Mapped[str] = mapped_column(String, primary_key=True)
    action: Mapped[str] = mapped_column(String)
    reason: Mapped[str] = mapped_column(String)
    rejected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


# -- A/B tests, standard audiences and calculation credits (migration 0004) ----------------------

STANDARD_STATES = ("draft", "calculating", "ready")
CALCULATION_STATES = ("running", "done", "cancelled", "failed")
#: Variations a test may add besides Control (mParticle: "up to a maximum of 5" created variations, Control
#: being the remainder), so positions run 0 (Control) to 5.
MAX_VARIATIONS = 5


class ABTest(Base):
    """A saved A/B test of an audience; its variations are fixed once saved (deleted only with the test)."""

    __tablename__ = "ab_tests"

    id: Mapped[int] = mapped_column(primary_key=True)
    audience_id: Mapped[int] = mapped_column(ForeignKey("audiences.id", ondelete="CASCADE"), unique=True)
    #: Mixed into the hash that assigns users (app.builder.variants); random per test.
    seed: Mapped[str] = mapped_column(String)
    created_by: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    variants: Mapped[list[ABVariant]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="ABVariant.position"
    )


class ABVariant(Base):
    """One variation of a test: position 0 is Control; whole percentages that total 100 across the test."""

    __tablename__ = "ab_variants"
    __table_args__ = (
        UniqueConstraint("test_id", "position"),
        CheckConstraint("percent > 0 AND percent <= 100", name="percent"),
        CheckConstraint(f"position >= 0 AND position <= {MAX_VARIATIONS}", name="position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    test_id: Mapped[int] = mapped_column(ForeignKey("ab_tests.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column()
    name: Mapped[str] = mapped_column(String)
    percent: Mapped[int] = mapped_column()


class StandardCalculation(Base):
    """One press of Calculate: the drafts calculated together, the days scanned and the credits spent."""

    __tablename__ = "standard_calculations"
    __table_args__ = (CheckConstraint(_one_of("state", CALCULATION_STATES), name="state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String, default="running", server_default="running")
    days_scanned: Mapped[int] = mapped_column()
    credits: Mapped[int] = mapped_column()
    message: Mapped[str | None] = mapped_column(String, nullable=True)
    started_by: Mapped[str] = mapped_column(String)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class StandardAudience(Base):
    """What makes an audience (kind "standard") historical: its date range and where its calculation stands.

    Expired is not stored: it is Ready and calculated more than 30 days ago (by the caller's clock).
    The members found are kept (in `members_file`, Parquet in the home) after expiry, so membership
    criteria that refer to the audience keep working.
    """

    __tablename__ = "standard_audiences"
    __table_args__ = (
        CheckConstraint(_one_of("state", STANDARD_STATES), name="state"),
        # Both dates or neither (neither: all available data); inclusive, UTC.
        CheckConstraint("(range_start IS NULL) = (range_end IS NULL)", name="range_both"),
        CheckConstraint("range_start IS NULL OR range_start <= range_end", name="range_order"),
    )

    audience_id: Mapped[int] = mapped_column(ForeignKey("audiences.id", ondelete="CASCADE"), primary_key=True)
    range_start: Mapped[date | None] = mapped_column(Date, nullable=True)
    range_end: Mapped[date | None] = mapped_column(Date, nullable=True)
    state: Mapped[str] = mapped_column(String, default="draft", server_default="draft")
    calculation_id: Mapped[int | None] = mapped_column(ForeignKey("standard_calculations.id"), nullable=True, index=True)
    calculated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: The dates actually scanned ("all available data" resolved against the cache at calculation).
    scanned_start: Mapped[date | None] = mapped_column(Date, nullable=True)
    scanned_end: Mapped[date | None] = mapped_column(Date, nullable=True)
    size: Mapped[int | None] = mapped_column(nullable=True)
    members_file: Mapped[str | None] = mapped_column(String, nullable=True)


class CreditEntry(Base):
    """One change to a workspace's calculation credits: an admin's grant (+), a calculation (−), a refund (+)."""

    __tablename__ = "credit_ledger"
    __table_args__ = (CheckConstraint("change <> 0", name="change"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    change: Mapped[int] = mapped_column()
    reason: Mapped[str] = mapped_column(String)
    calculation_id: Mapped[int | None] = mapped_column(ForeignKey("standard_calculations.id"), nullable=True)
    created_by: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


# -- offline editing: audiences' sync state with the team server, and the sync history (migration 0005) --

SYNC_CONFLICTS = ("edited_both", "deleted_there", "deleted_here", "same_name")
SYNC_OUTCOMES = ("running", "done", "failed", "cancelled")


class AudienceSyncState(Base):
    """How a local audience stands with its copy on a team server: the server's id, the version the
    local copy is based on and a hash of the definition as last agreed. The local copy differs from
    the hash: edited here, waiting to be sent. An open conflict keeps the server's copy (`theirs`).

    `audience_id` has no foreign key on purpose: the row outlives the audience's local deletion,
    which is how the deletion is seen and sent to the server (a tombstone)."""

    __tablename__ = "audience_sync"
    __table_args__ = (
        UniqueConstraint("server", "server_id"),
        CheckConstraint(f"conflict IS NULL OR {_one_of('conflict', SYNC_CONFLICTS)}", name="conflict"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    server: Mapped[str] = mapped_column(String)
    #: The local audience (None only while a conflict offers a server audience with no local copy).
    audience_id: Mapped[int | None] = mapped_column(nullable=True, unique=True)
    #: None until the server has accepted the create.
    server_id: Mapped[int | None] = mapped_column(nullable=True)
    #: Sent with the create, so a create resent after a lost reply does not make a second audience.
    client_ref: Mapped[str] = mapped_column(String, unique=True)
    base_version: Mapped[int | None] = mapped_column(nullable=True)
    #: Hash of the definition both sides last agreed on (None: never agreed, a create waiting).
    agreed_hash: Mapped[str | None] = mapped_column(String, nullable=True)
    #: The audience's name when last seen, to name it once deleted here.
    name: Mapped[str] = mapped_column(String)
    conflict: Mapped[str | None] = mapped_column(String, nullable=True)
    theirs: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    conflict_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: Whether the server's saved versions of this audience were all fetched once since it was linked (migration
    #: 0010): versions passed over while it was not linked here (a conflict, a name in the way) come then.
    history_pulled: Mapped[bool] = mapped_column(default=False, server_default=text("0"))


class AudienceSyncCursor(Base):
    """Where the pull of a server's audience definitions stands (its opaque cursor)."""

    __tablename__ = "audience_sync_cursors"

    server: Mapped[str] = mapped_column(String, primary_key=True)
    cursor: Mapped[str] = mapped_column(String)


class SyncRun(Base):
    """One sync with a server, for the Sync pane's history: what it moved, and how it ended."""

    __tablename__ = "sync_runs"
    __table_args__ = (CheckConstraint(_one_of("outcome", SYNC_OUTCOMES), name="outcome"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    server: Mapped[str] = mapped_column(String)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    outcome: Mapped[str] = mapped_column(String, default="running", server_default="running")
    batches: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    rows: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    bytes: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    audiences_sent: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    audiences_received: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    conflicts: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    error: Mapped[str | None] = mapped_column(String, nullable=True)


# -- segment settings: an audience as a segment on the data marketplace (migration 0006) --

SEGMENT_VISIBILITIES = ("public", "private")
MAX_EXPIRATION_DAYS = 3650
#: The highest CPM a segment may ask, in cents (1,000.00 USD per thousand users): data segments sell for a few
#: dollars CPM; anything above this is a typing slip, refused rather than stored.
MAX_CPM_CENTS = 100_000
#: Frozen here rather than derived in the migration: check constraints are part of the stored schema.
SEGMENT_CHECKS = {
    "visibility": _one_of("visibility", SEGMENT_VISIBILITIES),
    "private_has_no_price": "visibility = 'public' OR cpm_cents IS NULL",
    "cpm_cents": f"cpm_cents IS NULL OR (cpm_cents >= 0 AND cpm_cents <= {MAX_CPM_CENTS})",
    "expiration_days": f"expiration_days IS NULL OR (expiration_days >= 1 AND expiration_days <= {MAX_EXPIRATION_DAYS})",
}


class SegmentSettings(Base):
    """How an audience is offered as a segment: when it expires, who may buy it, its price and its category.

    No row means the defaults (never expires, private, no price, no category). The price is kept in whole
    cents: exact, and simply checked (SQLite has no exact decimal type)."""

    __tablename__ = "segment_settings"
    __table_args__ = tuple(CheckConstraint(sql, name=name) for name, sql in SEGMENT_CHECKS.items())

    audience_id: Mapped[int] = mapped_column(ForeignKey("audiences.id", ondelete="CASCADE"), primary_key=True)
    #: Days after its push to a channel when the segment is old and taken off that channel (None: never).
    expiration_days: Mapped[int | None] = mapped_column(nullable=True)
    visibility: Mapped[str] = mapped_column(String, default="private", server_default="private")
    #: Price per thousand users in US cents; only public segments have one (None: no price set).
    cpm_cents: Mapped[int | None] = mapped_column(nullable=True)
    #: A taxonomy path such as "Retail > Outdoor" (None: uncategorised).
    category: Mapped[str | None] = mapped_column(String, nullable=True)
    updated_by: Mapped[str] = mapped_column(String)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


#: A segment's state on one channel: on it, taken off it (expired, made private, by hand), or the push failed.
CHANNEL_PUSH_STATES = ("pushed", "removed", "failed")


class ChannelConfiguration(Base):
    """One external channel's set-up: switched on or off, and for channels that need it, their configuration
    (account, endpoint, ...; never secrets). No row: the channel was never switched on or set up."""

    __tablename__ = "channel_configurations"

    #: The channel's key in app.models.services.channels.CHANNELS (the directory lives in code, not in the store).
    channel_key: Mapped[str] = mapped_column(String, primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=False)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    configured_by: Mapped[str] = mapped_column(String)
    configured_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class SegmentChannelPush(Base):
    """A segment's latest push to one channel: what taxonomy was pushed and when, and whether it is still there."""

    __tablename__ = "segment_channel_pushes"
    __table_args__ = (CheckConstraint(_one_of("state", CHANNEL_PUSH_STATES), name="state"),)

    audience_id: Mapped[int] = mapped_column(ForeignKey("audiences.id", ondelete="CASCADE"), primary_key=True)
    channel_key: Mapped[str] = mapped_column(String, primary_key=True)
    state: Mapped[str] = mapped_column(String)
    #: "<segment name> | <category>" as pushed (kept: the audience may be renamed after the push).
    taxonomy: Mapped[str] = mapped_column(String)
    pushed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    pushed_by: Mapped[str] = mapped_column(String)
    #: When it was taken off; on a 'pushed' row with a removal pending, when the removal was last tried.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: Why it was taken off, in the users' words: "expired after 90 days", "made private", "removed by maria";
    #: on a 'pushed' row, why it is to come off (the channel refused the removal; tidy retries it).
    removed_reason: Mapped[str | None] = mapped_column(String, nullable=True)
    #: The channel's refusal, in the users' words: of the push (state 'failed', or 'pushed' when pushing again
    #: failed) or of the pending removal.
    error: Mapped[str | None] = mapped_column(String, nullable=True)


# -- edit history: every saved version of an audience (migration 0010) --


class AudienceVersion(Base):
    """One saved version of an audience: who saved it and when, and what it said then (`document`, see
    app/builder/history.py: the name and settings, tags, inputs, segment settings and the criteria).

    `ref` names the version everywhere (on every laptop and the team's server), so a sync sends each
    version once and a version received twice is kept once. The versions of an audience are numbered
    1, 2, ... in the order they were saved (`saved_at`, then `ref`), the same on every laptop that
    holds the same versions."""

    __tablename__ = "audience_versions"
    # Never reuse a version's id: undoing an audience's deletion puts its versions back under their ids.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    audience_id: Mapped[int] = mapped_column(ForeignKey("audiences.id", ondelete="CASCADE"), index=True)
    ref: Mapped[str] = mapped_column(String, unique=True)
    saved_by: Mapped[str] = mapped_column(String)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: Why it was saved, when not an edit: "restored version 3", "first version (from before the history)".
    note: Mapped[str | None] = mapped_column(String, nullable=True)
    #: Whether the team's server has it (sent by a sync, or received from one).
    on_server: Mapped[bool] = mapped_column(default=False, server_default=text("0"))


class AudienceVersionCursor(Base):
    """Where the pull of a server's saved versions (the audiences' edit history) stands (its opaque cursor)."""

    __tablename__ = "audience_version_cursors"

    server: Mapped[str] = mapped_column(String, primary_key=True)
    cursor: Mapped[str] = mapped_column(String)
