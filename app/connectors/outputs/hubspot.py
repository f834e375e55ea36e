"""HubSpot: keeps a HubSpot list's contacts in step with an audience (CRM lists v3 memberships), signed in with OAuth.

HubSpot's list memberships take record ids, so a batch (at most 100 emails, the most a batch read takes) goes in two
requests, each with the OAuth access token as a bearer token:

1. POST {api}/crm/v3/objects/contacts/batch/read with `idProperty: "email"`: the contacts' ids (a 207 reply names
   the emails with no contact under `errors[].context.ids`);
2. PUT {api}/crm/v3/lists/{list_id}/memberships/add (or /remove) with the ids as a JSON array; the reply's
   `recordIdsMissing` names ids HubSpot could not find.

An added email with no contact is refused on its own ("no HubSpot contact has this email": the list holds existing
contacts; Audience Studio does not create CRM records). A removed email with no contact is not in the list.
Only lists whose processing type is MANUAL or SNAPSHOT take memberships; HubSpot answers 400 for others (a
Configuration fault). A 401 first gets a fresh access token (HubSpot's last 30 minutes); a second 401 is a fault.
"""

from __future__ import annotations

import logging

from app.connectors.identity_prep import Rules, prepare
from app.connectors.outputs.batches import ADD, Batch, Destination
from app.connectors.outputs.errors import PartnerError
from app.connectors.outputs.http import call
from app.connectors.outputs.partner import Partner, PartnerContext
from app.connectors.outputs.rejections import Rejected
from app.connectors.outputs.settings import Field

log = logging.getLogger(__name__)

API_URL = "https://api.hubapi.com"
AUTHORIZE_URL = "https://app.hubspot.com/oauth/authorize"
TOKEN_URL = "https://api.hubapi.com/oauth/v1/token"
#: Reading contacts by email and changing list memberships.
SCOPES = "crm.lists.read crm.lists.write crm.objects.contacts.read"
#: A contacts batch read takes at most 100 inputs.
MAX_BATCH = 100
NO_CONTACT = "no HubSpot contact has this email"

#: HubSpot finds contacts by the address trimmed and lower-cased; nothing is hashed.
RULES = Rules(hashed=False)


def to_hubspot(identity_type: str, value: str) -> str | None:
    return prepare(identity_type, value, RULES)


class HubSpotClient:
    def __init__(self, context: PartnerContext):
        assert context.access_token is not None, "an OAuth partner's context carries its token source"
        self._context = context
        self._api = (context.settings.get("api_url") or API_URL).rstrip("/")

    def prepare(self, destination: Destination) -> str | None:
        return None

    def _call(self, method: str, path: str, body) -> dict | list:
        """One request with the access token; a 401 is retried once with a fresh token (it may have been revoked)."""
        for fresh in (False, True):
            headers = {"Authorization": f"Bearer {self._context.access_token(fresh)}"}
            try:
                response = call(self._context.session, method, f"{self._api}{path}", json=body, headers=headers)
            except PartnerError as exc:
                if exc.status != 401 or fresh:
                    raise
                continue
            try:
                return response.json() if response.content else {}
            except ValueError:
                return {}

    def send(self, batch: Batch, destination: Destination) -> list[Rejected]:
        list_id = destination.connection_settings.get("list_id") or self._context.settings["list_id"]
        emails = list(dict.fromkeys(i.value for i in batch.identities))
        reply = self._call("POST", "/crm/v3/objects/contacts/batch/read",
                           {"idProperty": "email", "properties": ["email"], "inputs": [{"id": e} for e in emails]})
        contact_of: dict[str, str] = {}
        for result in (reply.get("results") if isinstance(reply, dict) else None) or []:
            email = str(((result.get("properties") or {}).get("email")) or "").strip().lower()
            if email and result.get("id"):
                contact_of.setdefault(email, str(result["id"]))
        rejected: list[Rejected] = []
        add = batch.action == ADD
        if add:
            rejected = [Rejected(i.type, i.value, NO_CONTACT) for i in batch.identities if i.value not in contact_of]
        ids = list(dict.fromkeys(contact_of[i.value] for i in batch.identities if i.value in contact_of))
        if ids:
            change = self._call("PUT", f"/crm/v3/lists/{list_id}/memberships/{'add' if add else 'remove'}", ids)
            missing = set(map(str, change.get("recordIdsMissing") or [])) if isinstance(change, dict) else set()
            if add and missing:
                rejected += [Rejected(i.type, i.value, "HubSpot could not find this contact's record")
                             for i in batch.identities if contact_of.get(i.value) in missing]
        if rejected:
            log.warning("HubSpot refused %d of %d contacts of batch %s", len(rejected), len(batch), batch.id)
        return rejected


PARTNER = Partner(
    key="hubspot",
    name="HubSpot",
    category="CRM",
    description="Keeps a HubSpot static (manual) list's contacts in step with the audience, matching contacts by "
                "email (HubSpot's CRM lists API, signed in with OAuth 2.0).",
    auth="oauth2",
    identity_types=("email",),
    configuration_fields=(
        Field("list_id", "List ID", pattern=r"\d{1,20}",
              pattern_message="List ID is the list's number (its ILS list id, shown in the list's URL in HubSpot)"),
        Field("client_id", "Client ID", help="Your HubSpot app's client id (Auth tab of the app)."),
        Field("authorize_url", "Authorization URL", "url", default=AUTHORIZE_URL,
              help="HubSpot's OAuth 2.0 authorization endpoint."),
        Field("token_url", "Token URL", "url", default=TOKEN_URL, help="HubSpot's OAuth 2.0 token endpoint."),
        Field("scopes", "Scopes", default=SCOPES, help="Space-separated; the app must ask for the same."),
        Field("api_url", "API URL", "url", default=API_URL, help="HubSpot's API."),
    ),
    secret_fields=(Field("client_secret", "Client secret", "secret",
                         help="Your HubSpot app's client secret: HubSpot requires it to issue and renew tokens."),),
    connection_fields=(
        Field("list_id", "List ID (this connection)", required=False, pattern=r"\d{1,20}",
              pattern_message="List ID is the list's number",
              help="Send this audience to another list than the output's."),
    ),
    max_batch=MAX_BATCH,
    # Apps get 110 requests every 10 seconds per account; a batch makes two.
    requests_per_second=5.0,
    burst=5,
    make_client=HubSpotClient,
    to_partner=to_hubspot,
)
