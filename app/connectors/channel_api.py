"""The taxonomy API a channel offers for segments: PUT a segment's taxonomy, DELETE it again. No Qt, no store.

Every channel speaks the same small protocol at its base URL:

    PUT    {base}/segments/{ref}   JSON body: ref, name, category, taxonomy, cpm, ...   -> 200, 201 or 204
    DELETE {base}/segments/{ref}                                                       -> 200, 202, 204 or 404

A DELETE answered 404 means the segment is not there, which is what was asked (removing is idempotent).
A channel that asks to wait (429 or 503 with a Retry-After of at most `SHORT_WAIT_S`) is waited for and
asked again, up to `SHORT_WAIT_RETRIES` times; a longer wait is the caller's to schedule.
Every failure, whatever its cause, becomes one `ChannelRefused` whose message names the channel, what
happened and what the marketer can do about it; the caller records that text as it is.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from app.connectors.channel_target import ChannelTarget
from app.connectors.outputs.http import retry_after
from app.errors import UserError

__all__ = ["ChannelApi", "ChannelRefused", "ChannelTarget", "reply_message"]

#: (connect, read) seconds: a channel that does not answer must not hold a push (or the app's tidy) for long.
TIMEOUT: tuple[float, float] = (5.0, 15.0)
USER_AGENT = "AudienceStudio-Channels/1"
_OK_PUT = {200, 201, 204}
_OK_DELETE = {200, 202, 204, 404}
_MAX_MESSAGE = 300
#: A Retry-After this short (seconds) is waited out inside the request: a marketer pressing Push would
#: otherwise be told to push again in 2 s. Longer ones go back to the caller (see app/engines/channel_pushes.py).
SHORT_WAIT_S = 5.0
SHORT_WAIT_RETRIES = 2
_WAIT_STATUSES = {429, 503}

log = logging.getLogger(__name__)


class ChannelRefused(UserError):
    """A channel's API did not take the request; the message says why, in words a marketer can act on."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class ChannelApi:
    """A client over `requests` sessions; `timeout` is (connect, read) seconds, injectable so tests stay fast."""

    def __init__(self, timeout: tuple[float, float] = TIMEOUT, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.timeout = timeout
        self.sleep = sleep  # injectable: tests see the waits without spending them
        # One session per thread: pushes and the app's tidy run on different pool threads at once.
        self._local = threading.local()

    @property
    def session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.headers["User-Agent"] = USER_AGENT
        return session

    def put_segment(self, target: ChannelTarget, segment: Mapping[str, Any]) -> None:
        """Create or replace the segment (its `ref` names it) on the channel; ChannelRefused when it is not taken."""
        response = self._send(target, "PUT", segment["ref"], json=dict(segment), verb="push")
        if response.status_code not in _OK_PUT:
            raise _refusal(target, response, "push")

    def delete_segment(self, target: ChannelTarget, ref: str) -> None:
        """Take the segment off the channel; a segment the channel does not have counts as taken off."""
        # No "try again" advice: a removal that failed is retried by itself (see app/models/services/channels.py).
        response = self._send(target, "DELETE", ref, verb=None)
        if response.status_code not in _OK_DELETE:
            raise _refusal(target, response, None)

    def _send(self, target: ChannelTarget, method: str, ref: str, *, verb: str | None,
              **kwargs: Any) -> requests.Response:
        retries = 0
        while True:
            response = self._send_once(target, method, ref, verb=verb, **kwargs)
            wait = retry_after(response) if response.status_code in _WAIT_STATUSES else None
            if wait is None or wait > SHORT_WAIT_S or retries == SHORT_WAIT_RETRIES:
                return response
            log.info("%s asked to wait %.1f s (HTTP %d); asking again", target.channel_name, wait,
                     response.status_code)
            self.sleep(wait)
            retries += 1

    def _send_once(self, target: ChannelTarget, method: str, ref: str, *, verb: str | None,
                   **kwargs: Any) -> requests.Response:
        name, host = target.channel_name, target.host
        try:
            # No redirects: a segment (and its account header) goes only where the channel's address says.
            return self.session.request(method, target.segment_url(ref), headers=dict(target.headers),
                                        timeout=self.timeout, allow_redirects=False, **kwargs)
        except requests.Timeout as exc:
            waited = self.timeout[0] if isinstance(exc, requests.ConnectTimeout) else self.timeout[1]
            raise ChannelRefused(f"{name} did not answer within {waited:g} s ({host})"
                                 + (f"; {verb} again later." if verb else ".")) from None
        except requests.ConnectionError as exc:
            raise ChannelRefused(f"Could not reach {host} ({name}): {_connection_problem(exc)}; check the network "
                                 "and the channel's address" + (f", then {verb} again." if verb else ".")) from None
        except requests.RequestException as exc:
            raise ChannelRefused(f"Could not send the request to {name} ({host}): {exc}.") from None


def _connection_problem(exc: requests.ConnectionError) -> str:
    text = str(exc)
    if any(s in text for s in ("NameResolution", "Name or service not known", "nodename nor servname",
                               "getaddrinfo failed", "No address associated", "Temporary failure in name")):
        return "the host name was not found"
    if "Connection refused" in text or "ConnectionRefused" in text:
        return "the connection was refused"
    if "SSL" in text or "certificate" in text.lower():
        return "the secure connection failed (certificate or TLS problem)"
    return "the connection failed"


def _refusal(target: ChannelTarget, response: requests.Response, verb: str | None) -> ChannelRefused:
    """The channel's refusal in words; `verb` ("push"), when given, says what to do again and when."""
    name, status = target.channel_name, response.status_code
    said = reply_message(response)
    later = f"; {verb} again later" if verb else ""
    wait = None
    if status in (401, 403):
        what = "the credentials" if status == 401 else "permission"
        text = (f"{name} refused {what} (HTTP {status}: {said}); check the channel's set-up (account or seat) "
                "in Channel Settings")
    elif status == 404:
        text = f"{name} has no taxonomy API at {target.base_url} (HTTP 404: {said}); check the channel's address"
    elif status == 429:
        wait = retry_after(response)
        if verb:
            text = f"{name} rate limited the request (HTTP 429); " + (
                f"{verb} again after {wait:.0f} s" if wait is not None else f"{verb} again later")
        else:
            text = f"{name} rate limited the request (HTTP 429" + (
                f", retry after {wait:.0f} s)" if wait is not None else ")")
    elif status in (400, 409, 422):
        text = f"{name} rejected the segment (HTTP {status}): {said}"
    elif status >= 500:
        wait = retry_after(response) if status == 503 else None
        if wait is not None:
            later = f"; {verb} again after {wait:.0f} s" if verb else f"; retry after {wait:.0f} s"
        text = f"{name} had a server error (HTTP {status}: {said}){later}"
    elif 300 <= status < 400:
        where = response.headers.get("Location") or "another address"
        text = f"{name} redirected to {where} (HTTP {status}); update the channel's address"
    else:
        text = f"{name} answered HTTP {status} unexpectedly: {said}"
    return ChannelRefused(text.rstrip(".") + ".", status=status, retry_after=wait)


def reply_message(response: requests.Response) -> str:
    """The channel's own explanation from `{"error": ...}` or `{"message": ...}`; other replies described as such."""
    raw = response.content or b""
    if not raw.strip():
        return "an empty reply"
    try:
        body = json.loads(raw)
    except ValueError:
        text = raw[:120].decode("utf-8", errors="replace").strip().replace("\n", " ")
        return f"a reply that is not JSON: “{text}”"
    if isinstance(body, dict):
        for key in ("error", "message"):
            value = body.get(key)
            if isinstance(value, dict):
                value = value.get("message") or value.get("error")
            if isinstance(value, str) and value.strip():
                return value.strip()[:_MAX_MESSAGE]
    return "a JSON reply without an error message"
