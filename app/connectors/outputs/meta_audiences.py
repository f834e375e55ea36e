"""Meta Custom Audiences (Marketing API, customer list custom audiences), signed in with Facebook Login.

- Before the first batch a customer-list custom audience is created in the ad account
  (POST /act_{ad_account_id}/customaudiences, subtype CUSTOM, customer_file_source USER_PROVIDED_ONLY), unless the
  connection names an existing one.
- Members are added with POST /{audience_id}/users and removed with DELETE /{audience_id}/users, both with
  {"payload": {"schema": [...], "data": [[...], ...]}, "session": {...}}: at most 10,000 rows a request, one
  identity a row, in the multi-key schema EMAIL_SHA256 / PHONE_SHA256 / MADID_SHA256. Only SHA-256 hex leaves the
  app, of Meta's normal forms (app.connectors.identity_prep.META: email trimmed and lower-cased, phone as digits
  with the country code, advertising id lower-cased).
- With the app secret entered, each call carries appsecret_proof (HMAC-SHA256 of the token keyed with the secret).
- The reply counts rows it could not use (num_invalid_entries) and names samples (invalid_entry_samples): those
  become refused records; the rest of the batch is taken.
- Errors come as {"error": {"code", "message", ...}}: code 190 is an expired or revoked token (Authentication:
  sign in again — Meta's user tokens have no refresh token), codes 4, 17, 32, 613 and 80003 are rate limits
  (retried; the X-Business-Use-Case-Usage header's estimated_time_to_regain_access, in minutes, is the wait).
- The Graph API version is GRAPH_API_VERSION, used for the API and the sign-in endpoints alike.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

from app.connectors import identity_prep
from app.connectors.outputs.batches import ADD, Batch, Destination
# The users API, its schema and its sessions are the ones the generic hashed custom-audience partner speaks.
from app.connectors.outputs.custom_audiences import users_body
from app.connectors.outputs.errors import AUTHENTICATION, RATE_LIMITING, PartnerError
from app.connectors.outputs.http import call
from app.connectors.outputs.partner import Partner, PartnerContext
from app.connectors.outputs.rejections import Rejected, rejected_from_values
from app.connectors.outputs.settings import Field

log = logging.getLogger(__name__)

#: The one place the Graph API version is named: the API base and Facebook Login's endpoints follow it.
GRAPH_API_VERSION = "v21.0"
API_URL = f"https://graph.facebook.com/{GRAPH_API_VERSION}"
AUTHORIZE_URL = f"https://www.facebook.com/{GRAPH_API_VERSION}/dialog/oauth"
TOKEN_URL = f"https://graph.facebook.com/{GRAPH_API_VERSION}/oauth/access_token"
SCOPES = "ads_management"

MAX_ROWS = 10_000
#: Graph API error codes that mean "too many calls, slow down" (API, app, user, ad-account and custom-audience limits).
RATE_LIMIT_CODES = {4, 17, 32, 613, 80003}
#: OAuthException: the access token expired, was revoked, or the password changed.
EXPIRED_TOKEN_CODE = 190


def to_meta(identity_type: str, value: str) -> str | None:
    """What Meta receives for an identity: SHA-256 hex of its Meta normal form; None to leave it out."""
    return identity_prep.prepare(identity_type, value, identity_prep.META)


def appsecret_proof(app_secret: str, access_token: str) -> str:
    """Meta's appsecret_proof: hex HMAC-SHA256 of the access token keyed with the app secret."""
    return hmac.new(app_secret.encode("utf-8"), access_token.encode("utf-8"), hashlib.sha256).hexdigest()



def graph_error(exc: PartnerError) -> PartnerError:
    """The Graph API's error code decides the category: 190 → Authentication, throttling codes → Rate limiting."""
    response = exc.response
    try:
        body = response.json() if response is not None else None
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    if code == EXPIRED_TOKEN_CODE:
        return PartnerError(exc.message + " Sign the output in again (Re-authenticate).", status=exc.status,
                            category=AUTHENTICATION)
    if code in RATE_LIMIT_CODES:
        # Meta answers throttling with 400, not 429: no status here, so the retry policy waits and tries again,
        # at least as long as Retry-After or Meta's own estimate says.
        wait = exc.retry_after
        if wait is None and response is not None:
            wait = regain_access_seconds(response.headers.get("X-Business-Use-Case-Usage"))
        return PartnerError(f"{exc.message} (Meta rate limit, error {code})", status=None, retry_after=wait,
                            category=RATE_LIMITING)
    return exc


def regain_access_seconds(header: str | None) -> float | None:
    """The longest estimated_time_to_regain_access (minutes) in X-Business-Use-Case-Usage, in seconds."""
    if not header:
        return None
    try:
        usage = json.loads(header)
    except ValueError:
        return None
    minutes = [entry.get("estimated_time_to_regain_access") for entries in (usage.values() if isinstance(usage, dict) else [])
               if isinstance(entries, list) for entry in entries if isinstance(entry, dict)]
    minutes = [m for m in minutes if isinstance(m, int | float) and m > 0]
    return max(minutes) * 60.0 if minutes else None


class MetaAudiencesClient:
    def __init__(self, context: PartnerContext):
        assert context.access_token is not None, "an OAuth partner's context carries its token source"
        self._context = context
        self._api = (context.settings.get("api_url") or API_URL).rstrip("/")

    def _call(self, method: str, url: str, **kwargs):
        token = self._context.access_token(False)
        app_secret = self._context.secret("client_secret")
        # With the app secret, every call proves it (Meta's "Require App Secret" setting): appsecret_proof, an
        # HMAC of the token that cannot be turned back into it.
        params = {"appsecret_proof": appsecret_proof(app_secret, token)} if app_secret else None
        try:
            # The token in a header, never the query string: URLs end up in logs and proxies.
            return call(self._context.session, method, url, headers={"Authorization": f"Bearer {token}"},
                        params=params, **kwargs)
        except PartnerError as exc:
            raise graph_error(exc) from None

    def prepare(self, destination: Destination) -> str | None:
        if destination.partner_ref:
            return destination.partner_ref
        existing = destination.connection_settings.get("custom_audience_id")
        if existing:
            return str(existing)
        name = destination.connection_settings.get("audience_name") or destination.audience_name
        response = self._call("POST", f"{self._api}/act_{self._context.settings['ad_account_id']}/customaudiences",
                              json={"name": name, "subtype": "CUSTOM", "customer_file_source": "USER_PROVIDED_ONLY",
                                    "description": f"Audience Studio audience {destination.audience_id}"})
        return str(response.json()["id"])

    def send(self, batch: Batch, destination: Destination) -> list[Rejected]:
        body = users_body(batch)
        response = self._call("POST" if batch.action == ADD else "DELETE", f"{self._api}/{destination.partner_ref}/users",
                              json=body)
        return invalid_entries(batch, response)


def invalid_entries(batch: Batch, response) -> list[Rejected]:
    """Rows Meta could not use: `invalid_entry_samples` (hashed value → reason, or a list of values) beside the
    count `num_invalid_entries`; invalid rows beyond the samples are only counted in the log."""
    try:
        reply = response.json() if response.content else {}
    except ValueError:
        return []
    if not isinstance(reply, dict):
        return []
    samples = reply.get("invalid_entry_samples")
    if isinstance(samples, list):
        samples = {str(v): "invalid entry" for v in samples}
    rejected = rejected_from_values(batch.identities, {str(k): str(v) for k, v in samples.items()}) \
        if isinstance(samples, dict) else []
    count = reply.get("num_invalid_entries")
    if isinstance(count, int) and count > len(rejected):
        log.warning("Meta could not use %d rows of batch %s (%d named)", count, batch.id, len(rejected))
    return rejected


PARTNER = Partner(
    key="meta_custom_audiences",
    name="Meta Custom Audiences",
    category="Advertising",
    description="Keeps a customer-list custom audience in a Meta (Facebook, Instagram) ad account in step with the "
                "audience, sending only SHA-256 hashes of emails, phone numbers and advertising ids. Sign in with "
                "Facebook Login (ads_management).",
    auth="oauth2",
    identity_types=("email", "mobile_number", "ios_idfa", "android_advertising_id"),
    configuration_fields=(
        Field("ad_account_id", "Ad account ID", pattern=r"\d{5,20}",
              pattern_message="Ad account ID is the account's number, without the act_ prefix"),
        Field("client_id", "App ID", pattern=r"\d{5,20}", pattern_message="App ID is your Meta app's number",
              help="Your Meta app (developers.facebook.com), with Facebook Login and the Marketing API added and "
                   "http://127.0.0.1/callback as a valid OAuth redirect URI."),
        Field("authorize_url", "Authorization URL", "url", default=AUTHORIZE_URL, help="Facebook Login's dialog."),
        Field("token_url", "Token URL", "url", default=TOKEN_URL),
        Field("scopes", "Scopes", default=SCOPES, help="ads_management lets the app manage the account's audiences."),
        Field("api_url", "API URL", "url", default=API_URL, help=f"The Graph API base, with its version ({GRAPH_API_VERSION})."),
    ),
    secret_fields=(Field("client_secret", "App secret", "secret", required=False,
                         help="The app secret, if your app is not set up as a native (public) client."),),
    connection_fields=(
        Field("audience_name", "Audience name at Meta", required=False, help="Default: the audience's external name."),
        Field("custom_audience_id", "Existing custom audience ID", required=False, pattern=r"\d{5,25}",
              pattern_message="Custom audience ID is a number",
              help="Keep this custom audience in step instead of creating one."),
    ),
    max_batch=MAX_ROWS,
    # Custom-audience updates are throttled per ad account (error 80003); a steady few calls a second stays clear.
    requests_per_second=2.0,
    burst=4,
    make_client=MetaAudiencesClient,
    to_partner=to_meta,
)
