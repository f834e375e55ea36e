"""Braze: marks the audience's users in Braze through POST {instance}/users/track, 75 users a request.

Each user is one object of `attributes`, named by `external_id` (customer id), `email` or `phone` (E.164 with '+'),
and carries the membership in one of two ways the connection chooses:

- a **custom attribute** (default): `{"<attribute>": true}` on add and `false` on remove, for segments and
  Canvas entry (the attribute defaults to `audience_<audience id>`);
- a **subscription group**: `"subscription_groups": [{"subscription_group_id", "subscription_state":
  "subscribed" | "unsubscribed"}]`.

Adds may create a user Braze does not know (`_update_existing_only: false`); removes only update existing users.
Shared user attributes go as custom attributes of the added users. The REST API key goes as a bearer token.
Braze answers 201 with `errors: [{"type", "input_array": "attributes", "index"}]` naming the objects it could not
use (those records are refused, the rest delivered); a whole-request error is 400/401/403. Braze's 429 carries
X-RateLimit-Reset (the epoch second the window resets) rather than Retry-After: it is read as the wait.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from app.connectors.outputs.batches import ADD, Batch, Destination, Identity
from app.connectors.identity_prep import E164, Rules, prepare
from app.connectors.outputs.errors import CONFIGURATION, PartnerError
from app.connectors.outputs.http import call
from app.connectors.outputs.partner import Partner, PartnerContext
from app.connectors.outputs.rejections import Rejected
from app.connectors.outputs.settings import Field

log = logging.getLogger(__name__)

#: /users/track takes at most 75 attribute objects a request.
MAX_USERS = 75
#: The field that names the user in an attributes object, by identity type.
USER_KEY = {"customer_id": "external_id", "email": "email", "mobile_number": "phone"}
ATTRIBUTE, SUBSCRIPTION_GROUP = "custom_attribute", "subscription_group"


def default_attribute(audience_id: int) -> str:
    return f"audience_{audience_id}"


def reset_as_retry_after(clock: Callable[[], float] = time.time):
    """A response hook: a 429 without Retry-After gets one from X-RateLimit-Reset (an epoch second), so the retry
    policy waits until Braze's window resets rather than knocking on it again."""

    def hook(response, *args, **kwargs):
        reset = response.headers.get("X-RateLimit-Reset")
        if response.status_code == 429 and "Retry-After" not in response.headers and reset:
            try:
                wait = max(0.0, float(reset) - clock())
            except ValueError:
                return response
            response.headers["Retry-After"] = str(int(wait + 0.999))
        return response

    return hook


#: Braze takes plain identifiers: emails trimmed and lower-cased, phones E.164 with "+", nothing hashed.
RULES = Rules(phone_format=E164, hashed=False)


def to_braze(identity_type: str, value: str) -> str | None:
    """The value Braze matches on; None to leave it out (not an address, a number without its country code)."""
    return prepare(identity_type, value, RULES)


class BrazeClient:
    def __init__(self, context: PartnerContext, clock: Callable[[], float] = time.time):
        self._context = context
        self._clock = clock

    def prepare(self, destination: Destination) -> str | None:
        return None

    def _membership(self, destination: Destination, add: bool) -> dict:
        settings = {**self._context.settings, **{k: v for k, v in destination.connection_settings.items() if v}}
        if settings.get("membership", ATTRIBUTE) == SUBSCRIPTION_GROUP:
            if not settings.get("subscription_group_id"):
                raise PartnerError("Membership as subscription_group needs a Subscription group ID; edit the output "
                                   "or the connection.", category=CONFIGURATION)
            return {"subscription_groups": [{"subscription_group_id": settings["subscription_group_id"],
                                             "subscription_state": "subscribed" if add else "unsubscribed"}]}
        return {settings.get("attribute_name") or default_attribute(destination.audience_id): add}

    def _user(self, identity: Identity, membership: dict, add: bool) -> dict:
        user: dict = {USER_KEY[identity.type]: identity.value}
        if identity.attributes is not None:
            user.update({name: value for name, value in identity.attributes.items() if name not in USER_KEY.values()})
        user.update(membership)
        user["_update_existing_only"] = not add
        return user

    def send(self, batch: Batch, destination: Destination) -> list[Rejected]:
        key = self._context.required_secret("api_key", "REST API key")
        add = batch.action == ADD
        membership = self._membership(destination, add)
        body = {"attributes": [self._user(i, membership, add) for i in batch.identities]}
        response = call(self._context.session, "POST", f"{self._context.settings['api_url'].rstrip('/')}/users/track",
                        json=body, headers={"Authorization": f"Bearer {key}"},
                        hooks={"response": reset_as_retry_after(self._clock)})
        rejected = errors_by_index(batch, response)
        if rejected:
            log.warning("Braze refused %d of %d users of batch %s", len(rejected), len(batch), batch.id)
        return rejected


def errors_by_index(batch: Batch, response) -> list[Rejected]:
    """The users named by `errors[].index` of the attributes array (Braze's per-object errors in a 201 reply)."""
    try:
        reply = response.json() if response.content else {}
    except ValueError:
        return []
    errors = reply.get("errors") if isinstance(reply, dict) else None
    out: list[Rejected] = []
    seen: set[int] = set()
    for error in errors if isinstance(errors, list) else []:
        if not isinstance(error, dict) or error.get("input_array", "attributes") != "attributes":
            continue
        index = error.get("index")
        if isinstance(index, int) and 0 <= index < len(batch.identities) and index not in seen:
            seen.add(index)
            identity = batch.identities[index]
            out.append(Rejected(identity.type, identity.value, str(error.get("type") or "refused")[:500]))
    return out


_INSTANCE = r"https://rest\.[a-z0-9-]+\.braze\.(com|eu)/?|http://(127\.0\.0\.1|localhost)(:\d+)?/?"

PARTNER = Partner(
    key="braze",
    name="Braze",
    category="Messaging",
    description="Marks the audience's users in Braze with a custom attribute or a subscription group "
                "(Braze's /users/track), so campaigns and Canvases can target them.",
    auth="api_key",
    identity_types=("customer_id", "email", "mobile_number"),
    configuration_fields=(
        Field("api_url", "REST endpoint", "url", pattern=_INSTANCE,
              pattern_message="REST endpoint is your Braze instance's, such as https://rest.iad-01.braze.com "
                              "(Settings › APIs and Identifiers)",
              help="Your instance's REST endpoint, such as https://rest.iad-01.braze.com or https://rest.fra-01.braze.eu."),
        Field("membership", "Membership as", "choice", default=ATTRIBUTE, choices=(ATTRIBUTE, SUBSCRIPTION_GROUP),
              help="custom_attribute: true while in the audience, false after; subscription_group: subscribed, "
                   "then unsubscribed."),
        Field("subscription_group_id", "Subscription group ID", required=False,
              pattern=r"[0-9a-fA-F-]{8,64}", pattern_message="Subscription group ID is the group's id from Braze"),
    ),
    secret_fields=(Field("api_key", "REST API key", "secret",
                         help="A REST API key with the users.track permission."),),
    connection_fields=(
        Field("attribute_name", "Custom attribute", required=False, pattern=r"[A-Za-z][A-Za-z0-9_]{0,254}",
              pattern_message="Custom attribute is a name of letters, digits and _ starting with a letter",
              help="Default: audience_<audience id>."),
        Field("subscription_group_id", "Subscription group ID (this connection)", required=False,
              pattern=r"[0-9a-fA-F-]{8,64}", pattern_message="Subscription group ID is the group's id from Braze"),
    ),
    max_batch=MAX_USERS,
    # /users/track: 3,000 requests every three seconds per workspace.
    requests_per_second=1000.0,
    burst=3000,
    make_client=BrazeClient,
    to_partner=to_braze,
    attributes_how="as custom attributes of each added user",
)

