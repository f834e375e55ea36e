"""Identities for the CRM and email partners (Klaviyo, Braze, HubSpot): emails as they match, phones as E.164 with '+'.

These partners look people up by plain (unhashed) identifiers: an email trimmed and lower-cased, a phone number in
E.164 with its leading '+' (Klaviyo's `phone_number`, Braze's `phone`), a customer id as the partner's external id.
The shared identity preparation of the ad partners (app/connectors/outputs/identity_prep.py, on branch i26-ads)
formats phones with a phone-number library; until the two are merged this module keeps the existing normal form
(app.connectors.outputs.identities), which takes only numbers that carry their country code.
"""

from __future__ import annotations

from app.connectors.outputs.identities import normal_phone, normalise


def e164(value: str) -> str | None:
    """'+' and the E.164 digits ('+1 (415) 555-0100' → '+14155550100'); None without a country code."""
    digits = normal_phone(value)
    return None if digits is None else "+" + digits


def to_crm(identity_type: str, value: str) -> str | None:
    """The value a CRM partner receives: phones as E.164 with '+', everything else in its normal form."""
    if identity_type == "mobile_number":
        return e164(value)
    return normalise(identity_type, value)
