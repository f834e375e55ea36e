"""The email-list partner, shaped like Mailchimp's Marketing API "batch subscribe or unsubscribe list members".

POST {api}/3.0/lists/{list_id} with up to 500 members, each {"email_address", "status"}, and
"update_existing": true, so sending a member twice leaves it as it was. HTTP Basic auth with the
API key as the password; the key's suffix ("-us6") names the data centre the API lives in.
"""

from __future__ import annotations

import logging
import re

from app.connectors.outputs.batches import (
    ADD,
    Batch,
    Destination,
    Identity,
    attribute_text,
)
from app.connectors.outputs.errors import CONFIGURATION, PartnerError
from app.connectors.outputs.http import call, reply_json
from app.connectors.outputs.partner import Partner, PartnerContext
from app.connectors.outputs.rejections import Rejected, rejected_from_values
from app.connectors.outputs.settings import Field

log = logging.getLogger(__name__)

MAX_MEMBERS = 500


def api_base(settings: dict, api_key: str) -> str:
    """The API's base URL: the admin's override, else the key's data centre."""
    if settings.get("api_url"):
        return settings["api_url"].rstrip("/")
    _, _, centre = api_key.rpartition("-")
    if not centre.isalnum():
        raise PartnerError("The API key does not end with its data centre (such as -us6); enter the API URL instead.",
                           category=CONFIGURATION)
    return f"https://{centre}.api.mailchimp.com"


def merge_tag(name: str) -> str:
    """The list's merge field for a shared attribute: its name in capitals, letters and digits only, at most 10
    characters (the partner's limit), e.g. loyalty_tier → LOYALTYTIE. Create the merge fields in the list first."""
    return (re.sub(r"[^A-Za-z0-9]", "", name).upper() or "ATTRIBUTE")[:10]


def _member(identity: Identity, status: str) -> dict:
    member = {"email_address": identity.value, "status": status}
    if identity.attributes is not None:
        # With update_existing, sending a member again with new merge fields updates them: the upsert.
        member["merge_fields"] = {merge_tag(name): attribute_text(value) for name, value in identity.attributes.items()}
    return member


class EmailListClient:
    def __init__(self, context: PartnerContext):
        self._context = context

    def prepare(self, destination: Destination) -> str | None:
        return None

    def send(self, batch: Batch, destination: Destination) -> list[Rejected]:
        key = self._context.required_secret("api_key", "API key")
        list_id = destination.connection_settings.get("list_id") or self._context.settings["list_id"]
        status = "subscribed" if batch.action == ADD else "unsubscribed"
        body = {"members": [_member(i, status) for i in batch.identities], "update_existing": True}
        response = call(self._context.session, "POST", f"{api_base(self._context.settings, key)}/3.0/lists/{list_id}",
                        json=body, auth=("audience-studio", key), headers={"Idempotency-Key": batch.id})
        reply = _json(response)
        errors = reply.get("errors") if isinstance(reply.get("errors"), list) else []
        # Per-member refusals (a bounced, banned or invalid address) do not stop the audience: the rest is taken.
        refused = {str(e.get("email_address", "")).strip().lower(): str(e.get("error") or e.get("error_code") or "refused")
                   for e in errors if isinstance(e, dict)}
        rejected = rejected_from_values(batch.identities, refused)
        count = reply.get("error_count") if isinstance(reply.get("error_count"), int) else len(errors)
        if count:
            log.warning("email list %s refused %d of %d members of batch %s", list_id, count, len(batch), batch.id)
        return rejected


def _json(response) -> dict:
    """The reply's JSON object, or {} for an empty reply (it names no refusals); a garbled or cut reply raises
    the retried PartnerError of `reply_json`."""
    if not response.content:
        return {}
    body = reply_json(response)
    return body if isinstance(body, dict) else {}


PARTNER = Partner(
    key="email_list",
    name="Email list",
    category="Email",
    description="Subscribes members to an email list and unsubscribes those who leave the audience "
                "(batch member upserts, as Mailchimp's Marketing API does).",
    auth="api_key",
    identity_types=("email",),
    configuration_fields=(
        Field("list_id", "List ID", pattern=r"[A-Za-z0-9]{4,32}",
              pattern_message="List ID is the list's id from the partner's settings (letters and digits)"),
        Field("api_url", "API URL", "url", required=False,
              help="Leave empty to use the data centre in the API key (e.g. https://us6.api.mailchimp.com)."),
    ),
    secret_fields=(Field("api_key", "API key", "secret", help="An API key of the account, such as 0123…-us6."),),
    connection_fields=(
        Field("list_id", "List ID (this connection)", required=False, pattern=r"[A-Za-z0-9]{4,32}",
              pattern_message="List ID is the list's id (letters and digits)",
              help="Send this audience to another list than the output's."),
    ),
    max_batch=MAX_MEMBERS,
    # The API allows 10 simultaneous connections per account; batch calls are kept to a few a second.
    requests_per_second=5.0,
    burst=5,
    make_client=EmailListClient,
    attributes_how="as merge fields: each attribute's name in capitals, letters and digits, at most 10 characters",
)
