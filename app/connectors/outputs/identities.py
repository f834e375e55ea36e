"""Identities as partners want them: normalised emails, E.164 phone digits, lowercase advertising ids, SHA-256 hashes."""

from __future__ import annotations

import hashlib
import re

from app.connectors import identity_prep

#: The identity types of the cache (mParticle's names) that partners commonly take, and how the UI names them.
IDENTITY_LABELS = {
    "email": "Email",
    "mobile_number": "Mobile number",
    "customer_id": "Customer ID",
    "ios_idfa": "iOS advertising ID (IDFA)",
    "android_advertising_id": "Google advertising ID (GAID)",
    "ios_idfv": "iOS vendor ID (IDFV)",
    "android_uuid": "Android UUID",
    "roku_advertising_id": "Roku advertising ID",
    "fire_advertising_id": "Fire advertising ID",
    "microsoft_advertising_id": "Microsoft advertising ID",
    "other": "Other ID",
}
ADVERTISING_ID_TYPES = ("ios_idfa", "android_advertising_id", "roku_advertising_id", "fire_advertising_id",
                        "microsoft_advertising_id")
PHONE_TYPES = ("mobile_number", "phone_number_2", "phone_number_3")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ADVERTISING_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


def normal_email(value: str) -> str | None:
    """Trimmed and lowercased; None when it is not an email address at all."""
    text = value.strip().lower()
    return text if _EMAIL.match(text) else None


def normal_phone(value: str) -> str | None:
    """E.164 digits without '+' (country code first); None when it is not a valid number.

    Validated with libphonenumber (app.connectors.identity_prep), not a pattern. Numbers must already carry
    their country code ('+1 415…' or '001 415…'): guessing it from a local number would match the wrong people.
    """
    return identity_prep.phone(value, phone_format=identity_prep.E164_DIGITS)


def normal_advertising_id(value: str) -> str | None:
    """Lowercased; None unless it is a UUID-shaped id (and never the all-zero id of a limited-tracking device)."""
    text = value.strip().lower()
    if not _ADVERTISING_ID.match(text) or set(text) <= {"0", "-"}:
        return None
    return text


def normalise(identity_type: str, value: str) -> str | None:
    """The normal form partners match on, by identity type; other types are only trimmed."""
    if identity_type == "email":
        return normal_email(value)
    if identity_type in PHONE_TYPES:
        return normal_phone(value)
    if identity_type in ADVERTISING_ID_TYPES:
        return normal_advertising_id(value)
    text = value.strip()
    return text or None


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_sha256_hex(text: str) -> bool:
    return bool(_SHA256_HEX.match(text))
