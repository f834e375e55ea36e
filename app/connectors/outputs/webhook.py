"""The generic webhook: JSON batches POSTed to the admin's URL, signed with HMAC-SHA256 over a shared secret."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from app.connectors.outputs.batches import Batch, Destination, Identity
from app.connectors.outputs.http import call
from app.connectors.outputs.identities import IDENTITY_LABELS
from app.connectors.outputs.partner import Partner, PartnerContext
from app.connectors.outputs.rejections import Rejected, rejected_from_json
from app.connectors.outputs.settings import Field

SIGNATURE_HEADER = "X-Audience-Studio-Signature"
TIMESTAMP_HEADER = "X-Audience-Studio-Timestamp"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=` + hex HMAC-SHA256 of "<timestamp>.<body>": the receiver recomputes it to trust the batch.

    The timestamp is signed too so a captured request cannot be replayed days later.
    """
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


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
                   SIGNATURE_HEADER: signature(secret, timestamp, body)}
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
    description="POSTs JSON batches of identities to your URL, signed with HMAC-SHA256 so your endpoint can trust them.",
    auth="api_key",
    identity_types=tuple(IDENTITY_LABELS),
    configuration_fields=(
        Field("url", "Endpoint URL", "url", help="Where batches are POSTed (https; http only for 127.0.0.1)."),
    ),
    secret_fields=(
        Field("signing_secret", "Signing secret", "secret",
              help=f"Shared with your endpoint; each request carries {SIGNATURE_HEADER}: sha256=HMAC(secret, "
                   f"timestamp + '.' + body) and {TIMESTAMP_HEADER}."),
    ),
    connection_fields=(),
    max_batch=1000,
    make_client=WebhookClient,
    attributes_how='in the JSON batch: each added identity carries "attributes": {name: value}',
)
