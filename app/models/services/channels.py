"""Channels: the external platforms a segment's taxonomy ("<segment name> | <category>") is pushed to.

The directory of channels lives here, in code: some switch on with one toggle (marketplace listings), others
need a configuration entered step by step (a wizard), each step checked before the next by the pure
`check_step`. The store keeps each channel's set-up and, per segment and channel, the latest push: on the
channel, taken off it (with when and why) or failed (with the error).

A push is a real request: the segment is PUT to the channel's taxonomy API (app/connectors/channel_api.py)
and taking it off DELETEs it there. This service sends none of them: it keeps the store's side, and the engine
app/engines/channel_pushes.py sends the requests between its steps, so that no request is ever sent inside a
store transaction: one transaction reads and checks (`plan_push`, `plan_removal`, `plan_removals`), the request
goes out, a second transaction records what happened (`record_push`, `record_removal`: "pushed", or "failed"
with the channel's answer). Where each channel's API is (`target`): `Channel.api_url` for marketplace listings,
the ad server's region, the DSP's configured endpoint; `endpoints` (from AUDIENCE_STUDIO_CHANNEL_ENDPOINTS in the
app and the command line) overrides them, e.g. for a test server on 127.0.0.1.

A segment is taken off its channels when it is old (its expiration days have passed since the push), when it
is made private, or by hand; the engine's `tidy(now)` does the first two and retries removals that failed, and
says what it took off and what it could not, so the user sees it. A removal the channel refused leaves the
segment "pushed" (it IS still there) with the removal pending: its reason in `removed_reason`, when it was tried
in `removed_at`, and the channel's answer in `error`. The clock is injected (`now`) so tests control time.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from app.connectors.channel_target import ChannelTarget
from app.errors import InvalidInput, NotFound, UserError
from app.models.store.db import Store, emit_after_commit, utc_now
from app.models.store.schema import (
    Audience,
    ChannelConfiguration,
    SegmentChannelPush,
    SegmentSettings,
)
from app.models.services.segments import CURRENCY, PUBLIC, SegmentInfo, is_expired

log = logging.getLogger(__name__)

TOGGLE, CONFIGURED = "toggle", "configured"
PUSHED, REMOVED, FAILED = "pushed", "removed", "failed"
TAXONOMY_SEPARATOR = " | "
MADE_PRIVATE = "made private"
#: A JSON object of channel key -> base URL of its taxonomy API, overriding the directory (e.g. a test server).
ENDPOINTS_VARIABLE = "AUDIENCE_STUDIO_CHANNEL_ENDPOINTS"
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


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
    """One channel of the directory, and how its taxonomy API is reached: at `api_url`, at the URL of the
    configured region (`region_urls`), or at the URL in the set-up field `url_setting`. `headers` name the
    set-up values sent as request headers; `body_settings` the set-up values added to the pushed segment."""

    key: str
    name: str
    kind: str
    description: str
    steps: tuple[SetupStep, ...] = ()
    api_url: str = ""
    region_urls: tuple[tuple[str, str], ...] = ()
    url_setting: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body_settings: tuple[str, ...] = ()

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
            "Lists the segment on the Harbor marketplace, where data buyers browse by category.",
            api_url="https://api.harbor-data.example/v1"),
    Channel("openaudience", "OpenAudience Exchange", TOGGLE,
            "Offers the segment to buyers on the OpenAudience exchange.",
            api_url="https://taxonomy.openaudience.example/api/v2"),
    Channel("directory", "Segment Directory", TOGGLE,
            "Adds the segment to the public Segment Directory of third-party data.",
            api_url="https://api.segment-directory.example/v1"),
    Channel("dsp_taxonomy", "DSP Taxonomy API", CONFIGURED,
            "Sends the segment's taxonomy to a demand-side platform through its taxonomy API.", (
                SetupStep("Account", "The DSP account the segments are listed under.", (
                    SetupField("account_id", "Account ID", placeholder="e.g. DSP-204817",
                               help="Capital letters, a hyphen and digits, as shown in the DSP's account page"),)),
                SetupStep("Endpoint", "Where the DSP's taxonomy API is reached.", (
                    SetupField("endpoint_url", "API endpoint URL", placeholder="https://api.example-dsp.com/taxonomy",
                               help="An https address with a host name (http only for a test server on this "
                                    "computer: 127.0.0.1, ::1 or localhost); segments go to <address>/segments/…"),)),
                SetupStep("Taxonomy", "Where the segments appear in the DSP's taxonomy, and the prices' currency.", (
                    SetupField("taxonomy_root", "Taxonomy root name", placeholder="e.g. Harbor Retail Data",
                               help="The top level the segments are listed under; no “>”"),
                    SetupField("currency", "Price currency", kind="choice", choices=CURRENCIES),)),
            ), url_setting="endpoint_url", headers=(("X-Account-Id", "account_id"),),
            body_settings=("taxonomy_root", "currency")),
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
            ), region_urls=(("North America", "https://na.api.adserver-segments.example/v3"),
                            ("Europe", "https://eu.api.adserver-segments.example/v3"),
                            ("Asia Pacific", "https://apac.api.adserver-segments.example/v3")),
            headers=(("X-Seat-Id", "seat_id"),)),
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
        text = check_endpoint(text, f.label)
    elif f.key == "taxonomy_root":
        if ">" in text:
            raise InvalidInput(f"{f.label}: “{text}” contains “>”; the root is one level.")
        if not _ROOT_NAME.match(text):
            raise InvalidInput(f"{f.label}: “{text}” is too long or has odd characters; up to 60 letters, digits, "
                               "spaces and & ' ( ) + , . / : -.")
    elif f.key == "seat_id" and not _SEAT_ID.match(text):
        raise InvalidInput(f"{f.label}: “{text}” is not a seat ID; use 3 to 12 digits.")
    return text


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_endpoint(text: str, label: str) -> str:
    """A taxonomy API's base URL: https with a host name, or http to this computer only (a test server)."""
    parts = urlsplit(text)
    host = (parts.hostname or "").lower()
    loopback = _is_loopback(host)
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise InvalidInput(f"{label}: “{text}” must start with https:// (the taxonomy is sent encrypted); http:// "
                           "is allowed only for a test server on this computer (127.0.0.1, ::1 or localhost).")
    if not host or not (loopback or _HOST.match(host)):
        raise InvalidInput(f"{label}: “{text}” has no valid host name, e.g. https://api.example-dsp.com/taxonomy.")
    if parts.username or parts.password:
        raise InvalidInput(f"{label}: do not put a user name or password in the address; it is stored as is.")
    if parts.query or parts.fragment:
        raise InvalidInput(f"{label}: “{text}” has a query or fragment (after ? or #); give the endpoint only.")
    try:
        _ = parts.port  # urlsplit checks the port only when asked
    except ValueError:
        raise InvalidInput(f"{label}: “{text}” has a port that is not a number from 1 to 65535.") from None
    return text


def endpoints_from_environment(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The endpoint overrides in AUDIENCE_STUDIO_CHANNEL_ENDPOINTS (none when it is unset or empty)."""
    raw = (environ.get(ENDPOINTS_VARIABLE) or "").strip()
    if not raw:
        return {}
    example = '{"harbor": "http://127.0.0.1:8080/harbor"}'
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise UserError(f"{ENDPOINTS_VARIABLE} is not valid JSON ({exc.args[0] if exc.args else exc}); give an "
                        f"object of channel key to base URL, e.g. {example}.") from None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise UserError(f"{ENDPOINTS_VARIABLE} must be a JSON object of channel key to base URL, e.g. {example}.")
    for key, url in value.items():
        if key not in _BY_KEY:
            raise UserError(f"{ENDPOINTS_VARIABLE} names “{key}”, which is not a channel; the channels are "
                            f"{', '.join(_BY_KEY)}.")
        try:
            check_endpoint(url.strip(), f"{ENDPOINTS_VARIABLE} for {key}")
        except InvalidInput as exc:
            raise UserError(str(exc)) from None
    return {key: url.strip() for key, url in value.items()}


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


def segment_ref(audience_id: int) -> str:
    """The segment's name on every channel: stable, so pushing again replaces it and removing finds it."""
    return f"audience-studio-{audience_id}"


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
    """A segment's latest push to one channel. State "pushed" with `removed_reason` set: a removal is pending
    (the channel refused it at `removed_at` with `error`; tidy retries it). State "pushed" with only `error`:
    pushing again failed, and the earlier push is still on the channel."""

    audience_id: int
    channel_key: str
    state: str
    taxonomy: str
    pushed_at: datetime
    pushed_by: str
    removed_at: datetime | None = None
    removed_reason: str | None = None
    error: str | None = None

    @property
    def removal_pending(self) -> bool:
        return self.state == PUSHED and self.removed_reason is not None

    @property
    def is_problem(self) -> bool:
        """Whether something went wrong that the user should see (a failed push or a failed removal)."""
        return self.state == FAILED or self.error is not None

    def describe(self, when: Callable[[datetime], str] = lambda d: d.strftime("%Y-%m-%d %H:%M UTC")) -> str:
        """In the users' words: "Pushed on …", "Removed on … (expired after 90 days)", "Push failed on …: …",
        "Removal (made private) failed on …: …; it is retried automatically. Still on the channel: …"."""
        if self.state == PUSHED:
            text = f"Pushed on {when(self.pushed_at)} as “{self.taxonomy}”"
            # The problem first: it is what the user has to notice.
            if self.removal_pending:
                tried = f" on {when(self.removed_at)}" if self.removed_at is not None else ""
                return (f"Removal ({self.removed_reason}) failed{tried}: {(self.error or 'not tried yet').rstrip('.')};"
                        f" it is retried automatically. Still on the channel: pushed on {when(self.pushed_at)} as "
                        f"“{self.taxonomy}”.")
            if self.error:
                return f"Pushing again failed: {self.error} The earlier push stays: {text[0].lower()}{text[1:]}."
            return text
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


@dataclass(frozen=True)
class PlannedPush:
    """One push to send, read and checked in a transaction (`ChannelService.plan_push`): the segment's body and
    where it goes, or the `problem` that stops it (an incomplete set-up), which is recorded as the push's error."""

    audience_id: int
    channel_key: str
    taxonomy: str
    segment: dict[str, Any]
    target: ChannelTarget | None
    problem: str | None = None


@dataclass(frozen=True)
class Removal:
    """One removal to send, read in a transaction (`ChannelService.plan_removals`), sent outside it. `pushed_at`
    identifies the push it takes off; `problem`, when set, is why it cannot be sent (recorded as its error)."""

    audience_id: int
    channel_key: str
    reason: str
    pushed_at: datetime
    target: ChannelTarget | None
    problem: str | None = None


# -- the service ------------------------------------------------------------------------------------------


class ChannelService:
    """Channels' set-up and segments' pushes in the store, one transaction per step; it sends no request. The
    requests go out from app/engines/channel_pushes.py, between `plan_push` and `record_push` (or
    `plan_removals`/`plan_removal` and `record_removal`). `now` is the clock; `endpoints` overrides channels'
    base URLs by key."""

    def __init__(self, store: Store, user: str, now: Callable[[], datetime] = utc_now, *,
                 endpoints: Mapping[str, str] | None = None) -> None:
        self.store = store
        self.user = user
        self.now = now
        self.endpoints = dict(endpoints or {})
        for key in self.endpoints:
            channel(key)

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

    # Where requests go (sent by the engine, app/engines/channel_pushes.py).

    def target(self, key: str, settings: Mapping[str, Any] | None = None) -> ChannelTarget:
        """The channel's taxonomy API and its request headers, from its (complete) set-up and the overrides."""
        c = channel(key)
        settings = settings or {}
        if key in self.endpoints:
            base = self.endpoints[key]
        elif c.url_setting:
            base = str(settings[c.url_setting])
        elif c.region_urls:
            base = dict(c.region_urls)[settings["region"]]
        else:
            base = c.api_url
        return ChannelTarget(c.name, base, {header: str(settings[k]) for header, k in c.headers})

    # Pushes.

    def pushes(self, audience_id: int) -> dict[str, PushInfo]:
        """The audience's latest push to each channel it was ever pushed to, by channel key."""
        with self.store.transaction() as session:
            rows = session.scalars(select(SegmentChannelPush).where(SegmentChannelPush.audience_id == audience_id))
            return {r.channel_key: _push(r) for r in rows}

    def plan_push(self, audience_id: int, key: str) -> PlannedPush:
        """Read and check a push; what to PUT where. Refused (UserError) for a private or uncategorised segment
        or a channel that is switched off; a channel whose set-up is incomplete gives a plan with its `problem`."""
        c = channel(key)
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
            setup: dict[str, Any] = dict((config.settings if config is not None else None) or {})
            problem = None
            if c.needs_setup:
                if config is not None and config.settings and not config.enabled:
                    raise UserError(f"{c.name} is switched off: switch it on in Channel Settings to push to it.")
                try:
                    setup = check_configuration(key, setup)
                except InvalidInput as exc:
                    problem = (f"{c.name} is not set up completely ({exc}); finish its set-up in Channel Settings "
                               "and push again.")
            elif config is None or not config.enabled:
                raise UserError(f"{c.name} is switched off: switch it on in Channel Settings to push to it.")
            # Channels show the segment to buyers: it goes by the name partners see (the external name),
            # never the internal working name.
            shown = audience.effective_external_name
            segment = {
                "ref": segment_ref(audience_id), "name": shown, "category": settings.category,
                "taxonomy": taxonomy(shown, settings.category),
                "cpm": None if settings.cpm_cents is None else f"{settings.cpm_cents / 100:.2f}",
                "cpm_currency": CURRENCY,
                **{k: setup[k] for k in c.body_settings if k in setup},
            }
        target = self.target(key, setup) if problem is None else None
        return PlannedPush(audience_id, key, segment["taxonomy"], segment, target, problem)

    def record_push(self, planned: PlannedPush, error: str | None) -> PushInfo:
        """Record how a planned push went: "pushed", or "failed" with `error` (the channel's answer). A push that
        fails again keeps the earlier one, which is still on the channel, and notes the error."""
        audience_id, key = planned.audience_id, planned.channel_key
        now = self.now()
        with self.store.transaction() as session:
            if session.get(Audience, audience_id) is None:
                raise NotFound(f"The audience with id {audience_id} was deleted while it was being pushed.")
            row = session.get(SegmentChannelPush, (audience_id, key))
            if row is None:
                row = SegmentChannelPush(audience_id=audience_id, channel_key=key)
                session.add(row)
            if error is not None and row.state == PUSHED:
                # The earlier push is still on the channel: keep it (so expiry and privacy still take it off).
                row.error = error
            else:
                row.state = FAILED if error else PUSHED
                row.taxonomy = planned.taxonomy
                row.pushed_at = now
                row.pushed_by = self.user
                row.removed_at = row.removed_reason = None
                row.error = error
            session.flush()
            emit_after_commit(session, "audience_changed", audience_id)
            return _push(row)

    # Taking segments off.

    def plan_removal(self, audience_id: int, key: str, reason: str | None = None) -> Removal:
        """Taking one segment off a channel by hand (unless a reason is given; a pending removal keeps its reason).
        Refused (UserError) when the segment is not on the channel."""
        c = channel(key)
        with self.store.transaction() as session:
            row = session.get(SegmentChannelPush, (audience_id, key))
            if row is None or row.state != PUSHED:
                raise UserError(f"The segment is not on {c.name}; there is nothing to remove.")
            why = reason or row.removed_reason or f"removed by {self.user}"
            return self._plan(session, row, why)

    def plan_removals(self, at: datetime, *, audience_id: int | None = None, pending: bool = True,
                      expired: bool = True, private: bool = True) -> list[Removal]:
        """The removals due (of one audience, if given), each segment and channel once: removals that failed
        (`pending`), pushes whose segment's expiration days have passed by `at` (`expired`, "expired after N
        days") and segments made private since their push (`private`, "made private")."""
        with self.store.transaction() as session:
            due: dict[tuple[int, str], Removal] = {}
            for removal in (*(self._pending(session, audience_id) if pending else ()),
                            *(self._expired(session, at, audience_id) if expired else ()),
                            *(self._private(session, audience_id) if private else ())):
                due.setdefault((removal.audience_id, removal.channel_key), removal)
            return list(due.values())

    def _plan(self, session, row: SegmentChannelPush, reason: str) -> Removal:
        config = session.get(ChannelConfiguration, row.channel_key)
        settings = dict((config.settings if config is not None else None) or {})
        try:
            target = self.target(row.channel_key, settings)
        except KeyError:
            # Pushed while set up; its set-up has since lost the address: say so rather than guess where it went.
            return Removal(row.audience_id, row.channel_key, reason, row.pushed_at, None,
                           f"{channel(row.channel_key).name} has no complete set-up to reach it; finish its set-up "
                           "in Channel Settings")
        return Removal(row.audience_id, row.channel_key, reason, row.pushed_at, target)

    def _pending(self, session, audience_id: int | None) -> list[Removal]:
        query = select(SegmentChannelPush).where(SegmentChannelPush.state == PUSHED,
                                                 SegmentChannelPush.removed_reason.is_not(None))
        if audience_id is not None:
            query = query.where(SegmentChannelPush.audience_id == audience_id)
        return [self._plan(session, row, row.removed_reason) for row in session.scalars(query)]

    def _expired(self, session, at: datetime, audience_id: int | None) -> list[Removal]:
        query = (select(SegmentChannelPush, SegmentSettings.expiration_days)
                 .join(SegmentSettings, SegmentSettings.audience_id == SegmentChannelPush.audience_id)
                 .where(SegmentChannelPush.state == PUSHED, SegmentSettings.expiration_days.is_not(None)))
        if audience_id is not None:
            query = query.where(SegmentChannelPush.audience_id == audience_id)
        return [self._plan(session, row, expired_reason(days)) for row, days in session.execute(query)
                if is_expired(SegmentInfo(row.audience_id, expiration_days=days), row.pushed_at, at)]

    def _private(self, session, audience_id: int | None) -> list[Removal]:
        query = (select(SegmentChannelPush)
                 .outerjoin(SegmentSettings, SegmentSettings.audience_id == SegmentChannelPush.audience_id)
                 .where(SegmentChannelPush.state == PUSHED,
                        (SegmentSettings.visibility.is_(None)) | (SegmentSettings.visibility != PUBLIC)))
        if audience_id is not None:
            query = query.where(SegmentChannelPush.audience_id == audience_id)
        return [self._plan(session, row, MADE_PRIVATE) for row in session.scalars(query)]

    def still_planned(self, removal: Removal) -> bool:
        """Whether the push the removal was planned for is still the one stored (not deleted, taken off or pushed
        again since)."""
        with self.store.transaction() as session:
            row = session.get(SegmentChannelPush, (removal.audience_id, removal.channel_key))
            if row is not None and row.state == PUSHED and row.pushed_at == removal.pushed_at:
                return True
        # Deleted, taken off or pushed again since it was planned: the newer record stands.
        log.info("push of audience %s to %s changed before its removal; left alone",
                 removal.audience_id, removal.channel_key)
        return False

    def record_removal(self, removal: Removal, error: str | None, when: datetime) -> PushInfo | None:
        """Record how a removal went: "removed", or still "pushed" with the removal pending and `error`. None when
        the push changed meanwhile (the newer record stands)."""
        with self.store.transaction() as session:
            row = session.get(SegmentChannelPush, (removal.audience_id, removal.channel_key))
            if row is None or row.state != PUSHED or row.pushed_at != removal.pushed_at:
                # Changed by another process (the command line) during the DELETE: the newer record stands.
                log.warning("push of audience %s to %s changed during its removal; not recorded",
                            removal.audience_id, removal.channel_key)
                return None
            already_pending = row.removed_reason is not None and row.error is not None
            row.removed_at = when
            row.removed_reason = removal.reason
            row.error = error
            if error is None:
                row.state = REMOVED
            # A removal failing again is no news: telling the Segment tab would make it read (and tidy) again,
            # and again, for as long as the channel refuses.
            if error is None or not already_pending:
                emit_after_commit(session, "audience_changed", row.audience_id)
            return _push(row)
