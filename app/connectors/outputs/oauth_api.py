"""The generic OAuth 2.0 partner: the admin enters its authorize and token URLs, client id and scopes; and its presets.

Batches go to the admin's API URL as the webhook's JSON, with the access token as a bearer token.
A 401 first gets a fresh access token (it may have been revoked early); a second 401 is a fault.

A preset is the same partner for an API whose sign-in is known (`OAuthEndpoints`): its authorization and
token endpoints and base scopes come with it, and the admin enters only what the partner issues: the
client id of the app registration, the batches URL, and the API's own scope if it has one.
"""

from __future__ import annotations

from app.connectors.outputs.batches import Batch, Destination
from app.connectors.outputs.errors import PartnerError
from app.connectors.outputs.http import call
from app.connectors.outputs.identities import IDENTITY_LABELS
from app.connectors.outputs.partner import OAuthEndpoints, Partner, PartnerContext
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


#: Microsoft identity platform v2.0 for work and school accounts (any organisation): public clients may use PKCE
#: and a loopback redirect on any port; refresh tokens need offline_access. No RFC 7009 revocation endpoint.
MICROSOFT_ENTRA = OAuthEndpoints(
    provider="Microsoft Entra ID",
    authorize_url="https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize",
    token_url="https://login.microsoftonline.com/organizations/oauth2/v2.0/token",
    scopes="offline_access",
)


def preset(key: str, endpoints: OAuthEndpoints, *, client_help: str, scopes_help: str) -> Partner:
    """The OAuth 2.0 API partner signed in through a known provider: no endpoints to enter."""
    return Partner(
        key=key,
        name=f"API signed in with {endpoints.provider}",
        category="Developer",
        description=f"Your own API taking JSON batches, protected by {endpoints.provider}: sign in with your "
                    f"organisation's account; you enter only the app registration's client id and the batches URL.",
        auth="oauth2",
        identity_types=tuple(IDENTITY_LABELS),
        configuration_fields=(
            Field("client_id", "Client ID", help=client_help),
            Field("scopes", "Scopes", required=False, default=endpoints.scopes, help=scopes_help),
            Field("api_url", "Batches URL", "url", help="Where batches are POSTed."),
        ),
        secret_fields=(),
        connection_fields=(),
        max_batch=1000,
        make_client=OAuthApiClient,
        attributes_how=PARTNER.attributes_how,
        oauth_endpoints=endpoints,
    )


ENTRA_PARTNER = preset(
    "oauth2_entra", MICROSOFT_ENTRA,
    client_help="The Application (client) ID of the app registration for Audience Studio, registered as a public "
                "client (mobile and desktop) with the redirect URI http://127.0.0.1/callback.",
    scopes_help="offline_access (to stay signed in) and your API's scope, such as api://<API app id>/Audiences.Write.",
)
