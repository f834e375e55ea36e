"""What every request handler shares: the database, the settings, the rate limiter, the page cache and
the first-sync snapshots, the accounts, the sources."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request

from app.server.accounts import Accounts
from app.server.audience_versions import AudienceVersions
from app.server.database import Database
from app.server.definitions import Definitions
from app.server.pages import PageCache
from app.server.ratelimit import RateLimiter
from app.server.settings import ServerSettings
from app.server.snapshots import Snapshots
from app.server.sources import Sources


@dataclass
class ServerState:
    database: Database
    settings: ServerSettings
    limiter: RateLimiter = field(init=False)
    pages: PageCache = field(init=False)
    definitions: Definitions = field(init=False)
    versions: AudienceVersions = field(init=False)
    snapshots: Snapshots = field(init=False)
    accounts: Accounts = field(init=False)
    sources: Sources = field(init=False)

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.settings.rate_per_second, self.settings.rate_burst)
        self.pages = PageCache(self.database, self.settings.cached_pages)
        self.definitions = Definitions(self.database)
        self.versions = AudienceVersions(self.database, self.definitions)
        self.snapshots = Snapshots(self.database, self.settings)
        self.sources = Sources(self.database)
        self.accounts = Accounts(self.database, self.settings.smtp, self.settings.public_url, self.settings.invitation_hours)


def server_state(request: Request) -> ServerState:
    return request.app.state.server
