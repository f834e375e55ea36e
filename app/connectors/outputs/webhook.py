"""The generic webhook: JSON batches POSTed to the admin's URL, signed with HMAC-SHA256 over a shared secret.

Each request is signed twice: per the Standard Webhooks specification (webhook-id, webhook-timestamp,
webhook-signature "v1,<base64 HMAC-SHA256 of 'id.timestamp.body'>"), so receivers verify with the stock libraries,
and with the original X-Audience-Studio-Signature for receivers written against it. webhook-id is the batch id,
the same on every retry of a batch: the receiver's idempotency key (also sent as Idempotency-Key).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time

from app.connectors.outputs.batches import Batch, Destination, Identity
from app.connectors.outputs.errors import CONFIGURATION, PartnerError
from app.connectors.outputs.http import call
from app.connectors.outputs.identities import IDENTITY_LABELS
from app.connectors.outputs.partner import Partner, PartnerContext
from app.connectors.outputs.rejections import Rejected, rejected_from_json
from app.connectors.outputs.settings import Field

SIGNATURE_HEADER = "X-Audience-Studio-Signature"
TIMESTAMP_HEADER = "X-Audience-Studio-Timestamp"
#: Standard Webhooks (https://www.standardwebhooks.com): the message id, its Unix time, and its signatures.
WEBHOOK_ID, WEBHOOK_TIMESTAMP, WEBHOOK_SIGNATURE = "webhook-id", "webhook-timestamp", "webhook-signature"
SECRET_PREFIX = "whsec_"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=` + hex HMAC-SHA256 of "<timestamp>.<body>": the receiver recomputes it to trust the batch.

    The timestamp is signed too so a captured request cannot be replayed days later.
    """
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signing_key(secret: str) -> bytes:
    """The HMAC key of a signing secret: a Standard Webhooks secret ("whsec_" + base64) is its decoded bytes; any
    other secret is its UTF-8 bytes (a receiver then passes those bytes to its library)."""
    if not secret.startswith(SECRET_PREFIX):
        return secret.encode("utf-8")
    encoded = secret[len(SECRET_PREFIX):].strip()
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if not key:
        raise PartnerError("The signing secret starts with whsec_ but the rest is not base64; edit the output's "
                           "credentials (a Standard Webhooks secret is whsec_ followed by base64 of random bytes).",
                           category=CONFIGURATION)
    return key


def standard_signature(key: bytes, message_id: str, timestamp: str, body: bytes) -> str:
    """webhook-signature: "v1," + base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>"."""
    mac = hmac.new(key, message_id.encode("utf-8") + b"." + timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode("ascii")


def batch_body(batch: Batch, destination: Destination) -> dict:
    """The JSON both the webhook and the generic OAuth partner send."""
    return {
        "batch_id": batch.id,
        "sequence": batch.sequence,
        "action": batch.action,
        "audience": {"id": destination.audience_id, "name": destination.audience_name},
        "connection_id": destination.connection_id,
        "identities": [_identity(i) for i in batch.identities],
    }


def _identity(identity: Identity) -> dict:
    # Attributes only when the connection shares some: a receiver that never asked for them sees no new key.
    if identity.attributes is None:
        return {"type": identity.type, "value": identity.value}
    return {"type": identity.type, "value": identity.value, "attributes": dict(identity.attributes)}


class WebhookClient:
    def __init__(self, context: PartnerContext):
        self._context = context

    def prepare(self, destination: Destination) -> str | None:
        return None

    def send(self, batch: Batch, destination: Destination) -> list[Rejected]:
        secret = self._context.required_secret("signing_secret", "signing secret")
        body = json.dumps(batch_body(batch, destination), separators=(",", ":")).encode("utf-8")
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", "Idempotency-Key": batch.id, TIMESTAMP_HEADER: timestamp,
                   SIGNATURE_HEADER: signature(secret, timestamp, body),
                   # The batch id is the message id: a retried batch is the same message, re-signed at its new time.
                   WEBHOOK_ID: batch.id, WEBHOOK_TIMESTAMP: timestamp,
                   WEBHOOK_SIGNATURE: standard_signature(signing_key(secret), batch.id, timestamp, body)}
        response = call(self._context.session, "POST", self._context.settings["url"], data=body, headers=headers)
        return rejected_in_reply(batch, response)


def rejected_in_reply(batch: Batch, response) -> list[Rejected]:
    """Records the endpoint refused on their own: {"rejected": [{"type", "value", "reason"}]} in its JSON reply."""
    try:
        reply = response.json() if response.content else {}
    except ValueError:
        return []
    return rejected_from_json(batch.identities, reply.get("rejected") if isinstance(reply, dict) else None)


PARTNER = Partner(
    key="webhook",
    name="Webhook",
    category="Developer",
    description="POSTs JSON batches of identities to your URL, signed per Standard Webhooks (HMAC-SHA256) so your "
                "endpoint can trust them with a stock library.",
    auth="api_key",
    identity_types=tuple(IDENTITY_LABELS),
    configuration_fields=(
        Field("url", "Endpoint URL", "url", help="Where batches are POSTed (https; http only for 127.0.0.1)."),
    ),
    secret_fields=(
        Field("signing_secret", "Signing secret", "secret",
              help="Shared with your endpoint; best a Standard Webhooks secret (whsec_ + base64 of 24-64 random bytes). "
                   f"Each request carries webhook-id, webhook-timestamp and webhook-signature (Standard Webhooks), and "
                   f"{SIGNATURE_HEADER}: sha256=HMAC(secret, timestamp + '.' + body) with {TIMESTAMP_HEADER}."),
    ),
    connection_fields=(),
    max_batch=1000,
    make_client=WebhookClient,
    attributes_how='in the JSON batch: each added identity carries "attributes": {name: value}',
)
