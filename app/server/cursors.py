"""Opaque cursors and page tokens: what a client hands back to resume where it stopped.

They are versioned base64 JSON rather than signed: a client can only ever read its own workspaces
(every request is authorised on its own), so a forged cursor gains nothing; it is checked for shape,
and its numbers for the range the databases hold (0 to 2^63 - 1), before any query sees them.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Mapping

from app.server.errors import ApiError

VERSION = 1
#: The largest number a cursor may hold: the databases' 64-bit integers (sequence numbers are BIGINT).
#: A forged larger one would overflow when bound to a query.
LARGEST = 2**63 - 1


def encode(kind: str, fields: dict[str, Any]) -> str:
    data = json.dumps(fields, separators=(",", ":"), sort_keys=True).encode()
    return f"{kind}{VERSION}." + base64.urlsafe_b64encode(data).decode().rstrip("=")


def decode(kind: str, text: str, *, field: str, names: tuple[str, ...], largest: Mapping[str, int] | None = None) -> dict[str, Any]:
    """The fields of a cursor made by `encode(kind, ...)`; 400 naming `field` if it is not one.

    Each field is a whole number from 0 to `LARGEST` (or to `largest[name]`), or null."""
    prefix = f"{kind}{VERSION}."
    problem = ApiError(400, "INVALID_CURSOR", f"{field}: not a cursor this server gave out; start again without one", field=field)
    if not text.startswith(prefix):
        raise problem
    payload = text[len(prefix):]
    try:
        fields = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise problem from None
    if not isinstance(fields, dict) or set(fields) != set(names):
        raise problem
    for name in names:
        value = fields[name]
        top = (largest or {}).get(name, LARGEST)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top):
            raise problem
    return fields
