"""Klaviyo: keeps a Klaviyo list's profiles in step with an audience (the JSON:API of revision REVISION).

Klaviyo's list endpoints take profile ids, so each batch (at most 100 identities, the most one profile look-up
returns on a page) goes in up to three steps, every request with `Authorization: Klaviyo-API-Key <private key>`,
the `revision` header and JSON:API bodies:

1. look the profiles up: GET /api/profiles?filter=any(email,[...]) (or phone_number, external_id), 100 a page;
2. adds only: a person with no profile yet (or every person, when the connection shares user attributes, which go
   to the profile's properties) is created or updated one by one: POST /api/profile-import. Klaviyo refusing one
   (400, an address it cannot use) refuses that record alone;
3. POST (add) or DELETE (remove) /api/lists/{list_id}/relationships/profiles with {"data": [{"type": "profile",
   "id"}...]} (at most 1,000; answered 204). A removed person with no profile is not in the list: nothing to do.

Every step can be repeated harmlessly, so a batch retried after a 429 (Klaviyo sends Retry-After) or a lost answer
leaves the list as one delivery would.
"""

from __future__ import annotations

import json
import logging

from app.connectors.outputs.batches import ADD, Batch, Destination, Identity
from app.connectors.identity_prep import E164, Rules, prepare
from app.connectors.outputs.errors import PartnerError
from app.connectors.outputs.http import call
from app.connectors.outputs.partner import Partner, PartnerContext
from app.connectors.outputs.rejections import Rejected
from app.connectors.outputs.settings import Field

log = logging.getLogger(__name__)

REVISION = "2024-10-15"
API_URL = "https://a.klaviyo.com"
#: A profile look-up returns at most 100 profiles a page; a batch is one page per identity type.
MAX_BATCH = 100
#: The profile attribute each identity type is matched on.
PROFILE_KEY = {"email": "email", "mobile_number": "phone_number", "customer_id": "external_id"}
JSON_API = "application/vnd.api+json"


def lookup_filter(key: str, values: list[str]) -> str:
    """Klaviyo's filter syntax: any(email,["a@x.com","b@x.com"]) — values as JSON strings, quotes escaped."""
    return f"any({key},{json.dumps(values, separators=(',', ':'), ensure_ascii=False)})"


#: Klaviyo takes plain identifiers: emails trimmed and lower-cased, phones E.164 with "+", nothing hashed.
RULES = Rules(phone_format=E164, hashed=False)


def to_klaviyo(identity_type: str, value: str) -> str | None:
    """The value Klaviyo matches on; None to leave it out (not an address, a number without its country code)."""
    return prepare(identity_type, value, RULES)


class KlaviyoClient:
    def __init__(self, context: PartnerContext):
        self._context = context
        self._api = (context.settings.get("api_url") or API_URL).rstrip("/")

    def _headers(self) -> dict[str, str]:
        key = self._context.required_secret("api_key", "private API key")
        return {"Authorization": f"Klaviyo-API-Key {key}", "revision": REVISION, "Accept": JSON_API,
                "Content-Type": JSON_API}

    def prepare(self, destination: Destination) -> str | None:
        return None

    def send(self, batch: Batch, destination: Destination) -> list[Rejected]:
        list_id = destination.connection_settings.get("list_id") or self._context.settings["list_id"]
        headers = self._headers()
        found = self._look_up(batch.identities, headers)
        rejected: list[Rejected] = []
        if batch.action == ADD:
            for identity in batch.identities:
                if identity.attributes is not None or (identity.type, identity.value) not in found:
                    profile_id, reason = self._import(identity, headers)
                    if profile_id is None:
                        rejected.append(Rejected(identity.type, identity.value, reason))
                    else:
                        found[(identity.type, identity.value)] = profile_id
        ids = list(dict.fromkeys(found[(i.type, i.value)] for i in batch.identities if (i.type, i.value) in found))
        if ids:
            call(self._context.session, "POST" if batch.action == ADD else "DELETE",
                 f"{self._api}/api/lists/{list_id}/relationships/profiles",
                 data=json.dumps({"data": [{"type": "profile", "id": i} for i in ids]}), headers=headers)
        if rejected:
            log.warning("Klaviyo refused %d of %d profiles of batch %s", len(rejected), len(batch), batch.id)
        return rejected

    def _look_up(self, identities: tuple[Identity, ...], headers: dict) -> dict[tuple[str, str], str]:
        """(type, value) → profile id of the identities that have a profile."""
        found: dict[tuple[str, str], str] = {}
        for identity_type, key in PROFILE_KEY.items():
            values = list(dict.fromkeys(i.value for i in identities if i.type == identity_type))
            if not values:
                continue
            wanted = {v.lower() if identity_type == "email" else v: v for v in values}
            url = f"{self._api}/api/profiles"
            params: dict | None = {"filter": lookup_filter(key, values), "page[size]": str(MAX_BATCH),
                                   "fields[profile]": key}
            while url:
                reply = _json(call(self._context.session, "GET", url, params=params, headers=headers))
                for profile in reply.get("data") or []:
                    value = str(((profile.get("attributes") or {}).get(key)) or "")
                    original = wanted.get(value.lower() if identity_type == "email" else value)
                    if original is not None and profile.get("id"):
                        found.setdefault((identity_type, original), str(profile["id"]))
                url, params = (reply.get("links") or {}).get("next"), None
        return found

    def _import(self, identity: Identity, headers: dict) -> tuple[str | None, str]:
        """Create or update the identity's profile: (its id, "") or (None, Klaviyo's reason) when it refused it."""
        attributes: dict = {PROFILE_KEY[identity.type]: identity.value}
        if identity.attributes is not None:
            attributes["properties"] = dict(identity.attributes)
        body = {"data": {"type": "profile", "attributes": attributes}}
        try:
            response = call(self._context.session, "POST", f"{self._api}/api/profile-import", data=json.dumps(body),
                            headers=headers)
        except PartnerError as exc:
            if exc.status == 400:  # this person's identifier or values: the rest of the batch goes on
                return None, exc.message
            raise
        profile_id = (_json(response).get("data") or {}).get("id")
        return (str(profile_id), "") if profile_id else (None, "Klaviyo returned no profile id")


def _json(response) -> dict:
    try:
        body = response.json() if response.content else {}
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


PARTNER = Partner(
    key="klaviyo",
    name="Klaviyo",
    category="Email",
    description="Adds the audience's people to a Klaviyo list and removes those who leave it, creating profiles for "
                "people Klaviyo does not know yet (Klaviyo's lists and profiles API).",
    auth="api_key",
    identity_types=("email", "mobile_number", "customer_id"),
    configuration_fields=(
        Field("list_id", "List ID", pattern=r"[A-Za-z0-9]{4,32}",
              pattern_message="List ID is the list's id from its settings in Klaviyo (letters and digits, e.g. Y6nRLr)"),
        Field("api_url", "API URL", "url", required=False, help=f"Leave empty for {API_URL}."),
    ),
    secret_fields=(Field("api_key", "Private API key", "secret",
                         help="A private key (pk_…) with the lists:write, profiles:read and profiles:write scopes."),),
    connection_fields=(
        Field("list_id", "List ID (this connection)", required=False, pattern=r"[A-Za-z0-9]{4,32}",
              pattern_message="List ID is the list's id (letters and digits)",
              help="Send this audience to another list than the output's."),
    ),
    max_batch=MAX_BATCH,
    # The list-membership endpoints allow a burst of 10/s and 150 a minute steady; one such call per batch.
    requests_per_second=2.5,
    burst=10,
    make_client=KlaviyoClient,
    to_partner=to_klaviyo,
    attributes_how="as profile properties (each added person's profile is created or updated with them)",
)
