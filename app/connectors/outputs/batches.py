"""A batch of identities to add to or remove from a partner's audience, with the id that makes a retry harmless."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ADD = "add"
REMOVE = "remove"


#: A member's shared user attributes, name → value (a string, a list of strings, or None when the member has none).
Attributes = Mapping[str, Any]


@dataclass(frozen=True)
class Identity:
    """An identity in the form the partner receives (normalised, hashed when the partner wants hashes).

    `attributes`: on an add, the member's values of the connection's shared user attributes (None when
    the connection shares none). Not part of the identity's equality: it is what travels with it.
    """

    type: str
    value: str
    attributes: Attributes | None = field(default=None, compare=False, hash=False)

    def to_json(self) -> list:
        """As a pending batch keeps it: [type, value] or [type, value, {attributes}]."""
        return [self.type, self.value] if self.attributes is None else [self.type, self.value, dict(self.attributes)]

    @classmethod
    def from_json(cls, item: list) -> "Identity":
        return cls(item[0], item[1], item[2] if len(item) > 2 else None)


def attributes_hash(attributes: Attributes | None) -> str | None:
    """A digest of the values sent with an identity: when it changes, the partner gets the identity again (an upsert)."""
    if attributes is None:
        return None
    text = json.dumps(attributes, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def attribute_text(value: Any) -> str:
    """A value as text, for partners whose fields are strings: a list joined by commas, None as empty."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


@dataclass(frozen=True)
class Batch:
    """What one request carries. `id` is fixed when the batch is planned, so a retried batch keeps it.

    A batch is all adds or all removes: most partners take them on different calls, and one call per
    batch means a batch is either wholly received or not at all.
    """

    id: str
    sequence: int
    action: str
    identities: tuple[Identity, ...]

    @staticmethod
    def new_id() -> str:
        return str(uuid.uuid4())

    def __len__(self) -> int:
        return len(self.identities)

    @property
    def attribute_names(self) -> tuple[str, ...]:
        """The shared attributes the batch carries (every identity of a batch carries the same names)."""
        for identity in self.identities:
            if identity.attributes is not None:
                return tuple(identity.attributes)
        return ()


@dataclass(frozen=True)
class Destination:
    """Who the batch is for: the audience's name at the partner and the connection's own settings."""

    connection_id: int
    audience_id: int
    audience_name: str
    connection_settings: dict
    #: The partner's id for the audience it created for this connection (custom audiences), once known.
    partner_ref: str | None = None
