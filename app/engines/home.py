"""A workspace home opened for work: its store and its cache, and the services over them.

The desktop app and the command line open a home the same way and call the same services.
"""

from __future__ import annotations

import getpass
import logging
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from app.models.services.audiences import AudienceService
from app.models.services.calculated_attributes import CalculatedAttributeService
from app.models.store.db import Store, open_store
from app.models.services.workspaces import WorkspaceService
from app.paths import Home

if TYPE_CHECKING:
    from app.connectors.cache import Cache
    from app.connectors.outputs.secrets import SecretStore
    from app.engines.channel_pushes import ChannelPushes
    from app.engines.output_sign_in import OutputSignIn
    from app.models.services.ab_tests import ABTestService
    from app.models.services.channels import ChannelService
    from app.models.services.connections import ConnectionService
    from app.models.services.credits import CreditService
    from app.models.services.faults import FaultService
    from app.models.services.segments import SegmentSettingsService
    from app.models.services.outputs import OutputService
    from app.models.services.versions import VersionService

log = logging.getLogger(__name__)

#: cache_meta key of the user name the team's server gave at the last sign-in (engines.sync keeps it).
SYNC_USER_KEY = "sync_user"


def current_user() -> str:
    """Who is working, for "created by": the OS account name (the server issue adds sign-in)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


@dataclass
class OpenHome:
    """The store and cache of one home, opened once per process."""

    home: Home
    store: Store
    cache: Cache
    user: str

    @classmethod
    def open(cls, home: Home, *, user: str | None = None, reading: bool = False) -> OpenHome:
        """`reading`: the caller only reads the cache, so it may read a snapshot of it while another process
        (the desktop app) has it open for writing (`Cache.for_reading`; `cache.snapshot_dir` is then set)."""
        # The cache's module brings DuckDB, pyarrow and numpy (~0.5 s): imported here, by whoever opens a
        # home (a worker thread in the desktop app), rather than before the main window can show.
        from app.connectors.cache import Cache

        home.root.mkdir(parents=True, exist_ok=True)
        store = open_store(home.store_path)
        try:
            cache = Cache.for_reading(home.cache_path) if reading else Cache(home.cache_path)
        except BaseException:
            store.close()
            raise
        log.info("opened home %s", home.root)
        return cls(home, store, cache, user or current_user())

    @cached_property
    def workspaces(self) -> WorkspaceService:
        return WorkspaceService(self.store)

    def author(self) -> str:
        """Who a saved version is kept under in an audience's history: the account name this home last signed
        in to the team's server as, else the OS user."""
        try:
            return self.cache.meta(SYNC_USER_KEY) or self.user
        except Exception:  # a cache that cannot be read must not stop a save: the OS user then
            log.warning("could not read the signed-in account name; saving as %s", self.user, exc_info=True)
            return self.user

    @cached_property
    def audiences(self) -> AudienceService:
        return AudienceService(self.store, self.user, author=self.author)

    @cached_property
    def versions(self) -> VersionService:
        """Each audience's saved versions: history, differences, restore (docs/insights.md, Edit history)."""
        from app.models.services.versions import VersionService

        return VersionService(self.store, self.author, lambda name_or_id: self.audiences.get(name_or_id).id)

    @cached_property
    def calculated_attributes(self) -> CalculatedAttributeService:
        return CalculatedAttributeService(self.store, self.user)

    @cached_property
    def secrets(self) -> SecretStore:
        """The OS keyring (or, only if the user opted in, an unencrypted file in the home) for output secrets."""
        # Imported here: outputs pull in requests and keyring, which the app's start need not wait for.
        from app.connectors.outputs.secrets import PLAINTEXT_FILE_NAME, SecretStore

        return SecretStore(plaintext_file=self.home.root / PLAINTEXT_FILE_NAME)

    @cached_property
    def outputs(self) -> OutputService:
        from app.models.services.outputs import OutputService

        return OutputService(self.store, self.user, self.secrets)

    @cached_property
    def output_sign_in(self) -> OutputSignIn:
        """Signing outputs in and out at their partners (OAuth 2.0), and the partner context forwarding sends with."""
        # Imported here: it pulls in requests and the OAuth libraries, which the app's start need not wait for.
        from app.engines.output_sign_in import OutputSignIn

        return OutputSignIn(self.outputs)

    @cached_property
    def connections(self) -> ConnectionService:
        from app.models.services.connections import ConnectionService

        return ConnectionService(self.store, self.user, cache=self.cache)

    @cached_property
    def segments(self) -> SegmentSettingsService:
        """How each audience is offered as a segment on the data marketplace."""
        from app.models.services.segments import SegmentSettingsService

        return SegmentSettingsService(self.store, self.user, author=self.author)

    @cached_property
    def channels(self) -> ChannelService:
        """Where segments' taxonomies are pushed: channels' set-up and the pushes stored.
        AUDIENCE_STUDIO_CHANNEL_ENDPOINTS may point channels elsewhere (e.g. a test server on 127.0.0.1)."""
        from app.models.services.channels import ChannelService, endpoints_from_environment

        return ChannelService(self.store, self.user, endpoints=endpoints_from_environment())

    @cached_property
    def channel_pushes(self) -> ChannelPushes:
        """Pushing segments to their channels and taking them off again (by hand, expired or made private)."""
        # Imported here: the channel client pulls in requests, which the app's start need not wait for.
        from app.engines.channel_pushes import ChannelPushes

        from app.connectors.team_client import COMPANY_KEY

        # The company (the team server's) is read at each push, on the push's own thread: a sign-in may set it later.
        return ChannelPushes(self.channels, company=lambda: self.cache.meta(COMPANY_KEY) or None)

    @cached_property
    def faults(self) -> FaultService:
        from app.models.services.faults import FaultService

        return FaultService(self.store, self.user)

    @cached_property
    def ab_tests(self) -> ABTestService:
        # Imported here: sizing variations pulls in the compiler, which the app's start need not wait for.
        from app.models.services.ab_tests import ABTestService

        return ABTestService(self.store, self.user, self.audiences)

    @cached_property
    def credits(self) -> CreditService:
        from app.models.services.credits import CreditService

        return CreditService(self.store, self.user)

    def close(self) -> None:
        self.cache.close()
        self.store.close()

    def __enter__(self) -> OpenHome:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
