"""The ad network's custom audiences, shaped like Meta's Marketing API (Customer File Custom Audiences).

Before the first batch a custom audience is created in the ad account
(POST {api}/act_{account}/customaudiences); then members are added (POST {api}/{audience}/users) and
removed (DELETE, same body) in requests of at most 10,000 rows with the multi-key schema
EMAIL_SHA256 / PHONE_SHA256 / MADID_SHA256: SHA-256 hex of the trimmed lowercase email, of the
phone's E.164 digits, and of the lowercase advertising id. Each request carries a session
(session_id, batch_seq) by which the partner recognises a batch it already received.

Creating the audience has no such key, so a reply lost after the partner made it must not lead to a
second one: the audience is described with the connection it belongs to (`creation_mark`), and before
creating, the ad account's audiences (GET {api}/act_{account}/customaudiences, followed page by page)
are searched for one with that name and description, which is taken instead.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from app.connectors.outputs.batches import ADD, Batch, Destination
from app.connectors.outputs.errors import PartnerError
from app.connectors.outputs.http import call, reply_json
from app.connectors.outputs.identities import ADVERTISING_ID_TYPES, normalise, sha256_hex
from app.connectors.outputs.partner import Partner, PartnerContext
from app.connectors.outputs.rejections import Rejected, rejected_from_values
from app.connectors.outputs.settings import Field

MAX_ROWS = 10_000
SCHEMA = ("EMAIL_SHA256", "PHONE_SHA256", "MADID_SHA256")
#: Which schema column an identity type fills.
COLUMN = {"email": 0, "mobile_number": 1, **{t: 2 for t in ADVERTISING_ID_TYPES}}


def hashed(identity_type: str, value: str) -> str | None:
    """The SHA-256 hex of the value's normal form; None when it has none (it is left out, not sent raw)."""
    normal = normalise(identity_type, value)
    return None if normal is None else sha256_hex(normal)


#: Pages of the ad account's audiences read when looking for one made by a creation whose reply was lost.
MAX_LOOKUP_PAGES = 50


def creation_mark(destination: Destination) -> str:
    """The description the audience is created with: it says which connection made it, to find it again."""
    return f"Audience Studio audience {destination.audience_id}, connection {destination.connection_id}"


def session_id(batch_id: str) -> int:
    """A positive 63-bit number from the batch's id: the same batch always has the same session."""
    return int(batch_id.replace("-", "")[:15], 16)


def _audience_id(reply: object, doing: str) -> str:
    if isinstance(reply, dict) and isinstance(reply.get("id"), (str, int)) and str(reply["id"]):
        return str(reply["id"])
    raise PartnerError(f"The partner's reply to {doing} carried no audience id.")


class CustomAudienceClient:
    def __init__(self, context: PartnerContext):
        self._context = context
        self._api = context.settings.get("api_url", "https://graph.facebook.com/v19.0").rstrip("/")

    def _headers(self) -> dict[str, str]:
        # In a header, never the query string: URLs end up in logs and proxies.
        token = self._context.required_secret("access_token", "access token")
        return {"Authorization": f"Bearer {token}"}

    def prepare(self, destination: Destination) -> str | None:
        if destination.partner_ref:
            return destination.partner_ref
        name = destination.connection_settings.get("audience_name") or destination.audience_name
        audiences = f"{self._api}/act_{self._context.settings['ad_account_id']}/customaudiences"
        made = self._made_before(audiences, name, creation_mark(destination))
        if made is not None:
            return made
        response = call(self._context.session, "POST", audiences,
                        json={"name": name, "subtype": "CUSTOM", "customer_file_source": "USER_PROVIDED_ONLY",
                              "description": creation_mark(destination)},
                        headers=self._headers())
        return _audience_id(reply_json(response), "creating the custom audience")

    def _made_before(self, audiences_url: str, name: str, mark: str) -> str | None:
        """The id of an audience this connection created already (its reply lost), if the ad account has one."""
        url: str | None = audiences_url
        params: dict | None = {"fields": "id,name,description", "limit": 500}
        host = urlsplit(audiences_url).netloc
        for _ in range(MAX_LOOKUP_PAGES):
            page = reply_json(call(self._context.session, "GET", url, params=params, headers=self._headers()))
            for audience in (page.get("data") or []) if isinstance(page, dict) else []:
                if isinstance(audience, dict) and audience.get("description") == mark and audience.get("name") == name:
                    return _audience_id(audience, "finding the custom audience")
            url = ((page.get("paging") or {}).get("next")) if isinstance(page, dict) else None
            # The next page's URL carries its own cursor; the token goes only to the API's own host.
            if not url or urlsplit(url).netloc != host:
                return None
            params = None
        return None

    def send(self, batch: Batch, destination: Destination) -> list[Rejected]:
        body = users_body(batch)
        response = call(self._context.session, "POST" if batch.action == ADD else "DELETE",
                        f"{self._api}/{destination.partner_ref}/users", json=body, headers=self._headers())
        return invalid_entries(batch, response)


def users_body(batch: Batch) -> dict:
    """The users request of a batch: one row of hashes per identity in the schema's columns, and a session
    numbered from the batch's id (a retried batch keeps its session)."""
    rows = []
    for identity in batch.identities:
        row = ["", "", ""]
        row[COLUMN[identity.type]] = identity.value
        rows.append(row)
    return {"payload": {"schema": list(SCHEMA), "data": rows},
            "session": {"session_id": session_id(batch.id), "batch_seq": 1, "last_batch_flag": True,
                        "estimated_num_total": len(rows)}}


def invalid_entries(batch: Batch, response) -> list[Rejected]:
    """The rows the partner could not use: its reply names samples of them in `invalid_entry_samples`
    (hashed value → reason, or a list of values) beside the count `num_invalid_entries`."""
    try:
        reply = response.json() if response.content else {}
    except ValueError:
        return []
    samples = reply.get("invalid_entry_samples") if isinstance(reply, dict) else None
    if isinstance(samples, list):
        samples = {str(v): "invalid entry" for v in samples}
    if not isinstance(samples, dict):
        return []
    return rejected_from_values(batch.identities, {str(k): str(v) for k, v in samples.items()})


PARTNER = Partner(
    key="custom_audiences",
    name="Custom audiences (ad network)",
    category="Advertising",
    description="Creates a custom audience in an ad account and keeps its members in step, sending only SHA-256 "
                "hashes of normalised emails, phone numbers and advertising ids (as Meta's Marketing API takes them).",
    auth="api_key",
    identity_types=("email", "mobile_number", "ios_idfa", "android_advertising_id"),
    configuration_fields=(
        Field("ad_account_id", "Ad account ID", pattern=r"\d{5,20}",
              pattern_message="Ad account ID is the account's number, without the act_ prefix"),
        Field("api_url", "API URL", "url", default="https://graph.facebook.com/v19.0",
              help="The Graph API base, with its version."),
    ),
    secret_fields=(Field("access_token", "Access token", "secret",
                         help="A system user's access token with the ads_management permission."),),
    connection_fields=(Field("audience_name", "Audience name at the partner", required=False,
                             help="Default: the audience's external name."),),
    max_batch=MAX_ROWS,
    # The Marketing API throttles custom-audience updates per ad account; a steady few calls a second stays clear.
    requests_per_second=2.0,
    burst=4,
    make_client=CustomAudienceClient,
    to_partner=hashed,
)
