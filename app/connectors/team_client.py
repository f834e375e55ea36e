"""The desktop side of the team server's account and administration API: signing in with an e-mail and
password, the workspace's sources (inputs), the audit log, and the live activity stream.

Data sync lives in `sync_client`; this module reuses its client (retries, error messages) for the
administration calls and adds what sync does not need. No Qt here: the panes call it through engines,
off the GUI thread.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests

from app.connectors.sync_client import SyncError, _server_message
from app.errors import InvalidInput

#: cache_meta key of the team server's company name (`server init`), kept at each sign-in and sync: what
#: channel pushes carry (app/engines/channel_pushes.py).
COMPANY_KEY = "sync_company"
#: How long a sign-in may take: the server hashes the password with argon2 (tens of milliseconds).
SIGN_IN_TIMEOUT = 30.0


def password_sign_in(server_url: str, email: str, password: str, label: str | None = None, *,
                     timeout: float = SIGN_IN_TIMEOUT) -> tuple[str, str]:
    """POST /v1/sign-in: the user's name and a new API token for an activated member's e-mail and password.

    Sent once, never retried: each sign-in makes a token, and a lost reply is best answered by signing
    in again (the token that reply carried is never used)."""
    email, url = email.strip(), server_url.strip().rstrip("/")
    if not email or "@" not in email:
        raise InvalidInput(f"E-mail {email!r}: give the address your invitation was sent to, such as ann@example.com.")
    if not password:
        raise InvalidInput("Password: empty; type the password you set when you activated your account.")
    body: dict[str, Any] = {"email": email, "password": password}
    if label:
        body["label"] = label[:200]
    try:
        reply = requests.post(f"{url}/v1/sign-in", json=body, timeout=timeout)
    except requests.RequestException as exc:
        raise SyncError(f"Cannot reach the server {url} ({type(exc).__name__}); check the address and the network.") from None
    if reply.status_code == 401:
        raise SyncError(f"The server {url} refused the sign-in: {_server_message(reply)}")
    if reply.status_code == 404:
        raise SyncError(f"The server {url} has no e-mail sign-in (404): it is older than this app, or not an Audience "
                        "Studio server; sign in with an API token instead.")
    if reply.status_code >= 400:
        raise SyncError(f"The server {url} answered {reply.status_code} to the sign-in: {_server_message(reply)}")
    try:
        answer = reply.json()
        return str(answer["user"]), str(answer["token"])
    except (ValueError, KeyError, TypeError):
        raise SyncError(f"The server's answer to POST /v1/sign-in is not a sign-in; is {url} an Audience Studio server?") from None


@dataclass(frozen=True)
class StreamEvent:
    """One Server-Sent Event: its kind ("batch", "refused"), its item, and the position after it (its id)."""

    kind: str
    item: dict
    position: str


def read_events(lines: Iterator[str]) -> Iterator[StreamEvent | str]:
    """Server-Sent Events from the stream's lines (WHATWG's parsing rules): each event, and each bare id
    (an `id:` without data, which moves the position on without an event) as a str."""
    data: list[str] = []
    kind, position, moved = "message", None, False
    for line in lines:
        if line == "":
            if data:
                try:
                    item = json.loads("\n".join(data))
                except ValueError:
                    item = None
                if isinstance(item, dict):
                    yield StreamEvent(kind, item, position or "")
            elif moved and position is not None:
                yield position
            data, kind, moved = [], "message", False
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data.append(value)
        elif name == "event":
            kind = value
        elif name == "id" and "\0" not in value:
            position, moved = value, True
