"""What an operator can tune: request size, ingest rate, and how large a sync page may grow."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.server.mail import SmtpSettings


@dataclass(frozen=True)
class ServerSettings:
    #: Largest request body accepted (bytes, after gzip is undone); above it: 413.
    max_body_bytes: int = 4 * 1024 * 1024
    #: Requests per second each input may send on average, and how many it may send at once.
    rate_per_second: float = 50.0
    rate_burst: int = 100
    #: Batches in one /v2/bulkevents request.
    bulk_max_batches: int = 100
    #: A sync page holds at most this many batches and, past its first batch, this many events:
    #: the server maps a whole page in memory, so these bound its memory per request.
    page_batches: int = 5_000
    page_events: int = 100_000
    #: Mapped pages kept for their parts' requests (each page is fetched as several parts).
    cached_pages: int = 4
    #: Audience definitions per page of changes.
    audience_page: int = 500
    #: Revenue rows (records, member counts and agencies together) per page of revenue changes.
    revenue_page_rows: int = 50_000
    #: Where first-sync snapshots are kept (app/server/snapshots.py); None: the server offers none.
    snapshot_dir: Path | None = None
    #: Seconds a snapshot request may spend bringing its snapshot up to date before it serves what it
    #: has (the client follows it with ordinary pages); the rest goes on in the background.
    snapshot_catch_up_seconds: float = 20.0
    #: Sampled snapshots kept per workspace besides its whole-profile one: a request for another
    #: sample evicts the least recently requested (rebuilt from the stored batches if asked again),
    #: so clients asking for many distinct `sample` values cannot fill the disk.
    snapshot_samples_kept: int = 3
    #: Bring a workspace's snapshot up to date in the background after each accepted ingest request,
    #: so a first sync finds it warm (off: only when a snapshot is asked for).
    snapshot_follow_ingest: bool = True
    #: Where invitations' activation e-mails are sent from (app/server/mail.py); None: invitations are
    #: kept unsent, with that reason, until the server is started with SMTP settings and they are resent.
    smtp: SmtpSettings | None = None
    #: The server's address as members reach it, used in activation links; None: the address the
    #: inviting admin's request came to.
    public_url: str | None = None
    #: How long an activation link works.
    invitation_hours: float = 72.0
    #: How often an open activity stream looks for new batches and refusals (app/server/activity.py).
    activity_poll_seconds: float = 1.0
    #: How long one activity stream stays open; the client then reconnects with Last-Event-ID (as
    #: Server-Sent Events clients do), so a stream never holds a connection forever.
    activity_stream_seconds: float = 300.0
    #: A comment line is sent on a quiet stream this often, so proxies and the client see it alive.
    activity_keepalive_seconds: float = 15.0
