"""A batch of identities to add to or remove from a partner's audience, with the id that makes a retry harmless."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

ADD = "add"
REMOVE = "remove"


@dataclass(frozen=True)
class Identity:
    """An identity in the form the partner receives (normalised, hashed when the partner wants hashes)."""

    type: str
    value: str


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


@dataclass(frozen=True)
class Destination:
    """Who the batch is for: the audience's name at the partner and the connection's own settings."""

    connection_id: int
    audience_id: int
    audience_name: str
    connection_settings: dict
    #: The partner's id for the audience it created for this connection (custom audiences), once known.
    partner_ref: str | None = None
