"""Requests to partners: timeouts, and a partner's refusal turned into a PartnerError with its status and message.

Whatever goes wrong on the wire becomes a PartnerError without a status, which the sender retries like
a 5xx: no answer, a timeout, and a reply cut off half-way (the partner closed the connection mid-body:
requests' ChunkedEncodingError, urllib3's ProtocolError/IncompleteRead underneath). A partner that
processed the request before its reply was lost sees it again under the same batch id or idempotency key.
"""

from __future__ import annotations

import http.client
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3

from app.connectors.outputs.errors import CONFIGURATION, PartnerError
from app.connectors.reply_text import one_line
from app.connectors.retry_after import retry_after_seconds

TIMEOUT_SECONDS = 30


def call(session: requests.Session, method: str, url: str, **kwargs: Any) -> requests.Response:
    """The response when it is a success (2xx); PartnerError otherwise, naming the host, never the credentials."""
    host = urlsplit(url).netloc
    try:
        # Never followed: requests turns a 301/302 after a POST into a GET without the body, which the
        # new address may answer 200, and the batch would count as sent though nobody received it.
        response = session.request(method, url, timeout=TIMEOUT_SECONDS, allow_redirects=False, **kwargs)
    except requests.Timeout:
        raise PartnerError(f"{host} did not answer within {TIMEOUT_SECONDS} s.") from None
    except requests.ConnectionError:
        raise PartnerError(f"{host} could not be reached.") from None
    except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError,
            urllib3.exceptions.HTTPError, http.client.HTTPException):
        raise PartnerError(f"{host} closed the connection before its reply was complete.") from None
    if 300 <= response.status_code < 400:
        where = response.headers.get("Location") or "another address"
        raise PartnerError(f"{host} answered {response.status_code}, sending the request on to {where}; nothing was "
                           f"sent there. If the partner has moved, put its new address in the output's settings.",
                           status=response.status_code, category=CONFIGURATION)
    if response.status_code >= 400:
        error = PartnerError(f"{host} answered {response.status_code}: {partner_message(response)}",
                             status=response.status_code, retry_after=retry_after(response))
        # Named partners read their own error codes (Graph API codes, Google's error status) from the reply.
        error.response = response
        raise error
    return response


def reply_json(response: requests.Response) -> Any:
    """The JSON of a successful reply; PartnerError (retried: the reply was garbled or cut) when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        raise PartnerError(f"{urlsplit(response.url).netloc} answered {response.status_code} with a reply that is not "
                           f"the JSON it documents: {one_line(response.text) or 'an empty body'}") from None


def partner_message(response: requests.Response) -> str:
    """The partner's own explanation, from the usual JSON error shapes or the start of the body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            text = error.get("message") or error.get("error_user_msg") or error.get("type")
            if text:
                return one_line(str(text))
        for key in ("error_description", "detail", "message", "title", "error"):
            if isinstance(body.get(key), str) and body[key]:
                return one_line(body[key])
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            # JSON:API error objects (Klaviyo): the first one's detail, else its title.
            text = errors[0].get("detail") or errors[0].get("title")
            if isinstance(text, str) and text:
                return one_line(text)
    return one_line(response.text) or (response.reason or "no message")


def retry_after(response: requests.Response) -> float | None:
    """Retry-After in seconds: a number of seconds or an HTTP date (RFC 9110 §10.2.3); None when absent or odd.
    Read for partners' replies and for channels' (app/connectors/channel_api.py)."""
    return retry_after_seconds(response.headers.get("Retry-After"))
