"""The partner directory: every partner an output can be made for, and finding them by name, category, auth or identity type."""

from __future__ import annotations

from app.connectors.outputs import (
    braze,
    custom_audiences,
    email_list,
    file_export,
    google_customer_match,
    hubspot,
    klaviyo,
    mailchimp,
    meta_audiences,
    oauth_api,
    webhook,
)
from app.connectors.outputs.partner import AUTH_KINDS, Partner
from app.errors import InvalidInput, NotFound

PARTNERS: tuple[Partner, ...] = (webhook.PARTNER, file_export.PARTNER, email_list.PARTNER, custom_audiences.PARTNER,
                                 oauth_api.PARTNER, oauth_api.ENTRA_PARTNER,
                                 # Named partners, each following its vendor's published API.
                                 meta_audiences.PARTNER, google_customer_match.PARTNER,
                                 mailchimp.PARTNER, mailchimp.OAUTH_PARTNER, klaviyo.PARTNER, braze.PARTNER, hubspot.PARTNER)
_BY_KEY = {p.key: p for p in PARTNERS}


def partner(key: str) -> Partner:
    try:
        return _BY_KEY[key]
    except KeyError:
        raise NotFound(f'There is no partner "{key}"; partners: {", ".join(_BY_KEY)}.') from None


def categories() -> list[str]:
    return sorted({p.category for p in PARTNERS})


def find_partners(*, name: str | None = None, category: str | None = None, auth: str | None = None,
                  identity_type: str | None = None) -> list[Partner]:
    """Partners matching every filter given: name (part of the name, key or description), category, auth kind, identity type."""
    if auth is not None and auth not in AUTH_KINDS:
        raise InvalidInput(f'Authentication "{auth}" is not known; use one of: {", ".join(AUTH_KINDS)}.')
    found = []
    for candidate in PARTNERS:
        if name and name.casefold() not in f"{candidate.name} {candidate.key} {candidate.description}".casefold():
            continue
        if category and category.casefold() != candidate.category.casefold():
            continue
        if auth and auth != candidate.auth:
            continue
        if identity_type and identity_type not in candidate.identity_types:
            continue
        found.append(candidate)
    return found
