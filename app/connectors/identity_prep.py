"""Identity preparation for named partners: each partner's own normal form of an email, phone or device id, hashed
where the partner requires it.

Partners match people on what they were sent, byte for byte, so every partner documents how to normalise before
hashing, and they differ:

- emails are trimmed and lower-cased everywhere; Google (Customer Match, enhanced conversions) also removes the dots
  before ``@gmail.com`` / ``@googlemail.com``;
- phone numbers are parsed and validated with Google's libphonenumber metadata (the ``phonenumbers`` package) and
  written E.164 — with the ``+`` for Google (``+14155550100``), as digits with the country code for Meta
  (``14155550100``). A number without a country code is only read when a default country is given: guessing it
  would match the wrong people;
- device (advertising) ids are trimmed and lower-cased; the all-zero id of a limited-tracking device is left out;
- SHA-256 as lower-case hex of the UTF-8 normal form, where the partner requires hashes.

A value already sent as a SHA-256 hex digest (64 hex characters, e.g. an email hashed upstream) is passed on
as it is (lower-cased) to a partner that takes hashes: it cannot be normalised again.

``prepare(identity_type, value, rules)`` is what a partner's ``to_partner`` calls; None means "leave it out".
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import phonenumbers

EMAIL_TYPES = ("email", "other_email")
PHONE_TYPES = ("mobile_number", "phone_number_2", "phone_number_3")
DEVICE_ID_TYPES = ("ios_idfa", "android_advertising_id", "roku_advertising_id", "fire_advertising_id",
                   "microsoft_advertising_id", "ios_idfv", "android_uuid")
#: Phone formats partners ask for.
E164 = "e164"            # "+14155550100" (Google)
E164_DIGITS = "digits"   # "14155550100" (Meta)
PHONE_FORMATS = (E164, E164_DIGITS)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_SHA256_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
_GMAIL_DOMAINS = ("gmail.com", "googlemail.com")


@dataclass(frozen=True)
class Rules:
    """How one partner wants identities: its phone format, whether Gmail dots go, whether values are hashed."""

    phone_format: str = E164
    remove_gmail_dots: bool = False
    hashed: bool = True
    #: ISO 3166 country (e.g. "US") for numbers written without a country code; None: such numbers are left out.
    default_region: str | None = None

    def __post_init__(self) -> None:
        if self.phone_format not in PHONE_FORMATS:
            raise ValueError(f"Unknown phone format {self.phone_format!r}")


#: Meta Custom Audiences ("Hashing and normalization"): digits with the country code, no "+"; SHA-256.
META = Rules(phone_format=E164_DIGITS, remove_gmail_dots=False, hashed=True)
#: Google Ads Customer Match ("normalize and hash"): E.164 with "+", dots removed from Gmail addresses; SHA-256.
GOOGLE = Rules(phone_format=E164, remove_gmail_dots=True, hashed=True)


def email(value: str, *, remove_gmail_dots: bool = False) -> str | None:
    """Trimmed and lower-cased (and, if asked, without the dots before @gmail.com); None when not an address."""
    text = value.strip().lower()
    if not _EMAIL.match(text):
        return None
    if remove_gmail_dots:
        local, _, domain = text.rpartition("@")
        if domain in _GMAIL_DOMAINS:
            local = local.replace(".", "")
            if not local:
                return None
            text = f"{local}@{domain}"
    return text


def phone(value: str, *, phone_format: str = E164, default_region: str | None = None) -> str | None:
    """The number in E.164 (with or without "+"), when libphonenumber finds it a valid number; else None.

    "00" and "+" both introduce a country code; without either, `default_region` (if given) says the country.
    """
    text = value.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, None if text.startswith("+") else default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    formatted = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return formatted if phone_format == E164 else formatted.lstrip("+")


def device_id(value: str) -> str | None:
    """Trimmed and lower-cased; None for an empty id or the all-zero id of a device limiting ad tracking.

    UUID-shaped ids (IDFA, GAID...) must be UUIDs; other device ids are taken as they come, lower-cased.
    """
    text = value.strip().lower()
    if not text or set(text) <= {"0", "-"}:
        return None
    if "-" in text and not _UUID.match(text):
        return None
    return text


def sha256_hex(text: str) -> str:
    """Lower-case hex SHA-256 of the UTF-8 text, as every partner that takes hashes documents."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_sha256_hex(text: str) -> bool:
    return bool(_SHA256_HEX.match(text.strip()))


def normal_form(identity_type: str, value: str, rules: Rules) -> str | None:
    """The value as the partner matches it before any hashing; None to leave it out."""
    if identity_type in EMAIL_TYPES:
        return email(value, remove_gmail_dots=rules.remove_gmail_dots)
    if identity_type in PHONE_TYPES:
        return phone(value, phone_format=rules.phone_format, default_region=rules.default_region)
    if identity_type in DEVICE_ID_TYPES:
        return device_id(value)
    text = value.strip()
    return text or None


def prepare(identity_type: str, value: str, rules: Rules) -> str | None:
    """What the partner receives for one identity: its normal form, hashed if the partner wants hashes."""
    if rules.hashed and is_sha256_hex(value):
        return value.strip().lower()
    normal = normal_form(identity_type, value, rules)
    if normal is None:
        return None
    return sha256_hex(normal) if rules.hashed else normal
