"""Segment settings: how an audience is offered as a segment on the data marketplace.

Each audience has an expiration (days after a push to a channel when the segment is old and taken off
that channel; None: never), a visibility (public: offered on the marketplace; private: bought only by
the data provider), a CPM price in USD (only public segments have one) and a taxonomy category such
as "Retail > Outdoor". An audience with no stored settings has the defaults: never expires, private,
no price, no category.

Making a priced public segment private is refused unless the same update clears the price: a price is
never dropped silently. The checks here are the ones the store's constraints enforce, in words a user
can act on; the parsing functions are pure, so the form can use them while the user types.

Taking expired segments off their channels comes with channels; `is_expired` is the rule they will use.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from app.errors import InvalidInput, NotFound
from app.models.services import versions
from app.models.services.audiences import KEEP, Keep
from app.models.store.db import Store, emit_after_commit, utc_now
from app.models.store.schema import (
    MAX_CPM_CENTS,
    MAX_EXPIRATION_DAYS,
    SEGMENT_VISIBILITIES,
    Audience,
    SegmentSettings,
)

PUBLIC, PRIVATE = SEGMENT_VISIBILITIES
CURRENCY = "USD"
MAX_CPM = Decimal(MAX_CPM_CENTS) / 100
_THOUSANDS = re.compile(r"\d{1,3}(,\d{3})+(\.\d*)?")
MAX_CATEGORY_LENGTH = 120
CATEGORY_SEPARATOR = " > "
MAX_CATEGORY_LEVELS = 6

#: Why a private segment cannot have a price, in the users' words (the form shows it beside the disabled field).
PRIVATE_PRICE_REASON = "only public segments can have a price: private segments are bought only by you, the data provider"

# Letters and digits of any script, spaces and the punctuation taxonomies use ("Food & Drink", "Age 25-34").
_CATEGORY_LEVEL = re.compile(r"^[\w &'()+,./:-]+$")
_CATEGORY_SPLIT = re.compile(r"\s*>\s*")


@dataclass(frozen=True)
class SegmentInfo:
    """One audience's segment settings (the defaults when nothing is stored: `updated_at` is None then)."""

    audience_id: int
    expiration_days: int | None = None
    visibility: str = PRIVATE
    #: USD per thousand users, exactly (two decimals); None: no price.
    cpm: Decimal | None = None
    category: str | None = None
    updated_by: str | None = None
    updated_at: datetime | None = None

    @property
    def is_public(self) -> bool:
        return self.visibility == PUBLIC

    def as_json(self) -> dict[str, object]:
        return {"audience_id": self.audience_id, "expiration_days": self.expiration_days,
                "visibility": self.visibility, "cpm": None if self.cpm is None else f"{self.cpm:.2f}",
                "currency": CURRENCY, "category": self.category, "updated_by": self.updated_by,
                "updated_at": None if self.updated_at is None else self.updated_at.isoformat()}


# -- the checks (pure: the form calls them as the user types) ----------------------------------------------


def parse_cpm(value: Decimal | str | float | None) -> Decimal | None:
    """A CPM price as an exact Decimal with two places, or None for "no price" (None or blank text).

    Raises InvalidInput naming the field for text that is not a number, a negative or absurd price, or
    more than two decimals (prices are in cents; rounding silently would change what the buyer pays)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = value.strip() if isinstance(value, str) else str(value)
    text = text.removeprefix("$").removesuffix(CURRENCY).strip()
    if "," in text:
        # Only as thousands groups ("1,000.00"): "2,50" typed with a decimal comma must not become 250.00.
        if not _THOUSANDS.fullmatch(text):
            raise InvalidInput(f"CPM price: “{value}” has a comma; type the decimals after a point, such as 2.50.")
        text = text.replace(",", "")
    try:
        price = Decimal(text)
    except InvalidOperation:
        raise InvalidInput(f"CPM price: “{value}” is not a number; type a price in {CURRENCY} such as 2.50.") from None
    if not price.is_finite():
        raise InvalidInput(f"CPM price: “{value}” is not a number; type a price in {CURRENCY} such as 2.50.")
    if price < 0:
        raise InvalidInput(f"CPM price: {text} is negative; a price is 0 or more {CURRENCY}.")
    if price > MAX_CPM:
        raise InvalidInput(f"CPM price: {text} {CURRENCY} is more than the highest allowed, {MAX_CPM:,.2f} {CURRENCY} "
                           f"per thousand users.")
    if price != price.quantize(Decimal("0.01")):
        raise InvalidInput(f"CPM price: {text} has more than 2 decimals; prices are in cents, e.g. "
                           f"{price.quantize(Decimal('0.01'))}.")
    return abs(price).quantize(Decimal("0.01"))  # abs: "-0" is free, not -0.00


def parse_expiration(value: int | str | None) -> int | None:
    """Days until a pushed segment expires (1..3650), or None for never ("never", blank text or None)."""
    if value is None or (isinstance(value, str) and value.strip().casefold() in ("", "never", "none")):
        return None
    try:
        days = int(value.strip()) if isinstance(value, str) else int(value)
    except ValueError:
        raise InvalidInput(f"Expiration: “{value}” is not a whole number of days (or “never”).") from None
    if isinstance(value, float) and value != days:
        raise InvalidInput(f"Expiration: {value} is not a whole number of days.")
    if not 1 <= days <= MAX_EXPIRATION_DAYS:
        raise InvalidInput(f"Expiration: {days} days is out of range; choose 1 to {MAX_EXPIRATION_DAYS} days "
                           f"(10 years), or never.")
    return days


def clean_category(value: str | None) -> str | None:
    """A taxonomy path with its levels separated by " > " ("Retail>Outdoor" becomes "Retail > Outdoor"), or
    None for blank. Raises InvalidInput for an empty level, odd characters or a path that is too long."""
    if value is None:
        return None
    text = unicodedata.normalize("NFC", " ".join(value.split()))
    if not text:
        return None
    levels = _CATEGORY_SPLIT.split(text)
    if any(not level for level in levels):
        raise InvalidInput(f"Category: “{text}” has an empty level; separate levels with “>”, e.g. Retail > Outdoor.")
    if len(levels) > MAX_CATEGORY_LEVELS:
        raise InvalidInput(f"Category: “{text}” has {len(levels)} levels; at most {MAX_CATEGORY_LEVELS} are allowed.")
    for level in levels:
        if not _CATEGORY_LEVEL.match(level):
            odd = next(ch for ch in level if not _CATEGORY_LEVEL.match(ch) and ch != " ")
            raise InvalidInput(f"Category: “{level}” contains “{odd}”; use letters, digits, spaces and & ' ( ) + , . / : -.")
    cleaned = CATEGORY_SEPARATOR.join(levels)
    if len(cleaned) > MAX_CATEGORY_LENGTH:
        raise InvalidInput(f"Category: “{cleaned[:40]}…” is {len(cleaned)} characters; at most {MAX_CATEGORY_LENGTH}.")
    return cleaned


def check_visibility(value: str) -> str:
    visibility = (value or "").strip().casefold()
    if visibility not in SEGMENT_VISIBILITIES:
        raise InvalidInput(f"Visibility: “{value}” is not one of {', '.join(SEGMENT_VISIBILITIES)}.")
    return visibility


def check_price_allowed(visibility: str, cpm: Decimal | None, *, had_price: Decimal | None = None) -> None:
    """A private segment has no price. `had_price` is the stored price when the update did not touch it, so
    the message says what to do: clear the price in the same change."""
    if visibility == PUBLIC or cpm is None:
        return
    if had_price is not None:
        raise InvalidInput(f"CPM price: the segment is priced at {had_price:.2f} {CURRENCY}; clear the price to make it "
                           f"private ({PRIVATE_PRICE_REASON}).")
    raise InvalidInput(f"CPM price: the segment is private, and {PRIVATE_PRICE_REASON}. Make it public to set a "
                       "price.")


def is_expired(settings: SegmentInfo, pushed_at: datetime | None, now: datetime | None = None) -> bool:
    """Whether a segment pushed to a channel at `pushed_at` is old at `now`: its expiration days have passed.

    Never pushed (None) or never expiring: not expired. Channels will use this to take old segments off."""
    if settings.expiration_days is None or pushed_at is None:
        return False
    return (now or utc_now()) >= pushed_at + timedelta(days=settings.expiration_days)


# -- the service ------------------------------------------------------------------------------------------


def _info(audience_id: int, row: SegmentSettings | None) -> SegmentInfo:
    if row is None:
        return SegmentInfo(audience_id)
    return SegmentInfo(audience_id, row.expiration_days, row.visibility,
                       None if row.cpm_cents is None else Decimal(row.cpm_cents) / 100,
                       row.category, row.updated_by, row.updated_at)


class SegmentSettingsService:
    """Reads and changes audiences' segment settings, one store transaction per change."""

    def __init__(self, store: Store, user: str, author: Callable[[], str] | None = None) -> None:
        self.store = store
        self.user = user
        #: who a change is kept under in the audience's history (app.models.services.versions)
        self.author = author or (lambda: user)

    def get(self, audience_id: int) -> SegmentInfo:
        """The audience's settings, or the defaults if none were saved."""
        with self.store.transaction() as session:
            if session.get(Audience, audience_id) is None:
                raise NotFound(f"There is no audience with id {audience_id}; it may have been deleted.")
            return _info(audience_id, session.get(SegmentSettings, audience_id))

    def categories(self) -> list[str]:
        """The categories used so far, in alphabetical order (the form offers them)."""
        with self.store.transaction() as session:
            used = session.scalars(select(SegmentSettings.category).where(SegmentSettings.category.is_not(None))
                                   .distinct())
            return sorted(used, key=str.casefold)

    def update(
        self,
        audience_id: int,
        *,
        expiration_days: int | str | None | Keep = KEEP,
        visibility: str | Keep = KEEP,
        cpm: Decimal | str | float | None | Keep = KEEP,
        category: str | None | Keep = KEEP,
    ) -> SegmentInfo:
        """Change the settings given (KEEP leaves one as it is). Every value is checked before anything is
        written; InvalidInput names the field. A priced segment is made private only if `cpm=None` comes
        with it."""
        new_expiration = KEEP if expiration_days is KEEP else parse_expiration(expiration_days)
        new_visibility = KEEP if visibility is KEEP else check_visibility(visibility)
        new_cpm = KEEP if cpm is KEEP else parse_cpm(cpm)
        new_category = KEEP if category is KEEP else clean_category(category)
        with self.store.transaction() as session:
            audience = session.get(Audience, audience_id)
            if audience is None:
                raise NotFound(f"There is no audience with id {audience_id}; it may have been deleted.")
            row = session.get(SegmentSettings, audience_id)
            old = _info(audience_id, row)
            final_visibility = old.visibility if new_visibility is KEEP else new_visibility
            final_cpm = old.cpm if new_cpm is KEEP else new_cpm
            check_price_allowed(final_visibility, final_cpm, had_price=old.cpm if new_cpm is KEEP else None)
            final = SegmentInfo(audience_id,
                                old.expiration_days if new_expiration is KEEP else new_expiration,
                                final_visibility, final_cpm,
                                old.category if new_category is KEEP else new_category)
            if (final.expiration_days, final.visibility, final.cpm, final.category) == (
                    old.expiration_days, old.visibility, old.cpm, old.category):
                return old
            if row is None:
                row = SegmentSettings(audience_id=audience_id)
                session.add(row)
            row.expiration_days = final.expiration_days
            row.visibility = final.visibility
            row.cpm_cents = None if final.cpm is None else int(final.cpm * 100)
            row.category = final.category
            row.updated_by = self.user
            row.updated_at = utc_now()
            session.flush()
            versions.record(session, audience, self.author())
            emit_after_commit(session, "audience_changed", audience_id)
            return _info(audience_id, row)
