"""The server's tables (SQLAlchemy Core), the same on SQLite and PostgreSQL.

Migrations spell the schema out on their own (they are frozen history); this module is what the
running code queries, and tests check the two agree.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)

from app.models.store.db import UTCDateTime

metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

#: A workspace; `last_seq` is the sequence number of its newest accepted batch. Ingest increments it
#: with UPDATE ... RETURNING, which locks the row until commit, so batches commit in sequence order
#: and "batches after N" never skips one that commits late.
workspaces = Table(
    "workspaces", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    #: The name NFKC-normalised and case-folded (admin.name_key): names are unique whatever their case,
    #: by Unicode's rules, on SQLite and PostgreSQL alike (neither database's lower() does that).
    #: (The default only lets migration 0003 add the column without rebuilding the table; the code
    #: always sets it.)
    Column("name_key", Text, nullable=False, server_default=text("''"), index=True, unique=True),
    Column("last_seq", BigInteger, nullable=False, server_default=text("0")),
    Column("created_at", UTCDateTime, nullable=False),
    #: The newest change_seq of the workspace's revenue rows (app/server/revenue.py), taken like last_seq.
    Column("revenue_seq", BigInteger, nullable=False, server_default=text("0")),
)

#: A source of batches: an app platform or a feed, with its API key (public) and secret (hashed).
inputs = Table(
    "inputs", metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("api_key", String(64), nullable=False, unique=True),
    Column("secret_hash", String(64), nullable=False),
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", UTCDateTime, nullable=False),
    #: When the secret was last replaced (app/server/sources.py); NULL: the secret it was made with.
    Column("secret_rotated_at", UTCDateTime),
    UniqueConstraint("workspace_id", "kind", "name"),
)

#: Ingest requests refused although their key and secret matched (a disabled input still sending: 403),
#: so the activity stream and the Sources pane show them. At most one per input per second is kept
#: (app/server/sources.py): a sender retrying in a tight loop cannot fill the table.
input_refusals = Table(
    "input_refusals", metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("input_id", Integer, ForeignKey("inputs.id", ondelete="CASCADE"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("status", SmallInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Index(None, "workspace_id", "id"),
)

#: The company the server belongs to (one row, id 1): its name is what channel taxonomy pushes carry.
company = Table(
    "company", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

#: A user; `email` and `password_hash` (argon2id, app/server/passwords.py) for those who sign in with a
#: password (invited members, the first admin); NULL for token-only users made by the command line.
users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("email", String(320), unique=True),
    Column("password_hash", String(200)),
)

#: Which workspaces a user may use (through their tokens), and as what: admin, editor or viewer
#: (app/server/roles.py).
memberships = Table(
    "memberships", metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("role", String(16), nullable=False, server_default=text("'editor'")),
    PrimaryKeyConstraint("user_id", "workspace_id"),
)

#: An invitation's activation link; only the SHA-256 of its token is kept. Sent when `sent_at` is set;
#: `send_error` says why the last send failed (the invitation is kept, to be sent again).
invitations = Table(
    "invitations", metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("invited_by", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("send_error", Text),
    Column("used_at", UTCDateTime),
)

#: Who changed what and when (app/server/audit.py). `details` never holds a secret, token or password.
audit_log = Table(
    "audit_log", metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("actor", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("action", String(32), nullable=False),
    Column("target", String(400), nullable=False),
    Column("workspace_id", Integer),
    Column("details", JSON, nullable=False),
)

#: A user's API tokens, kept only as SHA-256 hashes.
tokens = Table(
    "tokens", metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("label", String(200)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
)

#: Accepted batches, whole and immutable: the compressed JSON with its workspace sequence number.
#: mpid and bucket are kept beside it so a sampled sync reads only the sampled batches.
batches = Table(
    "batches", metadata,
    Column("workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("input_id", Integer, ForeignKey("inputs.id"), nullable=False),
    Column("mpid", BigInteger, nullable=False),
    Column("bucket", SmallInteger, nullable=False),
    Column("events", Integer, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("body", LargeBinary, nullable=False),
    #: SHA-256 (hex) of the batch's own id (`source_request_id`, else `batch_id`): a resent batch is
    #: stored once (app/server/ingest.py). NULL for a batch without an id; NULLs never collide.
    Column("batch_key", String(64)),
    PrimaryKeyConstraint("workspace_id", "seq"),
    Index(None, "workspace_id", "batch_key", unique=True),
    #: Each source's last data and volume (the Sources pane, app/server/sources.py).
    Index(None, "input_id"),
)

#: Batches an administrator took out of sync (`audience-studio server batch quarantine`): kept whole,
#: but left out of pages and snapshots until released (which gives the batch a new sequence number).
quarantined_batches = Table(
    "quarantined_batches", metadata,
    Column("workspace_id", Integer, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("reason", Text),
    Column("quarantined_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("workspace_id", "seq"),
    ForeignKeyConstraint(["workspace_id", "seq"], ["batches.workspace_id", "batches.seq"], ondelete="CASCADE"),
)

#: Named counters; "audience_changes" numbers every change to an audience definition.
counters = Table(
    "counters", metadata,
    Column("name", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

#: Shared audience definitions. A deleted one stays as a tombstone so clients learn of the deletion.
audiences = Table(
    "audiences", metadata,
    Column("id", Integer, primary_key=True),
    #: The client's own name for its create (a resent create finds the first), unique within
    #: `client_scope`: the audience's workspace ids, sorted and comma-separated ("3" or "1,4"). A ref is
    #: looked up only among the caller's own workspaces, so reusing another workspace's reveals nothing.
    Column("client_ref", String(100)),
    Column("client_scope", Text),
    Column("name", String(200), nullable=False),
    Column("external_name", String(200)),
    Column("scope", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("criteria", JSON, nullable=False),
    Column("inputs", JSON, nullable=False),
    Column("tags", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Column("change_seq", BigInteger, nullable=False, index=True),
    Column("deleted", Boolean, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("client_ref", "client_scope"),
)
# A live audience's name is unique (case-insensitively); tombstones free theirs.
Index("uq_audiences_live_name", func.lower(audiences.c.name), unique=True, sqlite_where=text("NOT deleted"),
      postgresql_where=text("NOT deleted"))

audience_workspaces = Table(
    "audience_workspaces", metadata,
    Column("audience_id", Integer, ForeignKey("audiences.id", ondelete="CASCADE"), nullable=False),
    Column("workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    PrimaryKeyConstraint("audience_id", "workspace_id"),
)

#: Every saved version of an audience, as the laptops sent them (docs/insights.md, Edit history). `ref` names a
#: version on every laptop, so a resend is kept once; `seq` numbers arrivals from the "audience_versions"
#: counter (as audience changes are numbered), so "versions after N" never passes over a late commit.
#: `document` is kept as sent, whatever its format: a newer app's versions wait here for the apps that read them.
audience_versions = Table(
    "audience_versions", metadata,
    Column("id", Integer, primary_key=True),
    Column("audience_id", Integer, ForeignKey("audiences.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("ref", String(100), nullable=False, unique=True),
    Column("seq", BigInteger, nullable=False, index=True),
    Column("saved_by", String(200), nullable=False),
    Column("saved_at", UTCDateTime, nullable=False),
    Column("note", String(200)),
    Column("document", JSON, nullable=False),
    Column("sent_by", String(200), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
)

# -- revenue (docs/revenue.md): the cache's REVENUE_TABLES, latest wins by key ----------------------
# `record_key` is the row's key (without the workspace) as canonical JSON: an unreported agency or
# channel (NULL) is part of a key, and NULLs are never equal in a UNIQUE constraint, so the key is
# kept as one non-null text that compares the same on SQLite and PostgreSQL. `change_seq` numbers
# the row's latest change from the workspace's `revenue_seq`; an upsert moves a row to a new number.

revenue_records = Table(
    "revenue_records", metadata,
    Column("workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("record_key", Text, nullable=False),
    Column("day", Date, nullable=False),
    Column("segment_key", String(200), nullable=False),
    Column("agency", String(200)),
    Column("channel", String(200)),
    Column("impressions", BigInteger),
    Column("revenue", Double, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("change_seq", BigInteger, nullable=False),
    PrimaryKeyConstraint("workspace_id", "record_key"),
    Index(None, "workspace_id", "change_seq"),
)

segment_counts = Table(
    "segment_counts", metadata,
    Column("workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("record_key", Text, nullable=False),
    Column("day", Date, nullable=False),
    Column("segment_key", String(200), nullable=False),
    Column("members", BigInteger, nullable=False),
    Column("change_seq", BigInteger, nullable=False),
    PrimaryKeyConstraint("workspace_id", "record_key"),
    Index(None, "workspace_id", "change_seq"),
)

agencies = Table(
    "agencies", metadata,
    Column("workspace_id", Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("record_key", Text, nullable=False),
    Column("agency", String(200), nullable=False),
    Column("name", String(200)),
    Column("kind", String(200)),
    Column("country", String(200)),
    Column("contact", String(200)),
    Column("change_seq", BigInteger, nullable=False),
    PrimaryKeyConstraint("workspace_id", "record_key"),
    Index(None, "workspace_id", "change_seq"),
)
