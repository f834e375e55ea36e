"""What a partner declares (settings, authentication, identity types, batch limit) and what its client must do."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import requests

from app.connectors.outputs.batches import Batch, Destination
from app.connectors.outputs.errors import CONFIGURATION, PartnerError
from app.connectors.outputs.identities import normalise
from app.connectors.outputs.rejections import Rejected
from app.connectors.outputs.settings import Field

#: How a partner proves who is sending: nothing, secrets the admin pastes in, or an OAuth 2.0 sign-in.
AUTH_KINDS = ("none", "api_key", "oauth2")
AUTH_LABELS = {"none": "None", "api_key": "API key / secret", "oauth2": "OAuth 2.0"}
#: Every configuration may narrow the identity types it sends to a subset of what the partner accepts.
IDENTITY_TYPES_KEY = "identity_types"


@dataclass(frozen=True)
class OAuthEndpoints:
    """A partner preset's OAuth 2.0 sign-in: its endpoints and the scopes to ask for, so the admin enters only what
    the partner issues (the client id, maybe a secret)."""

    provider: str
    authorize_url: str
    token_url: str
    revocation_url: str | None = None
    scopes: str = ""


@dataclass
class PartnerContext:
    """What a client needs to talk to its partner for one output configuration."""

    settings: dict[str, Any]
    #: The configuration's secret by field key (from the keyring); None when it was never entered.
    secret: Callable[[str], str | None]
    session: requests.Session
    #: OAuth partners: the current access token; with True, a fresh one even if the old one looks valid.
    access_token: Callable[[bool], str] | None = None

    def required_secret(self, key: str, label: str) -> str:
        value = self.secret(key)
        if not value:
            raise PartnerError(f"The {label} of this output was never entered (or was removed from the keyring); "
                               "edit the output's credentials.", category=CONFIGURATION)
        return value


class PartnerClient(Protocol):
    def prepare(self, destination: Destination) -> str | None:
        """Make whatever the partner needs before the first batch (e.g. the custom audience); its id, if any."""

    def send(self, batch: Batch, destination: Destination) -> Sequence[Rejected] | None:
        """Deliver one batch; PartnerError when the partner refuses it. Sending it twice must be harmless.

        Returns the records the partner refused on their own while taking the rest (per-record errors), if any."""


@dataclass(frozen=True)
class Partner:
    """A kind of output: one entry of the partner directory."""

    key: str
    name: str
    category: str
    description: str
    auth: str
    identity_types: tuple[str, ...]
    configuration_fields: tuple[Field, ...]
    secret_fields: tuple[Field, ...]
    connection_fields: tuple[Field, ...]
    #: The most identities the partner takes in one request.
    max_batch: int
    make_client: Callable[[PartnerContext], PartnerClient]
    #: The value the partner receives for an identity (normalised, maybe hashed); None to leave it out.
    to_partner: Callable[[str, str], str | None] = normalise
    #: Whether the partner takes user attributes with the identities it is sent, and how (for the UI and docs);
    #: an empty `attributes_how` means it does not.
    attributes_how: str = ""
    #: The partner's declared rate limit: requests per second, and how many may go at once after a quiet spell
    #: (a token bucket shared by every connection to one output); None: no limit declared.
    requests_per_second: float | None = None
    burst: int = 1
    #: OAuth partners whose sign-in is known (a preset): where to sign in, so the admin need not enter it.
    oauth_endpoints: OAuthEndpoints | None = None

    @property
    def accepts_attributes(self) -> bool:
        return bool(self.attributes_how)

    def attributes_refusal(self) -> str:
        """Why user attributes cannot be shared with this partner (when it does not accept them)."""
        return f"{self.name} outputs take identities only; they do not accept user attributes."

    def __post_init__(self) -> None:
        if self.auth not in AUTH_KINDS:
            raise ValueError(f"Unknown auth kind {self.auth!r}")

    @property
    def all_configuration_fields(self) -> tuple[Field, ...]:
        """The partner's own fields plus the identity types to send, which every partner has."""
        from app.connectors.outputs.identities import IDENTITY_LABELS

        chooser = Field(IDENTITY_TYPES_KEY, "Identity types to send", "choices", required=False,
                        default=self.identity_types, choices=self.identity_types,
                        help="Of the types this partner accepts, the ones this output sends (default: all): "
                        + ", ".join(IDENTITY_LABELS.get(t, t) for t in self.identity_types) + ".")
        return self.configuration_fields + (chooser,)
