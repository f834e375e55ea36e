"""Channels: the external platforms a segment's taxonomy ("<segment name> | <category>") is pushed to.

The directory of channels lives here, in code: some switch on with one toggle (marketplace listings), others
need a configuration entered step by step (a wizard), each step checked before the next by the pure
`check_step`. The store keeps each channel's set-up and, per segment and channel, the latest push: on the
channel, taken off it (with when and why) or failed (with the error).

A segment is taken off its channels when it is old (its expiration days have passed since the push) or when
it is made private; `tidy(now)` does both and says what it took off, so the user sees it. No network is
used: a push records what was sent. The clock is injected (`now`) so tests control time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from app.errors import InvalidInput, NotFound, UserError
from app.models.db import Store, emit_after_commit, utc_now
from app.models.schema import (
    Audience,
    ChannelConfiguration,
    SegmentChannelPush,
    SegmentSettings,
)
from app.models.segments import PUBLIC, SegmentInfo, is_expired

TOGGLE, CONFIGURED = "toggle", "configured"
PUSHED, REMOVED, FAILED = "pushed", "removed", "failed"
TAXONOMY_SEPARATOR = " | "
MADE_PRIVATE = "made private"


# -- the directory ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SetupField:
    """One value a configured channel asks for. `kind`: text, choice (one of `choices`) or confirm (a tick)."""

    key: str
    label: str
    kind: str = "text"
    choices: tuple[str, ...] = ()
    placeholder: str = ""
    help: str = ""


@dataclass(frozen=True)
class SetupStep:
    title: str
    explanation: str
    fields: tuple[SetupField, ...]


@dataclass(frozen=True)
class Channel:
    key: str
    name: str
    kind: str
    description: str
    steps: tuple[SetupStep, ...] = ()

    @property
    def needs_setup(self) -> bool:
        return self.kind == CONFIGURED


_ACCOUNT_ID = re.compile(r"^[A-Z]{2,5}-\d{4,10}$")
_SEAT_ID = re.compile(r"^\d{3,12}$")
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$")
_ROOT_NAME = re.compile(r"^[\w &'()+,./:-]{1,60}$")
CURRENCIES = ("USD", "EUR", "GBP")
REGIONS = ("North America", "Europe", "Asia Pacific")

CHANNELS: tuple[Channel, ...] = (
    Channel("harbor", "Harbor Data Marketplace", TOGGLE,
            "Lists the segment on the Harbor marketplace, where data buyers browse by category."),
    Channel("openaudience", "OpenAudience Exchange", TOGGLE,
            "Offers the segment to buyers on the OpenAudience exchange."),
    Channel("directory", "Segment Directory", TOGGLE,
            "Adds the segment to the public Segment Directory of third-party data."),
    Channel("dsp_taxonomy", "DSP Taxonomy API", CONFIGURED,
            "Sends the segment's taxonomy to a demand-side platform through its taxonomy API.", (
                SetupStep("Account", "The DSP account the segments are listed under.", (
                    SetupField("account_id", "Account ID", placeholder="e.g. DSP-204817",
                               help="Capital letters, a hyphen and digits, as shown in the DSP's account page"),)),
                SetupStep("Endpoint", "Where the DSP's taxonomy API is reached.", (
                    SetupField("endpoint_url", "API endpoint URL", placeholder="https://api.example-dsp.com/taxonomy",
                               help="An https address with a host name"),)),
                SetupStep("Taxonomy", "Where the segments appear in the DSP's taxonomy, and the prices' currency.", (
                    SetupField("taxonomy_root", "Taxonomy root name", placeholder="e.g. Harbor Retail Data",
                               help="The top level the segments are listed under; no “>”"),
                    SetupField("currency", "Price currency", kind="choice", choices=CURRENCIES),)),
            )),
    Channel("ad_server", "Ad Server Segments", CONFIGURED,
            "Makes the segment targetable in an ad server seat.", (
                SetupStep("Seat", "The ad server seat that receives the segments.", (
                    SetupField("seat_id", "Seat ID", placeholder="e.g. 48213",
                               help="3 to 12 digits, from the ad server's seat settings"),)),
                SetupStep("Region", "The ad server region the seat is hosted in.", (
                    SetupField("region", "Region", kind="choice", choices=REGIONS),)),
                SetupStep("Confirm", "Segments pushed to this seat can be targeted by every advertiser in it.", (
                    SetupField("confirm", "I confirm segments may be targeted by the seat's advertisers",
                               kind="confirm"),)),
            )),
)
_BY_KEY = {c.key: c for c in CHANNELS}


def channel(key: str) -> Channel:
    try:
        return _BY_KEY[key]
    except KeyError:
        raise NotFound(f"There is no channel “{key}”; the channels are {', '.join(_BY_KEY)}.") from None


# -- the wizard's checks (pure: the wizard calls them before Next) ------------------------------------------


def _check_field(f: SetupField, value: Any) -> Any:
    if f.kind == "confirm":
        if value is not True:
            raise InvalidInput(f"{f.label}: tick the box to go on.")
        return True
    text = "" if value is None else str(value).strip()
    if not text:
        raise InvalidInput(f"{f.label}: required" + (f"; choose one of {', '.join(f.choices)}." if f.choices else "."))
    if f.kind == "choice":
        if text not in f.choices:
            raise InvalidInput(f"{f.label}: “{text}” is not one of {', '.join(f.choices)}.")
        return text
    if f.key == "account_id":
        text = text.upper()
        if not _ACCOUNT_ID.match(text):
            raise InvalidInput(f"{f.label}: “{text}” is not an account ID; it looks like DSP-204817 (2 to 5 letters, "
                               "a hyphen, 4 to 10 digits).")
    elif f.key == "endpoint_url":
        parts = urlsplit(text)
        if parts.scheme != "https":
            raise InvalidInput(f"{f.label}: “{text}” must start with https:// (the taxonomy is sent encrypted).")
        host = (parts.hostname or "").lower()
        if not host or not _HOST.match(host):
            raise InvalidInput(f"{f.label}: “{text}” has no valid host name, e.g. https://api.example-dsp.com/taxonomy.")
        if parts.username or parts.password:
            raise InvalidInput(f"{f.label}: do not put a user name or password in the address; it is stored as is.")
        if parts.query or parts.fragment:
            raise InvalidInput(f"{f.label}: “{text}” has a query or fragment (after ? or #); give the endpoint only.")
    elif f.key == "taxonomy_root":
        if ">" in text:
            raise InvalidInput(f"{f.label}: “{text}” contains “>”; the root is one level.")
        if not _ROOT_NAME.match(text):
            raise InvalidInput(f"{f.label}: “{text}” is too long or has odd characters; up to 60 letters, digits, "
                               "spaces and & ' ( ) + , . / : -.")
    elif f.key == "seat_id" and not _SEAT_ID.match(text):
        raise InvalidInput(f"{f.label}: “{text}” is not a seat ID; use 3 to 12 digits.")
    return text


def check_step(channel_key: str, index: int, values: Mapping[str, Any]) -> dict[str, Any]:
    """The step's values cleaned, or InvalidInput naming the first wrong field (its label starts the message)."""
    step = channel(channel_key).steps[index]
    return {f.key: _check_field(f, values.get(f.key)) for f in step.fields}


def check_configuration(channel_key: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """All steps checked again (the service never trusts a wizard): the cleaned configuration."""
    cleaned: dict[str, Any] = {}
    for index, step in enumerate(channel(channel_key).steps):
        try:
            cleaned.update(check_step(channel_key, index, values))
        except InvalidInput as exc:
            raise InvalidInput(f"{step.title} step: {exc}") from None
    return cleaned


def taxonomy(segment_name: str, category: str) -> str:
    return f"{segment_name}{TAXONOMY_SEPARATOR}{category}"


def expired_reason(days: int) -> str:
    return f"expired after {days} day{'s' if days != 1 else ''}"


# -- what the service answers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelState:
    channel: Channel
    enabled: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    configured_by: str | None = None
    configured_at: datetime | None = None

    @property
    def is_set_up(self) -> bool:
        return not self.channel.needs_setup or bool(self.settings)


@dataclass(frozen=True)
class PushInfo:
    audience_id: int
    channel_key: str
    state: str
    taxonomy: str
    pushed_at: datetime
    pushed_by: str
    removed_at: datetime | None = None
    removed_reason: str | None = None
    error: str | None = None

    def describe(self, when: Callable[[datetime], str] = lambda d: d.strftime("%Y-%m-%d %H:%M UTC")) -> str:
        """In the users' words: "Pushed on …", "Removed on … (expired after 90 days)", "Push failed on …: …"."""
        if self.state == PUSHED:
            return f"Pushed on {when(self.pushed_at)} as “{self.taxonomy}”"
        if self.state == REMOVED:
            assert self.removed_at is not None
            return f"Removed on {when(self.removed_at)} ({self.removed_reason})"
        return f"Push failed on {when(self.pushed_at)}: {self.error}"


def _push(row: SegmentChannelPush) -> PushInfo:
    return PushInfo(row.audience_id, row.channel_key, row.state, row.taxonomy, row.pushed_at, row.pushed_by,
                    row.removed_at, row.removed_reason, row.error)


def _state(c: Channel, row: ChannelConfiguration | None) -> ChannelState:
    if row is None:
        return ChannelState(c)
    return ChannelState(c, row.enabled, dict(row.settings or {}), row.configured_by, row.configured_at)


# -- the service ------------------------------------------------------------------------------------------


class ChannelService:
    """Channels' set-up and segments' pushes, one store transaction per change. `now` is the clock."""

    def __init__(self, store: Store, user: str, now: Callable[[], datetime] = utc_now) -> None:
        self.store = store
        self.user = user
        self.now = now

    # Set-up.

    def channels(self) -> list[ChannelState]:
        """Every channel in the directory with its set-up, in directory order."""
        with self.store.transaction() as session:
            rows = {r.channel_key: r for r in session.scalars(select(ChannelConfiguration))}
            return [_state(c, rows.get(c.key)) for c in CHANNELS]

    def _save(self, key: str, enabled: bool, settings: dict[str, Any] | None) -> ChannelState:
        c = channel(key)
        with self.store.transaction() as session:
            row = session.get(ChannelConfiguration, key)
            if row is None:
                row = ChannelConfiguration(channel_key=key, settings={})
                session.add(row)
            row.enabled = enabled
            if settings is not None:
                row.settings = settings
            row.configured_by = self.user
            row.configured_at = self.now()
            session.flush()
            return _state(c, row)

    def enable(self, key: str) -> ChannelState:
        """Switch a one-toggle channel on (a channel that needs set-up is switched on by `configure`)."""
        c = channel(key)
        if c.needs_setup:
            raise UserError(f"{c.name} needs setting up first: choose Set Up… in Channel Settings.")
        return self._save(key, True, None)

    def configure(self, key: str, values: Mapping[str, Any]) -> ChannelState:
        """Store a configured channel's set-up (every step checked again) and switch it on."""
        c = channel(key)
        if not c.needs_setup:
            raise UserError(f"{c.name} needs no set-up; switch it on instead.")
        return self._save(key, True, check_configuration(key, values))

    def disable(self, key: str) -> ChannelState:
        """Switch a channel off; its set-up is kept, and segments already on it stay until removed."""
        channel(key)
        return self._save(key, False, None)

    # Pushes.

    def pushes(self, audience_id: int) -> dict[str, PushInfo]:
        """The audience's latest push to each channel it was ever pushed to, by channel key."""
        with self.store.transaction() as session:
            rows = session.scalars(select(SegmentChannelPush).where(SegmentChannelPush.audience_id == audience_id))
            return {r.channel_key: _push(r) for r in rows}

    def push(self, audience_id: int, key: str) -> PushInfo:
        """Push the segment's taxonomy to the channel. Refused (UserError) for a private or uncategorised segment
        or a channel that is switched off; a channel whose set-up is incomplete records a failed push."""
        c = channel(key)
        now = self.now()
        with self.store.transaction() as session:
            audience = session.get(Audience, audience_id)
            if audience is None:
                raise NotFound(f"There is no audience with id {audience_id}; it may have been deleted.")
            settings = session.get(SegmentSettings, audience_id)
            if settings is None or settings.visibility != PUBLIC:
                raise UserError(f"“{audience.name}” is private: only public segments are pushed to channels. Make it "
                                "public in the Segment settings first.")
            if not settings.category:
                raise UserError(f"“{audience.name}” has no category: a channel lists segments by category. Choose "
                                "one in the Segment settings first.")
            config = session.get(ChannelConfiguration, key)
            error = None
            if c.needs_setup:
                if config is not None and config.settings and not config.enabled:
                    raise UserError(f"{c.name} is switched off: switch it on in Channel Settings to push to it.")
                try:
                    check_configuration(key, (config.settings if config is not None else None) or {})
                except InvalidInput as exc:
                    error = (f"{c.name} is not set up completely ({exc}); finish its set-up in Channel Settings "
                             "and push again.")
            elif config is None or not config.enabled:
                raise UserError(f"{c.name} is switched off: switch it on in Channel Settings to push to it.")
            row = session.get(SegmentChannelPush, (audience_id, key))
            if row is None:
                row = SegmentChannelPush(audience_id=audience_id, channel_key=key)
                session.add(row)
            row.state = FAILED if error else PUSHED
            row.taxonomy = taxonomy(audience.name, settings.category)
            row.pushed_at = now
            row.pushed_by = self.user
            row.removed_at = row.removed_reason = None
            row.error = error
            session.flush()
            emit_after_commit(session, "audience_changed", audience_id)
            return _push(row)

    def remove(self, audience_id: int, key: str, reason: str | None = None) -> PushInfo:
        """Take the segment off the channel (by hand unless a reason is given)."""
        channel(key)
        with self.store.transaction() as session:
            row = session.get(SegmentChannelPush, (audience_id, key))
            if row is None or row.state != PUSHED:
                raise UserError(f"The segment is not on {channel(key).name}; there is nothing to remove.")
            self._take_off(row, reason or f"removed by {self.user}")
            emit_after_commit(session, "audience_changed", audience_id)
            return _push(row)

    def _take_off(self, row: SegmentChannelPush, reason: str) -> None:
        row.state = REMOVED
        row.removed_at = self.now()
        row.removed_reason = reason

    def tidy(self, now: datetime | None = None) -> list[PushInfo]:
        """Take old and private segments off their channels: `remove_expired` and `remove_private` together."""
        return self.remove_expired(now) + self.remove_private()

    def remove_expired(self, now: datetime | None = None) -> list[PushInfo]:
        """Every push whose segment's expiration days have passed since it was pushed is marked removed, with
        "expired after N days" and when. Returns what was taken off."""
        at = now or self.now()
        removed: list[PushInfo] = []
        with self.store.transaction() as session:
            rows = session.execute(
                select(SegmentChannelPush, SegmentSettings.expiration_days)
                .join(SegmentSettings, SegmentSettings.audience_id == SegmentChannelPush.audience_id)
                .where(SegmentChannelPush.state == PUSHED, SegmentSettings.expiration_days.is_not(None)))
            for row, days in rows:
                if is_expired(SegmentInfo(row.audience_id, expiration_days=days), row.pushed_at, at):
                    row.state = REMOVED
                    row.removed_at = at
                    row.removed_reason = expired_reason(days)
                    removed.append(_push(row))
                    emit_after_commit(session, "audience_changed", row.audience_id)
        return removed

    def remove_private(self) -> list[PushInfo]:
        """Segments made private since their push are taken off their channels ("made private")."""
        removed: list[PushInfo] = []
        with self.store.transaction() as session:
            rows = session.scalars(
                select(SegmentChannelPush)
                .outerjoin(SegmentSettings, SegmentSettings.audience_id == SegmentChannelPush.audience_id)
                .where(SegmentChannelPush.state == PUSHED,
                       (SegmentSettings.visibility.is_(None)) | (SegmentSettings.visibility != PUBLIC)))
            for row in rows:
                self._take_off(row, MADE_PRIVATE)
                removed.append(_push(row))
                emit_after_commit(session, "audience_changed", row.audience_id)
        return removed
