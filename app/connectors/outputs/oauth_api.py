"""The generic OAuth 2.0 partner: the admin enters its authorize and token URLs, client id and scopes.

Batches go to the admin's API URL as the webhook's JSON, with the access token as a bearer token.
A 401 first gets a fresh access token (it may have been revoked early); a second 401 is a fault.
"""

from __future__ import annotations

from app.connectors.outputs.batches import Batch, Destination
from app.connectors.outputs.errors import PartnerError
from app.connectors.outputs.http import call
from app.connectors.outputs.identities import IDENTITY_LABELS
from app.connectors.outputs.partner import Partner, PartnerContext
from app.connectors.outputs.settings import Field
from app.connectors.outputs.rejections import Rejected
from app.connectors.outputs.webhook import batch_body, rejected_in_reply


class OAuthApiClient:
    def __init__(self, context: PartnerContext):
        assert context.access_token is not None, "an OAuth partner's context carries its token source"
        self._context = context

    def prepare(self, destination: Destination) -> str | None:
        return None

    def send(self, batch: Batch, destination: Destination) -> list[Rejected]:
        body = batch_body(batch, destination)
        for fresh in (False, True):
            headers = {"Authorization": f"Bearer {self._context.access_token(fresh)}", "Idempotency-Key": batch.id}
            try:
                response = call(self._context.session, "POST", self._context.settings["api_url"], json=body,
                                headers=headers)
                return rejected_in_reply(batch, response)
            except PartnerError as exc:
                if exc.status != 401 or fresh:
                    raise


OAUTH_FIELDS = (
    Field("authorize_url", "Authorization URL", "url", help="The partner's OAuth 2.0 authorization endpoint."),
    Field("token_url", "Token URL", "url", help="The partner's OAuth 2.0 token endpoint."),
    Field("revocation_url", "Revocation URL", "url", required=False,
          help="Optional (RFC 7009): signing out of the output revokes its tokens there."),
    Field("client_id", "Client ID", help="The id the partner gave Audience Studio as a native (public) app."),
    Field("scopes", "Scopes", required=False, help="Space-separated, as the partner documents them."),
)

PARTNER = Partner(
    key="oauth2",
    name="OAuth 2.0 API",
    category="Developer",
    description="Any API that signs in with OAuth 2.0 (authorization code with PKCE) and takes JSON batches; "
                "you enter its authorization and token URLs, client id and scopes.",
    auth="oauth2",
    identity_types=tuple(IDENTITY_LABELS),
    configuration_fields=OAUTH_FIELDS + (Field("api_url", "Batches URL", "url", help="Where batches are POSTed."),),
    secret_fields=(Field("client_secret", "Client secret", "secret", required=False,
                         help="Only if the partner gave one; desktop apps are usually public clients without."),),
    connection_fields=(),
    max_batch=1000,
    make_client=OAuthApiClient,
    attributes_how='in the JSON batch: each added identity carries "attributes": {name: value}',
)
