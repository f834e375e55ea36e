"""Mailchimp: keeps a Mailchimp audience (list) in step through the Marketing API's batch subscribe or unsubscribe.

POST {api}/3.0/lists/{list_id} with at most 500 `members` ({"email_address", "status": "subscribed" |
"unsubscribed"}, shared attributes as `merge_fields`) and `update_existing: true`, so a batch sent twice leaves the
list as one did. The reply lists the members Mailchimp could not take, `errors: [{"email_address", "error",
"error_code"}]` with `error_count`: those records are refused, the rest delivered. Mailchimp removes nobody
through this call: a member who leaves the audience is unsubscribed (kept in the list, never e-mailed).

Two ways to sign in:

- `mailchimp`: an API key, sent as the password of HTTP Basic; its suffix (`…-us6`) names the data centre,
  https://us6.api.mailchimp.com;
- `mailchimp_oauth`: Mailchimp's OAuth 2.0 (login.mailchimp.com). Its tokens do not expire; before the first batch
  the account's data centre is read from https://login.mailchimp.com/oauth2/metadata (`api_endpoint`) and kept
  with the connection. The token goes as a bearer token.

Mailchimp allows 10 simultaneous connections per account and answers 429 beyond them.
"""

from __future__ import annotations

import logging

from app.connectors.identity_prep import Rules, prepare
from app.connectors.outputs.batches import ADD, Batch, Destination, Identity, attribute_text
from app.connectors.outputs.email_list import api_base, merge_tag
from app.connectors.outputs.errors import AUTHENTICATION, PartnerError
from app.connectors.outputs.http import call
from app.connectors.outputs.partner import Partner, PartnerContext
from app.connectors.outputs.rejections import Rejected, rejected_from_values
from app.connectors.outputs.settings import Field

log = logging.getLogger(__name__)

MAX_MEMBERS = 500
METADATA_URL = "https://login.mailchimp.com/oauth2/metadata"
AUTHORIZE_URL = "https://login.mailchimp.com/oauth2/authorize"
TOKEN_URL = "https://login.mailchimp.com/oauth2/token"


#: Mailchimp matches members on the address trimmed and lower-cased; nothing is hashed.
RULES = Rules(hashed=False)


def to_mailchimp(identity_type: str, value: str) -> str | None:
    return prepare(identity_type, value, RULES)


def member(identity: Identity, status: str) -> dict:
    entry: dict = {"email_address": identity.value, "status": status}
    if identity.attributes is not None:
        # With update_existing, a member sent again with new merge fields has them updated: the upsert.
        entry["merge_fields"] = {merge_tag(name): attribute_text(value) for name, value in identity.attributes.items()}
    return entry


def batch_body(batch: Batch) -> dict:
    status = "subscribed" if batch.action == ADD else "unsubscribed"
    return {"members": [member(i, status) for i in batch.identities], "update_existing": True}


def refused_members(batch: Batch, response) -> list[Rejected]:
    """The members named in the reply's `errors` (matched on the address, case aside), with Mailchimp's reason."""
    try:
        reply = response.json() if response.content else {}
    except ValueError:
        return []
    errors = reply.get("errors") if isinstance(reply, dict) and isinstance(reply.get("errors"), list) else []
    refused = {}
    for error in errors:
        if isinstance(error, dict):
            reason = str(error.get("error") or "refused")
            if error.get("error_code"):
                reason = f"{error['error_code']}: {reason}"
            refused[str(error.get("email_address", "")).strip().lower()] = reason
    rejected = rejected_from_values(batch.identities, refused)
    if errors:
        log.warning("Mailchimp refused %d of %d members of batch %s", len(errors), len(batch), batch.id)
    return rejected


def _list_id(context: PartnerContext, destination: Destination) -> str:
    return destination.connection_settings.get("list_id") or context.settings["list_id"]


class MailchimpClient:
    """API key sign-in: HTTP Basic with the key; the API in the key's data centre (or the admin's API URL)."""

    def __init__(self, context: PartnerContext):
        self._context = context

    def prepare(self, destination: Destination) -> str | None:
        return None

    def send(self, batch: Batch, destination: Destination) -> list[Rejected]:
        key = self._context.required_secret("api_key", "API key")
        url = f"{api_base(self._context.settings, key)}/3.0/lists/{_list_id(self._context, destination)}"
        response = call(self._context.session, "POST", url, json=batch_body(batch), auth=("audience-studio", key))
        return refused_members(batch, response)


class MailchimpOAuthClient:
    """OAuth sign-in: a bearer token; the API endpoint from the account's metadata, kept with the connection."""

    def __init__(self, context: PartnerContext):
        assert context.access_token is not None, "an OAuth partner's context carries its token source"
        self._context = context

    def prepare(self, destination: Destination) -> str | None:
        if destination.partner_ref:
            return destination.partner_ref
        if self._context.settings.get("api_url"):
            return self._context.settings["api_url"].rstrip("/")
        metadata_url = self._context.settings.get("metadata_url") or METADATA_URL
        response = call(self._context.session, "GET", metadata_url,
                        headers={"Authorization": f"OAuth {self._context.access_token(False)}"})
        try:
            endpoint = response.json().get("api_endpoint")
        except (ValueError, AttributeError):
            endpoint = None
        if not endpoint:
            raise PartnerError("Mailchimp's account metadata named no API endpoint; sign in again.",
                               category=AUTHENTICATION)
        return str(endpoint).rstrip("/")

    def send(self, batch: Batch, destination: Destination) -> list[Rejected]:
        url = f"{destination.partner_ref}/3.0/lists/{_list_id(self._context, destination)}"
        token = self._context.access_token(False)
        response = call(self._context.session, "POST", url, json=batch_body(batch),
                        headers={"Authorization": f"Bearer {token}"})
        return refused_members(batch, response)


LIST_FIELD = Field("list_id", "Audience ID", pattern=r"[A-Za-z0-9]{4,32}",
                   pattern_message="Audience ID is the audience's (list's) id from Audience › Settings in Mailchimp, "
                                   "such as a1b2c3d4e5")
CONNECTION_FIELDS = (
    Field("list_id", "Audience ID (this connection)", required=False, pattern=r"[A-Za-z0-9]{4,32}",
          pattern_message="Audience ID is the list's id (letters and digits)",
          help="Send this audience to another Mailchimp audience than the output's."),
)
ATTRIBUTES_HOW = "as merge fields: each attribute's name in capitals, letters and digits, at most 10 characters"
DESCRIPTION = ("Subscribes the audience's people to a Mailchimp audience and unsubscribes those who leave "
               "(Mailchimp Marketing API, batch subscribe or unsubscribe).")

PARTNER = Partner(
    key="mailchimp",
    name="Mailchimp",
    category="Email",
    description=DESCRIPTION,
    auth="api_key",
    identity_types=("email",),
    configuration_fields=(
        LIST_FIELD,
        Field("api_url", "API URL", "url", required=False,
              help="Leave empty to use the data centre in the API key (…-us6 → https://us6.api.mailchimp.com)."),
    ),
    secret_fields=(Field("api_key", "API key", "secret",
                         help="An API key from Account › Extras › API keys, such as 0123…-us6."),),
    connection_fields=CONNECTION_FIELDS,
    max_batch=MAX_MEMBERS,
    # At most 10 simultaneous connections per account; a few batch calls a second stays well inside.
    requests_per_second=5.0,
    burst=5,
    make_client=MailchimpClient,
    to_partner=to_mailchimp,
    attributes_how=ATTRIBUTES_HOW,
)

OAUTH_PARTNER = Partner(
    key="mailchimp_oauth",
    name="Mailchimp (sign in)",
    category="Email",
    description=DESCRIPTION + " Signs in to Mailchimp with OAuth 2.0 instead of an API key.",
    auth="oauth2",
    identity_types=("email",),
    configuration_fields=(
        LIST_FIELD,
        Field("client_id", "Client ID", help="Your Mailchimp app's client id (Account › Extras › Registered apps)."),
        Field("authorize_url", "Authorization URL", "url", default=AUTHORIZE_URL,
              help="Mailchimp's OAuth 2.0 authorization endpoint."),
        Field("token_url", "Token URL", "url", default=TOKEN_URL, help="Mailchimp's OAuth 2.0 token endpoint."),
        Field("metadata_url", "Metadata URL", "url", default=METADATA_URL,
              help="Where the signed-in account's data centre is read."),
        Field("api_url", "API URL", "url", required=False,
              help="Leave empty to use the signed-in account's data centre."),
    ),
    secret_fields=(Field("client_secret", "Client secret", "secret",
                         help="Your Mailchimp app's client secret: Mailchimp requires it to issue tokens."),),
    connection_fields=CONNECTION_FIELDS,
    max_batch=MAX_MEMBERS,
    requests_per_second=5.0,
    burst=5,
    make_client=MailchimpOAuthClient,
    to_partner=to_mailchimp,
    attributes_how=ATTRIBUTES_HOW,
)
