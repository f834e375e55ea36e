"""Pushing segments to channels and taking them off again: the requests to the channels' taxonomy APIs.

The channel service (app/models/services/channels.py) keeps the store's side and sends nothing; this engine runs
each job as: plan (one store transaction) → the request, outside any transaction → record (a second one). A push
PUTs the segment; a removal DELETEs it, by hand (`remove`) or because it is due (`tidy`: old, made private, or a
removal that failed before). The clock is the service's (`channels.now`), so tests control time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import datetime

from app.connectors.channel_api import ChannelApi, ChannelRefused
from app.errors import NotFound
from app.models.services.channels import ChannelService, PushInfo, Removal, channel, segment_ref
from app.models.store.db import Store


class _SegmentLocks:
    """One lock per (store, audience, channel). A push and a removal of the same segment on the same channel
    would otherwise cross: the removal plans, the push goes out and is recorded, then the removal's DELETE
    takes the fresh push off the channel while the store says it is there. Holding the lock from reading
    to recording makes them take turns in this process (the app's pool threads); the removal then sees the
    newer push and leaves it alone."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[tuple[str, int, str], threading.Lock] = {}

    def __call__(self, store: Store, audience_id: int, channel_key: str) -> threading.Lock:
        key = (str(store.engine.url), audience_id, channel_key)
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())


_segment_lock = _SegmentLocks()


class ChannelPushes:
    """Segments' pushes and removals over `channels` (the service: store, user, clock, endpoints); `api` sends
    the requests (a `ChannelApi` by default)."""

    def __init__(self, channels: ChannelService, api: ChannelApi | None = None, *,
                 company: Callable[[], str | None] = lambda: None) -> None:
        self.channels = channels
        self.api = api or ChannelApi()
        #: The company's name (the team server's, from `server init`), asked at each push: every segment PUT
        #: carries it as `company`, the account the channel lists it under. None: no team server yet.
        self.company = company

    def push(self, audience_id: int, key: str) -> PushInfo:
        """PUT the segment's taxonomy to the channel's API and record the outcome. Refused (UserError) for a private
        or uncategorised segment or a channel that is switched off; a channel whose set-up is incomplete, or
        that does not take the segment, records a failed push with the error (returned, state "failed")."""
        with _segment_lock(self.channels.store, audience_id, key):
            planned = self.channels.plan_push(audience_id, key)
            error = planned.problem
            if error is None:
                assert planned.target is not None
                company = self.company()
                segment = {**planned.segment, "company": company} if company else planned.segment
                try:
                    self.api.put_segment(planned.target, segment)
                except ChannelRefused as exc:
                    error = str(exc)
            return self.channels.record_push(planned, error)

    def remove(self, audience_id: int, key: str, reason: str | None = None) -> PushInfo:
        """DELETE the segment from the channel (by hand unless a reason is given; a pending removal keeps its
        reason). If the channel refuses, the segment stays "pushed" with the removal pending and the error."""
        removal = self.channels.plan_removal(audience_id, key, reason)
        done = self.take_off([removal])
        if not done:  # pushed again or taken off meanwhile: what is stored now is the answer
            now_stored = self.channels.pushes(audience_id).get(key)
            if now_stored is None:
                raise NotFound(f"The audience with id {audience_id} was deleted while it was being removed.")
            return now_stored
        return done[0]

    def tidy(self, now: datetime | None = None, *, audience_id: int | None = None) -> list[PushInfo]:
        """Take old and private segments off their channels and retry removals that failed (of one audience, if
        given). Returns each push it tried to take off: state "removed", or still "pushed" with the error."""
        at = now or self.channels.now()
        return self.take_off(self.channels.plan_removals(at, audience_id=audience_id), at)

    def remove_expired(self, now: datetime | None = None) -> list[PushInfo]:
        """Take off every push whose segment's expiration days have passed since it was pushed ("expired after N
        days"). Returns each push it tried to take off (see `tidy`)."""
        at = now or self.channels.now()
        return self.take_off(self.channels.plan_removals(at, pending=False, private=False), at)

    def remove_private(self) -> list[PushInfo]:
        """Take off their channels the segments made private since their push ("made private")."""
        due = self.channels.plan_removals(self.channels.now(), pending=False, expired=False)
        return self.take_off(due)

    def take_off(self, due: Iterable[Removal], at: datetime | None = None) -> list[PushInfo]:
        """Take each planned segment off, one at a time under its lock: check it is still the push that was
        planned, send the DELETE (outside any transaction), record the outcome."""
        when = at or self.channels.now()
        results: list[PushInfo] = []
        #: channels that asked to wait (429, 503) in this round: not asked again until the next tidy
        waiting: dict[str, str] = {}
        for removal in due:
            with _segment_lock(self.channels.store, removal.audience_id, removal.channel_key):
                if not self.channels.still_planned(removal):
                    continue
                error = removal.problem
                if error is None and removal.channel_key in waiting:
                    error = waiting[removal.channel_key]
                elif error is None:
                    assert removal.target is not None
                    try:
                        self.api.delete_segment(removal.target, segment_ref(removal.audience_id))
                    except ChannelRefused as exc:
                        error = str(exc)
                        if exc.status in (429, 503):
                            waiting[removal.channel_key] = (
                                f"Not sent: {channel(removal.channel_key).name} asked to wait (HTTP {exc.status}) "
                                "on an earlier removal; it is tried again with the next tidy.")
                result = self.channels.record_removal(removal, error, when)
            if result is not None:
                results.append(result)
        return results
