"""Google Ads Customer Match (Google Ads API, REST), signed in with Google's OAuth 2.0 for installed apps.

- Before the first batch a CRM-based user list (upload key type CONTACT_INFO) is created in the customer account
  (POST /customers/{id}/userLists:mutate), unless the connection names an existing one.
- Each batch is one offline user data job (type CUSTOMER_MATCH_USER_LIST): POST
  /customers/{id}/offlineUserDataJobs:create, then POST /{job}:addOperations with one operation per identity —
  {"create": {"userIdentifiers": [{"hashedEmail" | "hashedPhoneNumber": ...}]}} for adds, {"remove": ...} for
  removes — and "enablePartialFailure": true, then POST /{job}:run. At most 100,000 identifiers a request.
- Only SHA-256 hex leaves the app, of Google's normal forms (app.connectors.identity_prep.GOOGLE: email trimmed,
  lower-cased, without the dots before @gmail.com; phone E.164 with "+").
- With partial failure, operations Google refuses are named in the reply's partialFailureError
  (google.rpc.Status whose details hold GoogleAdsFailure errors, each with the operation's index in
  location.fieldPathElements): those become refused records; the rest is taken.
- Every request carries the developer-token header (and login-customer-id when a manager account is named). A 401
  gets one fresh access token (a refresh) and one retry; 429 RESOURCE_EXHAUSTED is retried with backoff.
- The API version is API_VERSION, in one place.
"""

from __future__ import annotations

import logging

from app.connectors import identity_prep
from app.connectors.outputs.batches import ADD, Batch, Destination
from app.connectors.outputs.errors import PartnerError
from app.connectors.outputs.http import call
from app.connectors.outputs.partner import Partner, PartnerContext
from app.connectors.outputs.rejections import Rejected
from app.connectors.reply_text import one_line
from app.connectors.outputs.settings import Field

log = logging.getLogger(__name__)

#: The one place the Google Ads API version is named.
API_VERSION = "v18"
API_URL = f"https://googleads.googleapis.com/{API_VERSION}"
AUTHORIZE_URL = "https://accounts.google.com/o/oauth2/v2/auth"
TOKEN_URL = "https://oauth2.googleapis.com/token"
REVOCATION_URL = "https://oauth2.googleapis.com/revoke"
SCOPES = "https://www.googleapis.com/auth/adwords"

MAX_IDENTIFIERS = 100_000
#: The user identifier field each identity type fills.
IDENTIFIER = {"email": "hashedEmail", "mobile_number": "hashedPhoneNumber"}
CONSENT_CHOICES = ("UNSPECIFIED", "GRANTED", "DENIED")


def to_google(identity_type: str, value: str) -> str | None:
    """What Google receives for an identity: SHA-256 hex of its Google normal form; None to leave it out."""
    return identity_prep.prepare(identity_type, value, identity_prep.GOOGLE)


def customer_id(text: str) -> str:
    """The customer id as the API wants it in paths and headers: digits only (123-456-7890 → 1234567890)."""
    return text.replace("-", "").strip()


def operations(batch: Batch) -> list[dict]:
    """One operation per identity, in the batch's order (partial failures name operations by that index)."""
    kind = "create" if batch.action == ADD else "remove"
    return [{kind: {"userIdentifiers": [{IDENTIFIER[i.type]: i.value}]}} for i in batch.identities]


def partial_failures(batch: Batch, reply: object) -> list[Rejected]:
    """The batch's identities whose operations partialFailureError names (by operation index), with Google's reason."""
    status = reply.get("partialFailureError") if isinstance(reply, dict) else None
    if not isinstance(status, dict):
        return []
    reasons: dict[int, str] = {}
    for detail in status.get("details") or []:
        for error in (detail.get("errors") or []) if isinstance(detail, dict) else []:
            index = _operation_index(error)
            if index is not None and 0 <= index < len(batch.identities) and index not in reasons:
                code = error.get("errorCode") if isinstance(error.get("errorCode"), dict) else {}
                reason = error.get("message") or next(iter(code.values()), None) or "refused"
                reasons[index] = one_line(str(reason))[:500]
    if not reasons and status.get("message"):
        log.warning("Google Ads reported a partial failure naming no operation for batch %s: %s", batch.id,
                    one_line(str(status["message"])))
    return [Rejected(batch.identities[i].type, batch.identities[i].value, reason) for i, reason in sorted(reasons.items())]


def _operation_index(error: dict) -> int | None:
    location = error.get("location")
    elements = location.get("fieldPathElements") if isinstance(location, dict) else None
    for element in elements or []:
        if isinstance(element, dict) and element.get("fieldName") == "operations" and isinstance(element.get("index"), int):
            return element["index"]
    return None


class CustomerMatchClient:
    def __init__(self, context: PartnerContext):
        assert context.access_token is not None, "an OAuth partner's context carries its token source"
        self._context = context
        self._api = (context.settings.get("api_url") or API_URL).rstrip("/")
        self._customer = customer_id(context.settings["customer_id"])

    def _headers(self, fresh: bool) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self._context.access_token(fresh)}",
                   "developer-token": self._context.required_secret("developer_token", "developer token")}
        manager = self._context.settings.get("login_customer_id")
        if manager:
            headers["login-customer-id"] = customer_id(manager)
        return headers

    def _post(self, path: str, body: dict) -> dict:
        for fresh in (False, True):
            try:
                response = call(self._context.session, "POST", f"{self._api}/{path}", json=body,
                                headers=self._headers(fresh))
            except PartnerError as exc:
                # An access token revoked or expired early: one refresh, one retry; a second 401 is a fault.
                if exc.status != 401 or fresh:
                    raise
                continue
            try:
                reply = response.json() if response.content else {}
            except ValueError:
                reply = {}
            return reply if isinstance(reply, dict) else {}
        raise AssertionError("unreachable")

    def prepare(self, destination: Destination) -> str | None:
        if destination.partner_ref:
            return destination.partner_ref
        existing = destination.connection_settings.get("user_list_id")
        if existing:
            return f"customers/{self._customer}/userLists/{existing}"
        name = destination.connection_settings.get("audience_name") or destination.audience_name
        reply = self._post(f"customers/{self._customer}/userLists:mutate", {"operations": [{"create": {
            "name": name, "description": f"Audience Studio audience {destination.audience_id}",
            "membershipLifeSpan": 10000,
            "crmBasedUserList": {"uploadKeyType": "CONTACT_INFO", "dataSourceType": "FIRST_PARTY"}}}]})
        return str(reply["results"][0]["resourceName"])

    def send(self, batch: Batch, destination: Destination) -> list[Rejected]:
        metadata: dict = {"userList": destination.partner_ref}
        consent = self._context.settings.get("consent", "UNSPECIFIED")
        if consent != "UNSPECIFIED":
            metadata["consent"] = {"adUserData": consent, "adPersonalization": consent}
        job = self._post(f"customers/{self._customer}/offlineUserDataJobs:create",
                         {"job": {"type": "CUSTOMER_MATCH_USER_LIST", "customerMatchUserListMetadata": metadata}})
        name = job["resourceName"]
        reply = self._post(f"{name}:addOperations", {"enablePartialFailure": True, "operations": operations(batch)})
        rejected = partial_failures(batch, reply)
        # Adding the same people again is harmless, so a retried batch (a new job) changes nothing twice.
        self._post(f"{name}:run", {})
        return rejected


PARTNER = Partner(
    key="google_customer_match",
    name="Google Ads Customer Match",
    category="Advertising",
    description="Keeps a Customer Match user list in a Google Ads account in step with the audience through offline "
                "user data jobs, sending only SHA-256 hashes of emails and phone numbers. Sign in with Google "
                "(adwords scope); needs a developer token.",
    auth="oauth2",
    identity_types=("email", "mobile_number"),
    configuration_fields=(
        Field("customer_id", "Customer ID", pattern=r"\d{3}-?\d{3}-?\d{4}",
              pattern_message="Customer ID is the account's 10 digits, such as 123-456-7890"),
        Field("login_customer_id", "Manager account ID", required=False, pattern=r"\d{3}-?\d{3}-?\d{4}",
              pattern_message="Manager account ID is 10 digits, such as 123-456-7890",
              help="Only when you reach the account through a manager account."),
        Field("client_id", "Client ID", help="An OAuth client of type Desktop app in your Google Cloud project."),
        Field("authorize_url", "Authorization URL", "url", default=AUTHORIZE_URL),
        Field("token_url", "Token URL", "url", default=TOKEN_URL),
        Field("revocation_url", "Revocation URL", "url", default=REVOCATION_URL),
        Field("scopes", "Scopes", default=SCOPES),
        Field("consent", "EU user consent", "choice", default="UNSPECIFIED", choices=CONSENT_CHOICES,
              help="Sent as the job's consent for ad user data and ad personalization (required for EEA users)."),
        Field("api_url", "API URL", "url", default=API_URL, help=f"The Google Ads API base, with its version ({API_VERSION})."),
    ),
    secret_fields=(
        Field("developer_token", "Developer token", "secret", help="From the API Center of your Google Ads manager account."),
        Field("client_secret", "Client secret", "secret", required=False,
              help="The Desktop app client's secret (Google issues one even for installed apps)."),
    ),
    connection_fields=(
        Field("audience_name", "User list name at Google", required=False, help="Default: the audience's external name."),
        Field("user_list_id", "Existing user list ID", required=False, pattern=r"\d{1,20}",
              pattern_message="User list ID is a number",
              help="Keep this Customer Match list in step instead of creating one."),
    ),
    max_batch=MAX_IDENTIFIERS,
    # Google Ads meters requests per developer token; three calls a batch, a few a second stays clear of it.
    requests_per_second=3.0,
    burst=3,
    make_client=CustomerMatchClient,
    to_partner=to_google,
)
