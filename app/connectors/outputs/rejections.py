"""Per-record refusals: a partner that takes a batch but refuses some of its records says which and why.

A partner client's `send` returns the records it refused (or nothing); the forwarding engine records them
(type and reason; the value stays in the store, never in logs) and counts the rest as delivered. Only a
whole-request refusal (an HTTP error) is a fault.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from app.connectors.reply_text import one_line


@dataclass(frozen=True)
class Rejected:
    """One record of a batch the partner refused: its identity as sent, and the partner's reason."""

    identity_type: str
    value: str
    reason: str


def rejected_from_values(batch_identities: Iterable, refused: dict[str, str]) -> list[Rejected]:
    """The batch's identities whose value the partner named as refused (value → reason)."""
    return [Rejected(i.type, i.value, one_line(str(refused[i.value]))[:500] or "refused")
            for i in batch_identities if i.value in refused]


def rejected_from_json(batch_identities: Sequence, items: object) -> list[Rejected]:
    """From the JSON the webhook and OAuth partners may answer with: {"rejected": [{"type", "value", "reason"}]}.

    Entries naming an identity the batch did not carry are ignored (a partner cannot reject what it was not sent).
    """
    if not isinstance(items, list):
        return []
    sent = {(i.type, i.value) for i in batch_identities}
    out: list[Rejected] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        key = (str(item.get("type", "")), str(item.get("value", "")))
        if key in sent:
            out.append(Rejected(key[0], key[1], one_line(str(item.get("reason") or "refused"))[:500]))
    return out
